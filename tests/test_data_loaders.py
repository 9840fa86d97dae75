"""VOC, COCO and YOLO loaders on real files: the common Sample, conventions and bad data."""

import json
import logging

import numpy as np
import pytest
import torch

from ssd_rt.data.coco import CocoDataset
from ssd_rt.data.spec import open_dataset, parse_data_spec
from ssd_rt.data.voc import VOC_CLASSES, VOCDataset
from ssd_rt.data.yolo import YoloDataset
from ssd_rt.errors import ConfigError, DataError
from tests.data_files import make_coco, make_voc, make_yolo, write_jpeg


def _check_sample(sample, height, width):
    assert sample.image.dtype == torch.uint8 and sample.image.shape == (3, height, width)
    assert sample.boxes_xyxy.dtype == torch.float32 and sample.boxes_xyxy.shape[1] == 4
    assert sample.labels.dtype == torch.int64 and (sample.labels >= 1).all()
    assert sample.difficult.dtype == torch.bool
    assert sample.labels.shape == sample.difficult.shape == sample.boxes_xyxy.shape[:1]
    assert sample.orig_size == (height, width)


# --- VOC ----------------------------------------------------------------------------------------


def test_voc_sample_coordinates_difficult_and_discovered_classes(tmp_path, caplog):
    root = make_voc(tmp_path / "VOC2007", {
        "000001": [("dog", 1, 1, 160, 120), ("cat", 11, 21, 50, 60, 1)],
        "000002": [],
    })  # fmt: skip
    with caplog.at_level(logging.INFO, logger="ssd_rt"):
        data = VOCDataset([root], "trainval")
    assert data.class_names == ("cat", "dog")  # sorted, and said
    assert "found 2 classes: cat, dog" in caplog.text
    assert len(data) == 2
    sample = data[0]
    _check_sample(sample, 120, 160)
    # VOC 1-based inclusive -> continuous: (xmin - 1, ymin - 1, xmax, ymax); full image = 0..W.
    torch.testing.assert_close(
        sample.boxes_xyxy, torch.tensor([[0.0, 0.0, 160.0, 120.0], [10.0, 20.0, 50.0, 60.0]])
    )
    assert sample.labels.tolist() == [2, 1]
    assert sample.difficult.tolist() == [False, True]
    assert sample.name == "000001"
    empty = data[1]  # no objects: a valid negative sample
    assert empty.boxes_xyxy.shape == (0, 4) and empty.labels.shape == (0,)
    assert data.report.negatives == 1


def test_voc_roots_join_and_class_lists(tmp_path):
    a = make_voc(tmp_path / "VOC2007", {"a1": [("dog", 1, 1, 50, 50)]})
    b = make_voc(tmp_path / "VOC2012", {"b1": [("person", 5, 5, 40, 40), ("unicorn", 1, 1, 9, 9)]})
    voc = VOCDataset([a, b], "trainval", "voc")
    assert voc.class_names == VOC_CLASSES and len(voc) == 2
    assert voc[1].labels.tolist() == [VOC_CLASSES.index("person") + 1]
    assert voc.report.dropped["class not in the class list"] == 1  # counted, not silent
    mine = VOCDataset([a, b], "trainval", ["person", "dog"])
    assert mine[0].labels.tolist() == [2] and mine[1].labels.tolist() == [1]


def test_voc_boxes_outside_or_degenerate_are_clipped_or_dropped_and_counted(tmp_path, caplog):
    root = make_voc(tmp_path / "v", {"x": [
        ("dog", 100, 50, 200, 110),  # runs past the right edge (width 160): clipped
        ("dog", 30, 30, 30, 60),  # zero width after conversion? xmin-1=29 < 30: kept (1 px)
        ("dog", 40, 40, 20, 60),  # xmax < xmin: dropped
        ("dog", 170, 10, 190, 30),  # entirely outside: dropped
    ]})  # fmt: skip
    with caplog.at_level(logging.WARNING, logger="ssd_rt"):
        data = VOCDataset([root], "trainval")
    assert data.report.clipped == 1
    assert data.report.dropped == {"zero or negative size": 1, "outside the image": 1}
    assert "1 boxes clipped" in caplog.text and "1 dropped (outside the image)" in caplog.text
    torch.testing.assert_close(data[0].boxes_xyxy[0], torch.tensor([99.0, 49.0, 160.0, 110.0]))
    assert len(data[0].labels) == 2
    summary = data.report.summary(data.class_names)
    assert "clipped to the image: 1" in summary and "outside the image: 1" in summary


def test_voc_malformed_xml_names_file_and_line(tmp_path):
    root = make_voc(tmp_path / "v", {"x": [("dog", 1, 1, 5, 5)]})
    (root / "Annotations" / "x.xml").write_text("<annotation>\n<object>\n<name>dog</nam>\n")
    with pytest.raises(DataError, match=r"x\.xml:3: malformed XML"):
        VOCDataset([root], "trainval")


def test_voc_bad_number_missing_image_and_missing_pieces(tmp_path):
    root = make_voc(tmp_path / "v", {"x": [("dog", 1, 1, 5, 5)]})
    xml = (root / "Annotations" / "x.xml").read_text()
    (root / "Annotations" / "x.xml").write_text(xml.replace("<xmax>5<", "<xmax>five<"))
    with pytest.raises(DataError, match=r"x\.xml: <xmax> is not a number: 'five'"):
        VOCDataset([root], "trainval")
    (root / "Annotations" / "x.xml").write_text(xml)
    (root / "JPEGImages" / "x.jpg").unlink()
    with pytest.raises(DataError, match=r"image not found: .*JPEGImages/x\.jpg"):
        VOCDataset([root], "trainval")
    with pytest.raises(DataError, match=r"split file not found: .*Main/test\.txt"):
        VOCDataset([root], "test")
    with pytest.raises(DataError, match="VOC root not found"):
        VOCDataset([tmp_path / "nope"], "trainval")
    (root / "ImageSets" / "Main" / "trainval.txt").write_text("x\ny\n")
    with pytest.raises(DataError, match=r"trainval\.txt:2: annotation not found"):
        VOCDataset([root], "trainval")


def test_voc_size_that_disagrees_with_the_image_is_an_error(tmp_path):
    root = make_voc(tmp_path / "v", {"x": [("dog", 1, 1, 5, 5)]})
    xml = root / "Annotations" / "x.xml"
    xml.write_text(xml.read_text().replace("<width>160</width>", "<width>320</width>"))
    data = VOCDataset([root], "trainval")
    with pytest.raises(DataError, match="annotation says 320x120 pixels, the image is 160x120"):
        data[0]


def test_corrupt_image_is_an_error_naming_it(tmp_path):
    root = make_voc(tmp_path / "v", {"x": []})
    xml = root / "Annotations" / "x.xml"
    xml.write_text(
        xml.read_text().replace("<size>", "<size_unused>").replace("</size>", "</size_unused>")
    )
    (root / "JPEGImages" / "x.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(DataError, match=r"cannot read image .*x\.jpg"):
        VOCDataset([root], "trainval")


# --- COCO ---------------------------------------------------------------------------------------

CATEGORIES = [{"id": 18, "name": "dog"}, {"id": 1, "name": "person"}, {"id": 3, "name": "car"}]


def test_coco_ids_map_to_contiguous_labels_and_crowd_is_excluded(tmp_path):
    images = [
        {"id": 42, "file_name": "a.jpg", "height": 100, "width": 120},
        {"id": 7, "file_name": "b.jpg", "height": 80, "width": 90},
    ]
    anns = [
        {"id": 1, "image_id": 42, "category_id": 18, "bbox": [10, 20, 30, 40], "iscrowd": 0},
        {"id": 2, "image_id": 42, "category_id": 1, "bbox": [0, 0, 50, 50], "iscrowd": 1},
        {"id": 3, "image_id": 42, "category_id": 3, "bbox": [5.5, 6.5, 10, 10], "iscrowd": 0},
    ]
    ann, image_dir = make_coco(tmp_path, images, anns, CATEGORIES)
    data = CocoDataset(ann, image_dir)
    assert data.category_ids == (1, 3, 18)  # ascending ids
    assert data.class_names == ("person", "car", "dog")
    sample = data[0]
    _check_sample(sample, 100, 120)
    assert sample.image_id == 42
    torch.testing.assert_close(
        sample.boxes_xyxy, torch.tensor([[10.0, 20.0, 40.0, 60.0], [5.5, 6.5, 15.5, 16.5]])
    )
    assert sample.labels.tolist() == [3, 2]  # dog -> 3, car -> 2
    assert data.report.dropped["crowd (ignored in training; COCO evaluation uses it)"] == 1
    assert len(data[1].labels) == 0  # an image without annotations is a negative sample
    by_name = CocoDataset(ann, image_dir, classes=["dog", "car"])
    assert by_name.category_ids == (18, 3) and by_name[0].labels.tolist() == [1, 2]


def test_coco_bad_files(tmp_path):
    images = [{"id": 1, "file_name": "a.jpg", "height": 50, "width": 50}]
    ann, image_dir = make_coco(tmp_path, images, [], CATEGORIES)
    ann.write_text('{"images": [],\n "annotations": [,\n]}')
    with pytest.raises(DataError, match=r"instances\.json:2: malformed JSON"):
        CocoDataset(ann, image_dir)
    ann.write_text(json.dumps({"images": images, "categories": CATEGORIES}))
    with pytest.raises(DataError, match="no 'annotations' list"):
        CocoDataset(ann, image_dir)
    bad_box = {"id": 9, "image_id": 1, "category_id": 1, "bbox": [1, 2, 3]}
    ann.write_text(
        json.dumps({"images": images, "annotations": [bad_box], "categories": CATEGORIES})
    )
    with pytest.raises(DataError, match=r"annotation #0 \(id 9\) has a bbox that is not"):
        CocoDataset(ann, image_dir)
    orphan = dict(bad_box, bbox=[1, 2, 3, 4], image_id=5)
    ann.write_text(
        json.dumps({"images": images, "annotations": [orphan], "categories": CATEGORIES})
    )
    with pytest.raises(DataError, match="image id 5, which is not in 'images'"):
        CocoDataset(ann, image_dir)
    missing = [*images, {"id": 2, "file_name": "gone.jpg", "height": 5, "width": 5}]
    ann.write_text(json.dumps({"images": missing, "annotations": [], "categories": CATEGORIES}))
    with pytest.raises(DataError, match=r"image not found: .*gone\.jpg"):
        CocoDataset(ann, image_dir)
    with pytest.raises(DataError, match=r"has none of the model's classes \(unicorn\)"):
        ann.write_text(json.dumps({"images": images, "annotations": [], "categories": CATEGORIES}))
        CocoDataset(ann, image_dir, classes=["unicorn"])
    with pytest.raises(DataError, match="annotation file not found"):
        CocoDataset(tmp_path / "nope.json", image_dir)


# --- YOLO ---------------------------------------------------------------------------------------


def test_yolo_fractions_to_pixels_names_and_negatives(tmp_path):
    root = make_yolo(tmp_path / "y", {
        "a": "1 0.5 0.5 0.5 0.4\n0 0.25 0.25 0.1 0.2\n",
        "b": "",  # empty label file
        "c": None,  # no label file
    }, ["cat", "dog"], split="train")  # fmt: skip
    data = YoloDataset(root, "train")
    assert data.class_names == ("cat", "dog") and len(data) == 3
    sample = data[0]
    _check_sample(sample, 100, 200)
    torch.testing.assert_close(
        sample.boxes_xyxy, torch.tensor([[50.0, 30.0, 150.0, 70.0], [40.0, 15.0, 60.0, 35.0]])
    )
    assert sample.labels.tolist() == [2, 1]
    assert len(data[1].labels) == 0 and len(data[2].labels) == 0
    assert data.report.negatives == 2
    with pytest.raises(DataError, match="has no 'val' split"):
        YoloDataset(root, "val")


def test_yolo_names_as_dict_or_classes_txt(tmp_path):
    root = make_yolo(tmp_path / "y", {"a": "0 0.5 0.5 0.2 0.2\n"}, ["x"], data_yaml=False)
    assert YoloDataset(root).class_names == ("x",)
    (root / "data.yaml").write_text("names:\n  0: person\n  1: bike\n")
    assert YoloDataset(root).class_names == ("person", "bike")


def test_yolo_bad_lines_name_file_and_line(tmp_path):
    root = make_yolo(tmp_path / "y", {"a": "0 0.5 0.5 0.2 0.2\n0 0.5 0.5\n"}, ["x", "y"])
    with pytest.raises(DataError, match=r"a\.txt:2: expected 'class cx cy w h'"):
        YoloDataset(root)
    (root / "labels" / "a.txt").write_text("2 0.5 0.5 0.2 0.2\n")
    with pytest.raises(DataError, match=r"a\.txt:1: class 2 is not within 0\.\.1"):
        YoloDataset(root)
    (root / "labels" / "a.txt").write_text("0 0.5 half 0.2 0.2\n")
    with pytest.raises(DataError, match=r"a\.txt:1: not numbers"):
        YoloDataset(root)
    (root / "labels" / "a.txt").write_text("0 0.95 0.5 0.2 0.2\n0 0.5 0.5 0 0.2\n")
    data = YoloDataset(root)
    assert data.report.clipped == 1 and data.report.dropped["zero or negative size"] == 1
    (root / "data.yaml").write_text("names: [a, b\n")
    with pytest.raises(DataError, match=r"data\.yaml:2: malformed YAML"):
        YoloDataset(root)
    (root / "data.yaml").unlink()
    with pytest.raises(DataError, match=r"no data\.yaml or classes\.txt"):
        YoloDataset(root)


# --- specs --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("pascal:/data", "unknown data spec"),
        ("voc:", "voc spec needs a path"),
        ("coco:ann.json", "coco spec is coco:ANNOTATIONS.json,IMAGES"),
        ("yolo:a,b", "yolo spec is yolo:DIR"),
        ("synthetic:many", "must be integers"),
        ("synthetic:0", "at least 1"),
    ],
)
def test_bad_data_specs(text, message):
    with pytest.raises(ConfigError, match=message):
        parse_data_spec(text)


def test_specs_open_every_kind(tmp_path):
    voc = make_voc(tmp_path / "v", {"x": [("dog", 1, 1, 5, 5)]}, split="test")
    assert len(open_dataset(f"voc:{voc}")) == 1  # voc evaluates on "test"
    yolo = make_yolo(tmp_path / "y", {"a": ""}, ["x"], split="val")
    assert len(open_dataset(f"yolo:{yolo}")) == 1
    write_jpeg(tmp_path / "c" / "images" / "a.jpg", 10, 10)
    ann, images = make_coco(tmp_path / "c", [{"id": 1, "file_name": "a.jpg", "height": 10,
                                              "width": 10}], [], CATEGORIES)  # fmt: skip
    assert len(open_dataset(f"coco:{ann},{images}")) == 1
    synthetic = open_dataset("synthetic:5:3", "val")
    assert len(synthetic) == 5 and synthetic.split == "val" and synthetic.seed == 3
    with pytest.raises(ConfigError, match="the generated scenes have classes"):
        open_dataset("synthetic", classes=["cat"])
    np.testing.assert_equal(
        synthetic[0].image.numpy(), open_dataset("synthetic:5:3", "val")[0].image.numpy()
    )


def test_undecodable_image_with_a_sized_annotation_fails_when_read(tmp_path):
    root = make_voc(tmp_path / "v", {"x": [("dog", 1, 1, 5, 5)]})
    (root / "JPEGImages" / "x.jpg").write_bytes(b"\xff\xd8 truncated")
    data = VOCDataset([root], "trainval")  # the size comes from the XML: no decoding yet
    with pytest.raises(DataError, match=r"cannot decode image .*x\.jpg"):
        data[0]
