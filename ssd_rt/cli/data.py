"""`ssd-rt-data`: look at a data set before training on it, or write the generated scenes out.

    ssd-rt-data check DATA [--split S] [--classes a,b,c]
        images, boxes per class, clipped and dropped boxes and why; no training, no decoding
    ssd-rt-data write-voc OUT [--count N] [--seed S] [--split train] [--size 500x375]
        generated scenes as a VOC folder (JPEGImages, Annotations, ImageSets/Main)
    ssd-rt-data write-video OUT.mp4 [--frames N] [--seed S] [--size 640x360] [--fps 30]
        a video of moving generated objects (for ssd-rt and the GUI)

Nothing that exists is replaced: write-voc needs a new or empty folder, write-video a new file.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ssd_rt.cli.common import OneLineParser, command_entry, finite_float
from ssd_rt.data.spec import check_data
from ssd_rt.errors import ConfigError


def _size(text: str) -> tuple[int, int]:
    """WIDTHxHEIGHT text, e.g. 640x360 -> (height, width)."""
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ConfigError(f"--size must be WIDTHxHEIGHT, e.g. 640x360; got {text!r}") from None
    if width < 32 or height < 32 or width > 8192 or height > 8192:
        raise ConfigError(f"--size must be 32..8192 pixels per side, got {text!r}")
    return height, width


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = OneLineParser(prog="ssd-rt-data", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="summarize a data set (no training)")
    check.add_argument(
        "data", help="voc:ROOT[,ROOT2] | coco:ANN.json,IMAGES | yolo:DIR | synthetic"
    )
    check.add_argument("--split", help="split (voc: trainval, yolo: train, synthetic: train)")
    check.add_argument("--classes", help="comma-separated class list (default: the data set's)")
    check.add_argument("--no-decode", action="store_true",
                       help="read annotations and image headers only (default: decode every "
                       "image, as training will)")  # fmt: skip
    voc = sub.add_parser("write-voc", help="write generated scenes as a VOC folder")
    voc.add_argument("out", type=Path)
    voc.add_argument("--count", type=int, default=200)
    voc.add_argument("--seed", type=int, default=0)
    voc.add_argument("--split", default="train", choices=("train", "val", "test"))
    voc.add_argument("--size", default="500x375", help="WIDTHxHEIGHT (500x375)")
    video = sub.add_parser("write-video", help="write a video of moving generated objects")
    video.add_argument("out", type=Path)
    video.add_argument("--frames", type=int, default=300)
    video.add_argument("--seed", type=int, default=0)
    video.add_argument("--size", default="640x360", help="WIDTHxHEIGHT (640x360)")
    video.add_argument("--fps", type=finite_float, default=30.0)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.command == "check":
        classes = [c.strip() for c in args.classes.split(",")] if args.classes else None
        print(check_data(args.data, args.split, classes, decode=not args.no_decode))
        return 0
    if args.command == "write-voc":
        from ssd_rt.data.synthetic import SyntheticScenes, write_voc

        if args.count < 1:
            raise ConfigError(f"--count must be at least 1, got {args.count}")
        if args.out.exists() and (not args.out.is_dir() or any(args.out.iterdir())):
            raise ConfigError(f"{args.out} exists and is not an empty folder; choose a new one")
        height, width = _size(args.size)
        scenes = SyntheticScenes(args.count, args.seed, args.split, height=height, width=width)
        write_voc(scenes, args.out)
        print(f"wrote {args.count} scenes to {args.out} (use --data voc:{args.out})")
        return 0
    from ssd_rt.data.synthetic import write_video

    if args.frames < 1 or not args.fps > 0:
        raise ConfigError("--frames and --fps must be positive")
    if args.out.exists():
        raise ConfigError(f"{args.out} already exists; choose a new file name")
    if not args.out.parent.is_dir():
        raise ConfigError(f"folder {args.out.parent} does not exist")
    height, width = _size(args.size)
    write_video(args.out, args.frames, args.seed, height=height, width=width, fps=args.fps)
    print(f"wrote {args.frames} frames ({width}x{height}, {args.fps:g} fps) to {args.out}")
    return 0


def entry() -> None:
    command_entry("ssd-rt-data", main)


if __name__ == "__main__":
    entry()
