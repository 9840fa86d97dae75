"""Inference backends behind one interface: TensorRT, ONNX Runtime, PyTorch (see base.py)."""

from ssd_rt.backends.base import Backend, load_backend

__all__ = ["Backend", "load_backend"]
