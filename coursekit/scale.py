"""Scaling out: chapter 02's factorization on Spark, the lecture's "Hadoop clusters".

The lecture ends with 140 million users, 30 million songs and "lots of Hadoop
clusters". Spark MLlib's ``ALS(implicitPrefs=True)`` is the implicit-feedback ALS
of chapter 02 (Hu, Koren & Volinsky 2008) written for a cluster: the users and
the songs are cut into blocks, each machine solves the least-squares problems of
its blocks, and only the factor vectors a block needs travel over the network.
:class:`SparkALS` fits it on the course's interactions — a CSR matrix, a pandas
frame, or Parquet files that never pass through the driver — and hands back
numpy factors in the course's index order, so chapter 02's evaluation works
unchanged. The master URL is a parameter: ``local[*]`` on a laptop,
``spark://host:7077``, ``yarn`` or ``k8s://...`` on a cluster, same code.

**The two objectives.** Chapter 02's :class:`~coursekit.als.ImplicitALS` minimises

    L = Σ_{u,i} c_ui (p_ui − x_uᵀy_i)² + λ (Σ_u ‖x_u‖² + Σ_i ‖y_i‖²),     c_ui = 1 + α r_ui,

Spark minimises

    L_spark = Σ_{u,i} c_ui (p_ui − x_uᵀy_i)² + regParam (Σ_u n_u ‖x_u‖² + Σ_i n_i ‖y_i‖²),
    c_ui = 1 + α |r_ui|,   p_ui = [r_ui > 0],

where n_u (n_i) is the number of items the user played (users who played the
item): the "weighted-λ" regularisation of ALS-WR (Zhou et al. 2008). The user
step becomes (YᵀC_uY + regParam·n_u·I) x_u = YᵀC_u p_u instead of
(YᵀC_uY + λI) x_u = YᵀC_u p_u: heavy users and popular songs are shrunk more,
light ones less. The data term and the confidence are the same, so Spark gets
the same ``r`` (chapter 01's ``Feedback.scaled``) and the same α.

**Choosing regParam.** :func:`matching_reg_param` gives regParam = λ / n̄ with
n̄ = (Σ_u n_u + Σ_i n_i) / (users + items) = 2·nnz / (users + items), counting
the users and items that have any interaction: then the penalty weights
λ·(users + items) and regParam·Σ(n_u + n_i) are equal in total, and a row with
the average count gets chapter 02's λ exactly.

Users or songs with no interaction never reach Spark; their vectors are zero,
which is also what chapter 02's objective (without biases) gives them.

**The mixtapes on Spark.** :func:`spark_mixtapes` runs the same scoring as
:func:`coursekit.batch.candidate_mixtapes` as a ``mapInPandas`` over partitions
of the listeners: each Python worker loads the world and the stored model
once (:func:`coursekit.batch.load_model`), then scores its partitions.
Only this module imports ``pyspark``, and only inside its functions.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ._base import FactorRecommender, check_user_items
from .feedback import IdMap

__all__ = ["SparkALS", "spark_session", "check_java", "matching_reg_param", "interactions_frame", "save_parquet",
           "spark_mixtapes"]

INSTALL_HINT = "pip install coursekit[spark]"
JAVA_HINT = (
    "install Java 17: on Debian/Ubuntu `sudo apt-get install openjdk-17-jre-headless`, with conda "
    "`conda install -c conda-forge openjdk=17` (Binder: add openjdk=17 to environment.yml), "
    "or set JAVA_HOME to a Java 17 installation"
)
_INT32_MAX = 2**31 - 1

_LOG4J2 = """\
rootLogger.level = error
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n%ex
logger.repl.name = org.apache.spark.repl.Main
logger.repl.level = error
"""


# ----------------------------------------------------------------- set-up


def _import_pyspark():
    try:
        import pyspark  # noqa: F401
        from pyspark.sql import SparkSession  # noqa: F401
    except ImportError as err:
        raise ImportError(
            f"coursekit.scale needs pyspark (Spark's Python API), which is not installed: "
            f"{INSTALL_HINT}  (Spark also needs Java 17)"
        ) from err
    return pyspark


def check_java(*, minimum: int | None = None) -> tuple[str, int]:
    """Find the ``java`` that Spark will start and check its version.

    Looks where pyspark looks: ``$JAVA_HOME/bin/java``, else ``java`` on the PATH.

    Parameters
    ----------
    minimum : int, optional
        Oldest Java major version accepted; by default 17 for Spark 4 and 8 for Spark 3.

    Returns
    -------
    path : str
        The java executable.
    major : int
        Its major version (17 for "17.0.15", 8 for "1.8.0_292").

    Raises
    ------
    RuntimeError
        When no Java is found, it does not run, or it is too old; the message says
        how to install Java 17.
    """
    if minimum is None:
        try:
            import pyspark

            minimum = 17 if int(pyspark.__version__.split(".")[0]) >= 4 else 8
        except ImportError:
            minimum = 17
    java_home = os.environ.get("JAVA_HOME")
    if java_home:
        java = str(Path(java_home) / "bin" / "java")
        if not os.access(java, os.X_OK):
            raise RuntimeError(f"JAVA_HOME is {java_home!r} but {java} is not an executable java; {JAVA_HINT}")
    else:
        java = shutil.which("java")
        if java is None:
            raise RuntimeError(f"Spark needs Java, and no `java` was found on the PATH (JAVA_HOME is not set); {JAVA_HINT}")
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise RuntimeError(f"could not run {java} -version ({err}); {JAVA_HINT}") from err
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if out.returncode != 0 or match is None:
        raise RuntimeError(f"{java} -version failed: {(out.stderr or out.stdout).strip()[:200]!r}; {JAVA_HINT}")
    major = int(match.group(1))
    if major == 1 and match.group(2):  # "1.8.0_292" is Java 8
        major = int(match.group(2))
    if major < minimum:
        raise RuntimeError(f"Spark needs Java {minimum} or newer, but {java} is Java {major}; {JAVA_HINT}")
    return java, major


def spark_session(
    master: str = "local[*]",
    *,
    memory: str = "1g",
    app_name: str = "coursekit",
    shuffle_partitions: int = 4,
    java_options: str = "",
    config: dict | None = None,
):
    """Start (or return the running) Spark session, quietly.

    The Spark UI and console progress bars are off, the JVM's own output and
    Spark's log go to ``spark.log`` in a temporary folder (which also holds
    Spark's scratch space and is removed when Python exits), and only errors
    are logged. On a cluster, pass the cluster's master URL; the rest is the same.

    Parameters
    ----------
    master : str, optional
        ``local[*]`` (all cores of this machine), ``local[2]``, ``spark://host:7077``,
        ``yarn``, ``k8s://https://host:443``.
    memory : str, optional
        Driver JVM heap, e.g. ``"512m"``, ``"4g"``. In local mode the driver also
        does the executors' work, so this bounds the whole of Spark's heap. Spark
        refuses less than 450 MB.
    app_name : str, optional
        Name shown by the cluster manager.
    shuffle_partitions : int, optional
        ``spark.sql.shuffle.partitions`` (Spark's default of 200 is made for clusters).
    java_options : str, optional
        Extra options for the driver's JVM. ``"-XX:TieredStopAtLevel=1"`` (only the
        quick just-in-time compiler) makes the first fit on small data about a third
        cheaper and long fits slower.
    config : dict, optional
        Further Spark settings, e.g. ``{"spark.executor.memory": "8g"}``.

    Returns
    -------
    pyspark.sql.SparkSession
        When a session is already running it is returned as it is; stop it
        (``spark.stop()``) to start one with other settings.

    Raises
    ------
    ImportError
        When pyspark is not installed (``pip install coursekit[spark]``).
    RuntimeError
        When Java is missing or too old.
    """
    _import_pyspark()
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    if SparkContext._active_spark_context is not None:
        return SparkSession.builder.getOrCreate()
    check_java()
    _remove_stale_folders()
    folder = Path(tempfile.mkdtemp(prefix="coursekit-spark-"))
    (folder / "owner.pid").write_text(str(os.getpid()))
    atexit.register(_remove_after_jvm, folder)
    (folder / "log4j2.properties").write_text(_LOG4J2)
    java_options = " ".join([
        f"-Dlog4j2.configurationFile={(folder / 'log4j2.properties').as_uri()}",
        f"-Djava.io.tmpdir={folder}",
        # the pure-Java BLAS: no native libraries to look for (and no messages about them)
        "-Ddev.ludovic.netlib.blas.allowNative=false",
        "-Ddev.ludovic.netlib.lapack.allowNative=false",
        "-Ddev.ludovic.netlib.arpack.allowNative=false",
        java_options,
    ]).strip()
    builder = (
        SparkSession.builder.master(master)
        .appName(app_name)
        .config("spark.driver.memory", memory)
        .config("spark.driver.extraJavaOptions", java_options)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.local.dir", str(folder / "local"))
        .config("spark.sql.warehouse.dir", str(folder / "warehouse"))
        .config("spark.sql.shuffle.partitions", str(int(shuffle_partitions)))
    )
    for key, value in (config or {}).items():
        builder = builder.config(key, str(value))
    # Python workers (mapInPandas, RDD functions) run this interpreter, with coursekit and its packages;
    # pyspark reads the variable when the context starts
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    log = folder / "spark.log"
    try:
        with _output_to(log), warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*PySpark does not yet fully support")
            spark = builder.getOrCreate()
    except Exception as err:  # the JVM's own explanation is in the log, not in pyspark's message
        tail = log.read_text(errors="replace").strip().splitlines()[-15:] if log.exists() else []
        first = "\n".join(str(err).strip().splitlines()[:3])
        raise RuntimeError(f"Spark did not start ({type(err).__name__}: {first})\nThe JVM said:\n"
                           + "\n".join(tail)) from err
    spark.sparkContext.setLogLevel("ERROR")
    # ALS cuts its lineage every 10 sweeps by saving the factors here; without it a long
    # fit overflows the JVM's stack
    spark.sparkContext.setCheckpointDir(str(folder / "checkpoints"))
    return spark


def _remove_stale_folders() -> None:
    """Delete the scratch folders of earlier sessions whose Python process is gone.

    A process that is killed (as a Jupyter kernel often is when it shuts down)
    never runs its exit handler, so the next session tidies up after it.
    """
    for folder in Path(tempfile.gettempdir()).glob("coursekit-spark-*"):
        try:
            pid = int((folder / "owner.pid").read_text())
            os.kill(pid, 0)  # raises if no such process
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except (OSError, ValueError):  # no owner file, or not ours to check: leave it
            continue


def _remove_after_jvm(folder: Path) -> None:
    """At exit: stop Spark and wait for its JVM to end (it writes to ``folder`` until then), then delete it."""
    try:
        from pyspark import SparkContext

        if SparkContext._active_spark_context is not None:
            SparkContext._active_spark_context.stop()
        gateway = SparkContext._gateway
        proc = getattr(gateway, "proc", None)
        if proc is not None and proc.poll() is None:
            proc.stdin.close()  # the JVM exits when its stdin closes
            proc.wait(timeout=30)
    except Exception:  # noqa: BLE001 - best effort at interpreter exit
        pass
    shutil.rmtree(folder, ignore_errors=True)


class _output_to:
    """Point file descriptors 1 and 2 at a log file while the JVM starts, so that it inherits them.

    The JVM writes to its inherited stdout/stderr (banner, JVM warnings); in a
    notebook those descriptors feed the cell's output. Python's own streams are
    restored on exit.
    """

    def __init__(self, path: Path):
        self.path = path

    def __enter__(self):
        import sys

        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        self.log = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self.saved = [os.dup(1), os.dup(2)]
        os.dup2(self.log, 1)
        os.dup2(self.log, 2)

    def __exit__(self, *exc):
        os.dup2(self.saved[0], 1)
        os.dup2(self.saved[1], 2)
        for fd in (*self.saved, self.log):
            os.close(fd)
        return False


# ---------------------------------------------------------- the parameters


def matching_reg_param(regularization: float, user_items) -> float:
    """Spark's ``regParam`` that matches chapter 02's λ on ``user_items``.

    regParam = λ / n̄,  n̄ = (Σ_u n_u + Σ_i n_i) / (users + items) = 2·nnz / (users + items),

    where n_u and n_i count the positive entries of each row and column and only
    rows and columns with at least one count (those Spark sees) are counted.
    Spark's penalty regParam·Σ(n_u‖x_u‖² + n_i‖y_i‖²) then puts the same total
    weight on the vectors as λ·Σ(‖x_u‖² + ‖y_i‖²), and a user or item with the
    average count gets exactly λ.

    Parameters
    ----------
    regularization : float
        λ of :class:`coursekit.als.ALS` / :class:`~coursekit.als.ImplicitALS`.
    user_items : scipy.sparse.csr_matrix, shape (n_users, n_items)
        The interaction strengths r_ui the models are fitted on.

    Returns
    -------
    float

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> R = sp.csr_matrix([[1.0, 2.0, 0.0], [0.0, 3.0, 0.0]])  # nnz 3; 2 users, 2 played items
    >>> matching_reg_param(1.0, R)  # n̄ = 2·3 / (2 + 2) = 1.5
    0.6666666666666666
    """
    lam = float(regularization)
    if not np.isfinite(lam) or lam <= 0:
        raise ValueError(f"regularization must be a finite number > 0, got {regularization!r}")
    R = check_user_items(user_items)
    positive = R.data > 0
    nnz = int(positive.sum())
    if nnz == 0:
        raise ValueError("user_items has no positive entries: there is nothing to fit")
    rows = np.repeat(np.arange(R.shape[0]), np.diff(R.indptr))[positive]
    n_users = len(np.unique(rows))
    n_items = len(np.unique(R.indices[positive]))
    mean_count = 2.0 * nnz / (n_users + n_items)  # n̄
    return lam / mean_count


# ----------------------------------------------------------- data into Spark


def interactions_frame(user_items) -> pd.DataFrame:
    """A users × items CSR matrix as a long table ``user, item, rating`` (int32, int32, float32).

    Positions become ids, so the table is in the course's index order; stored
    zeros are left out.
    """
    R = check_user_items(user_items)
    R.eliminate_zeros()
    if max(R.shape) > _INT32_MAX:
        raise ValueError(f"Spark ALS needs ids below 2**31 - 1; the matrix has shape {R.shape}")
    users = np.repeat(np.arange(R.shape[0], dtype=np.int32), np.diff(R.indptr))
    return pd.DataFrame({"user": users, "item": R.indices.astype(np.int32), "rating": R.data.astype(np.float32)})


def _schema():
    from pyspark.sql import types as T

    return T.StructType([
        T.StructField("user", T.IntegerType(), False),
        T.StructField("item", T.IntegerType(), False),
        T.StructField("rating", T.FloatType(), False),
    ])


def _to_spark(spark, frame: pd.DataFrame):
    """Ship a ``user, item, rating`` frame to Spark.

    In local mode through a CSV file in Spark's scratch folder (the JVM reads it
    directly, without converting rows in Python); on a cluster, whose executors
    cannot see the driver's disk, through ``createDataFrame``.
    """
    master = spark.sparkContext.master
    if master.startswith("local"):
        scratch = spark.conf.get("spark.local.dir", None)
        if scratch:
            scratch = scratch.split(",")[0]
            os.makedirs(scratch, exist_ok=True)
        folder = Path(tempfile.mkdtemp(prefix="coursekit-interactions-", dir=scratch))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        path = folder / "part-0.csv"
        frame[["user", "item", "rating"]].to_csv(path, index=False, header=False, float_format="%.9g")
        return spark.read.csv(str(path), schema=_schema())
    rows = list(zip(frame["user"].tolist(), frame["item"].tolist(), frame["rating"].tolist()))
    return spark.createDataFrame(rows, schema=_schema())


def save_parquet(user_items, path, *, spark) -> Path:
    """Write interactions as Parquet files (``user, item, rating``) with Spark.

    Parameters
    ----------
    user_items : scipy.sparse.csr_matrix or pandas.DataFrame
        A users × items matrix, or a frame with integer columns ``user``, ``item``
        and a ``rating`` column (ids are written as they are).
    path : path-like
        Folder to write. An existing folder is replaced only if it holds nothing
        but Spark's Parquet output (``part-*``, ``_SUCCESS`` and their ``.crc``
        files); anything else is an error, so no file of yours is deleted.
    spark : pyspark.sql.SparkSession

    Returns
    -------
    pathlib.Path
        The folder, ready for ``SparkALS().fit(path)``.

    Raises
    ------
    ValueError
        If ``path`` is a file, or a folder that holds other files.
    """
    folder = Path(path)
    if folder.exists():
        others = [p.name for p in folder.iterdir()] if folder.is_dir() else [folder.name]
        others = [n for n in others if not (n.lstrip(".").startswith(("part-", "_SUCCESS")))]
        if not folder.is_dir() or others:
            raise ValueError(f"save_parquet would replace {folder}, which holds files Spark did not write "
                             f"(e.g. {others[:3]}); choose a new folder or empty this one yourself")
    frame = user_items if isinstance(user_items, pd.DataFrame) else interactions_frame(user_items)
    missing = {"user", "item", "rating"} - set(frame.columns)
    if missing:
        raise ValueError(f"the frame needs columns user, item, rating; missing {sorted(missing)}")
    _to_spark(spark, frame).write.mode("overwrite").parquet(str(path))
    return Path(path)


# ------------------------------------------------------------------ the model


class SparkALS(FactorRecommender):
    """Implicit-feedback ALS on Spark MLlib, with numpy factors in the course's order.

    Wraps ``pyspark.ml.recommendation.ALS(implicitPrefs=True)``. The objective
    differs from chapter 02's only in the penalty (regParam·n_u instead of λ,
    see the module docstring); :func:`matching_reg_param` translates λ.

    Parameters
    ----------
    factors : int, optional
        f, the length of the vectors (Spark's ``rank``).
    reg_param : float, optional
        Spark's ``regParam``; each user's penalty is ``reg_param · n_u``.
    alpha : float, optional
        α in c_ui = 1 + α r_ui, as in chapter 02.
    iterations : int, optional
        Sweeps (Spark's ``maxIter``).
    num_blocks : int, optional
        Blocks the users and the items are cut into (the unit of parallel work);
        by default Spark's default parallelism (the number of cores in local mode).
    random_state : int, optional
        Seed of the initial vectors.
    master : str, optional
        Spark master URL, used when no ``spark`` session is given.
    spark : pyspark.sql.SparkSession, optional
        A session to use; by default :func:`spark_session` (``master``).

    Attributes
    ----------
    user_factors_ : numpy.ndarray, shape (n_users, factors)
        x_u in the course's order (rows of the fitted matrix, or ``user_ids_``).
    item_factors_ : numpy.ndarray, shape (n_items, factors)
        y_i likewise.
    user_ids_, item_ids_ : numpy.ndarray
        The id (e.g. the world's ``user_id``) of each row of the factor arrays.
    item_popularity_ : numpy.ndarray or None
        Users who played each item (the ranking for users without history);
        None after fitting on Parquet or a Spark frame, which never reach the driver.
    fit_seconds_ : float
        Wall-clock seconds of Spark's fit.
    model_ : pyspark.ml.recommendation.ALSModel
        Spark's model (e.g. for ``recommendForAllUsers`` on the cluster).

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> R = sp.random(30, 20, density=0.2, format="csr", random_state=0)
    >>> spark = spark_session("local[2]", memory="512m")  # doctest: +SKIP
    >>> model = SparkALS(factors=4, reg_param=matching_reg_param(10.0, R), alpha=1.0,
    ...                  iterations=3, spark=spark).fit(R)  # doctest: +SKIP
    >>> model.user_factors_.shape, model.item_factors_.shape  # doctest: +SKIP
    ((30, 4), (20, 4))
    >>> scores = model.predict([0, 1])  # doctest: +SKIP
    >>> ids, scores = model.recommend(0, R, N=5)  # doctest: +SKIP
    """

    def __init__(
        self,
        *,
        factors: int = 64,
        reg_param: float = 0.1,
        alpha: float = 1.0,
        iterations: int = 10,
        num_blocks: int | None = None,
        random_state: int = 0,
        master: str = "local[*]",
        spark=None,
    ):
        self.factors = factors
        self.reg_param = reg_param
        self.alpha = alpha
        self.iterations = iterations
        self.num_blocks = num_blocks
        self.random_state = random_state
        self.master = master
        self.spark = spark

    def __sklearn_clone__(self):
        # the same hyperparameters and the same Spark session (a session cannot be copied)
        return type(self)(**self.get_params(deep=False))

    def _session(self):
        return self.spark if self.spark is not None else spark_session(self.master)

    def spark_estimator(self, spark=None):
        """The configured ``pyspark.ml.recommendation.ALS`` (columns ``user, item, rating``)."""
        _import_pyspark()
        from pyspark.ml.recommendation import ALS

        spark = spark or self._session()
        for name in ("factors", "iterations"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        for name in ("reg_param", "alpha"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not value >= 0:
                raise ValueError(f"{name} must be a number >= 0, got {value!r}")
        blocks = self.num_blocks or spark.sparkContext.defaultParallelism
        return ALS(
            rank=int(self.factors), maxIter=int(self.iterations), regParam=float(self.reg_param),
            alpha=float(self.alpha), implicitPrefs=True, nonnegative=False,
            userCol="user", itemCol="item", ratingCol="rating",
            numUserBlocks=int(blocks), numItemBlocks=int(blocks), seed=int(self.random_state),
        )

    def fit(self, interactions, *, users=None, items=None, shape=None, columns=("user_id", "track_id", "rating")):
        """Fit on interactions given as a matrix, a pandas frame or Parquet files.

        Parameters
        ----------
        interactions : scipy.sparse.csr_matrix, pandas.DataFrame, path-like or pyspark DataFrame
            * CSR matrix, users × items, r_ui ≥ 0 (e.g. ``Feedback.scaled``):
              row and column positions are the ids.
            * pandas DataFrame with the ``columns`` (user id, item id, r): ids may be
              any integers; they are mapped to Spark's 32-bit ids and back.
            * a folder of Parquet files, or a Spark DataFrame, with columns
              ``user, item, rating``: read by Spark, never collected by the driver;
              ids must already be integers in 0 .. 2³¹ − 2 and are the row numbers
              of the factors.
        users, items : array-like of int, optional
            For a pandas frame: the ids, in the order of the factors' rows (e.g.
            the world's ``users.user_id``); by default the sorted ids of the frame.
        shape : (int, int), optional
            For Parquet: (n_users, n_items); by default the largest ids + 1.
        columns : (str, str, str), optional
            For a pandas frame: the user, item and strength columns.

        Returns
        -------
        SparkALS

        Raises
        ------
        ValueError
            For an empty input, ids that are not integers or lie outside
            0 .. 2³¹ − 2, missing columns, NaN, infinite or negative strengths.
        """
        spark = self._session()
        estimator = self.spark_estimator(spark)
        df, user_map, item_map, shape, frame = self._prepare(spark, interactions, users, items, shape, columns)
        start = time.perf_counter()
        model = estimator.fit(df)
        self.fit_seconds_ = time.perf_counter() - start
        self.model_ = model
        self.user_factors_ = _collect_factors(model.userFactors, shape[0], self.factors)
        self.item_factors_ = _collect_factors(model.itemFactors, shape[1], self.factors)
        self.user_ids_ = user_map.ids if user_map is not None else np.arange(shape[0])
        self.item_ids_ = item_map.ids if item_map is not None else np.arange(shape[1])
        self.item_popularity_ = None if frame is None else np.bincount(
            frame["item"].to_numpy()[frame["rating"].to_numpy() > 0], minlength=shape[1]).astype(np.float64)
        return self

    def _prepare(self, spark, data, users, items, shape, columns):
        if sp.issparse(data):
            frame = interactions_frame(data)
            if len(frame) == 0:
                raise ValueError("the interaction matrix has no non-zero entries: there is nothing to fit")
            return _to_spark(spark, frame), None, None, data.shape, frame
        if isinstance(data, pd.DataFrame):
            frame, user_map, item_map = _map_frame(data, users, items, columns)
            return _to_spark(spark, frame), user_map, item_map, (len(user_map), len(item_map)), frame
        if isinstance(data, (str, os.PathLike)):
            if not Path(data).exists():
                raise ValueError(f"no Parquet files at {data}")
            data = spark.read.parquet(str(data))
        if hasattr(data, "schema") and hasattr(data, "select"):
            df, found = _check_spark_frame(data)
            shape = tuple(shape) if shape is not None else found
            if shape[0] < found[0] or shape[1] < found[1]:
                raise ValueError(f"shape {shape} is too small for the ids, which need at least {found}")
            return df, None, None, shape, None
        hint = "; convert a users x items array with scipy.sparse.csr_matrix(interactions)" if np.ndim(data) == 2 else ""
        raise TypeError(
            f"interactions must be a scipy.sparse CSR matrix, a pandas DataFrame, a Parquet folder or a "
            f"Spark DataFrame, got {type(data).__name__}{hint}"
        )


def _map_frame(data: pd.DataFrame, users, items, columns):
    """Check a pandas interactions frame and map its ids to positions 0..n-1."""
    user_col, item_col, rating_col = columns
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise ValueError(f"interactions is missing column(s) {missing}; it has {list(data.columns)}. "
                         f"Pass columns=(user, item, strength) to name yours")
    if len(data) == 0:
        raise ValueError("interactions is empty: there is nothing to fit")
    for col in (user_col, item_col):
        values = data[col]
        if not pd.api.types.is_integer_dtype(values):
            numbers = pd.to_numeric(values, errors="coerce")
            whole = numbers.notna() & np.isfinite(numbers) & (numbers == np.round(numbers))
            if not whole.all():
                example = values[~whole].head(3).tolist()
                raise ValueError(f"column {col!r} must hold integer ids; {int((~whole).sum())} row(s) do not "
                                 f"(e.g. {example})")
    r = pd.to_numeric(data[rating_col], errors="coerce").to_numpy(dtype=float)
    if not np.isfinite(r).all() or (r < 0).any():
        raise ValueError(f"column {rating_col!r} must hold finite strengths >= 0; "
                         f"{int((~np.isfinite(r)).sum())} are NaN or infinite and {int((r < 0).sum())} negative")
    user_ids = data[user_col].to_numpy().astype(np.int64)
    item_ids = data[item_col].to_numpy().astype(np.int64)
    user_map = IdMap(np.unique(user_ids) if users is None else np.asarray(users), "user_id")
    item_map = IdMap(np.unique(item_ids) if items is None else np.asarray(items), "item_id")
    for what, m in (("users", user_map), ("items", item_map)):
        if len(m) > _INT32_MAX:
            raise ValueError(f"Spark ALS takes at most 2**31 - 1 {what}, got {len(m)}")
    frame = pd.DataFrame({
        "user": user_map.index(user_ids).astype(np.int32),  # KeyError names unknown ids
        "item": item_map.index(item_ids).astype(np.int32),
        "rating": r.astype(np.float32),
    })
    frame = frame[frame["rating"] > 0]
    if len(frame) == 0:
        raise ValueError(f"column {rating_col!r} has no positive strength: there is nothing to fit")
    return frame, user_map, item_map


def _check_spark_frame(df):
    """Check a Spark frame of ``user, item, rating`` with one aggregation; return it and the shape its ids need."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    missing = [c for c in ("user", "item", "rating") if c not in df.columns]
    if missing:
        raise ValueError(f"the Spark data is missing column(s) {missing}; it has {df.columns}")
    for col in ("user", "item"):
        kind = df.schema[col].dataType
        if not isinstance(kind, (T.IntegerType, T.LongType, T.ShortType, T.ByteType)):
            raise ValueError(f"column {col!r} must hold integer ids, got Spark type {kind.simpleString()}; "
                             f"map your ids to 0..n-1 first")
    if not isinstance(df.schema["rating"].dataType, T.NumericType):
        raise ValueError(f"column 'rating' must be numeric, got {df.schema['rating'].dataType.simpleString()}")
    rating = F.col("rating").cast("double")
    stats = df.agg(
        F.count(F.lit(1)).alias("rows"),
        F.min("user").alias("user_min"), F.max("user").alias("user_max"),
        F.min("item").alias("item_min"), F.max("item").alias("item_max"),
        F.sum((F.col("user").isNull() | F.col("item").isNull()).cast("long")).alias("null_ids"),
        F.sum((rating.isNull() | F.isnan(rating) | (F.abs(rating) == float("inf"))).cast("long")).alias("bad"),
        F.sum((rating < 0).cast("long")).alias("negative"),
    ).first()
    if stats["rows"] == 0:
        raise ValueError("the Spark data is empty: there is nothing to fit")
    if stats["null_ids"]:
        raise ValueError(f"{stats['null_ids']} row(s) have a missing user or item id")
    for col in ("user", "item"):
        low, high = stats[f"{col}_min"], stats[f"{col}_max"]
        if low < 0 or high >= _INT32_MAX:
            raise ValueError(f"column {col!r} has ids from {low} to {high}; Spark ALS needs 32-bit ids in "
                             f"0..{_INT32_MAX - 1}: map them to 0..n-1 (e.g. with coursekit.feedback.IdMap)")
    if stats["bad"] or stats["negative"]:
        raise ValueError(f"column 'rating' must hold finite strengths >= 0; {stats['bad']} are missing, NaN or "
                         f"infinite and {stats['negative']} negative")
    df = df.select(F.col("user").cast("int"), F.col("item").cast("int"), rating.cast("float").alias("rating"))
    return df, (int(stats["user_max"]) + 1, int(stats["item_max"]) + 1)


def _collect_factors(factors_df, n_rows: int, f: int) -> np.ndarray:
    """Spark's (id, features) rows as an (n_rows, f) float64 array; rows Spark never saw stay 0."""
    out = np.zeros((n_rows, f))
    rows = factors_df.collect()
    if rows:
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        out[ids] = np.asarray([r[1] for r in rows], dtype=np.float64)
    return out


# ------------------------------------------------------------ mixtapes on Spark

_WORKER_MODEL: dict = {}   # per Python worker process: (model folder, world) -> model, loaded once


def _worker_model(model_dir: str, world_path: str | None, world_size: str | None):
    from .batch import load_model
    from .datasets import load_world

    key = (model_dir, world_path, world_size)
    if key not in _WORKER_MODEL:
        _WORKER_MODEL.clear()
        _WORKER_MODEL[key] = load_model(model_dir, load_world(world_size, path=world_path))
    return _WORKER_MODEL[key]


def _mixtapes_partition(batches, *, model_dir: str, world_path: str | None, world_size: str | None,
                        batch_size: int):
    """``mapInPandas`` body: each pandas batch of ``user`` positions -> their mixtapes (``tracks``)."""
    from .batch import candidate_mixtapes

    model = _worker_model(model_dir, world_path, world_size)
    for frame in batches:
        users = frame["user"].to_numpy(np.int64)
        yield pd.DataFrame({"user": users, "tracks": list(candidate_mixtapes(model, users, batch_size=batch_size))})


def _mixtapes_rows(rows, **kw):
    """The same for an RDD partition of ``Row(user=...)`` (no Arrow): yields ``(user, [tracks])``."""
    users = np.fromiter((row.user for row in rows), dtype=np.int64)
    if len(users):
        for frame in _mixtapes_partition(iter([pd.DataFrame({"user": users})]), **kw):
            yield from zip(frame["user"].tolist(), (t.tolist() for t in frame["tracks"]))


def _has_arrow() -> bool:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


def spark_mixtapes(spark, users, *, model_dir, world_path=None, world_size: str | None = None,
                   partitions: int | None = None, batch_size: int = 16, arrow: bool | None = None) -> pd.DataFrame:
    """Mixtapes for user positions ``users`` as a Spark job: ``mapInPandas`` over listener partitions.

    The same scoring as :func:`coursekit.batch.candidate_mixtapes`: the users
    are cut into ``partitions``; every Python worker loads the world and the
    model stored with :func:`coursekit.batch.save_model` once (a fixed cost per
    worker, paid again on every machine of a cluster), then scores its
    partitions, and the mixtapes come back to the driver.

    Parameters
    ----------
    spark : pyspark.sql.SparkSession
        From :func:`spark_session`.
    users : array-like of int
        User positions (rows of the model's matrices).
    model_dir : path-like
        Folder written by :func:`coursekit.batch.save_model`, readable by every worker.
    world_path : path-like, optional
        The world's folder (as :func:`coursekit.datasets.load_world` takes it); with
        ``world_size``, which world. Every worker must be able to read it.
    world_size : str, optional
        ``"tiny"``, ``"small"`` or ``"large"``.
    partitions : int, optional
        Listener partitions (default: twice Spark's default parallelism).
    batch_size : int
        Users scored at a time inside a partition.
    arrow : bool, optional
        ``mapInPandas`` (batches travel as Arrow: needs ``pyarrow``) or, with
        False, the same partition body as an RDD ``mapPartitions`` (rows travel
        pickled by Spark's own serializer). Default: Arrow when ``pyarrow`` is installed.

    Returns
    -------
    pandas.DataFrame
        ``user`` (position) and ``tracks`` (array of ``model.n`` track positions,
        listening order, ``-1`` padding), sorted by user.

    Raises
    ------
    ValueError
        If ``users`` is not a 1-D array of integers or ``partitions`` < 1.
    ImportError
        If ``arrow=True`` and ``pyarrow`` is not installed.
    """
    from functools import partial

    users = np.asarray(users)
    if users.ndim != 1 or users.dtype.kind not in "iu":
        raise ValueError(f"users must be a 1-D array of user positions, got dtype {users.dtype}, shape {users.shape}")
    partitions = partitions or 2 * spark.sparkContext.defaultParallelism
    if isinstance(partitions, bool) or not isinstance(partitions, (int, np.integer)) or partitions < 1:
        raise ValueError(f"partitions must be a positive integer, got {partitions!r}")
    arrow = _has_arrow() if arrow is None else arrow
    if arrow and not _has_arrow():
        raise ImportError("spark_mixtapes(arrow=True) needs pyarrow (pip install pyarrow); arrow=False works without")
    kw = dict(model_dir=str(model_dir), world_path=None if world_path is None else str(world_path),
              world_size=world_size, batch_size=int(batch_size))
    from pyspark.sql import Row

    frame = spark.createDataFrame([Row(user=int(u)) for u in users], schema="user long").repartition(int(partitions))
    if arrow:
        out = frame.mapInPandas(partial(_mixtapes_partition, **kw), schema="user long, tracks array<long>").toPandas()
    else:
        pairs = frame.rdd.mapPartitions(partial(_mixtapes_rows, **kw)).collect()
        out = pd.DataFrame({"user": [u for u, _ in pairs], "tracks": [np.asarray(t, dtype=np.int64) for _, t in pairs]})
    out["tracks"] = [np.asarray(t, dtype=np.int64) for t in out["tracks"]]
    return out.sort_values("user", ignore_index=True)
