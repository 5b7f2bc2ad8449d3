"""`python -m zoo.data {list, info NAME, prepare NAME}`: the command the dataset errors point to.

python -m zoo.data prepare voc2012_segmentation --manual_dir ~/Downloads [--data_dir DIR] [--on_corrupt skip]
"""

from __future__ import annotations

import argparse
import sys

from zoo.data import images, registry
from zoo.errors import ZooError


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m zoo.data", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="registered datasets")
    sub.add_parser("info", help="a dataset's classes, splits, features and how to get it").add_argument("name")
    prep = sub.add_parser("prepare", help="build a dataset from the archives in manual_dir")
    prep.add_argument("name")
    prep.add_argument("--manual_dir", default=None, help="folder holding the downloaded archives")
    prep.add_argument("--data_dir", default=None, help="TFDS data_dir (default ~/tensorflow_datasets)")
    prep.add_argument("--on_corrupt", choices=images.ON_CORRUPT, default="raise")
    args = parser.parse_args(argv)
    try:
        if args.command == "list":
            for name in registry.list_datasets():
                info = registry.info(name)
                print(f"{name:28s} {info.task:20s} {'stand-in  ' if info.is_standin else ''}{info.summary}")
        elif args.command == "info":
            print(registry.info(args.name))
        else:
            counter = images.CorruptCounter()
            registry.prepare(
                args.name,
                data_dir=args.data_dir,
                manual_dir=args.manual_dir,
                on_corrupt=args.on_corrupt,
                counter=counter,
            )
            print(
                f"{args.name} is prepared" + (f"; {counter.count} corrupt record(s) skipped" if counter.count else "")
            )
    except ZooError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
