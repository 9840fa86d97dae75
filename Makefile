# Two entry points do all set-up on a fresh machine:
#   make demo   runs ssd-rt on the built-in demo (moving shapes, the shipped demo model)
#   make test   runs the whole test suite
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean ffmpeg system-packages tensorrt-api

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e ".[dev,onnx,gui,coco,openvino,triton]"
	# The Triton server the tests serve models from: nvidia-pytriton's wheel ships tritonserver
	# with the Python backend. Its declared dependencies (numpy<2) are not installed: the server
	# binary needs none, and its Python stub gets numpy 1.26 alone in .venv/triton-stub.
	$(PY) -m pip install --quiet --no-deps -c constraints.txt nvidia-pytriton
	$(PY) -m pip install --quiet --no-deps --target $(VENV)/triton-stub numpy==1.26.4
	# Fail set-up early if torch and torchvision are not a working pair.
	$(PY) -c "import torch, torchvision.ops as o; o.nms(torch.zeros(1, 4), torch.zeros(1), 0.5)"
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/ssd-rt --source demo --max-frames 300 --model demo

# The stream tests need ffmpeg, the real-window tests Xvfb and the X11 libraries Qt's xcb plugin
# loads (Debian packages, not wheels): installed here where this runs as root with apt;
# elsewhere those tests skip and say why. PROGRAM:PACKAGE, or -:PACKAGE for a library.
SYSTEM_PACKAGES := ffmpeg:ffmpeg xvfb-run:xvfb xauth:xauth -:libxcb-icccm4 -:libxcb-keysyms1 \
	-:libxcb-cursor0 -:libxkbcommon-x11-0 -:libxcb-image0 -:libxcb-render-util0 -:libxcb-shape0
system-packages:
	@for entry in $(SYSTEM_PACKAGES); do \
	  program=$${entry%%:*}; package=$${entry##*:}; \
	  if [ "$$program" = - ]; then \
	    dpkg-query -W -f='$${Status}' $$package 2>/dev/null | grep -q "ok installed" && continue; \
	  else command -v $$program >/dev/null 2>&1 && continue; fi; \
	  missing="$$missing $$package"; \
	done; \
	[ -z "$$missing" ] && exit 0; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "make test: installing$$missing (Debian packages) for the tests that need them"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    --no-install-recommends $$missing) >/dev/null 2>&1 || \
	    echo "make test: could not install$$missing; the tests needing them will skip"; \
	else echo "make test: missing$$missing and no root apt-get; the tests needing them will skip"; fi

ffmpeg: system-packages

test: $(STAMP) system-packages
	$(VENV)/bin/ruff check .
	@# pytest exits 5 when it collected no tests: that is a broken set-up, never a pass.
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests (broken set-up)" >&2; fi; \
	exit $$rc

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench: $(STAMP)
	$(PY) benchmarks/postprocess.py
	$(PY) benchmarks/dataloader.py

# Re-record the TensorRT Python API that tests/test_tensorrt_api.py checks ssd_rt against (needs
# PyPI and gcc; no GPU). Add a release here when ssd-rt starts to support it.
TRT_RELEASES := 10.0.1 10.16.1.11 11.0.0.114 11.4.0.106
tensorrt-api: $(STAMP)
	$(PY) tools/dump_tensorrt_api.py $(TRT_RELEASES)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
