"""The direction of imports, read from the source (AST, imports inside functions included):

    ssd_rt.cli (commands)  ->  gui, trainer  ->  ssd_rt (the core library)

- the core (every ssd_rt module outside ssd_rt.cli) never imports gui, trainer or a command;
- gui and trainer never import each other, nor a command;
- backends read model files through ssd_rt.model_format; of the exporter they use only the
  engine build (export.tensorrt), to rebuild a stale engine;
- nothing shipped imports the repository's benchmarks, tools or tests.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("ssd_rt", "gui", "trainer")
OUTSIDE = ("benchmarks", "tools", "tests")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(source: str, module: str) -> set[str]:
    """Every module `source` imports (absolute names; relative imports resolved)."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module.split(".")[: -node.level]
                base = ".".join([*package, base] if base else package)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def layer(module: str) -> str:
    if module == "ssd_rt.cli" or module.startswith("ssd_rt.cli."):
        return "commands"
    return module.split(".")[0]  # ssd_rt (core), gui, trainer


def within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def wrong_arrows(module: str, imported: set[str]) -> list[str]:
    """What `module` must not import, among `imported`, with the rule it breaks."""
    here = layer(module)
    forbidden = {
        "ssd_rt": ("gui", "trainer", "ssd_rt.cli"),
        "gui": ("trainer", "ssd_rt.cli"),
        "trainer": ("gui", "ssd_rt.cli"),
        "commands": (),
    }[here] + OUTSIDE
    wrong = [f"{module} -> {name}" for name in sorted(imported)
             for package in forbidden if within(name, package)]  # fmt: skip
    if within(module, "ssd_rt.backends"):
        wrong += [f"{module} -> {name} (backends read files through model_format)"
                  for name in sorted(imported) if within(name, "ssd_rt.export")
                  and not within(name, "ssd_rt.export.tensorrt")]  # fmt: skip
    return wrong


def shipped_modules() -> dict[str, Path]:
    return {module_name(p): p for package in PACKAGES for p in (ROOT / package).rglob("*.py")}


def test_every_import_points_down_the_layers():
    wrong = []
    for module, path in shipped_modules().items():
        wrong += wrong_arrows(module, imports_of(path.read_text(), module))
    assert wrong == []


def test_the_commands_layer_is_imported_by_nothing_but_itself():
    importers = []
    for module, path in shipped_modules().items():
        names = imports_of(path.read_text(), module)
        if layer(module) != "commands" and any(within(n, "ssd_rt.cli") for n in names):
            importers.append(module)
    assert importers == []


@pytest.mark.parametrize(
    ("module", "source", "arrow"),
    [
        ("ssd_rt.video.pipeline", "def f():\n    from gui.viewer import Viewer\n", "gui.viewer"),
        ("ssd_rt.model_search", "import trainer.train\n", "trainer.train"),
        ("gui.window", "from ssd_rt.cli import run\n", "ssd_rt.cli"),
        ("trainer.train", "from gui import window\n", "gui"),
        ("ssd_rt.backends.onnxruntime", "from ssd_rt.export.onnx import x\n", "ssd_rt.export.onnx"),
        ("ssd_rt.evaluation.metrics", "from ..cli.common import run_command\n", "ssd_rt.cli"),
        ("ssd_rt.files", "import benchmarks.machine\n", "benchmarks.machine"),
    ],
)
def test_a_wrong_arrow_is_caught(module, source, arrow):
    """The check itself: each planted import is reported (lazy and relative ones too)."""
    wrong = wrong_arrows(module, imports_of(source, module))
    assert any(f"-> {arrow}" in w for w in wrong), wrong


def test_allowed_arrows_pass():
    allowed = {
        "ssd_rt.cli.run": "from gui.viewer import Viewer\nimport trainer.train\n",
        "gui.window": "from ssd_rt.video.session import RunSession\n",
        "trainer.train": "from ssd_rt.evaluation.evaluate import score\n",
        "ssd_rt.backends.tensorrt": "from ssd_rt.export.tensorrt import build_engine\n",
    }
    for module, source in allowed.items():
        assert wrong_arrows(module, imports_of(source, module)) == [], module
