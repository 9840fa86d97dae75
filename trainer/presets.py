"""Training presets: every value a run uses, named, with where it comes from.

The learning rate is given at a reference batch and scaled linearly with the real (effective)
batch = batch x accumulate x processes; step counts and milestones are given at a reference
batch too and scaled inversely, so a preset means the same number of images seen whatever
the hardware.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ssd_rt.errors import ConfigError


@dataclass(frozen=True)
class TrainSettings:
    """The resolved configuration of a run (saved as run.json beside its checkpoints)."""

    preset: str
    data: str
    width: float = 1.0
    norm: str = "bn"  # "bn" trains from scratch; "none" wants --backbone-weights
    priors: str = "voc"  # prior preset: voc or coco
    batch: int = 32  # images per forward pass, per process
    accumulate: int = 1  # forward passes per optimizer step
    optimizer: str = "sgd"  # sgd | adamw
    base_lr: float = 0.05
    base_batch: int = 128  # the batch base_lr is given for
    momentum: float = 0.9
    weight_decay: float = 5e-4  # not applied to BatchNorm weights and biases
    steps_at_32: float = 120_000  # optimizer steps at an effective batch of 32
    warmup_at_32: float = 1000
    milestones: tuple[float, ...] = (2 / 3, 5 / 6)  # fractions of the run; lr x0.1 at each
    grad_clip: float = 0.0  # max gradient norm, 0 = off
    eval_every: int = 5000  # optimizer steps between evaluations (and best-checkpoint checks)
    save_every: int = 1000  # optimizer steps between last.pt checkpoints
    log_every: int = 20  # optimizer steps between metrics rows
    eval_images: int = 500  # validation images per evaluation (0 = all)
    train_split: str | None = None  # None: the data kind's training split
    val_split: str | None = None  # None: the data kind's evaluation split
    workers: int = 4
    seed: int = 0
    amp: str = "auto"  # auto (bf16/fp16 on CUDA, off on CPU) | off | bf16 | fp16
    deterministic: bool = False
    backbone_weights: str | None = None
    init: str | None = None  # checkpoint the run starts from (--init); its network is kept
    max_bad_steps: int = 5  # NaN/inf losses in a row before the run stops

    def __post_init__(self) -> None:
        positive = ("batch", "accumulate", "base_batch", "eval_every", "save_every", "log_every")
        for name in positive:
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ConfigError(
                    f"{name.replace('_', '-')} must be a positive integer, got {value}"
                )
        if not self.steps_at_32 > 0:
            raise ConfigError(f"steps must be positive, got {self.steps_at_32}")
        for name in ("warmup_at_32", "eval_images", "workers", "max_bad_steps"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name.replace('_', '-')} must be 0 or more")
        if not (self.base_lr > 0) or self.weight_decay < 0 or not (0 <= self.momentum < 1):
            raise ConfigError("lr must be positive, weight decay >= 0 and momentum in [0, 1)")
        if self.optimizer not in ("sgd", "adamw"):
            raise ConfigError(f"unknown optimizer {self.optimizer!r}; use sgd or adamw")
        if self.amp not in ("auto", "off", "bf16", "fp16"):
            raise ConfigError(f"unknown amp {self.amp!r}; use auto, off, bf16 or fp16")
        if any(not 0 < m < 1 for m in self.milestones):
            raise ConfigError(
                f"milestones are fractions of the run in (0, 1), got {self.milestones}"
            )
        if self.norm == "none" and self.backbone_weights is None and self.init is None:
            raise ConfigError(
                "norm none trains only from ImageNet weights: give --backbone-weights"
            )

    def effective_batch(self, world_size: int = 1) -> int:
        return self.batch * self.accumulate * world_size

    def lr(self, world_size: int = 1) -> float:
        return self.base_lr * self.effective_batch(world_size) / self.base_batch

    def steps(self, world_size: int = 1) -> int:
        return max(1, round(self.steps_at_32 * 32 / self.effective_batch(world_size)))

    def warmup(self, world_size: int = 1) -> int:
        return round(self.warmup_at_32 * 32 / self.effective_batch(world_size))

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> TrainSettings:
        known = {f.name for f in dataclasses.fields(cls)}
        values = {
            k: (tuple(v) if isinstance(v, list) else v) for k, v in values.items() if k in known
        }
        return cls(**values)


PRESETS: dict[str, dict] = {
    # ScratchDet (Zhu et al. 2019): VGG16-BN from scratch, lr 0.05 at batch 128, ~120k
    # iterations at batch 32, linear warm-up, step decay.
    "voc-scratch": dict(norm="bn", base_lr=0.05, base_batch=128, steps_at_32=120_000,
                        warmup_at_32=1000),
    # The paper (Liu et al. 2016, VOC2007): plain VGG16 from ImageNet weights, lr 1e-3 at batch
    # 32 for 40k iterations, then 1e-4 and 1e-5 for 10k each.
    "voc-pretrained": dict(norm="none", base_lr=1e-3, base_batch=32, steps_at_32=60_000,
                           warmup_at_32=0, milestones=(40 / 60, 50 / 60)),
    # Minutes on a CPU: a slim network on the generated scenes. AdamW with clipping is what
    # trains a slim BN network from scratch stably in few steps (SGD at this size oscillated).
    "shapes-demo": dict(data="synthetic:4000", width=0.125, batch=16, optimizer="adamw",
                        base_lr=2e-3, base_batch=16, weight_decay=0.05, steps_at_32=1000,
                        warmup_at_32=50, milestones=(0.8,), grad_clip=20.0, eval_every=250,
                        save_every=50, log_every=10, eval_images=200, workers=1),
    # Fine-tuning a trained detector (--init coco or a checkpoint) on a small data set: every
    # layer trains, none frozen. AdamW at 1e-3 for batch 32: Ultralytics' automatic choice for
    # short fine-tuning runs is AdamW at ~1e-3 (lr0 0.002 x 5 / (4 + classes)); 1e-4 (the
    # transformer detectors' rate) measured too slow here: 0.03 mAP after 150 steps on
    # benchmarks/finetune.py. A short warm-up keeps the fresh classifier rows from disturbing
    # the transferred ones; 2000 steps at batch 32 (about 60 epochs of 1000 images), x0.1 at
    # 80%. benchmarks/finetune.py measures it against training from scratch for the same steps.
    "finetune": dict(optimizer="adamw", base_lr=1e-3, base_batch=32, weight_decay=0.01,
                     steps_at_32=2000, warmup_at_32=50, milestones=(0.8,), grad_clip=20.0,
                     eval_every=250, save_every=250),
}  # fmt: skip


def resolve(preset: str, overrides: dict) -> TrainSettings:
    """Preset values, then every override given (None means not given)."""
    if preset not in PRESETS:
        raise ConfigError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    values = {"preset": preset, **PRESETS[preset]}
    values.update({k: v for k, v in overrides.items() if v is not None})
    if "data" not in values:
        raise ConfigError(
            f"preset {preset} needs --data (voc:ROOT, coco:ANN.json,IMAGES, yolo:DIR)"
        )
    return TrainSettings(**values)
