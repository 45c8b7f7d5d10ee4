"""Tests for coursekit.scale: chapter 02's ALS on Spark (local mode, one shared session)."""

import os
import subprocess
import sys
import tempfile
import textwrap

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from coursekit import scale
from coursekit.als import ImplicitALS
from coursekit.evaluation import next_week_split
from coursekit.scale import SparkALS, check_java, matching_reg_param, save_parquet, spark_session

# Spark keeps its vectors in float32 and sums in another order than numpy.
FLOAT32_TOL = 1e-4


@pytest.fixture(scope="session")
def tiny_split(tiny):
    world, truth = tiny
    return next_week_split(world, truth)


def two_taste_groups():
    """Users 0-5 play items 0-3, users 6-11 play items 4-7 (each user 3 of their group's 4)."""
    rows, cols, vals = [], [], []
    for u in range(12):
        group = range(0, 4) if u < 6 else range(4, 8)
        for k, i in enumerate(group):
            if k != u % 4:
                rows.append(u)
                cols.append(i)
                vals.append(1.0 + (u + i) % 3)
    return sp.csr_matrix((vals, (rows, cols)), shape=(12, 8))


def circulant(n: int, k: int) -> sp.csr_matrix:
    """User u plays items u, u+1, ..., u+k-1 (mod n): every user and every item has exactly k plays."""
    rows = np.repeat(np.arange(n), k)
    cols = (rows + np.tile(np.arange(k), n)) % n
    vals = 1.0 + (rows * 7 + cols) % 4
    return sp.csr_matrix((vals, (rows, cols)), shape=(n, n))


# ------------------------------------------------------------- the parameters


def test_matching_reg_param_by_hand():
    # 3 positive entries; 2 users and 2 items have plays (item 2 and user 2 have none)
    R = sp.csr_matrix([[1.0, 2.0, 0.0], [0.0, 3.0, 0.0], [0.0, 0.0, 0.0]])
    # n̄ = (Σ n_u + Σ n_i) / (users + items) = (3 + 3) / (2 + 2) = 1.5, so regParam = λ / 1.5
    assert matching_reg_param(3.0, R) == pytest.approx(2.0)
    # stored zeros are not plays
    R0 = sp.csr_matrix((np.array([1.0, 0.0]), (np.array([0, 1]), np.array([0, 1]))), shape=(2, 2))
    assert matching_reg_param(1.0, R0) == pytest.approx(1.0)  # n̄ = 2·1 / (1 + 1)


def test_matching_reg_param_gives_lambda_to_an_average_row():
    R = circulant(10, 3)  # every n_u = n_i = 3
    lam = 6.0
    assert matching_reg_param(lam, R) * 3 == pytest.approx(lam)


def test_matching_reg_param_rejects_bad_input():
    with pytest.raises(ValueError, match="regularization must be a finite number > 0"):
        matching_reg_param(0.0, circulant(4, 2))
    with pytest.raises(ValueError, match="no positive entries"):
        matching_reg_param(1.0, sp.csr_matrix((3, 3)))


def test_same_objective_as_chapter_02_when_every_count_is_equal(spark):
    # With n_u = n_i = k for all rows and columns, regParam·k = λ: Spark's ALS-WR penalty
    # is chapter 02's, so both converge to the same predicted preferences.
    R = circulant(16, 4)
    lam, alpha = 2.0, 3.0
    ours = ImplicitALS(factors=3, regularization=lam, alpha=alpha, iterations=15, use_cg=False,
                       dtype=np.float64, random_state=0).fit(R)
    spark_model = SparkALS(factors=3, reg_param=lam / 4, alpha=alpha, iterations=15, spark=spark).fit(R)
    assert spark_model.predict(np.arange(16)) == pytest.approx(ours.predict(np.arange(16)), abs=2e-3)


# ------------------------------------------------------------------ fitting


def test_fit_on_tiny_world_shapes_order_and_empty_rows(spark, tiny_split):
    R = tiny_split.train.scaled
    model = SparkALS(factors=8, reg_param=matching_reg_param(10.0, R), alpha=tiny_split.train.alpha,
                     iterations=5, spark=spark).fit(R)
    assert model.user_factors_.shape == (R.shape[0], 8)
    assert model.item_factors_.shape == (R.shape[1], 8)
    assert model.user_factors_.dtype == np.float64
    np.testing.assert_array_equal(model.user_ids_, np.arange(R.shape[0]))
    # users and tracks without a single play never reach Spark: their vectors are 0
    silent_tracks = np.flatnonzero(R.getnnz(axis=0) == 0)
    assert len(silent_tracks) > 0
    assert not model.item_factors_[silent_tracks].any()
    assert np.abs(model.item_factors_[R.getnnz(axis=0) > 0]).sum(axis=1).min() > 0
    assert model.predict([0, 1]).shape == (2, R.shape[1])
    assert model.fit_seconds_ > 0


def test_spark_agrees_with_chapter_02_on_tiny_world(spark, tiny_split):
    R, alpha, lam = tiny_split.train.scaled, tiny_split.train.alpha, 10.0
    ours = ImplicitALS(factors=16, regularization=lam, alpha=alpha, iterations=10, use_cg=False,
                       random_state=0).fit(R)
    theirs = SparkALS(factors=16, reg_param=matching_reg_param(lam, R), alpha=alpha, iterations=10,
                      spark=spark).fit(R)
    ndcg = {name: tiny_split.evaluate(tiny_split.recommend(m, 30), 30)["ndcg@30"]
            for name, m in (("chapter 02", ours), ("spark", theirs))}
    assert ndcg["spark"] == pytest.approx(ndcg["chapter 02"], abs=0.02), ndcg


def test_rows_follow_the_course_index_order(spark):
    # rows shuffled: each user must still rank their own group's unplayed item first
    R = two_taste_groups()
    perm = np.random.default_rng(0).permutation(12)
    model = SparkALS(factors=2, reg_param=0.05, alpha=5.0, iterations=15, spark=spark).fit(R[perm].tocsr())
    for row, user in enumerate(perm):
        best = model.recommend(row, R[perm].tocsr(), N=1).ids[0]
        assert (best < 4) == (user < 6), (row, user, best)


def test_pandas_ids_are_mapped_and_back(spark):
    R = two_taste_groups().tocoo()
    user_ids = 10**12 + 7 * np.arange(12)[::-1]  # large, unsorted int64 ids: Spark needs 32-bit ones
    track_ids = np.array([901, 5, 77, 3, 2**40, 60, 61, 8])
    frame = pd.DataFrame({"user_id": user_ids[R.row], "track_id": track_ids[R.col], "rating": R.data})
    frame = frame.sample(frac=1.0, random_state=0)
    model = SparkALS(factors=2, reg_param=0.05, alpha=5.0, iterations=15, spark=spark).fit(
        frame, users=user_ids, items=track_ids)
    np.testing.assert_array_equal(model.user_ids_, user_ids)
    np.testing.assert_array_equal(model.item_ids_, track_ids)
    scores = model.predict(np.arange(12))
    first_group = np.isin(model.item_ids_, track_ids[:4])
    for row in range(12):
        in_first = scores[row, first_group].mean() > scores[row, ~first_group].mean()
        assert in_first == (row < 6)
    # default: the sorted ids of the frame
    default = SparkALS(factors=2, iterations=2, spark=spark).fit(frame)
    np.testing.assert_array_equal(default.user_ids_, np.sort(user_ids))


def test_parquet_path_gives_the_same_model(spark, tiny_split, tmp_path):
    R = tiny_split.train.scaled
    params = dict(factors=4, reg_param=0.1, alpha=2.0, iterations=3, spark=spark)
    from_matrix = SparkALS(**params).fit(R)
    folder = save_parquet(R, tmp_path / "listens.parquet", spark=spark)
    assert list(folder.glob("*.parquet"))
    from_files = SparkALS(**params).fit(folder, shape=R.shape)
    assert from_files.user_factors_.shape == R.shape[:1] + (4,)
    assert from_files.user_factors_ == pytest.approx(from_matrix.user_factors_, abs=FLOAT32_TOL)
    assert from_files.item_factors_ == pytest.approx(from_matrix.item_factors_, abs=FLOAT32_TOL)
    # without a shape, the largest ids + 1
    assert SparkALS(**{**params, "iterations": 1}).fit(str(folder)).item_factors_.shape[0] == R.indices.max() + 1
    # Spark's own output may be replaced; a folder with anything else in it may not
    assert save_parquet(R[:5], folder, spark=spark) == folder
    (tmp_path / "thesis").mkdir()
    (tmp_path / "thesis" / "chapter1.tex").write_text("mine")
    with pytest.raises(ValueError, match=r"thesis, which holds files Spark did not write.*chapter1.tex"):
        save_parquet(R, tmp_path / "thesis", spark=spark)
    assert (tmp_path / "thesis" / "chapter1.tex").read_text() == "mine"


# ----------------------------------------------------------------- bad input


def test_bad_frames_get_clear_errors(spark):
    model = SparkALS(factors=2, iterations=1, spark=spark)
    good = pd.DataFrame({"user_id": [1, 2], "track_id": [3, 4], "rating": [1.0, 2.0]})
    with pytest.raises(ValueError, match="interactions is empty"):
        model.fit(good.iloc[:0])
    with pytest.raises(ValueError, match="missing column"):
        model.fit(good.drop(columns="rating"))
    with pytest.raises(ValueError, match="'user_id' must hold integer ids; 1 row"):
        model.fit(good.assign(user_id=[1.5, 2.0]))
    with pytest.raises(ValueError, match="'track_id' must hold integer ids"):
        model.fit(good.assign(track_id=["a", "b"]))
    with pytest.raises(ValueError, match="finite strengths >= 0; 1 are NaN or infinite and 0 negative"):
        model.fit(good.assign(rating=[np.nan, 1.0]))
    with pytest.raises(ValueError, match="0 are NaN or infinite and 1 negative"):
        model.fit(good.assign(rating=[-1.0, 1.0]))
    with pytest.raises(KeyError, match="unknown user_id"):
        model.fit(good, users=[1])
    with pytest.raises(ValueError, match="no non-zero entries"):
        model.fit(sp.csr_matrix((3, 3)))
    with pytest.raises(TypeError, match="CSR matrix, a pandas DataFrame, a Parquet folder"):
        model.fit([[1, 2]])
    with pytest.raises(ValueError, match="factors must be an integer >= 1"):
        SparkALS(factors=0, spark=spark).fit(good)


def test_bad_spark_data_gets_clear_errors(spark, tmp_path):
    model = SparkALS(factors=2, iterations=1, spark=spark)
    too_big = spark.createDataFrame([(0, 2**31, 1.0)], "user long, item long, rating double")
    with pytest.raises(ValueError, match="'item' has ids from 2147483648 to 2147483648; Spark ALS needs 32-bit"):
        model.fit(too_big)
    negative = spark.createDataFrame([(-1, 0, 1.0)], "user int, item int, rating double")
    with pytest.raises(ValueError, match="'user' has ids from -1"):
        model.fit(negative)
    strings = spark.createDataFrame([("a", 0, 1.0)], "user string, item int, rating double")
    with pytest.raises(ValueError, match="'user' must hold integer ids, got Spark type string"):
        model.fit(strings)
    with pytest.raises(ValueError, match="empty"):
        model.fit(spark.createDataFrame([], "user int, item int, rating double"))
    with pytest.raises(ValueError, match="no Parquet files at"):
        model.fit(tmp_path / "nowhere")
    with pytest.raises(ValueError, match="shape .* is too small"):
        model.fit(spark.createDataFrame([(5, 0, 1.0)], "user int, item int, rating double"), shape=(3, 3))


# ------------------------------------------------------------------ set-up


def test_missing_pyspark_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyspark", None)  # what `import pyspark` sees when it is not installed
    with pytest.raises(ImportError, match=r"pip install coursekit\[spark\]"):
        spark_session()
    with pytest.raises(ImportError, match=r"pip install coursekit\[spark\]"):
        SparkALS().spark_estimator()


def test_import_coursekit_does_not_load_pyspark():
    code = "import sys, coursekit, coursekit.scale; assert 'pyspark' not in sys.modules, 'pyspark was loaded'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_missing_java_says_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(RuntimeError, match="no `java` was found.*openjdk-17"):
        check_java()
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "jdk"))
    with pytest.raises(RuntimeError, match="is not an executable java.*conda-forge openjdk"):
        check_java()


@pytest.mark.parametrize("banner, major", [('openjdk version "11.0.2" 2019-01-15', 11),
                                           ('java version "1.8.0_292"', 8)])
def test_old_java_is_refused(monkeypatch, tmp_path, banner, major):
    java = tmp_path / "bin" / "java"
    java.parent.mkdir()
    java.write_text(textwrap.dedent(f"""\
        #!/bin/sh
        echo '{banner}' >&2
        """))
    java.chmod(0o755)
    monkeypatch.setenv("JAVA_HOME", str(tmp_path))
    assert check_java(minimum=8) == (str(java), major)
    with pytest.raises(RuntimeError, match=f"needs Java 17 or newer, but .* is Java {major}"):
        check_java(minimum=17)


def test_this_machine_has_a_java_spark_accepts():
    path, major = check_java()
    assert os.access(path, os.X_OK) and major >= 8


def test_spark_session_is_quiet_and_local(spark):
    assert spark.sparkContext.master == "local[2]"
    assert spark.conf.get("spark.ui.enabled") == "false"
    assert spark.conf.get("spark.ui.showConsoleProgress") == "false"
    assert spark_session() is spark  # a running session is returned as it is
    assert scale.INSTALL_HINT == "pip install coursekit[spark]"


def test_spark_prints_nothing_while_starting_and_fitting():
    # a fresh JVM in its own process: no banner, log lines, JVM or BLAS warnings, progress bars
    code = textwrap.dedent("""
        import scipy.sparse as sp
        from coursekit.scale import SparkALS, spark_session
        spark = spark_session("local[1]", memory="512m", java_options="-XX:TieredStopAtLevel=1")
        SparkALS(factors=2, iterations=2, spark=spark).fit(sp.random(20, 10, density=0.3, format="csr", random_state=0))
        spark.stop()
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout == "" and done.stderr == "", (done.stdout[-1000:], done.stderr[-1000:])


def test_scratch_folders_of_dead_sessions_are_removed(monkeypatch, tmp_path):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead, alive, foreign = (tmp_path / f"coursekit-spark-{name}" for name in ("dead", "alive", "foreign"))
    for folder, owner in ((dead, gone.stdout.strip()), (alive, str(os.getpid())), (foreign, None)):
        (folder / "local").mkdir(parents=True)
        if owner:
            (folder / "owner.pid").write_text(owner)
    scale._remove_stale_folders()
    assert not dead.exists()
    assert alive.exists() and foreign.exists()  # a live owner's, and one without an owner file, stay


@pytest.mark.parametrize("arrow", [False, pytest.param(True, marks=pytest.mark.skipif(
    not scale._has_arrow(), reason="mapInPandas needs pyarrow"))])
def test_spark_mixtapes_are_the_single_machine_mixtapes(spark, tmp_path, arrow):
    from coursekit.batch import candidate_mixtapes, save_model
    from coursekit.datasets import load_world, write_world
    from coursekit.mixtape import DiscoverWeekly

    world = load_world("tiny", path=write_world("tiny", tmp_path / "world"))
    model = DiscoverWeekly(factors=8, iterations=4, engine="implicit").fit(world)
    save_model(model, tmp_path / "model")
    users = np.arange(0, model.train_.shape[0], 3)[::-1]
    got = scale.spark_mixtapes(spark, users, model_dir=tmp_path / "model", world_path=tmp_path / "world",
                               partitions=3, batch_size=5, arrow=arrow)
    assert got["user"].tolist() == sorted(users.tolist())
    np.testing.assert_array_equal(np.stack(got["tracks"].to_numpy()), candidate_mixtapes(model, np.sort(users)))
    with pytest.raises(ValueError, match="partitions must be a positive integer"):
        scale.spark_mixtapes(spark, users, model_dir=tmp_path / "model", partitions=-1)
