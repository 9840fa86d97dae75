"""Triton backend: `--model triton://HOST:PORT/NAME`, inference on a Triton Inference Server.

Pre- and post-processing stay here; only `images -> (loc, logits)` crosses the network. The
model's metadata (class names, default boxes, normalization, input size) comes from the
server's model configuration (the parameters ssd_rt/triton/repository.py writes), so the URL
is all a client needs. Needs the `triton` extra (tritonclient).

- One client per server and protocol in a process: the streams of one `ssd-rt` share it
  (tritonclient's gRPC and HTTP clients are safe to call from several threads).
- Every call has a timeout (`timeout_s`). A server that cannot be reached during a run is
  retried every RETRY_S until it answers again or `reconnect_s` pass without an answer (the
  bounded policy of streams); one line says it was lost, one that it is back.
- Errors are one line: server down, model missing (with the models it serves), a model whose
  inputs and outputs are not an ssd-rt model's. URLs are printed masked.
"""

from __future__ import annotations

import atexit
import importlib
import logging
import threading
import time

import numpy as np
import torch

from ssd_rt.backends.base import Backend, BackendUnavailable
from ssd_rt.errors import SSDRTError, WeightsError
from ssd_rt.model_format import INPUT_NAME, OUTPUT_NAMES, ModelInfo
from ssd_rt.triton.url import TritonURL

log = logging.getLogger("ssd_rt")

TIMEOUT_S = 10.0  # one request, or one metadata call
RECONNECT_S = 30.0  # a lost server is given up after this long without an answer
RETRY_S = 0.5
_clients: dict[tuple[str, str], object] = {}
_clients_lock = threading.Lock()


class TritonError(SSDRTError):
    """The Triton server refused or failed a request, or cannot be reached."""


def shared_client(url: TritonURL, timeout_s: float = TIMEOUT_S):
    """The process's one client for url's server and protocol."""
    try:
        if url.protocol == "grpc":
            import tritonclient.grpc as module
        else:
            import tritonclient.http as module
    except ImportError:
        raise BackendUnavailable("the Triton client is not installed: pip install "
                                 "'ssd-rt[triton]'") from None  # fmt: skip
    key = (url.protocol, url.address)
    with _clients_lock:
        if key not in _clients:
            if url.protocol == "grpc":
                _clients[key] = module.InferenceServerClient(url.address)
            else:
                _clients[key] = module.InferenceServerClient(
                    url.address, connection_timeout=timeout_s, network_timeout=timeout_s,
                    concurrency=8)  # fmt: skip
        return _clients[key]


@atexit.register
def _close_clients() -> None:
    """Close the shared clients before the interpreter tears down: a gRPC client left to its
    __del__ at exit prints an ignored exception (grpc's modules are gone by then)."""
    with _clients_lock:
        for client in _clients.values():
            try:
                client.close()
            except Exception:  # closing at exit: nothing left to tell the user
                pass
        _clients.clear()


def _is_unreachable(err: BaseException) -> bool:
    text = str(err)
    return isinstance(err, OSError) or any(
        s in text for s in ("UNAVAILABLE", "failed to connect", "Connection refused",
                            "Socket closed", "DEADLINE_EXCEEDED", "onnection reset",
                            "Stream removed", "RST_STREAM", "CANCELLED"))  # fmt: skip


class TritonBackend(Backend):
    name = "triton"

    def __init__(self, url: TritonURL, *, timeout_s: float = TIMEOUT_S,
                 reconnect_s: float = RECONNECT_S) -> None:  # fmt: skip
        self.url, self.timeout_s, self.reconnect_s = url, timeout_s, reconnect_s
        self.client = shared_client(url, timeout_s)
        self.api = importlib.import_module(f"tritonclient.{url.protocol}")
        config = self._model_config()
        params = {k: v.get("string_value", "") for k, v in config.get("parameters", {}).items()}
        if not any(k.startswith("ssd_rt.") for k in params):
            raise WeightsError(f"{url}: the model has no ssd-rt metadata (export it with "
                               "ssd-rt-export --triton-repo)")  # fmt: skip
        info = ModelInfo.from_metadata(params, str(url))
        _check_io(config, info, url)
        super().__init__(info, torch.device("cpu"), max_batch=int(config["max_batch_size"]))

    def describe(self) -> str:
        return f"triton {self.url.protocol} at {self.url.address}/{self.url.name} " \
               f"({self.info.precision})"  # fmt: skip

    def _model_config(self) -> dict:
        url = self.url
        try:
            if not self.client.is_model_ready(url.name):
                served = [m["name"] if isinstance(m, dict) else m.name
                          for m in self._index()]  # fmt: skip
                raise TritonError(f"the Triton server at {url.address} has no model "
                                  f"{url.name!r} ready (it serves: "
                                  f"{', '.join(served) or 'nothing'})")  # fmt: skip
            if url.protocol == "grpc":
                return self.client.get_model_config(url.name, as_json=True,
                                                    client_timeout=self.timeout_s)["config"]
            return self.client.get_model_config(url.name)
        except TritonError:
            raise
        except Exception as err:  # tritonclient's InferenceServerException, socket errors
            raise TritonError(f"cannot reach the Triton server at {url.address}: "
                              f"{_first_line(err)}") from None  # fmt: skip

    def _index(self) -> list:
        if self.url.protocol == "grpc":
            return list(self.client.get_model_repository_index(as_json=True).get("models", []))
        return list(self.client.get_model_repository_index())

    def infer(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        self.check_images(images)
        x = np.ascontiguousarray(images.detach().to("cpu", torch.float32).numpy())
        result = self._send(x)
        loc, logits = (torch.from_numpy(np.array(result.as_numpy(name))) for name in OUTPUT_NAMES)
        return loc, logits

    def _send(self, x: np.ndarray):
        lost_since = None
        while True:
            try:
                result = self._request(x)
            except Exception as err:
                if not _is_unreachable(err):
                    raise TritonError(f"Triton at {self.url.address} failed the request: "
                                      f"{_first_line(err)}") from None  # fmt: skip
                now = time.monotonic()
                if lost_since is None:
                    lost_since = now
                    log.warning("lost the Triton server at %s (%s); reconnecting for up to "
                                "%.0f s", self.url.address, _first_line(err), self.reconnect_s)
                elif now - lost_since > self.reconnect_s:
                    raise TritonError(f"the Triton server at {self.url.address} did not answer "
                                      f"for {self.reconnect_s:.0f} s; giving up") from None
                time.sleep(RETRY_S)
                continue
            if lost_since is not None:
                log.warning("reconnected to the Triton server at %s after %.1f s",
                            self.url.address, time.monotonic() - lost_since)
            return result

    def _request(self, x: np.ndarray):
        api = self.api
        tensor = api.InferInput(INPUT_NAME, list(x.shape), "FP32")
        tensor.set_data_from_numpy(x)
        outputs = [api.InferRequestedOutput(name) for name in OUTPUT_NAMES]
        if self.url.protocol == "grpc":
            return self.client.infer(self.url.name, [tensor], outputs=outputs,
                                     client_timeout=self.timeout_s)  # fmt: skip
        return self.client.infer(self.url.name, [tensor], outputs=outputs)

    def close(self) -> None:  # the client is shared by the process's backends: kept open
        pass


def _check_io(config: dict, info: ModelInfo, url: TritonURL) -> None:
    """The served model must take images [3, S, S] and give loc [P, 4] and logits [P, C]."""
    size, priors = info.input_size, info.config.priors.num_priors
    want = {INPUT_NAME: [3, size, size], OUTPUT_NAMES[0]: [priors, 4],
            OUTPUT_NAMES[1]: [priors, info.config.num_classes]}  # fmt: skip
    have = {t["name"]: [int(d) for d in t.get("dims", [])]
            for t in [*config.get("input", []), *config.get("output", [])]}  # fmt: skip
    if have != want:
        raise WeightsError(f"{url}: inputs/outputs {have} are not those of an ssd-rt model "
                           f"with its metadata ({want})")  # fmt: skip


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
