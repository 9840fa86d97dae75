"""`ssd-rt-train`: train SSD300 from scratch, from ImageNet VGG16 weights, or fine-tune a model.

    ssd-rt-train --data SPEC --out runs/NAME [--preset voc-scratch|voc-pretrained|shapes-demo]
    ssd-rt-train --data SPEC --out runs/NAME --preset finetune --init coco|CHECKPOINT
                 [overrides...] [--resume | --overwrite] [--check-data] [--to-engines NAME]

Every preset value can be overridden (--lr is the learning rate at the real batch, --steps the
number of optimizer steps); the resolved settings are saved as run.json. An output folder that
already holds a run is refused unless --resume (continue it from last.pt, same settings) or
--overwrite (start over). At the end: best.pt, model.onnx and, where TensorRT and a GPU exist,
model.engine in the run folder; --to-engines NAME also copies them into engines/.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from ssd_rt.cli.common import OneLineParser, command_entry, finite_float
from ssd_rt.errors import ConfigError
from ssd_rt.files import require_writable_folder

RUN_FILES = ("run.json", "last.pt", "best.pt", "metrics.jsonl", "metrics.csv", "loss.png",
             "curves.png", "model.onnx", "model_fp16.onnx", "model.engine",
             "model.engine.json")  # fmt: skip
# Options whose value goes to the TrainSettings field of the same name.
SETTING_OPTIONS = ("width", "norm", "priors", "batch", "accumulate", "optimizer", "momentum",
                   "weight_decay", "grad_clip", "eval_every", "save_every", "log_every",
                   "eval_images", "train_split", "val_split", "workers", "seed", "amp",
                   "backbone_weights", "deterministic")  # fmt: skip


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = OneLineParser(prog="ssd-rt-train", description=__doc__.splitlines()[0])
    add = parser.add_argument
    add("--data", help="voc:ROOT[,ROOT2] | coco:ANN.json,IMAGES | yolo:DIR | synthetic[:N[:SEED]]")
    add("--out", type=Path, help="run folder, e.g. runs/voc-scratch (required to train)")
    add(
        "--preset",
        help="voc-scratch (default), voc-pretrained, shapes-demo, finetune (default with --init)",
    )
    add("--init", help="start from coco (torchvision's COCO SSD300) or an ssd-rt checkpoint")
    add("--weights", type=Path, help="with --init coco: convert this local COCO_V1 .pth")
    add("--resume", action="store_true", help="continue the run in --out from last.pt")
    add("--overwrite", action="store_true", help="start over in an --out that holds a run")
    add("--check-data", action="store_true", help="print the data summary and exit")
    add("--to-engines", metavar="NAME", help="also copy the exported model to engines/NAME.*")
    add("--no-export", action="store_true", help="skip the ONNX/engine export at the end")
    add("--deterministic", action="store_true", default=None, help="reproducible (slower)")
    add("--lr", type=learning_rate, help="learning rate at the real batch (overrides the preset's)")
    add("--steps", type=int, help="optimizer steps (overrides the preset's)")
    add("--warmup", type=int, help="warm-up steps")
    add("--width", type=finite_float)
    add("--norm", choices=("bn", "none"))
    add("--priors", choices=("voc", "coco"))
    add("--batch", type=int, help="images per forward pass")
    add("--accumulate", type=int, help="forward passes per optimizer step")
    add("--optimizer", choices=("sgd", "adamw"))
    add("--momentum", type=finite_float)
    add("--weight-decay", type=finite_float)
    add("--grad-clip", type=finite_float)
    add("--eval-every", type=int)
    add("--save-every", type=int)
    add("--log-every", type=int)
    add("--eval-images", type=int, help="validation images per evaluation (0: all)")
    add("--train-split")
    add("--val-split")
    add("--workers", type=int, help="data loading processes")
    add("--seed", type=int)
    add("--amp", choices=("auto", "off", "bf16", "fp16"))
    add("--backbone-weights", help="local torchvision VGG16 state_dict (norm none)")
    return parser.parse_args(argv)


def overrides(args: argparse.Namespace) -> dict:
    """CLI values as TrainSettings fields (None: not given, the preset decides)."""
    values = {name: getattr(args, name) for name in SETTING_OPTIONS}
    values["data"] = args.data
    return values


def resolve_settings(args: argparse.Namespace, world: int):
    from trainer.presets import TrainSettings, resolve

    given = overrides(args)
    if args.init is not None:
        fixed = [f"--{k.replace('_', '-')}" for k in ("width", "norm", "priors", "backbone_weights")
                 if given[k] is not None]  # fmt: skip
        if fixed:
            raise ConfigError(f"--init keeps the network of the model it starts from; "
                              f"drop {', '.join(fixed)}")  # fmt: skip
        from ssd_rt.pretrained import resolve_model

        given["init"] = str(resolve_model(args.init, args.weights, "checkpoint"))
    settings = resolve(args.preset, given)
    eff = settings.effective_batch(world)
    changes = {}
    if args.lr is not None:
        changes.update(base_lr=args.lr, base_batch=eff)
    if args.steps is not None:
        changes["steps_at_32"] = args.steps * eff / 32
    if args.warmup is not None:
        changes["warmup_at_32"] = args.warmup * eff / 32
    if changes:
        settings = TrainSettings(**{**settings.to_dict(), **changes})
    return settings


MAX_LR = 10.0  # above this SGD and Adam diverge at the first step (SSD trains at 1e-3)


def learning_rate(text: str) -> float:
    """argparse type for --lr: a finite number in (0, MAX_LR] (1e300 overflowed inside Adam)."""
    value = finite_float(text)
    if not 0 < value <= MAX_LR:
        raise argparse.ArgumentTypeError(f"must be above 0 and at most {MAX_LR:g}, got {text}")
    return value


def check_out(out: Path, resume: bool, overwrite: bool) -> bool:
    """Whether `out` may take this run; True when it must be cleared first (--overwrite, or a
    run that stopped before its first checkpoint: a crash, a full disk or a bad --lr there
    leaves nothing worth keeping and must not block the rerun)."""
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file, not a folder")
    require_writable_folder(out, "the run")
    from trainer.train import RunFolder

    folder = RunFolder(out)
    unfinished = folder.settings.exists() and not folder.last.exists()
    only_run_files = out.exists() and all(p.name in RUN_FILES for p in out.iterdir())
    if unfinished and only_run_files and not resume:
        print(f"ssd-rt-train: {out} holds a run that stopped before its first checkpoint; "
              "starting over", file=sys.stderr)  # fmt: skip
        return True
    holds_run = folder.settings.exists()
    if resume:
        if not folder.last.exists():
            raise ConfigError(f"nothing to resume in {out}: no last.pt")
        return False
    if holds_run and not overwrite:
        raise ConfigError(
            f"{out} already holds a run; pass --resume to continue it or --overwrite to start over"
        )
    if out.exists() and any(out.iterdir()) and not holds_run:
        raise ConfigError(f"{out} is not empty and holds no ssd-rt run; choose a new folder")
    return overwrite


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from trainer.train import distributed, end_distributed

    if args.preset is None:
        args.preset = "finetune" if args.init is not None else "voc-scratch"
    if args.weights is not None and args.init != "coco":
        raise ConfigError("--weights goes with --init coco (the file it converts)")

    if args.resume and args.overwrite:
        raise ConfigError("--resume and --overwrite exclude each other")
    if args.check_data:
        from ssd_rt.data.spec import EVAL_SPLITS, TRAIN_SPLITS, check_data, parse_data_spec
        from trainer.presets import resolve

        settings = resolve(args.preset, overrides(args))
        kind = parse_data_spec(settings.data).kind
        print(check_data(settings.data, settings.train_split or TRAIN_SPLITS[kind], None))
        if kind != "coco":  # one COCO JSON is one split
            print()
            print(check_data(settings.data, settings.val_split or EVAL_SPLITS[kind], None))
        return 0

    if args.out is None:
        raise ConfigError("give the run folder: --out runs/NAME")
    clear = check_out(args.out, args.resume, args.overwrite)
    rank, world = distributed()
    try:
        train_and_export(args, rank, world, clear)
    finally:
        end_distributed()
    return 0


def train_and_export(args: argparse.Namespace, rank: int, world: int, clear: bool) -> None:
    from trainer.presets import TrainSettings
    from trainer.train import RunFolder, Trainer

    folder = RunFolder(args.out)
    if args.resume:
        saved = TrainSettings.from_dict(json.loads(folder.settings.read_text()))
        given = [f"--{k.replace('_', '-')}" for k, v in overrides(args).items()
                 if v is not None and k != "data"]  # fmt: skip
        given += [f"--{k}" for k in ("lr", "steps", "warmup", "init")
                  if getattr(args, k) is not None]  # fmt: skip
        if given or (args.data is not None and args.data != saved.data):
            raise ConfigError(
                f"a resumed run keeps its settings (run.json); drop {', '.join(given) or '--data'}"
            )
        settings = saved
    else:
        settings = resolve_settings(args, world)
    trainer = Trainer(settings, args.out)
    if rank == 0:
        if clear:
            for name in RUN_FILES:
                (args.out / name).unlink(missing_ok=True)
        args.out.mkdir(parents=True, exist_ok=True)
        text = json.dumps(settings.to_dict(), indent=2)
        from ssd_rt.files import atomic_write_bytes

        atomic_write_bytes(folder.settings, lambda f: f.write(text.encode()))
        trainer.log(
            f"{settings.preset}: {len(trainer.train_set)} training images, "
            f"{len(trainer.class_names)} classes, {trainer.total_steps} steps at batch "
            f"{settings.effective_batch(world)} (lr {settings.lr(world):.3g}) on {trainer.device}"
            + (f" x {world} processes" if world > 1 else "")
        )
    if args.resume:
        trainer.resume()
    trainer.run()
    if rank == 0:
        best = trainer.folder.best if trainer.folder.best.exists() else trainer.folder.last
        print(f"best VOC07 mAP@0.5 {trainer.progress.best_map:.4f}; checkpoint {best}")
        if not args.no_export:
            export(best, args.out, args.to_engines)


def export(checkpoint: Path, out: Path, to_engines: str | None) -> None:
    """model.onnx (and model.engine where TensorRT and a GPU exist) from the best checkpoint."""
    try:
        import onnx  # noqa: F401
    except ImportError:
        print("no ONNX export: the onnx extra is not installed (pip install 'ssd-rt[onnx]')")
        return
    from ssd_rt.export.bundle import export_runnable

    written = export_runnable(checkpoint, out / "model.onnx")
    print("wrote " + ", ".join(str(p) for p in written))
    if to_engines:
        engines = Path("engines")
        targets = [engines / f"{to_engines}{p.name[len('model') :]}" for p in written]
        clash = [t for t in targets if t.exists()]
        if clash:
            raise ConfigError(f"{clash[0]} already exists; choose another --to-engines name")
        engines.mkdir(exist_ok=True)
        for source, target in zip(written, targets):
            shutil.copy2(source, target)
        print("copied to " + ", ".join(str(t) for t in targets))


def entry() -> None:
    command_entry("ssd-rt-train", main)


if __name__ == "__main__":
    entry()
