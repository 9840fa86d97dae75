"""Helpers of the fault tests: run `ssd-rt` as a real process, wait for its partial outputs,
and read back what it wrote with PyAV (the library that wrote it is not the judge: FFmpeg's
demuxer and decoder are)."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

SSD_RT = [sys.executable, "-m", "ssd_rt.cli.run"]


def start(args: list[str], **kwargs) -> subprocess.Popen:
    return subprocess.Popen([*SSD_RT, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, **kwargs)  # fmt: skip


def command(module: str, *args, timeout: float = 300) -> subprocess.CompletedProcess:
    """`python -m ssd_rt.cli.MODULE ARGS...` run to its end: `run` is ssd-rt, `train`,
    `export`, `eval`, `data` the other commands."""
    return subprocess.run([sys.executable, "-m", f"ssd_rt.cli.{module}", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout)  # fmt: skip


def run(args: list[str], timeout: float = 120) -> subprocess.CompletedProcess:
    return command("run", *args, timeout=timeout)


def partial_lines(folder: Path, stem: str) -> int:
    """Whole lines in the JSON-lines output still being written (its exclusive partial file)."""
    return sum(p.read_bytes().count(b"\n") for p in folder.glob(f"{stem}.*.partial.jsonl"))


def wait_for_lines(proc: subprocess.Popen, folder: Path, stem: str, lines: int,
                   timeout: float = 120) -> None:  # fmt: skip
    deadline = time.monotonic() + timeout
    while partial_lines(folder, stem) < lines:
        if proc.poll() is not None:
            raise AssertionError(f"ssd-rt ended early: {proc.communicate()}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"fewer than {lines} lines after {timeout} s")
        time.sleep(0.05)


def video_times(path: Path, *, cut: bool = False) -> list[float]:
    """Presentation time of every frame FFmpeg decodes from `path`, in seconds. `cut`: the
    file may end inside a packet (a full disk, SIGKILL): decode up to there, as players do."""
    times = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        try:
            for packet in container.demux(stream):
                times += [float(f.pts * stream.time_base) for f in packet.decode()]
        except av.error.InvalidDataError:
            if not cut:
                raise
    return times


def video_duration_s(path: Path) -> float:
    """The duration the container announces (what a player shows)."""
    with av.open(str(path)) as container:
        return float(Fraction(container.duration, av.time_base))


def codec_and_tags(path: Path) -> tuple[str, dict[str, str]]:
    with av.open(str(path)) as container:
        return container.streams.video[0].codec_context.name, dict(container.metadata)


def write_vfr_video(path: Path, frames: int, step_s: float, nominal_fps: int) -> list[float]:
    """A video whose container announces `nominal_fps` but whose frames are `step_s` apart
    (the mislabelled AVI of the issue, as Matroska); returns the frames' times."""
    time_base = Fraction(1, 1000)
    times = [round(i * step_s, 3) for i in range(frames)]
    with av.open(str(path), "w", format="matroska") as container:
        stream = container.add_stream("mpeg4", rate=nominal_fps)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        stream.codec_context.time_base = time_base
        for i, t in enumerate(times):
            image = np.full((120, 160, 3), (i * 7) % 256, np.uint8)
            image[20:60, (i * 3) % 120 : (i * 3) % 120 + 30] = (0, 0, 255)
            frame = av.VideoFrame.from_ndarray(image, format="bgr24")
            frame.pts, frame.time_base = round(t / time_base), time_base
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return times


def tmpfs_problem() -> str | None:
    """None when a small tmpfs can be mounted in a private mount namespace here (as root, or
    with unprivileged user namespaces), else why not: the full-disk tests skip with it."""
    if sys.platform != "linux" or shutil.which("unshare") is None:
        return "needs Linux and unshare(1)"
    probe = subprocess.run(["unshare", "--mount", "--map-root-user", "sh", "-c",
                            "mount -t tmpfs -o size=64k tmpfs /mnt"],
                           capture_output=True, text=True)  # fmt: skip
    if probe.returncode != 0:
        return f"cannot mount a tmpfs in a user namespace here: {probe.stderr.strip()}"
    return None


def run_on_full_disk(
    command: list, disk: Path, size: str, kept: Path, cwd: Path | None = None
) -> tuple[int, subprocess.CompletedProcess]:
    """Run `command` with a `size` tmpfs mounted over the folder `disk` (a private mount
    namespace: nothing outside sees it); what is on it afterwards is copied into `kept`.
    Returns (the command's exit code, the shell's completed process)."""
    disk.mkdir(exist_ok=True)
    kept.mkdir(exist_ok=True)
    quoted = " ".join(shlex.quote(str(part)) for part in command)
    script = (f"mount -t tmpfs -o size={size} tmpfs {shlex.quote(str(disk))} && {{ {quoted}; "
              f"echo $? > {kept}/.rc; cp -a {disk}/. {kept}/; }}")  # fmt: skip
    done = subprocess.run(["unshare", "--mount", "--map-root-user", "sh", "-c", script],
                          capture_output=True, text=True, timeout=300, cwd=cwd)  # fmt: skip
    rc_file = kept / ".rc"
    assert rc_file.exists(), done.stderr
    rc = int(rc_file.read_text())
    rc_file.unlink()
    return rc, done
