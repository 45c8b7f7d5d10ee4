"""The ``coursekit`` command.

``coursekit world`` loads (or generates) a music world and prints its summary;
``coursekit world --size small --write datasets/small`` regenerates the
committed files byte for byte.
"""

from __future__ import annotations

import argparse
import sys
import time


def _world(args) -> int:
    from .datasets import load_world, write_world

    if args.write:
        start = time.perf_counter()
        folder = write_world(args.size, args.write, progress=_progress if args.size == "large" else None)
        print(f"wrote the {args.size} world to {folder} in {time.perf_counter() - start:.1f} s")
        return 0
    start = time.perf_counter()
    world = load_world(args.size, progress=_progress if args.size == "large" else None)
    elapsed = time.perf_counter() - start
    print(f"The {args.size} music world (loaded in {elapsed:.1f} s)\n")
    print(world.summary().to_string())
    print("\nTracks per genre:")
    print(world.tracks["genre"].value_counts().to_string())
    return 0


def _progress(done: int, total: int) -> None:
    print(f"  simulated {done:,} / {total:,} users", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="coursekit", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    world = sub.add_parser("world", help="load or generate a music world and print its summary")
    world.add_argument("--size", default="small", choices=["tiny", "small", "large"])
    world.add_argument("--write", metavar="DIR", help="generate the world and write its files to DIR")
    world.set_defaults(func=_world)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
