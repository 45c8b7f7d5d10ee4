"""The ``coursekit`` command: the music world, mixtapes and the exercises from a shell.

* ``coursekit world [--size tiny|small|large]`` loads (or generates) a music world
  and prints its summary; ``coursekit world --size small --write datasets/small``
  regenerates the committed files byte for byte.
* ``coursekit mixtape --user USER_ID [--out FILE.png|FILE.html]`` prints a listener's
  Discover Weekly (30 unheard songs, with the reason for each);
  ``coursekit mixtape --all --out FILE.csv`` writes every listener's;
  ``--no-audio`` skips the audio CNN; ``--retrain`` trains afresh instead of using
  the committed (``datasets/models``) or cached models.
* ``coursekit place FILE [--k 10] [--sr SR]`` places a recording (WAV, FLAC, OGG) among
  the world's songs with the trained audio CNN: its nearest songs, their genre mix and
  its attributes (tempo, key, metre, loudness); a recording that is not music is refused
  (exit code 2, with its music score).
* ``coursekit models --size small`` trains the models afresh and writes the committed
  copy, byte for byte (run it after changing the code that trains them).
* ``coursekit exercises release`` writes the student notebooks from the sources;
  ``coursekit exercises grade SUBMISSIONS_DIR`` grades a folder of submissions.

``python -m coursekit`` is the same command.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

from .exercises import add_exercise_commands


def _world(args) -> int:
    from .datasets import load_world, write_world

    try:
        if args.write:
            start = time.perf_counter()
            folder = write_world(args.size, args.write, progress=_progress if args.size == "large" else None)
            print(f"wrote the {args.size} world to {folder} in {time.perf_counter() - start:.1f} s")
            return 0
        start = time.perf_counter()
        world = load_world(args.size, progress=_progress if args.size == "large" else None)
    except (OSError, ValueError) as err:  # a folder that is not a world, a damaged file: the message names it
        print(f"coursekit world: {err}", file=sys.stderr)
        return 2
    elapsed = time.perf_counter() - start
    print(f"The {args.size} music world (loaded in {elapsed:.1f} s)\n")
    print(world.summary().to_string())
    print("\nTracks per genre:")
    print(world.tracks["genre"].value_counts().to_string())
    return 0


def _models(args) -> int:
    from .datasets import load_world
    from .modelcache import COMMITTED, write_committed

    say = (lambda message: print(f"  {message} ...", file=sys.stderr, flush=True))
    start = time.perf_counter()
    folder = write_committed(load_world(args.size), root=args.root or COMMITTED, progress=say)
    print(f"wrote the {args.size} world's trained models to {folder} in {time.perf_counter() - start:.0f} s")
    return 0


def _mixtape(args) -> int:
    import pandas as pd

    from .datasets import load_world
    from .modelcache import ModelCacheWarning, trained
    from .picture import write_picture

    if args.user is None and not args.all:
        print("coursekit mixtape: give --user ID (one listener) or --all (every listener)", file=sys.stderr)
        return 2
    if args.out:
        _check_writable(args.out, table=args.all)
    say = (lambda message: print(f"  {message} ...", file=sys.stderr, flush=True))
    start = time.perf_counter()
    say(f"loading the {args.size} music world")
    world = load_world(args.size)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ModelCacheWarning)
        model = trained(world, progress=say, audio=not args.no_audio, retrain=args.retrain)
    for warning in caught:   # e.g. a read-only cache: the mixtape still comes, the warning goes to stderr
        if issubclass(warning.category, ModelCacheWarning):
            print(f"coursekit mixtape: warning: {warning.message}", file=sys.stderr)
        else:
            warnings.showwarning(warning.message, warning.category, warning.filename, warning.lineno)
    say(f"ready in {time.perf_counter() - start:.0f} s")
    if args.all:
        table = model.all_mixtapes(progress=True)
        if args.out:
            _write_atomic(args.out, lambda path: table.to_csv(path, index=False))
            print(f"wrote {table['user_id'].nunique():,} mixtapes ({len(table):,} songs) to {args.out}")
        else:
            print(table.to_string(index=False))
        return 0
    try:
        table = model.mixtape(args.user)
    except KeyError as exc:
        ids = world.users["user_id"]
        print(f"coursekit mixtape: {exc.args[0]}. Pick a user id between {ids.min()} and {ids.max()}, "
              f"e.g. --user {ids.iloc[len(ids) // 2]}", file=sys.stderr)
        return 2
    note = table.attrs.get("note")
    print(f"\nDiscover Weekly for user {args.user}: {len(table)} songs you have never played\n")
    if note:
        print(f"({note})\n")
        if len(table) < model.n:
            print(f"coursekit mixtape: warning: {note}", file=sys.stderr)
    with pd.option_context("display.width", 200, "display.max_colwidth", 80):
        print(table[["position", "title", "artist", "genre", "why"]].to_string(index=False))
    if args.out:
        _write_atomic(args.out, lambda path: write_picture(table, path, fmt=Path(args.out).suffix))
        print(f"\nwrote {args.out}")
    return 0


def _place(args) -> int:
    from .datasets import load_world
    from .modelcache import ModelCacheWarning

    say = (lambda message: print(f"  {message} ...", file=sys.stderr, flush=True))
    start = time.perf_counter()
    try:
        from .place import place   # TensorFlow
    except ImportError as exc:
        print(f"coursekit place: {exc}", file=sys.stderr)
        return 2
    caught = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ModelCacheWarning)
            placed = place(args.file, sr=args.sr, k=args.k, world=load_world(args.size), progress=say)
    except (OSError, ValueError) as err:   # not music, silent, unreadable, no such file: the message says which
        print(f"coursekit place: {err}", file=sys.stderr)
        return 2
    finally:
        for warning in caught:   # e.g. a cached model that failed its checksum (and was retrained)
            if issubclass(warning.category, ModelCacheWarning):
                print(f"coursekit place: warning: {warning.message}", file=sys.stderr)
            else:
                warnings.showwarning(warning.message, warning.category, warning.filename, warning.lineno)
    say(f"placed in {time.perf_counter() - start:.1f} s")
    print(f"\n{args.file} among the {args.size} world's songs\n")
    print(placed.to_string())
    return 0


def _check_writable(out: str, *, table: bool = False) -> None:
    """Refuse an ``--out`` that cannot be written, before any training (a folder, a missing or read-only one)."""
    target = Path(out)
    allowed = (".csv",) if table else (".png", ".html")
    if target.is_dir():
        raise SystemExit(f"coursekit mixtape: --out {out} is a folder; give a file name in it, "
                         f"e.g. {target / ('mixtapes' if table else 'mixtape')}{allowed[0]}")
    folder = target.resolve().parent
    if not folder.is_dir():
        raise SystemExit(f"coursekit mixtape: cannot write {out}: the folder {folder} does not exist")
    if target.suffix.lower() not in allowed:
        raise SystemExit(f"coursekit mixtape: --out must end in {' or '.join(allowed)} "
                         f"({'every listener' if table else 'one listener'}), got {out}")
    try:   # the only sure test of writability (permissions, read-only file systems, root's exceptions)
        fd, probe = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".probe", dir=folder)
    except OSError as exc:
        raise SystemExit(f"coursekit mixtape: cannot write {out}: the folder {folder} is not writable "
                         f"({exc.strerror or exc})") from None
    os.close(fd)
    os.unlink(probe)


def _write_atomic(out: str, write) -> None:
    """``write(tmp)`` into a temporary file beside ``out``, renamed into place when complete (usual umask's mode)."""
    from ._files import atomic_write

    with atomic_write(Path(out).resolve()) as tmp:
        write(str(tmp))


def _progress(done: int, total: int) -> None:
    print(f"  simulated {done:,} / {total:,} users", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="coursekit", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    world = sub.add_parser("world", help="load or generate a music world and print its summary")
    world.add_argument("--size", default="small", choices=["tiny", "small", "large"])
    world.add_argument("--write", metavar="DIR", help="generate the world and write its files to DIR")
    world.set_defaults(func=_world)
    mix = sub.add_parser("mixtape", help="30 songs a listener has never played but will probably love")
    mix.add_argument("--user", type=int, help="a user_id of the world")
    mix.add_argument("--all", action="store_true", help="every user's mixtape (use with --out FILE.csv)")
    mix.add_argument("--out", metavar="FILE", help="write a picture (.png, .html) or, with --all, a .csv")
    mix.add_argument("--size", default="small", choices=["tiny", "small", "large"])
    mix.add_argument("--no-audio", action="store_true", help="skip the audio CNN (faster, no audio signal)")
    mix.add_argument("--retrain", action="store_true",
                     help="train the models afresh instead of using the committed or cached ones")
    mix.set_defaults(func=_mixtape)
    where = sub.add_parser("place", help="place a recording among the world's songs with the audio CNN")
    where.add_argument("file", help="an audio file (WAV, FLAC, OGG)")
    where.add_argument("--k", type=int, default=10, help="number of nearest songs (default 10)")
    where.add_argument("--sr", type=int, default=None,
                       help="the file's sample rate, Hz, as a check (default: read from the file)")
    where.add_argument("--size", default="small", choices=["tiny", "small"],
                       help="the world whose songs to place it among (small: the committed models, no training)")
    where.set_defaults(func=_place)
    models = sub.add_parser("models", help="train the models afresh and write the committed copy (datasets/models)")
    models.add_argument("--size", default="small", choices=["tiny", "small"])
    models.add_argument("--root", metavar="DIR", default=None,
                        help="where to write (default: the course's datasets/models)")
    models.set_defaults(func=_models)
    add_exercise_commands(sub)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
