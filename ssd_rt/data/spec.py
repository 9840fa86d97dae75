"""`--data` specs: one string names a data set on disk or the generated scenes.

voc:ROOT[,ROOT2...]        PASCAL VOC roots, joined (VOC2007+VOC2012 trainval)
coco:ANNOTATIONS.json,IMAGES
yolo:DIR                   DIR/data.yaml, or DIR/images + DIR/labels + DIR/classes.txt
synthetic[:COUNT[:SEED]]   generated scenes (COUNT per split; train/val/test never overlap)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ssd_rt.errors import ConfigError, DataError

KINDS = ("voc", "coco", "yolo", "synthetic")
SYNTHETIC_COUNT = 1000
# The split each kind evaluates on unless told otherwise (COCO: one JSON is one split).
EVAL_SPLITS = {"voc": "test", "coco": "", "yolo": "val", "synthetic": "test"}
TRAIN_SPLITS = {"voc": "trainval", "coco": "", "yolo": "train", "synthetic": "train"}


@dataclass(frozen=True)
class DataSpec:
    kind: str
    paths: tuple[str, ...] = ()
    count: int = SYNTHETIC_COUNT  # synthetic only
    seed: int = 0  # synthetic only

    def __str__(self) -> str:
        if self.kind == "synthetic":
            return f"synthetic:{self.count}:{self.seed}"
        return f"{self.kind}:{','.join(self.paths)}"


def parse_data_spec(text: str) -> DataSpec:
    kind, _, rest = text.partition(":")
    if kind not in KINDS:
        raise ConfigError(
            f"unknown data spec {text!r}; use voc:ROOT[,ROOT2], coco:ANN.json,IMAGES, yolo:DIR "
            "or synthetic[:COUNT[:SEED]]"
        )
    if kind == "synthetic":
        fields = rest.split(":") if rest else []
        if len(fields) > 2:
            raise ConfigError(f"synthetic spec is synthetic[:COUNT[:SEED]], got {text!r}")
        try:
            numbers = [int(f) for f in fields]
        except ValueError:
            raise ConfigError(f"synthetic COUNT and SEED must be integers, got {text!r}") from None
        count = numbers[0] if numbers else SYNTHETIC_COUNT
        if count < 1:
            raise ConfigError(f"synthetic COUNT must be at least 1, got {count}")
        return DataSpec("synthetic", count=count, seed=numbers[1] if len(numbers) > 1 else 0)
    paths = tuple(p for p in rest.split(",") if p)
    if not paths:
        raise ConfigError(f"{kind} spec needs a path: {kind}:PATH")
    if kind == "coco" and len(paths) != 2:
        raise ConfigError(f"coco spec is coco:ANNOTATIONS.json,IMAGES, got {text!r}")
    if kind == "yolo" and len(paths) != 1:
        raise ConfigError(f"yolo spec is yolo:DIR (one folder), got {text!r}")
    return DataSpec(kind, paths)


def open_dataset(
    spec: str | DataSpec, split: str | None = None, classes: Sequence[str] | None = None
):
    """The data set a spec names; `split` None takes the kind's evaluation split.

    `classes` (a model's class list) fixes the label order; objects of other classes are dropped
    and counted. The generated scenes have fixed classes, so a different list is an error.
    """
    spec = parse_data_spec(spec) if isinstance(spec, str) else spec
    split = EVAL_SPLITS[spec.kind] if split is None else split
    if spec.kind == "voc":
        from ssd_rt.data.voc import VOCDataset

        return VOCDataset(spec.paths, split, classes)
    if spec.kind == "coco":
        from ssd_rt.data.coco import CocoDataset

        return CocoDataset(spec.paths[0], spec.paths[1], classes)
    if spec.kind == "yolo":
        from ssd_rt.data.yolo import YoloDataset

        return YoloDataset(spec.paths[0], split, classes)
    from ssd_rt.data.synthetic import SyntheticScenes

    if classes is not None and tuple(classes) != SyntheticScenes.class_names:
        raise ConfigError(
            f"the generated scenes have classes {', '.join(SyntheticScenes.class_names)}; "
            f"the model has {', '.join(classes)}"
        )
    return SyntheticScenes(spec.count, spec.seed, split)


def check_data(data: str, split: str | None, classes: list[str] | None,
               decode: bool = True) -> str:  # fmt: skip
    """The summary `ssd-rt-data check` and `ssd-rt-train --check-data` print. `decode`: every
    image is decoded too (headers alone miss a corrupt JPEG); one that cannot be, or whose size
    is not its annotation's, is a DataError naming it after the summary is printed."""
    spec = parse_data_spec(data)
    split = TRAIN_SPLITS[spec.kind] if split is None else split
    dataset = open_dataset(spec, split, classes)
    header = f"{spec}" + (f" split {split}" if split else "")
    header += f": {len(dataset.class_names)} classes"
    text = header + "\n" + dataset.report.summary(dataset.class_names)
    if not decode:
        return text
    problems = undecodable_images(dataset)
    if problems:
        print(text + "\nimages that cannot be used:\n" + "\n".join(f"  {p}" for p in problems))
        more = f" (and {len(problems) - 1} more, listed above)" if len(problems) > 1 else ""
        raise DataError(f"{problems[0]}{more}")
    return text + "\nevery image decodes"


def undecodable_images(dataset, threads: int = 4) -> list[str]:
    """One line per image of `dataset` that cannot be decoded or is not the size its
    annotation says (what training would stop on), found by decoding every one."""
    from concurrent.futures import ThreadPoolExecutor

    from ssd_rt.data.sample import load_sample

    records = getattr(dataset, "records", None)
    if not records:  # generated scenes: nothing on disk
        return []

    def problem(record) -> str | None:
        try:
            load_sample(record)  # OpenCV decodes without holding the GIL: threads help
        except DataError as err:
            return str(err)
        return None

    with ThreadPoolExecutor(threads) as pool:
        return [p for p in pool.map(problem, records) if p is not None]
