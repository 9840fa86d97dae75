"""COCO: an instances JSON and an image folder.

Category ids (1..90 with gaps in COCO itself) map to contiguous labels 1..C in ascending id order;
`category_ids[label - 1]` maps a label back, so results can be written in COCO's own ids.
`iscrowd` boxes are left out of training samples (counted); COCO evaluation reads them from the
original JSON, where pycocotools treats them as regions to ignore.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ssd_rt.data.sample import DataReport, Record, check_boxes, load_sample, require_images
from ssd_rt.errors import DataError

log = logging.getLogger("ssd_rt")


def read_json(path: Path) -> dict:
    """A JSON file as a dict; a syntax error names the file and line."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        raise DataError(f"annotation file not found: {path}") from None
    except IsADirectoryError:
        raise DataError(f"{path} is a folder; give the instances JSON file") from None
    except json.JSONDecodeError as err:
        raise DataError(
            f"{path}:{err.lineno}: malformed JSON (column {err.colno}): {err.msg}"
        ) from None
    except UnicodeDecodeError:
        raise DataError(f"{path} is not a text JSON file") from None
    if not isinstance(data, dict):
        raise DataError(f"{path}: expected a JSON object with images/annotations/categories")
    return data


def _field(entry: dict, key: str, path: Path, where: str):
    if not isinstance(entry, dict) or key not in entry:
        raise DataError(f"{path}: {where} has no {key!r}")
    return entry[key]


class CocoDataset:
    """COCO instances (`annotation_file`) over `image_dir`.

    classes: None keeps every category (ascending id); a list of names keeps those, in that
    order (a model's class list), and drops the others, counted. A model class the file has no
    category for gets category id None (it has no ground truth and is not scored); a list that
    shares no name with the file is an error.
    """

    def __init__(
        self,
        annotation_file: str | Path,
        image_dir: str | Path,
        classes: Sequence[str] | None = None,
    ) -> None:
        self.annotation_file = Path(annotation_file)
        self.image_dir = Path(image_dir)
        if not self.image_dir.is_dir():
            raise DataError(f"COCO image folder not found: {self.image_dir}")
        data = read_json(self.annotation_file)
        path = self.annotation_file
        for key in ("images", "annotations", "categories"):
            if not isinstance(data.get(key), list):
                raise DataError(f"{path}: no {key!r} list; is this a COCO instances file?")

        categories = sorted(data["categories"], key=lambda c: _field(c, "id", path, "a category"))
        name_of = {c["id"]: str(_field(c, "name", path, f"category {c['id']}")) for c in categories}
        if classes is None:
            self.category_ids = tuple(c["id"] for c in categories)
        else:
            id_of = {name: cid for cid, name in name_of.items()}
            unknown = [n for n in classes if n not in id_of]
            if len(unknown) == len(classes):
                more = ", ..." if len(classes) > 5 else ""
                raise DataError(
                    f"{path} has none of the model's classes ({', '.join(classes[:5])}{more})"
                )
            if unknown:
                log.warning("COCO: %s has no category for %d of the model's classes (%s%s): "
                            "they are not scored", path, len(unknown), ", ".join(unknown[:5]),
                            ", ..." if len(unknown) > 5 else "")  # fmt: skip
            self.category_ids = tuple(id_of.get(n) for n in classes)
        self.class_names = tuple(classes) if classes is not None else tuple(
            name_of[cid] for cid in self.category_ids
        )
        label_of = {cid: i for i, cid in enumerate(self.category_ids, start=1) if cid is not None}

        per_image: dict[int, list[dict]] = {}
        for n, ann in enumerate(data["annotations"]):
            where = (
                f"annotation #{n} (id {ann.get('id', '?')})"
                if isinstance(ann, dict)
                else f"annotation #{n}"
            )
            image_id = _field(ann, "image_id", path, where)
            _field(ann, "category_id", path, where)
            bbox = _field(ann, "bbox", path, where)
            if not (
                isinstance(bbox, list)
                and len(bbox) == 4
                and all(isinstance(v, (int, float)) for v in bbox)
            ):
                raise DataError(f"{path}: {where} has a bbox that is not [x, y, w, h]: {bbox!r}")
            per_image.setdefault(image_id, []).append(ann)

        self.report = DataReport()
        self.records: list[Record] = []
        known_ids = set()
        for n, image in enumerate(data["images"]):
            where = f"image #{n}"
            image_id = _field(image, "id", path, where)
            file_name = _field(image, "file_name", path, f"image {image_id}")
            height = int(_field(image, "height", path, f"image {image_id}"))
            width = int(_field(image, "width", path, f"image {image_id}"))
            known_ids.add(image_id)
            anns = per_image.get(image_id, [])
            crowd = [a for a in anns if a.get("iscrowd", 0)]
            self.report.drop("crowd (ignored in training; COCO evaluation uses it)", len(crowd))
            anns = [a for a in anns if not a.get("iscrowd", 0)]
            kept = [a for a in anns if a["category_id"] in label_of]
            self.report.drop("class not in the class list", len(anns) - len(kept))
            boxes = np.array([a["bbox"] for a in kept], dtype=np.float32).reshape(-1, 4)
            boxes[:, 2:] += boxes[:, :2]  # xywh -> xyxy
            keep = check_boxes(boxes, height, width, self.report, file_name)
            labels = np.array([label_of[a["category_id"]] for a in kept], dtype=np.int64)[keep]
            self.report.count_image(labels)
            self.records.append(
                Record(
                    self.image_dir / file_name,
                    int(image_id),
                    Path(file_name).stem,
                    boxes[keep],
                    labels,
                    np.zeros(len(labels), dtype=bool),
                    (height, width),
                )
            )
        orphans = set(per_image) - known_ids
        if orphans:
            raise DataError(
                f"{path}: annotations refer to image id {min(orphans)}, which is not in 'images'"
            )
        require_images(self.records, f"COCO {path.name}")
        if self.report.changed:
            log.warning("COCO: %s", self.report.one_line())

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int):
        return load_sample(self.records[index])
