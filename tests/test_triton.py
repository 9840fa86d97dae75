"""Triton: the repository ssd-rt-export writes, served by a real tritonserver on 127.0.0.1 (the
nvidia-pytriton wheel's, Python backend), and `--model triton://` clients: parity with local
ONNX Runtime, four concurrent `ssd-rt` processes with dynamic batching, the server killed and
restarted mid-run, one-line errors, and the other platforms' config.pbtxt checked against
Triton's model configuration schema."""

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

pytest.importorskip("tritonclient.grpc", reason="needs the triton extra (pip install "
                    "'ssd-rt[triton]')")  # fmt: skip

from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2

from ssd_rt.backends import load_backend
from ssd_rt.cli.common import run_command
from ssd_rt.cli.export import main as export_main
from ssd_rt.cli.run import main as run_main
from ssd_rt.data.synthetic import random_scene, write_video
from ssd_rt.model_format import read_onnx_info
from ssd_rt.model_search import DEMO_MODEL
from ssd_rt.triton.repository import RepositoryOptions, config_text, model_config
from ssd_rt.video.detector import Detector
from tests.triton_server import TritonServer, free_port, server_home, statistics

ROOT = Path(__file__).resolve().parents[1]
FRAMES = 64  # per client video: the server is killed after 8, so most are sent after it
needs_server = pytest.mark.skipif(server_home() is None, reason="needs nvidia-pytriton's "
                                  "tritonserver (installed by make)")  # fmt: skip


def export(*args) -> int:
    return run_command("ssd-rt-export", export_main, [str(a) for a in args])


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    """demo as "ssd" (Python platform), and "plain": the same files without ssd-rt metadata."""
    repo = tmp_path_factory.mktemp("repo")
    assert export("demo", "--triton-repo", repo, "--platform", "python", "--max-batch", "8") == 0
    assert export("demo", "--triton-repo", repo, "--platform", "python", "--name", "plain") == 0
    config = text_format.Parse((repo / "plain/config.pbtxt").read_text(),
                               model_config_pb2.ModelConfig())  # fmt: skip
    for key in [k for k in config.parameters if k.startswith("ssd_rt.")]:
        del config.parameters[key]
    (repo / "plain/config.pbtxt").write_text(text_format.MessageToString(config))
    return repo


@pytest.fixture(scope="module")
def server(repo):
    if server_home() is None:
        pytest.skip("needs nvidia-pytriton's tritonserver (installed by make)")
    with TritonServer(repo) as running:
        yield running


def client(*args, out: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "ssd_rt.cli.run", *map(str, args),
                             "--headless", "--json-out", str(out)], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip


def rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def written(path: Path) -> int:
    """Lines so far: a run writes NAME.<random>.partial.jsonl and renames it at the end."""
    partial = list(path.parent.glob(f"{path.stem}.*.partial{path.suffix}"))
    return sum(len(p.read_text().splitlines()) for p in partial) or len(rows(path))


def test_the_written_configs_are_valid_model_configurations(repo):
    """Every platform's config.pbtxt parses as Triton's ModelConfig (field names and types are
    the schema's); the Python entry is also loaded by the real server in the tests below."""
    info = read_onnx_info(DEMO_MODEL)
    for platform in ("onnxruntime", "tensorrt", "python"):
        text = config_text(model_config(info, RepositoryOptions("m", platform, 8, 2), "test"))
        config = text_format.Parse(text, model_config_pb2.ModelConfig())
        assert config.max_batch_size == 8 and config.instance_group[0].count == 2
        assert list(config.dynamic_batching.preferred_batch_size) == [4, 8]
        assert config.platform == {"onnxruntime": "onnxruntime_onnx", "tensorrt": "tensorrt_plan",
                                   "python": ""}[platform]  # fmt: skip
        assert config.parameters["ssd_rt.class_names"].string_value
        assert [tuple(o.dims) for o in config.output] == [(8732, 4), (8732, 5)]
    assert sorted(p.name for p in (repo / "ssd/1").iterdir()) == ["model.onnx", "model.py"]
    assert export("demo", "--triton-repo", repo, "--platform", "python") == 1  # kept: exists


def test_onnxruntime_entry_files_and_a_tensorrt_entry_says_where_to_build_it(tmp_path, capsys):
    assert export("demo", "--triton-repo", tmp_path, "--name", "ort") == 0
    assert sorted(p.name for p in (tmp_path / "ort").rglob("*") if p.is_file()) == [
        "config.pbtxt", "model.onnx"]  # fmt: skip
    assert export("demo", "--triton-repo", tmp_path, "--name", "trt", "--platform",
                  "tensorrt") == 1  # fmt: skip
    if not torch.cuda.is_available():
        assert "export on the server's GPU machine" in capsys.readouterr().err
    assert not (tmp_path / "trt").exists() and [p.name for p in tmp_path.iterdir()] == ["ort"]


@needs_server
def test_detections_through_triton_equal_local_onnxruntime(server):
    frames = [random_scene(i, 360, 640) for i in range(5)]
    for url in (server.url("ssd"), server.url("ssd", "http")):
        remote = Detector(load_backend(url), conf=0.05)
        assert load_backend(url).client is remote.backend.client  # one client per server
        local = Detector(load_backend(DEMO_MODEL, "onnxruntime", "cpu"), conf=0.05)
        assert remote.class_names == local.class_names
        found = [remote.detect(frames)[0], local.detect(frames)[0]]
        assert sum(len(d.scores) for d in found[1]) > 5  # something to compare
        for a, b in zip(*found, strict=True):
            assert torch.equal(a.labels, b.labels)
            assert torch.allclose(a.boxes_xyxy, b.boxes_xyxy, atol=1e-3, rtol=0)
            assert torch.allclose(a.scores, b.scores, atol=1e-5, rtol=0)


@needs_server
@pytest.mark.parametrize(
    ("model", "message"),
    [
        ("triton://127.0.0.1:{grpc}/nope", "has no model 'nope' ready (it serves: plain, ssd)"),
        ("triton://127.0.0.1:{grpc}/plain", "the model has no ssd-rt metadata"),
        ("triton://alice:secret@127.0.0.1:{free}/ssd", "cannot reach the Triton server at"),
    ],
)
def test_triton_errors_are_one_line(server, capsys, model, message):
    """In process, as the command's entry point runs it; the real process is the test below."""
    url = model.format(free=free_port(), grpc=server.grpc_port)
    args = ["--source", "demo", "--max-frames", "2", "--model", url, "--headless"]
    assert run_command("ssd-rt", run_main, args) == 1
    err = capsys.readouterr().err
    assert message in err and "secret" not in err, err
    assert len(err.strip().splitlines()) == 1


def test_a_server_that_is_down_is_one_line_from_a_real_process():
    url = f"triton://127.0.0.1:{free_port()}/ssd"
    done = subprocess.run([sys.executable, "-m", "ssd_rt.cli.run", "--source", "demo",
                           "--max-frames", "2", "--model", url, "--headless"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert "cannot reach the Triton server at 127.0.0.1" in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


@needs_server
@pytest.mark.slow
def test_four_clients_batch_together_and_survive_a_server_restart(server, tmp_path):
    videos = [write_video(tmp_path / f"v{i}.mp4", FRAMES, seed=i, height=180, width=320)
              for i in range(4)]  # fmt: skip
    outs = [tmp_path / f"v{i}.jsonl" for i in range(4)]
    procs = [client("--source", v, "--model", server.url("ssd"), "--batch", "2", out=o)
             for v, o in zip(videos, outs, strict=True)]  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and min(written(o) for o in outs) < 8:
        time.sleep(0.05)
    assert max(len(rows(o)) for o in outs) == 0  # no client has finished
    server.kill()  # mid-run: every client is waiting on or about to send a request
    time.sleep(1.0)
    server.start()
    results = [p.communicate(timeout=180) for p in procs]
    for proc, (_, err), out in zip(procs, results, outs, strict=True):
        assert proc.returncode == 0, err[-2000:]
        assert err.count("lost the Triton server at 127.0.0.1") == 1, err
        assert err.count("reconnected to the Triton server") == 1, err
        frames = [r["frame"] for r in rows(out)]
        assert frames == list(range(FRAMES))  # complete and in order
    # The restarted server counts only this test's requests, each of 2 images (--batch 2):
    # executions of more than 2 are requests of several clients merged by dynamic batching.
    sizes = {int(b["batch_size"]) for b in statistics(server, "ssd").get("batch_stats", [])}
    assert max(sizes) > 2, sizes


@needs_server
def test_eval_and_bench_take_a_triton_model(server, tmp_path, capsys):
    from ssd_rt.cli.bench import main as bench_main
    from ssd_rt.cli.eval import main as eval_main

    reports = {}
    for name, model in (("local", "demo"), ("served", server.url("ssd"))):
        args = ["--model", model, "--data", "synthetic:16", "--metrics", "voc07",
                "--out", str(tmp_path / name)]  # fmt: skip
        assert run_command("ssd-rt-eval", eval_main, args) == 0
        reports[name] = json.loads((tmp_path / name / "report.json").read_text())
    assert reports["served"]["metrics"] == reports["local"]["metrics"]  # the same detections
    assert reports["served"]["model"] == server.url("ssd")
    args = ["--backends", "onnxruntime,triton", "--triton", server.url("ssd"), "--width",
            "0.125", "--batches", "2", "--runs", "2", "--warmup", "1", "--no-baseline"]  # fmt: skip
    assert run_command("ssd-rt-bench", bench_main, args) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if "triton grpc" in line)
    median_ms = float(row.split()[-4])
    assert median_ms > 0 and median_ms == median_ms  # a real, finite time


@needs_server
@pytest.mark.gui
def test_the_player_plays_a_video_with_a_triton_model(server, qtbot, tmp_path):
    pytest.importorskip("PyQt6.QtWidgets", reason="needs PyQt6 (pip install 'ssd-rt[gui]')")
    from PyQt6.QtCore import QSettings

    from gui.window import MainWindow

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings=settings, model=server.url("ssd"))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.session.detector is not None, timeout=30_000)
    assert window.model_box.currentText() == server.url("ssd")
    window.session.open(str(write_video(tmp_path / "clip.mp4", 20, height=180, width=320)))
    qtbot.waitUntil(lambda: window.session.shown >= 3, timeout=30_000)
    assert window.session.detector.backend.describe().startswith("triton grpc")
    window.close()


def test_triton_urls_and_backend_choices():
    from ssd_rt.errors import ConfigError
    from ssd_rt.triton.url import model_label, parse_triton_url

    url = parse_triton_url("triton://alice:secret@10.0.0.5/ssd")
    assert (url.protocol, url.address, url.name) == ("grpc", "10.0.0.5:8001", "ssd")
    assert str(url) == "triton://alice:***@10.0.0.5/ssd" and "secret" not in model_label(url.text)
    assert parse_triton_url(Path("triton+http://h:9000/m")).address == "h:9000"  # via pathlib
    for bad in ("triton://host", "triton://host:x/m", "triton://host/a/b"):
        with pytest.raises(ConfigError, match=r"Triton model URL|bad port"):
            parse_triton_url(bad)
    with pytest.raises(ConfigError, match="runs on its server, not --backend onnxruntime"):
        load_backend("triton://127.0.0.1:1/ssd", "onnxruntime")
    with pytest.raises(ConfigError, match="--backend triton runs served models"):
        load_backend(DEMO_MODEL, "triton")
