"""Every TensorRT call in ssd_rt exists, with those arguments, in each supported TensorRT release.

No GPU and no TensorRT runtime are needed: tests/data/tensorrt_api/<version>.json hold the Python
API of real TensorRT releases (classes, methods with their pybind11 signatures, properties, enum
members), read from NVIDIA's binding wheels by tools/dump_tensorrt_api.py. The check follows the
types through the code the way a reader would: `trt.Builder(logger)` is a Builder,
`builder.create_network(...)` returns what the signature says (INetworkDefinition), and so on; it
then checks every attribute against the release and every call's arguments against the
overloads. A line marked "TensorRT 10 only" is checked against 10.x releases alone.

What this cannot show is behaviour: the engine build and inference themselves run only in
tests/test_tensorrt.py, on a machine with a GPU.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
API_DIR = Path(__file__).parent / "data" / "tensorrt_api"
# Every library file that imports TensorRT (found, so a new one cannot slip past the check).
SOURCES = tuple(
    sorted(p for p in (ROOT / "ssd_rt").rglob("*.py") if "import tensorrt" in p.read_text())
)
TRT10_ONLY = "TensorRT 10 only"
RELEASES = sorted(p.stem for p in API_DIR.glob("*.json"))


class Api:
    """One release's API as dumped: module members, and class members with their bases."""

    def __init__(self, path: Path) -> None:
        data = json.loads(path.read_text())
        self.version: str = data["version"]
        self.source: str = data["source"]
        self.module: dict = data["module"]

    @property
    def major(self) -> int:
        return int(self.version.split(".")[0])

    def cls(self, name: str) -> dict | None:
        entry = self.module.get(name)
        return entry["class"] if entry and entry["kind"] == "class" else None

    def member(self, class_name: str, name: str) -> dict | None:
        cls = self.cls(class_name)
        if cls is None:
            return None
        for owner in (class_name, *cls["bases"]):
            found = (self.cls(owner) or {"members": {}})["members"].get(name)
            if found is not None:
                return found
        return None


# A static type: ("module",), ("class", C) for the class object, ("instance", C), ("list", C).
Type = tuple


def split_params(text: str) -> list[str]:
    """Top-level comma split of a pybind11 parameter list (types hold brackets and commas)."""
    parts, depth, current = [], 0, ""
    for char in text:
        if char in "[(":
            depth += 1
        elif char in "])":
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    return [p for p in [*parts, current.strip()] if p]


def accepts(signature: dict, positional: int, keywords: set[str]) -> bool:
    params = split_params(signature["params"])
    if params and params[0].startswith("self"):
        params = params[1:]
    if any(p.startswith("*") for p in params):
        return True
    names = [p.split(":")[0].strip() for p in params]
    required = [p.split(":")[0].strip() for p in params if "=" not in p]
    if positional > len(names) or not keywords <= set(names[positional:]):
        return False
    return set(required[positional:]) <= keywords


# Return types that pybind11 prints with their C++ name, and the Python class they are bound as.
CPP_NAMES = {"nvonnxparser::IParserError": "ParserError"}


def returned_type(api: Api, returns: str) -> Type | None:
    text = re.sub(r"^(typing\.)?Optional\[(.*)\]$", r"\2", returns.strip())
    text = CPP_NAMES.get(text, text)
    listed = re.fullmatch(r"(?:typing\.)?[Ll]ist\[(\w+)\]", text)
    if listed and api.cls(listed.group(1)):
        return ("list", listed.group(1))
    return ("instance", text) if api.cls(text) else None


@dataclass
class Report:
    errors: list[str] = field(default_factory=list)
    checked: set[str] = field(default_factory=set)


def dotted(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = dotted(node.value)
        return f"{base}.{node.attr}" if base else None
    return None


class Checker:
    def __init__(self, api: Api, source: Path) -> None:
        self.api = api
        self.source = source
        self.text = source.read_text()
        self.lines = self.text.splitlines()
        self.tree = ast.parse(self.text)
        self.env: dict[str, Type] = {}
        self.returns: dict[str, Type] = {}  # our own functions annotated "-> trt.X"

    def typeof(self, node: ast.AST) -> Type | None:
        api = self.api
        if isinstance(node, ast.Name | ast.Attribute):
            name = dotted(node)
            if name in self.env:
                return self.env[name]
        if isinstance(node, ast.Attribute):
            owner = self.typeof(node.value)
            if owner == ("module",):
                return ("class", node.attr) if api.cls(node.attr) else None
            if owner and owner[0] == "class":
                nested = api.member(owner[1], node.attr)
                if nested and nested["kind"] == "class":
                    return ("class", node.attr)
        if isinstance(node, ast.Call):
            func = self.typeof(node.func)
            if func and func[0] == "class":
                return ("instance", func[1])
            if isinstance(node.func, ast.Attribute):
                if dotted(node.func.value) == "self" and node.func.attr in self.returns:
                    return self.returns[node.func.attr]
                owner = self.typeof(node.func.value)
                if owner and owner[0] == "instance":
                    member = api.member(owner[1], node.func.attr)
                    if member and member["kind"] == "method" and member["signatures"]:
                        return returned_type(api, member["signatures"][0]["returns"])
        if isinstance(node, ast.Subscript):
            seq = self.typeof(node.value)
            if seq and seq[0] == "list":
                return ("instance", seq[1])
        if isinstance(node, ast.ListComp):
            element = self.typeof(node.elt)
            if element and element[0] == "instance":
                return ("list", element[1])
        return None

    def annotated(self, annotation: ast.AST | None) -> Type | None:
        """`trt.X`, `"trt.X"` or `trt.X | None` -> an X instance."""
        if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
            annotation = ast.parse(annotation.value, mode="eval").body
        if isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):
            return self.annotated(annotation.left) or self.annotated(annotation.right)
        if isinstance(annotation, ast.Attribute) and self.env.get(dotted(annotation.value)) == (
            "module",
        ):
            return ("instance", annotation.attr)
        return None

    def infer(self) -> None:
        """Imports, annotations and assignments, flow-insensitive, until nothing new is learnt."""
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name == "tensorrt":
                        self.env[alias.asname or alias.name] = ("module",)
        for node in ast.walk(self.tree):
            if isinstance(node, ast.FunctionDef):
                if (returned := self.annotated(node.returns)) is not None:
                    self.returns[node.name] = returned
                for arg in node.args.args + node.args.kwonlyargs:
                    if (typed := self.annotated(arg.annotation)) is not None:
                        self.env.setdefault(arg.arg, typed)
        for _ in range(6):
            before = dict(self.env)
            for node in ast.walk(self.tree):
                if isinstance(node, ast.Assign):
                    value = self.typeof(node.value)
                    for target in node.targets:
                        self.bind(target, value)
            if self.env == before:
                break

    def bind(self, target: ast.AST, value: Type | None) -> None:
        if value is None:
            return
        if isinstance(target, ast.Tuple) and value[0] == "list":
            for element in target.elts:
                self.bind(element, ("instance", value[1]))
        elif (name := dotted(target)) is not None and name != "_":
            self.env.setdefault(name, value)

    def check(self, report: Report) -> None:
        self.infer()
        for node in ast.walk(self.tree):
            line = self.lines[node.lineno - 1] if hasattr(node, "lineno") else ""
            if TRT10_ONLY in line and self.api.major >= 11:
                continue
            where = f"{self.source.name}:{getattr(node, 'lineno', '?')}"
            if isinstance(node, ast.ClassDef):
                self.check_overrides(node, where, report)
            if isinstance(node, ast.Attribute):
                self.check_attribute(node, where, report)
            if isinstance(node, ast.Call):
                self.check_call(node, where, report)

    def check_overrides(self, node: ast.ClassDef, where: str, report: Report) -> None:
        """A subclass of a TensorRT interface (IProgressMonitor, ILogger): each public method
        must override one of the base's, or TensorRT never calls it."""
        for base in node.bases:
            kind = self.typeof(base)
            if kind is None or kind[0] != "class":
                continue
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and not item.name.startswith("_"):
                    label = f"{kind[1]}.{item.name} (override)"
                    report.checked.add(label)
                    if self.api.member(kind[1], item.name) is None:
                        report.errors.append(
                            f"{where}: {label} is not a method of {kind[1]} in TensorRT "
                            f"{self.api.version}, so TensorRT never calls it"
                        )

    def check_attribute(self, node: ast.Attribute, where: str, report: Report) -> None:
        owner = self.typeof(node.value)
        if owner is None or owner[0] == "list":
            return
        if owner == ("module",):
            found = node.attr in self.api.module
            label = f"tensorrt.{node.attr}"
        else:
            found = self.api.member(owner[1], node.attr) is not None
            label = f"{owner[1]}.{node.attr}"
        report.checked.add(label)
        if not found:
            report.errors.append(f"{where}: {label} does not exist in TensorRT {self.api.version}")

    def check_call(self, node: ast.Call, where: str, report: Report) -> None:
        if any(isinstance(a, ast.Starred) for a in node.args) or any(
            k.arg is None for k in node.keywords
        ):
            return
        func = self.typeof(node.func)
        if func and func[0] == "class":
            member, label = self.api.member(func[1], "__init__"), f"{func[1]}()"
        elif isinstance(node.func, ast.Attribute) and (owner := self.typeof(node.func.value)):
            if owner[0] != "instance":
                return
            member = self.api.member(owner[1], node.func.attr)
            label = f"{owner[1]}.{node.func.attr}()"
        else:
            return
        if member is None or member["kind"] != "method" or not member["signatures"]:
            return  # a missing name is reported by check_attribute
        keywords = {k.arg for k in node.keywords}
        report.checked.add(label)
        if not any(accepts(s, len(node.args), keywords) for s in member["signatures"]):
            overloads = " | ".join(s["params"] for s in member["signatures"])
            report.errors.append(
                f"{where}: {label} with {len(node.args)} positional and keywords "
                f"{sorted(keywords)} matches no overload in TensorRT {self.api.version}: "
                f"{overloads}"
            )


def check_sources(api: Api, sources: tuple[Path, ...] = SOURCES) -> Report:
    report = Report()
    for source in sources:
        Checker(api, source).check(report)
    return report


def test_releases_are_recorded_from_binding_wheels():
    assert {r.split(".")[0] for r in RELEASES} >= {"10", "11"}, RELEASES
    for release in RELEASES:
        api = Api(API_DIR / f"{release}.json")
        assert api.version == release
        assert f"tensorrt-cu12-bindings=={release}" in api.source
        assert api.cls("IExecutionContext") and api.cls("Builder") and api.cls("OnnxParser")


@pytest.mark.parametrize("release", RELEASES)
def test_every_tensorrt_call_exists_in_the_release(release):
    report = check_sources(Api(API_DIR / f"{release}.json"))
    assert not report.errors, "\n".join(report.errors)
    # The calls that matter were typed and checked, not skipped for want of a type.
    assert report.checked >= {
        "tensorrt.Builder",
        "NetworkDefinitionCreationFlag.STRONGLY_TYPED",
        "Builder.create_network()",
        "OnnxParser()",
        "OnnxParser.parse()",
        "ParserError.node_operator()",
        "IBuilderConfig.set_memory_pool_limit()",
        "IOptimizationProfile.set_shape()",
        "IBuilderConfig.set_timing_cache()",
        "ITimingCache.serialize()",
        "Builder.build_serialized_network()",
        "Runtime.deserialize_cuda_engine()",
        "ICudaEngine.get_tensor_profile_shape()",
        "ICudaEngine.create_execution_context()",
        "IExecutionContext.set_input_shape()",
        "IExecutionContext.set_tensor_address()",
        "IExecutionContext.execute_async_v3()",
        "ICudaEngine.num_io_tensors",
        "ICudaEngine.get_tensor_mode()",
        "ICudaEngine.get_tensor_dtype()",
        "TensorIOMode.OUTPUT",
        "DataType.FLOAT",
        "IBuilderConfig.progress_monitor",
        "IProgressMonitor.phase_start (override)",
        "IProgressMonitor.step_complete (override)",
        "IProgressMonitor.phase_finish (override)",
    }, sorted(report.checked)


def test_the_check_catches_what_a_release_does_not_have(tmp_path):
    """The checker is not vacuous: calls removed in TensorRT 10/11 or with wrong arguments fail."""
    source = tmp_path / "old_api.py"
    source.write_text(
        "import tensorrt as trt\n"
        "def build(path, data):\n"
        "    logger = trt.Logger(trt.Logger.WARNING)\n"
        "    builder = trt.Builder(logger)\n"
        "    flag = trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH\n"
        "    network = builder.create_network(1 << int(flag))\n"
        "    config = builder.create_builder_config()\n"
        "    config.set_flag(trt.BuilderFlag.FP16)\n"
        "    config.max_workspace_size = 1 << 30\n"
        "    cache = config.create_timing_cache(b'')\n"
        "    config.set_timing_cache(cache, ignore=False)\n"
        "    engine = trt.Runtime(logger).deserialize_cuda_engine(data)\n"
        "    context = engine.create_execution_context()\n"
        "    index = engine.get_binding_index('images')\n"
        "    context.execute_async_v2([0, 0], 0)\n"
        "class Monitor(trt.IProgressMonitor):\n"
        "    def phase_started(self, name, parent, steps):\n"
        "        pass\n"
    )
    newest = Api(API_DIR / f"{RELEASES[-1]}.json")
    assert newest.major >= 11
    errors = "\n".join(check_sources(newest, (source,)).errors)
    for expected in (
        "NetworkDefinitionCreationFlag.EXPLICIT_BATCH does not exist",
        "BuilderFlag.FP16 does not exist",
        "IBuilderConfig.max_workspace_size does not exist",
        "IBuilderConfig.set_timing_cache() with 1 positional and keywords ['ignore']",
        "ICudaEngine.get_binding_index does not exist",
        "IExecutionContext.execute_async_v2 does not exist",
        "IProgressMonitor.phase_started (override) is not a method of IProgressMonitor",
    ):
        assert expected in errors, errors
