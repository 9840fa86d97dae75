"""The training loop: data, optimizer, schedule, evaluation, checkpoints, resume, DDP.

A run folder holds run.json (the resolved settings), last.pt (every save_every steps and at
each evaluation: model, optimizer, scheduler, scaler, step, epoch, position in the epoch, RNG
states, settings, class names), best.pt (best VOC07 mAP so far), metrics.jsonl / metrics.csv,
curves.png and, at the end, model.onnx. Every file is written atomically, so a run killed at
any moment resumes from its last checkpoint; in deterministic mode it then reproduces the
uninterrupted run's losses exactly (the data order and each sample's augmentation depend only
on (seed, epoch, position): trainer/data.py).
"""

from __future__ import annotations

import csv
import json
import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ssd_rt.checkpoint import load_checkpoint, save_checkpoint
from ssd_rt.config import SSDConfig, prior_preset
from ssd_rt.data.spec import EVAL_SPLITS, TRAIN_SPLITS, open_dataset, parse_data_spec
from ssd_rt.data.transforms import SSDTrainTransform, collate
from ssd_rt.errors import ConfigError, SSDRTError
from ssd_rt.files import atomic_write_bytes
from ssd_rt.model import SSD300
from ssd_rt.priors import default_boxes
from trainer.data import EpochSampler, SeededTransform
from trainer.finetune import finetune_config, transfer_weights
from trainer.presets import TrainSettings
from trainer.step import forward_loss

CSV_FIELDS = ("step", "epoch", "loss", "loc", "conf", "lr", "images_per_s", "seconds")


class TrainingError(SSDRTError):
    """A run that cannot go on: the loss stayed NaN or inf for max_bad_steps steps in a row."""


@dataclass
class RunFolder:
    root: Path

    def __post_init__(self) -> None:
        self.root = Path(self.root)

    settings = property(lambda self: self.root / "run.json")
    last = property(lambda self: self.root / "last.pt")
    best = property(lambda self: self.root / "best.pt")
    jsonl = property(lambda self: self.root / "metrics.jsonl")
    csv = property(lambda self: self.root / "metrics.csv")
    curves = property(lambda self: self.root / "curves.png")


@dataclass
class Progress:
    step: int = 0  # optimizer steps done
    epoch: int = 0
    position: int = 0  # global samples of this epoch consumed
    best_map: float = -1.0
    bad_steps: int = 0
    history: list[dict] = field(default_factory=list)


# --- distributed ----------------------------------------------------------------------------


def distributed() -> tuple[int, int]:
    """(rank, world size) under torchrun (process group initialized here), else (0, 1)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1
    import torch.distributed as dist

    if not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return dist.get_rank(), dist.get_world_size()


def end_distributed() -> None:
    """Tear the process group down before exit: a gloo group left to interpreter shutdown can
    abort the process ("terminate called without an active exception", exit -6) and torchrun
    then reports the whole run as failed."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def normalize_over_ranks(parts, world: int):
    """The MultiBox loss is normalized by N, the positives of the whole batch (the paper). Under
    DDP each rank sees a part of the batch and DDP averages the ranks' gradients, so each
    rank's loss is rescaled from its own N to N of all ranks, times `world`: the averaged
    gradient is then the one a single process computes on the whole batch (checked against
    one: tests/test_train.py). Per-rank normalization weighted ranks with few positives up."""
    import torch.distributed as dist

    from trainer.loss import LossParts

    everyone = parts.num_pos.detach().clone()
    dist.all_reduce(everyone)
    scale = parts.num_pos.clamp(min=1).float() * world / everyone.clamp(min=1).float()
    return LossParts(parts.total * scale, parts.loc * scale, parts.conf * scale, everyone)


def pick_device(rank: int) -> torch.device:
    if torch.cuda.is_available():
        local = int(os.environ.get("LOCAL_RANK", rank))
        torch.cuda.set_device(local)
        return torch.device("cuda", local)
    return torch.device("cpu")


def amp_dtype(amp: str, device: torch.device) -> torch.dtype | None:
    if amp == "off" or (amp == "auto" and device.type != "cuda"):
        return None
    if amp == "auto":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if amp == "fp16" and device.type != "cuda":
        raise ConfigError("--amp fp16 needs a CUDA device; use --amp bf16 or off on CPU")
    if amp == "bf16" and device.type == "cpu":
        from ssd_rt.machine import bf16_problem, cpu_flags

        if (problem := bf16_problem(cpu_flags())) is not None:
            raise ConfigError(f"--amp {problem}")
    return torch.bfloat16 if amp == "bf16" else torch.float16


# --- pieces -----------------------------------------------------------------------------------


def build_optimizer(model: torch.nn.Module, s: TrainSettings, world: int):
    """SGD (momentum) or AdamW; weight decay only on conv weights (not BN, biases, L2Norm)."""
    decay = [p for p in model.parameters() if p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.ndim <= 1]
    groups = [{"params": decay, "weight_decay": s.weight_decay},
              {"params": no_decay, "weight_decay": 0.0}]  # fmt: skip
    if s.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=s.lr(world))
    return torch.optim.SGD(groups, lr=s.lr(world), momentum=s.momentum)


def lr_factor(step: int, total: int, warmup: int, milestones: tuple[float, ...]) -> float:
    """Linear warm-up from 1/warmup to 1, then x0.1 at each milestone (fractions of total)."""
    factor = min(1.0, (step + 1) / warmup) if warmup else 1.0
    return factor * 0.1 ** sum(step >= round(m * total) for m in milestones)


def _rng_state() -> dict:
    state = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


# --- the run ----------------------------------------------------------------------------------


class Trainer:
    def __init__(self, settings: TrainSettings, out: Path, *, log=None,
                 loss_fn=forward_loss) -> None:  # fmt: skip
        """`loss_fn(net, batch, priors, normalization, variances=, amp_dtype=) -> LossParts`:
        `trainer.step.forward_loss` (ours); benchmarks/learning.py passes torchvision's."""
        self.s = settings
        self.loss_fn = loss_fn
        self.folder = RunFolder(out)
        self.rank, self.world = distributed()
        self.device = pick_device(self.rank)
        self.log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
        if settings.deterministic:
            torch.use_deterministic_algorithms(True)
            torch.backends.cudnn.benchmark = False
        torch.manual_seed(settings.seed)

        spec = parse_data_spec(settings.data)
        self.train_set = open_dataset(spec, settings.train_split or TRAIN_SPLITS[spec.kind])
        if len(self.train_set) == 0:
            raise ConfigError(f"{settings.data}: the training split has no images")
        self.class_names = tuple(self.train_set.class_names)
        self.val_set = open_dataset(
            spec, settings.val_split or EVAL_SPLITS[spec.kind], classes=self.class_names
        )
        init = load_checkpoint(settings.init) if settings.init else None
        if init is not None:  # the --init model's network, this data's classes
            self.config = finetune_config(init.config, len(self.class_names) + 1)
        else:
            self.config = SSDConfig(
                num_classes=len(self.class_names) + 1,
                width=settings.width,
                norm=settings.norm,
                priors=prior_preset(settings.priors),
            )
        self.model = SSD300(self.config)
        if settings.backbone_weights:
            self.model.load_backbone_weights(settings.backbone_weights)
        if init is not None:
            transfer = transfer_weights(self.model, init, self.class_names)
            if self.rank == 0:
                self.log(transfer.describe(settings.init))
        self.model.to(self.device)
        if self.device.type == "cuda":
            self.model.to(memory_format=torch.channels_last)
        self.priors = default_boxes(self.config.priors).to(self.device)
        self.amp = amp_dtype(settings.amp, self.device)
        self.optimizer = build_optimizer(self.model, settings, self.world)
        total, warmup = settings.steps(self.world), settings.warmup(self.world)
        self.total_steps = total
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda step: lr_factor(step, total, warmup, settings.milestones)
        )
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp == torch.float16)
        self.net = self.model
        if self.world > 1:
            if self.device.type == "cuda":  # BN statistics over the whole batch, as one GPU
                # would compute them. PyTorch has no SyncBatchNorm on CPU: there each rank
                # normalizes with its own share's statistics (the one remaining difference
                # from a single process; without BN, norm "none", the runs match exactly).
                self.model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(self.model)
            self.net = torch.nn.parallel.DistributedDataParallel(
                self.model, device_ids=[self.device.index] if self.device.type == "cuda" else None
            )
        self.progress = Progress()

    # -- checkpoints --

    def save(self, path: Path) -> None:
        if self.rank != 0:
            return
        p = self.progress
        extra = {
            "kind": "training",
            "step": p.step, "epoch": p.epoch, "position": p.position,
            "best_map": p.best_map, "bad_steps": p.bad_steps,
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict(),
            "rng": _rng_state(),
            "settings": self.s.to_dict(),
        }  # fmt: skip
        save_checkpoint(path, self.model, self.config, self.class_names, extra)

    def resume(self) -> None:
        checkpoint = load_checkpoint(self.folder.last)
        if tuple(checkpoint.class_names) != self.class_names:
            raise ConfigError(
                f"the data set's classes ({', '.join(self.class_names)}) do not match the run's "
                f"checkpoint ({', '.join(checkpoint.class_names)})"
            )
        extra = checkpoint.extra
        if extra.get("kind") != "training":
            raise ConfigError(f"{self.folder.last} holds no training state to resume from")
        self.model.load_state_dict(checkpoint.state_dict)
        self.optimizer.load_state_dict(extra["optimizer"])
        self.scheduler.load_state_dict(extra["scheduler"])
        self.scaler.load_state_dict(extra["scaler"])
        _set_rng_state(extra["rng"])
        self.progress = Progress(extra["step"], extra["epoch"], extra["position"],
                                 extra["best_map"], extra["bad_steps"])  # fmt: skip
        self._truncate_metrics(extra["step"])
        self.log(f"resumed from {self.folder.last} at step {extra['step']}/{self.total_steps}")

    def _truncate_metrics(self, step: int) -> None:
        """Drop rows of steps after the checkpoint: the resumed run writes them again."""
        if self.rank != 0 or not self.folder.jsonl.exists():
            return
        rows = [json.loads(line) for line in self.folder.jsonl.read_text().splitlines() if line]
        self.progress.history = [r for r in rows if r["step"] <= step]
        self._write_metrics()

    def _write_metrics(self) -> None:
        rows = self.progress.history
        text = "".join(json.dumps(r) + "\n" for r in rows)
        atomic_write_bytes(self.folder.jsonl, lambda f: f.write(text.encode()))

        def write_csv(f) -> None:
            import io

            buffer = io.StringIO()
            writer = csv.DictWriter(
                buffer, fieldnames=(*CSV_FIELDS, "mAP_voc07"), extrasaction="ignore"
            )
            writer.writeheader()
            writer.writerows(rows)
            f.write(buffer.getvalue().encode())

        atomic_write_bytes(self.folder.csv, write_csv)

    def record(self, row: dict) -> None:
        if self.rank == 0:
            self.progress.history.append(row)
            with open(self.folder.jsonl, "a") as f:  # appended per row; rewritten on resume
                f.write(json.dumps(row) + "\n")

    # -- evaluation --

    def eval_count(self) -> int:
        """Validation images per evaluation: eval_images, or all of them when it is 0."""
        return min(self.s.eval_images or len(self.val_set), len(self.val_set))

    def evaluate(self) -> tuple[float, list]:
        """(VOC07 mAP@0.5, image ids scored) on the validation split: this rank's share,
        gathered on rank 0."""
        from ssd_rt.evaluation.evaluate import predict, score

        shard = torch.utils.data.Subset(
            self.val_set, range(self.rank, self.eval_count(), self.world)
        )
        self.model.eval()
        try:
            predictions = predict(
                self.model, shard, priors_cxcywh=self.priors,
                normalization=self.config.normalization, device=self.device,
                batch=self.s.batch, workers=min(self.s.workers, 2),
            )  # fmt: skip
        finally:
            self.model.train()
        if self.world > 1:
            import torch.distributed as dist

            parts = [None] * self.world
            dist.all_gather_object(parts, predictions)
            for other in parts[1:] if self.rank == 0 else []:
                for name in ("detections", "ground_truth", "image_ids", "sizes_hw"):
                    getattr(predictions, name).extend(getattr(other, name))
        mean_ap = math.nan
        if self.rank == 0:
            result = score(predictions, self.class_names, metrics=("voc07",))
            mean_ap = result.voc["voc07"].mean_ap
        if self.world > 1:
            import torch.distributed as dist

            box = [mean_ap]
            dist.broadcast_object_list(box, src=0)
            mean_ap = box[0]
        return mean_ap, predictions.image_ids  # rank 0: every shard's ids (each once: tested)

    # -- the loop --

    def loader(self) -> torch.utils.data.DataLoader:
        p = self.progress
        sampler = EpochSampler(len(self.train_set), self.s.seed, p.epoch, p.position, self.rank,
                               self.world)  # fmt: skip
        return torch.utils.data.DataLoader(
            SeededTransform(self.train_set, SSDTrainTransform(self.config.input_size,
                                                              self.config.normalization)),
            batch_size=self.s.batch, sampler=sampler, num_workers=self.s.workers,
            collate_fn=collate, drop_last=True, pin_memory=self.device.type == "cuda",
            persistent_workers=False,
        )  # fmt: skip

    def batches(self):
        """Micro-batches forever, across epochs; progress.position follows what was consumed."""
        while True:
            for batch in self.loader():
                self.progress.position += self.s.batch * self.world
                yield batch
            self.progress.epoch += 1
            self.progress.position = 0

    def run(self) -> None:
        s, p = self.s, self.progress
        self.model.train()
        stream = self.batches()
        started = time.perf_counter()
        window_start, window_images = started, 0
        while p.step < self.total_steps:
            parts_sum = None
            finite = True
            for _ in range(s.accumulate):
                batch = next(stream)
                parts = self.loss_fn(
                    self.net, batch, self.priors, self.config.normalization,
                    variances=self.config.variances, amp_dtype=self.amp,
                )  # fmt: skip
                if self.world > 1:
                    parts = normalize_over_ranks(parts, self.world)
                if not torch.isfinite(parts.total):
                    finite = False
                    break
                self.scaler.scale(parts.total / s.accumulate).backward()
                detached = [t.detach() for t in parts]  # logged, not differentiated
                parts_sum = (
                    detached if parts_sum is None else [a + b for a, b in zip(parts_sum, detached)]
                )
                window_images += len(batch.labels) * self.world
            if not finite:
                self.optimizer.zero_grad(set_to_none=True)
                p.bad_steps += 1
                self.log(f"step {p.step + 1}: loss is NaN or inf; step skipped "
                         f"({p.bad_steps} in a row)")  # fmt: skip
                if p.bad_steps >= s.max_bad_steps:
                    raise TrainingError(
                        f"the loss was NaN or inf for {p.bad_steps} steps in a row at step "
                        f"{p.step + 1}; lower the learning rate (--lr) or check the data"
                    )
                continue
            p.bad_steps = 0
            if s.grad_clip:
                self.scaler.unscale_(self.optimizer)
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), s.grad_clip)
            self.scaler.step(self.optimizer)
            self.scaler.update()
            self.optimizer.zero_grad(set_to_none=True)
            lr = self.optimizer.param_groups[0]["lr"]
            self.scheduler.step()
            p.step += 1

            if p.step % s.log_every == 0 or p.step == self.total_steps:
                now = time.perf_counter()
                rate = window_images / max(now - window_start, 1e-9)
                if self.world > 1:  # the whole batch's loss, as one process would log it
                    import torch.distributed as dist

                    logged = torch.stack([t.float() for t in parts_sum[:3]])
                    dist.all_reduce(logged)
                    parts_sum = [*(logged / self.world), parts_sum[3]]
                total, loc, conf, _ = (float(v) / s.accumulate for v in parts_sum)
                self.record({"step": p.step, "epoch": p.epoch, "loss": total, "loc": loc,
                             "conf": conf, "lr": lr, "images_per_s": rate,
                             "seconds": now - started})  # fmt: skip
                eta = (self.total_steps - p.step) * s.effective_batch(self.world) / max(rate, 1e-9)
                if self.rank == 0:
                    self.log(f"step {p.step}/{self.total_steps} | loss {total:.3f} (loc {loc:.3f} "
                             f"conf {conf:.3f}) | lr {lr:.2e} | {rate:.1f} img/s | "
                             f"ETA {_duration(eta)}")  # fmt: skip
                window_start, window_images = now, 0
            done = p.step == self.total_steps
            if p.step % s.eval_every == 0 or done:
                mean_ap, image_ids = self.evaluate()
                self.record({"step": p.step, "epoch": p.epoch, "mAP_voc07": mean_ap,
                             "eval_images": len(image_ids),
                             "eval_unique_images": len(set(image_ids))})  # fmt: skip
                if self.rank == 0:
                    self.log(f"step {p.step}: VOC07 mAP@0.5 {mean_ap:.4f} on "
                             f"{self.eval_count()} "
                             "validation images")  # fmt: skip
                if not math.isnan(mean_ap) and mean_ap > p.best_map:
                    p.best_map = mean_ap
                    self.save(self.folder.best)
                self.save(self.folder.last)
            elif p.step % s.save_every == 0:
                self.save(self.folder.last)
        if self.rank == 0:
            self._write_metrics()
            self.plot()

    def plot(self) -> None:
        from ssd_rt.evaluation.plots import line_chart

        rows = self.progress.history
        train = [r for r in rows if "loss" in r]
        evals = [r for r in rows if "mAP_voc07" in r and not math.isnan(r["mAP_voc07"])]
        series = [("loss", [r["step"] for r in train], [r["loss"] for r in train]),
                  ("loc", [r["step"] for r in train], [r["loc"] for r in train]),
                  ("conf", [r["step"] for r in train], [r["conf"] for r in train])]  # fmt: skip
        line_chart(self.folder.root / "loss.png", series, title="training loss",
                   xlabel="step", ylabel="loss")  # fmt: skip
        line_chart(self.folder.curves, [("VOC07 mAP@0.5", [r["step"] for r in evals],
                                         [r["mAP_voc07"] for r in evals])],
                   title="validation mAP", xlabel="step", ylabel="mAP", ylim=(0, 1))  # fmt: skip


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s"
