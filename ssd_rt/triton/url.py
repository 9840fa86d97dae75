"""`--model triton://HOST:PORT/NAME`: a model served by Triton Inference Server.

    triton://HOST[:PORT]/NAME        gRPC (default port 8001)
    triton+grpc://HOST[:PORT]/NAME   the same
    triton+http://HOST[:PORT]/NAME   HTTP/REST (default port 8000)

A URL may carry user:password@ (for a proxy in front of the server); it is never printed:
`str(url)` is masked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from ssd_rt.errors import ConfigError
from ssd_rt.redact import mask_credentials

PROTOCOLS = {"triton": "grpc", "triton+grpc": "grpc", "triton+http": "http"}
DEFAULT_PORTS = {"grpc": 8001, "http": 8000}
# pathlib collapses "//" ("triton:/host:8001/ssd"): a URL that went through Path is still one
_SCHEME = re.compile(r"^(triton(?:\+grpc|\+http)?):/+", re.IGNORECASE)


@dataclass(frozen=True)
class TritonURL:
    protocol: str  # "grpc" | "http"
    host: str
    port: int
    name: str  # the model's name in the repository
    text: str  # as given (may hold credentials: never print it)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def __str__(self) -> str:
        return mask_credentials(self.text)


def is_triton_url(text: object) -> bool:
    return bool(_SCHEME.match(str(text)))


def parse_triton_url(text: object) -> TritonURL:
    text = str(text)
    match = _SCHEME.match(text)
    if match is None:
        raise ConfigError(f"not a Triton model URL: {mask_credentials(text)}")
    scheme = match[1].lower()
    parts = urlsplit(f"{scheme}://{text[match.end():]}")
    name = parts.path.strip("/")
    if not parts.hostname or not name or "/" in name:
        raise ConfigError(f"a Triton model URL is {scheme}://HOST[:PORT]/NAME, got "
                          f"{mask_credentials(text)}")  # fmt: skip
    try:
        port = parts.port or DEFAULT_PORTS[PROTOCOLS[scheme]]
    except ValueError:
        raise ConfigError(f"bad port in {mask_credentials(text)}") from None
    return TritonURL(PROTOCOLS[scheme], parts.hostname, port, name, text)


def model_label(model: object) -> str:
    """How a model is named to the user: a file by its name, a served model by its URL
    (masked)."""
    from pathlib import Path

    return str(parse_triton_url(model)) if is_triton_url(model) else Path(str(model)).name
