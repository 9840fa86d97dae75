import os

import pytest
import torch

# Qt never needs a display in tests: offscreen platform everywhere (CI has no display).
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# Two cores on CI: more intra-op threads than cores only adds contention.
torch.set_num_threads(min(2, os.cpu_count() or 1))


def pytest_collection_modifyitems(config, items):
    """Skip capability-marked tests with a reason when the capability is missing."""
    has_cuda = torch.cuda.is_available()
    try:
        import tensorrt  # noqa: F401

        has_trt = True
    except Exception:  # ImportError, or a wheel whose native libraries are missing
        has_trt = False
    for item in items:
        if "gpu" in item.keywords and not has_cuda:
            item.add_marker(pytest.mark.skip(reason="needs a CUDA device; none found"))
        if "tensorrt" in item.keywords and not (has_trt and has_cuda):
            item.add_marker(
                pytest.mark.skip(
                    reason="needs TensorRT and a CUDA device; import tensorrt failed or no GPU"
                )
            )
