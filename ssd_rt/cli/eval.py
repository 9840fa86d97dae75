"""`ssd-rt-eval`: score a model on a data set with metrics that say which they are.

    ssd-rt-eval --model M --data D [--split S] [--metrics voc07,voc,coco] [--out DIR]

Prints a table (VOC07 11-point mAP@0.5, VOC area mAP@0.5, COCO AP@[.5:.95] ...), then writes
DIR/report.json, DIR/detections.json (COCO results format) and DIR/pr/<class>.png. Without --out
the report goes to runs/eval/<model>, or <model>-2, -3 ... so no earlier report is replaced.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
from pathlib import Path

from ssd_rt.cli.common import OneLineParser, comma_separated, command_entry, finite_float
from ssd_rt.errors import ConfigError
from ssd_rt.files import require_writable_folder
from ssd_rt.pretrained import add_weights_option
from ssd_rt.redact import mask_credentials

log = logging.getLogger("ssd_rt")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = OneLineParser(prog="ssd-rt-eval", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model", required=True, help=".engine, .onnx or checkpoint, or coco (torchvision's)"
    )
    add_weights_option(parser)
    parser.add_argument(
        "--data",
        required=True,
        help="voc:ROOT[,ROOT2] | coco:ANN.json,IMAGES | yolo:DIR | synthetic[:N[:SEED]]",
    )
    parser.add_argument("--split", help="split to score (voc: test, yolo: val, synthetic: test)")
    parser.add_argument(
        "--metrics", default="voc07,voc,coco", help="comma list of voc07, voc, coco"
    )
    parser.add_argument("--out", type=Path, help="report folder (default runs/eval/<model>)")
    parser.add_argument("--overwrite", action="store_true", help="replace a report in --out")
    parser.add_argument("--backend", default="auto",
                        help="auto, tensorrt, onnxruntime, openvino or torch")  # fmt: skip
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda[:N]")
    parser.add_argument("--batch", type=int, default=8, help="images per inference call (8)")
    parser.add_argument("--workers", type=int, default=0, help="image decoding processes (0)")
    parser.add_argument(
        "--conf", type=finite_float, default=0.01, help="score threshold (paper: 0.01)"
    )
    parser.add_argument("--iou", type=finite_float, default=0.45, help="NMS IoU (0.45)")
    parser.add_argument("--max-det", type=int, default=200, help="detections per image (200)")
    parser.add_argument("--limit", type=int, help="score only the first N images")
    return parser.parse_args(argv)


def _out_dir(args: argparse.Namespace) -> Path:
    if args.out is not None:
        if args.out.exists() and not args.out.is_dir():
            raise ConfigError(f"--out {args.out} is a file, not a folder")
        if (args.out / "report.json").exists() and not args.overwrite:
            raise ConfigError(f"{args.out} already holds a report; pass --overwrite to replace it")
        return args.out
    base = Path("runs") / "eval" / Path(args.model).stem
    candidate, n = base, 1
    while candidate.exists():
        n += 1
        candidate = base.with_name(f"{base.name}-{n}")
    return candidate


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from ssd_rt.config import PostprocessConfig
    from ssd_rt.data.spec import parse_data_spec
    from ssd_rt.evaluation.evaluate import METRICS

    metrics = comma_separated(args.metrics)
    unknown = [m for m in metrics if m not in METRICS]
    if unknown or not metrics:
        raise ConfigError(f"--metrics takes {', '.join(METRICS)}; got {args.metrics!r}")
    if args.batch < 1 or args.workers < 0 or (args.limit is not None and args.limit < 1):
        raise ConfigError("--batch and --limit must be positive and --workers at least 0")
    thresholds = PostprocessConfig(args.conf, args.iou, max_det=args.max_det)
    spec = parse_data_spec(args.data)
    if "coco" in metrics:
        try:
            import pycocotools  # noqa: F401
        except ImportError:
            raise ConfigError(
                "COCO metrics need pycocotools (pip install 'ssd-rt[coco]'), or pass "
                "--metrics voc07,voc"
            ) from None
    out = _out_dir(args)
    require_writable_folder(out, "the report")

    from ssd_rt.backends.base import load_backend
    from ssd_rt.data.spec import open_dataset
    from ssd_rt.evaluation.evaluate import predict, score
    from ssd_rt.pretrained import resolve_model
    from ssd_rt.priors import default_boxes

    backend = load_backend(
        resolve_model(args.model, args.weights), args.backend, args.device, max_batch=args.batch
    )
    info = backend.info
    dataset = open_dataset(spec, args.split, classes=info.class_names)
    if len(dataset) == 0:
        raise ConfigError(f"{args.data}: the data set has no images")
    report = getattr(dataset, "report", None)
    other = report.dropped.get("class not in the class list", 0) if report is not None else 0
    if report is not None and other and not sum(report.boxes_per_class.values()):
        raise ConfigError(
            f"{args.data}: none of its {other} objects is of a class the model detects "
            f"({', '.join(info.class_names)}); nothing to score"
        )
    print(f"ssd-rt-eval: {backend.describe()} on {spec} ({len(dataset)} images)", file=sys.stderr)

    def progress(done: int, total: int) -> None:
        print(f"\r  {done}/{total} images", end="", file=sys.stderr, flush=True)

    predictions = predict(
        backend.infer,
        dataset,
        priors_cxcywh=default_boxes(info.config.priors),
        normalization=info.config.normalization,
        device=backend.device,
        size=info.config.input_size,
        thresholds=thresholds,
        batch=args.batch,
        workers=args.workers,
        limit=args.limit,
        progress=progress,
    )
    print(file=sys.stderr)
    backend.close()
    result = score(
        predictions,
        info.class_names,
        metrics=metrics,
        category_ids=getattr(dataset, "category_ids", None),
        coco_annotation_file=str(spec.paths[0]) if spec.kind == "coco" else None,
    )

    rows = result.table()
    width = max(len(name) for name, _ in rows)
    print(f"{'metric':<{width}}  value")
    for name, value in rows:
        print(f"{name:<{width}}  {'n/a' if math.isnan(value) else f'{value:.4f}'}")
    first = next(iter(result.voc.values()), None)
    if first is not None:
        print(f"\nper class AP@{first.iou:g} ({', '.join(r.metric for r in result.voc.values())}):")
        for i, c in enumerate(first.classes):
            aps = [r.classes[i].ap for r in result.voc.values()]
            text = " / ".join("n/a" if math.isnan(a) else f"{a:.4f}" for a in aps)
            print(f"  {c.name:<{width - 2}}  {text}  ({c.num_gt} objects)")

    _write_report(out, args, spec, backend.describe(), len(predictions.image_ids), result)
    print(f"\nwrote {out / 'report.json'}, {out / 'detections.json'} and {out / 'pr'}/*.png")
    return 0


def _write_report(out: Path, args, spec, backend: str, images: int, result) -> None:
    from ssd_rt.evaluation.plots import line_chart
    from ssd_rt.files import atomic_write_bytes

    (out / "pr").mkdir(parents=True, exist_ok=True)
    report = {
        "model": mask_credentials(str(args.model)),  # a triton:// URL may hold a password
        "backend": backend,
        "data": str(spec),
        "split": args.split,
        "images": images,
        "thresholds": {"score": args.conf, "nms_iou": args.iou, "max_det": args.max_det},
        "metrics": result.to_json(),
    }
    curves = result.voc.get("voc") or next(iter(result.voc.values()), None)
    for c in curves.classes if curves is not None else ():
        safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in c.name)
        line_chart(
            out / "pr" / f"{safe}.png",
            [(f"AP {c.ap:.3f}" if not math.isnan(c.ap) else "no objects", c.recall, c.precision)],
            title=f"{c.name}: precision-recall at IoU {curves.iou:g}",
            xlabel="recall",
            ylabel="precision",
            xlim=(0, 1),
            ylim=(0, 1),
        )
    atomic_write_bytes(
        out / "detections.json", lambda f: f.write(json.dumps(result.coco_results).encode())
    )
    # Last: report.json marks a finished report (a rerun into `out` asks for --overwrite only
    # then), so a run that failed half-way (a full disk) never blocks the next one.
    atomic_write_bytes(
        out / "report.json", lambda f: f.write(json.dumps(report, indent=2).encode())
    )


def entry() -> None:
    command_entry("ssd-rt-eval", main)


if __name__ == "__main__":
    entry()
