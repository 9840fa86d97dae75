"""Files the user keeps: atomic writes, checksums, and the one check every output path passes.

Writes go to a temporary file in the same folder and are renamed over the target (`os.replace`
is atomic), so a crash at any moment leaves either the old file or the new one, never half of
one. Output paths are checked before any work: a wrong suffix, a folder, an existing file
(without overwrite) or a folder that cannot be written is one ConfigError naming it.
"""

from __future__ import annotations

import errno
import hashlib
import os
import secrets
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
    except OSError as err:  # a full disk: name the file the user asked for, not the temporary
        Path(tmp).unlink(missing_ok=True)
        raise OSError(err.errno, err.strerror or str(err), str(path)) from None
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


def create_partial(path: Path) -> Path:
    """Create, exclusively, the file an output is written to until it is whole:
    `NAME.<random>.partial.SUFFIX` beside `path`. O_EXCL: never a file the user had, whatever
    its name; the suffix stays last so a player opens what a crash left behind."""
    path = Path(path)
    for _ in range(100):
        temp = path.with_name(f"{path.stem}.{secrets.token_hex(3)}.partial{path.suffix}")
        try:
            os.close(os.open(temp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
            return temp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(path))


def publish(temp: Path, path: Path, *, overwrite: bool) -> None:
    """Give the whole file `temp` its final name `path`, after an fsync (a power cut leaves the
    old name or the new file, never an empty one). Without `overwrite` a file that appeared at
    `path` during the run is kept: FileExistsError, and `temp` stays as it is."""
    with open(temp, "rb+") as f:
        os.fsync(f.fileno())
    if overwrite:
        os.replace(temp, path)
        return
    try:
        os.link(temp, path)  # atomic "rename unless the target exists"
    except FileExistsError:
        raise
    except OSError:  # a file system without hard links
        if path.exists():
            raise FileExistsError(errno.EEXIST, "appeared during the run", str(path)) from None
        os.replace(temp, path)
        return
    os.unlink(temp)


def check_not_input(path: Path, inputs: list[Path], what: str) -> None:
    """An output must never be one of the run's inputs (even with --overwrite: the annotated
    copy would replace the video it is made from)."""
    target = Path(path).resolve()
    for source in inputs:
        same = target == Path(source).resolve()
        if not same and target.exists() and Path(source).exists():
            same = os.path.samefile(target, source)
        if same:
            raise ConfigError(f"{what} {path} is the input itself; write to another file")
