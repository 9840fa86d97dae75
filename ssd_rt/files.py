"""Files the user keeps: atomic writes, checksums, and the one check every output path passes.

Writes go to a temporary file in the same folder and are renamed over the target (`os.replace`
is atomic), so a crash at any moment leaves either the old file or the new one, never half of
one. Output paths are checked before any work: a wrong suffix, a folder, an existing file
(without overwrite) or a folder that cannot be written is one ConfigError naming it.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any

from ssd_rt.errors import ConfigError


def _umask() -> int:
    """The process umask, read without changing it (os.umask sets it, racing other threads)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    return 0o022


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks (ONNX staleness, converted weights' source)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def atomic_write_bytes(path: Path, write: Any) -> None:
    """Call `write(file)` on a temporary file beside `path`, fsync it, then rename over `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a new file of the user's mode
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def require_writable_folder(folder: Path, what: str) -> None:
    """Check, before any work, that `folder` (or its nearest existing parent) can be written."""
    existing = Path(folder)
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK):
        raise ConfigError(f"cannot write {what} to {folder}: {existing} is not a writable folder")


def check_output_path(
    path: Path, what: str, *, suffixes: tuple[str, ...] = (), overwrite: bool = False
) -> None:
    """`path` may be written as `what` (e.g. "--record"): its suffix is one of `suffixes` (when
    given), it is not a folder, it does not exist unless `overwrite`, its folder exists and is
    writable (a file output never creates folders: a typo in one is caught before the run)."""
    path = Path(path)
    if suffixes and path.suffix.lower() not in suffixes:
        raise ConfigError(f"{what} {path} must end in {' or '.join(suffixes)}")
    if path.is_dir():
        raise ConfigError(f"{what} {path} is a folder; give a file name")
    if path.exists() and not overwrite:
        raise ConfigError(f"{path} already exists; pass --overwrite to replace it")
    parent = path.parent
    if not parent.exists() and all(not p.is_file() for p in parent.parents):
        raise ConfigError(f"cannot write {what} {path}: folder {parent} does not exist")
    require_writable_folder(parent, what)
