"""Triton Inference Server: the model repository ssd-rt writes (repository.py), the Python-backend
model it puts there for CPU-only servers (python_model.py) and the URL of a served model
(url.py). The client backend is ssd_rt/backends/triton.py."""
