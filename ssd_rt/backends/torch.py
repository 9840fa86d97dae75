"""PyTorch backend: a checkpoint run in channels_last memory layout (oneDNN and cuDNN are faster
in NHWC); on CUDA as FP16 with a CUDA graph per batch size (one replay instead of ~100 kernel
launches per frame); on CPU as FP32, or bf16 when asked (CPUs with AVX512-BF16 or AMX run it about
2x faster: 86 ms vs 166 ms for full-width SSD300 on the 2-core dev machine). bf16 is never chosen
silently: it changes the numerics, so the user asks for it; and it is refused on a CPU without
native bf16 (machine.bf16_problem), where it is emulated and several times slower."""

from __future__ import annotations

from pathlib import Path

import torch

from ssd_rt.backends.base import Backend
from ssd_rt.checkpoint import load_model
from ssd_rt.errors import ConfigError
from ssd_rt.model_format import ModelInfo

PRECISIONS = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
GRAPH_WARMUP_RUNS = 3  # cuDNN picks its algorithms on these before capture


class TorchBackend(Backend):
    name = "torch"

    def __init__(
        self,
        model: torch.nn.Module,
        info: ModelInfo,
        device: torch.device,
        *,
        precision: str | None = None,
        cuda_graphs: bool | None = None,
    ) -> None:
        on_cuda = device.type == "cuda"
        precision = precision or ("fp16" if on_cuda else "fp32")
        if precision not in PRECISIONS:
            raise ConfigError(
                f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}"
            )
        if precision == "fp16" and not on_cuda:
            raise ConfigError("fp16 runs on CUDA; on a CPU use fp32 or bf16")
        if precision == "bf16" and not on_cuda:
            from ssd_rt.machine import bf16_problem, cpu_flags

            if (problem := bf16_problem(cpu_flags())) is not None:
                raise ConfigError(problem)
        super().__init__(ModelInfo(info.config, info.class_names, precision), device)
        self.dtype = PRECISIONS[precision]
        self.model = (
            model.eval().to(device=device, dtype=self.dtype).to(memory_format=torch.channels_last)
        )
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
        # .float() in infer copies reduced-precision outputs; float32 ones must be cloned here.
        return (loc.clone(), logits.clone()) if self.dtype == torch.float32 else (loc, logits)

    def close(self) -> None:
        self._graphs.clear()
