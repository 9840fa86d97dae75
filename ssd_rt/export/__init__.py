"""Export: checkpoint -> ONNX (onnx.py), ONNX -> TensorRT engine + sidecar JSON (tensorrt.py)."""
