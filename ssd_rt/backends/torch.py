"""PyTorch backend: a checkpoint run eagerly on CPU, or on CUDA as FP16, channels_last, and a
CUDA graph per batch size (one replay instead of ~100 kernel launches per frame)."""

from __future__ import annotations

from pathlib import Path

import torch

from ssd_rt.backends.base import Backend
from ssd_rt.checkpoint import load_model
from ssd_rt.model_info import ModelInfo

GRAPH_WARMUP_RUNS = 3  # cuDNN picks its algorithms on these before capture


class TorchBackend(Backend):
    name = "torch"

    def __init__(
        self,
        model: torch.nn.Module,
        info: ModelInfo,
        device: torch.device,
        *,
        fp16: bool | None = None,
        cuda_graphs: bool | None = None,
    ) -> None:
        on_cuda = device.type == "cuda"
        self.fp16 = on_cuda if fp16 is None else fp16
        precision = "fp16" if self.fp16 else "fp32"
        super().__init__(ModelInfo(info.config, info.class_names, precision), device)
        self.dtype = torch.float16 if self.fp16 else torch.float32
        model = model.eval().to(device=device, dtype=self.dtype)
        if on_cuda:
            model = model.to(memory_format=torch.channels_last)
        self.model = model
        self.cuda_graphs = on_cuda if cuda_graphs is None else cuda_graphs
        self._graphs: dict[int, tuple[torch.cuda.CUDAGraph, torch.Tensor, tuple]] = {}

    @classmethod
    def from_checkpoint(cls, path: str | Path, device: torch.device, **kwargs) -> TorchBackend:
        model, checkpoint = load_model(path)
        return cls(model, ModelInfo(checkpoint.config, checkpoint.class_names), device, **kwargs)

    @torch.inference_mode()
    def infer(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        self.check_images(images)
        x = images.to(self.device, self.dtype, non_blocking=True)
        if self.device.type == "cuda":
            x = x.contiguous(memory_format=torch.channels_last)
        if self.cuda_graphs:
            loc, logits = self._replay(x)
        else:
            loc, logits = self.model(x)
        return loc.float(), logits.float()  # .float() copies: graph outputs are reused buffers

    def _replay(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        batch = x.shape[0]
        if batch not in self._graphs:
            static_in = torch.zeros_like(x)
            side = torch.cuda.Stream(self.device)
            side.wait_stream(torch.cuda.current_stream(self.device))
            with torch.cuda.stream(side):
                for _ in range(GRAPH_WARMUP_RUNS):
                    self.model(static_in)
            torch.cuda.current_stream(self.device).wait_stream(side)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                static_out = self.model(static_in)
            self._graphs[batch] = (graph, static_in, static_out)
        graph, static_in, static_out = self._graphs[batch]
        static_in.copy_(x)
        graph.replay()
        loc, logits = static_out
        return (loc.clone(), logits.clone()) if not self.fp16 else (loc, logits)

    def close(self) -> None:
        self._graphs.clear()
