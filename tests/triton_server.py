"""The real `tritonserver` of the nvidia-pytriton wheel on 127.0.0.1, for tests and benchmarks.

    with TritonServer(repo) as server:       # started, and ready, or TritonServerError
        url = server.url("ssd")              # triton://127.0.0.1:PORT/ssd (gRPC)
        server.kill(); server.start()         # a crash and a restart on the same ports

The wheel ships the server binary, the Python backend and one backend stub per Python
version; the Python backend looks for its stub in its own folder, so a backend folder is
assembled from links in a temporary directory (the wheel's files are not touched). Loopback
only, free ports picked per server, every wait bounded.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

UTILS = "triton_python_backend_utils.py"
# The stub embeds Python through pybind11 with an isolated configuration: PYTHONPATH is ignored,
# and the stub imports this module (which imports numpy) before the model's own model.py can
# extend sys.path. So the backend folder gets a wrapper that puts this environment's
# site-packages on sys.path first, then runs the wheel's module as is.
UTILS_WRAPPER = """# written by ssd-rt's tests/triton_server.py
import sys
for _path in {paths!r}:
    if _path not in sys.path:
        sys.path.append(_path)
_real = {real!r}
exec(compile(open(_real).read(), _real, "exec"))
"""
READY_S = 90.0  # the Python backend starts a stub process per instance: seconds each


class TritonServerError(RuntimeError):
    pass


def server_home() -> Path | None:
    """The wheel's tritonserver folder, or None when nvidia-pytriton is not installed."""
    spec = importlib.util.find_spec("pytriton")
    if spec is None or not spec.submodule_search_locations:
        return None
    home = Path(next(iter(spec.submodule_search_locations))) / "tritonserver"
    return home if (home / "bin" / "tritonserver").is_file() else None


STUB_NUMPY = Path(sys.prefix) / "triton-stub"  # `make`: numpy 1.26 for the stub (see below)


def site_packages() -> list[str]:
    """The stub's import path: the wheel's stub is built against NumPy 1 (nvidia-pytriton
    requires numpy<2; with this environment's NumPy 2 it sends every output tensor empty), so
    `make` installs numpy 1.26 alone into .venv/triton-stub, first on the path; onnxruntime
    and the rest come from this environment (built against NumPy 2, which also runs on 1.x)."""
    import site

    paths = [str(STUB_NUMPY)] if STUB_NUMPY.is_dir() else []
    return paths + [p for p in site.getsitepackages() if Path(p).is_dir()]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TritonServer:
    def __init__(self, repo: Path, *, log: Path | None = None) -> None:
        home = server_home()
        if home is None:
            raise TritonServerError("nvidia-pytriton's tritonserver is not installed")
        self.home, self.repo = home, repo
        self._tmp = tempfile.TemporaryDirectory(prefix="ssd-rt-triton-")
        self.backends = Path(self._tmp.name) / "backends"
        python = self.backends / "python"
        python.mkdir(parents=True)
        for item in (home / "backends" / "python").iterdir():
            if item.is_file() and item.name != UTILS:
                (python / item.name).symlink_to(item)
        real = str(home / "backends" / "python" / UTILS)
        (python / UTILS).write_text(UTILS_WRAPPER.format(paths=site_packages(), real=real))
        version = f"{sys.version_info.major}.{sys.version_info.minor}"
        stub = home / "python_backend_stubs" / version / "triton_python_backend_stub"
        (python / stub.name).symlink_to(stub)
        self.grpc_port, self.http_port = free_port(), free_port()
        self.log = log or Path(self._tmp.name) / "server.log"
        self.process: subprocess.Popen | None = None

    def url(self, name: str, protocol: str = "grpc") -> str:
        if protocol == "grpc":
            return f"triton://127.0.0.1:{self.grpc_port}/{name}"
        return f"triton+http://127.0.0.1:{self.http_port}/{name}"

    def start(self) -> TritonServer:
        command = [str(self.home / "bin" / "tritonserver"), f"--model-repository={self.repo}",
                   f"--backend-directory={self.backends}", f"--grpc-port={self.grpc_port}",
                   f"--http-port={self.http_port}", "--allow-metrics=false",
                   "--grpc-address=127.0.0.1", "--http-address=127.0.0.1",
                   "--exit-timeout-secs=5"]  # fmt: skip
        env = {**os.environ, "LD_LIBRARY_PATH": ":".join(
            p for p in (str(self.home / "lib"), os.environ.get("LD_LIBRARY_PATH", "")) if p)}
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                                            env=env, start_new_session=True)  # fmt: skip
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        import tritonclient.http as http

        client = http.InferenceServerClient(f"127.0.0.1:{self.http_port}")
        deadline = time.monotonic() + READY_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise TritonServerError(f"tritonserver exited {self.process.returncode}: "
                                        f"{self.log.read_text()[-2000:]}")  # fmt: skip
            try:
                if client.is_server_ready():
                    return
            except Exception:  # not listening yet
                pass
            time.sleep(0.2)
        self.stop()
        raise TritonServerError(f"tritonserver not ready in {READY_S:.0f} s: "
                                f"{self.log.read_text()[-2000:]}")  # fmt: skip

    def kill(self) -> None:
        """SIGKILL the server and its stubs (a crash)."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()
        if self.process is not None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)  # stubs left behind, if any
            except ProcessLookupError:
                pass

    def __enter__(self) -> TritonServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
        self._tmp.cleanup()


def statistics(server: TritonServer, name: str) -> dict:
    """The model's inference statistics from the server (batch_stats: executed batch sizes)."""
    import tritonclient.http as http

    client = http.InferenceServerClient(f"127.0.0.1:{server.http_port}")
    return client.get_inference_statistics(name)["model_stats"][0]


def copy_tree(source: Path, target: Path) -> None:
    shutil.copytree(source, target, dirs_exist_ok=True)
