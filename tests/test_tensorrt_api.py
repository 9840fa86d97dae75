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

    def method_owners(self, name: str) -> set[str]:
        """The classes that have a method called `name`."""
        if not hasattr(self, "_methods"):
            self._methods: dict[str, set[str]] = {}
            for cls_name, entry in self.module.items():
                if entry["kind"] != "class":
                    continue
                for member_name, member in entry["class"]["members"].items():
                    if member["kind"] == "method" and not member_name.startswith("_"):
                        self._methods.setdefault(member_name, set()).add(cls_name)
        return self._methods.get(name, set())

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


def parameters(signature: dict) -> list[tuple[str, str, bool]]:
    """(name, type, has a default) of each parameter but self."""
    params = split_params(signature["params"])
    if params and params[0].startswith("self"):
        params = params[1:]
    out = []
    for param in params:
        head, _, default = param.partition("=")
        name, _, kind = head.partition(":")
        out.append((name.strip(), kind.strip(), bool(default.strip())))
    return out


INT_TYPES = {"int", "typing.SupportsInt", "SupportsInt", "typing.SupportsIndex"}
FLOAT_TYPES = {"float", "typing.SupportsFloat", "SupportsFloat"}


def compatible(api: Api, param_type: str, kind) -> bool:
    """Whether an argument of static `kind` ("int", "str", "bytes", "float", ("instance", C)
    or None when unknown) fits a parameter annotated `param_type`. An int parameter takes only
    what is provably an int: device addresses and stream handles are ints, and passing the
    tensor or the stream object itself is the classic crash (`tensor` for `tensor.data_ptr()`)."""
    if param_type in INT_TYPES:
        return kind == "int"
    if param_type in FLOAT_TYPES:
        return kind in ("int", "float")
    if param_type == "str":
        return kind in ("str", None)
    if api.cls(param_type):
        if kind is None:
            return True
        if not (isinstance(kind, tuple) and kind[0] == "instance"):
            return False
        return kind[1] == param_type or param_type in (api.cls(kind[1]) or {}).get("bases", [])
    return True  # tuple, list, Buffer, object: not checked further


def accepts(api: Api, signature: dict, args: list, keywords: dict) -> bool:
    """`args`: static kinds of the positional arguments; `keywords`: name -> kind."""
    params = parameters(signature)
    if any(name.startswith("*") for name, _, _ in params):
        return True
    names = [name for name, _, _ in params]
    required = {name for name, _, default in params if not default}
    if len(args) > len(names) or not set(keywords) <= set(names[len(args) :]):
        return False
    if not required - set(names[: len(args)]) <= set(keywords):
        return False
    types = {name: kind for name, kind, _ in params}
    given = [*zip(names, args), *keywords.items()]
    return all(compatible(api, types[name], kind) for name, kind in given)


# What proves an argument is an int (a device address, a stream handle, a size) or a str.
INT_ATTRIBUTES = {"cuda_stream", "nbytes"}  # torch.cuda.Stream.cuda_stream, ndarray.nbytes
INT_METHODS = {"data_ptr", "numel", "element_size", "bit_length"}  # torch.Tensor.data_ptr()
BUILTIN_KINDS = {"int": "int", "len": "int", "round": "int", "str": "str", "float": "float",
                 "bytes": "bytes", "bytearray": "bytes"}  # fmt: skip


# Method names TensorRT shares with everyday Python objects (str.join, dict.get, Path.read_bytes,
# torch.Tensor.to, ...): a call on an untyped receiver with one of these is not TensorRT's.
GENERIC_METHODS = {"get", "set", "copy", "clear", "append", "join", "read", "write", "close",
                   "to", "items", "keys", "values", "update", "add", "remove", "pop", "index",
                   "count", "format", "encode", "decode", "split", "strip", "replace", "reset",
                   "log", "warning", "error", "info", "debug", "put", "start", "stop", "run",
                   "exists", "synchronize", "record", "wait", "serialize", "__init__"}  # fmt: skip


def kind_text(kind) -> str:
    if kind is None:
        return "?"
    return kind if isinstance(kind, str) else kind[1]


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
        self.ints: set[str] = set()  # names only ever bound to ints (range loops, int values)

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
                if nested and nested["kind"] == "value" and api.cls(nested.get("type", "")):
                    return ("instance", nested["type"])  # an enum member: MemoryPoolType.X
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
            before = dict(self.env), set(self.ints)
            for node in ast.walk(self.tree):
                if isinstance(node, ast.Assign):
                    value = self.typeof(node.value)
                    for target in node.targets:
                        self.bind(target, value)
                self.learn_int(node)
            if (self.env, self.ints) == before:
                break

    def learn_int(self, node: ast.AST) -> None:
        """`for i in range(...)`, `x = 0`, `x |= 1 << int(...)`: names that hold ints."""
        loop = isinstance(node, ast.For | ast.comprehension)
        if loop and isinstance(node.iter, ast.Call) and dotted(node.iter.func) == "range":
            if isinstance(node.target, ast.Name):
                self.ints.add(node.target.id)
        if isinstance(node, ast.Assign) and self.kind(node.value) == "int":
            self.ints.update(t.id for t in node.targets if isinstance(t, ast.Name))

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
                    base = self.api.member(kind[1], item.name)
                    if base is None:
                        report.errors.append(
                            f"{where}: {label} is not a method of {kind[1]} in TensorRT "
                            f"{self.api.version}, so TensorRT never calls it"
                        )
                    elif base["kind"] == "method" and base["signatures"]:
                        self.check_arity(item, base, label, where, report)

    def check_arity(self, item: ast.FunctionDef, base: dict, label: str, where: str,
                    report: Report) -> None:  # fmt: skip
        """TensorRT calls an override with the base's parameters: the override must take
        exactly that many (a mismatch is a TypeError inside the build, where it is lost)."""
        if item.args.vararg is not None:
            return
        takes = len(item.args.args) - 1  # without self
        optional = len(item.args.defaults)
        passes = {len(parameters(s)) for s in base["signatures"]}
        if not any(takes - optional <= n <= takes for n in passes):
            report.errors.append(
                f"{where}: {label} takes {takes} parameters; TensorRT {self.api.version} "
                f"passes {' or '.join(map(str, sorted(passes)))}"
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
        elif isinstance(node.func, ast.Attribute) and self.typeof(node.func.value) is None:
            self.check_untyped_receiver(node.func, where, report)
            return
        elif isinstance(node.func, ast.Attribute) and (owner := self.typeof(node.func.value)):
            if owner[0] != "instance":
                return
            member = self.api.member(owner[1], node.func.attr)
            label = f"{owner[1]}.{node.func.attr}()"
        else:
            return
        if member is None or member["kind"] != "method" or not member["signatures"]:
            return  # a missing name is reported by check_attribute
        args = [self.kind(a) for a in node.args]
        keywords = {k.arg: self.kind(k.value) for k in node.keywords}
        report.checked.add(label)
        if not any(accepts(self.api, s, args, keywords) for s in member["signatures"]):
            overloads = " | ".join(s["params"] for s in member["signatures"])
            given = ", ".join([*map(kind_text, args),
                               *(f"{k}={kind_text(v)}" for k, v in keywords.items())])  # fmt: skip
            report.errors.append(
                f"{where}: {label} with {len(node.args)} positional and keywords "
                f"{sorted(keywords)} ({given}) matches no overload in TensorRT "
                f"{self.api.version}: {overloads}"
            )

    def check_untyped_receiver(self, func: ast.Attribute, where: str, report: Report) -> None:
        """A call of a TensorRT method name on a receiver whose type the checker cannot tell
        (an unannotated helper's parameter) would pass unchecked: it is reported instead."""
        owners = self.api.method_owners(func.attr)
        if not owners or func.attr in GENERIC_METHODS:
            return
        receiver = ast.unparse(func.value)
        report.errors.append(
            f"{where}: cannot tell the type of `{receiver}` in `{receiver}.{func.attr}()` (a "
            f"method of {', '.join(sorted(owners)[:3])}); annotate it, e.g. "
            f"`{receiver}: trt.{sorted(owners)[0]}`, so the call is checked"
        )

    def kind(self, node: ast.AST):
        """The static kind of an argument: "int", "str", "bytes", "float", a TensorRT
        ("instance", C), or None when this checker cannot tell."""
        if isinstance(node, ast.Constant):
            return {bool: "int", int: "int", float: "float", str: "str", bytes: "bytes"}.get(
                type(node.value)
            )
        if isinstance(node, ast.JoinedStr):
            return "str"
        if isinstance(node, ast.Name) and node.id in self.ints:
            return "int"
        if isinstance(node, ast.BinOp):
            left, right = self.kind(node.left), self.kind(node.right)
            return "int" if left == right == "int" else None
        if isinstance(node, ast.UnaryOp):
            return self.kind(node.operand)
        if isinstance(node, ast.Attribute) and node.attr in INT_ATTRIBUTES:
            return "int"
        if isinstance(node, ast.Call):
            if isinstance(node.func, ast.Name) and node.func.id in BUILTIN_KINDS:
                return BUILTIN_KINDS[node.func.id]
            if isinstance(node.func, ast.Attribute) and node.func.attr in INT_METHODS:
                return "int"
        typed = self.typeof(node)
        return typed if typed and typed[0] == "instance" else None


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
        "    def phase_start(self, name, steps):\n"  # one parameter short
        "        pass\n"
        "def run(engine_data, tensor, stream, workspace):\n"
        "    logger = trt.Logger(trt.Logger.WARNING)\n"
        "    config = trt.Builder(logger).create_builder_config()\n"
        "    config.set_memory_pool_limit(int(workspace) << 30, trt.MemoryPoolType.WORKSPACE)\n"
        "    engine = trt.Runtime(logger).deserialize_cuda_engine(engine_data)\n"
        "    context = engine.create_execution_context()\n"
        "    context.set_tensor_address('images', tensor)\n"  # not tensor.data_ptr()
        "    context.execute_async_v3(stream)\n"  # not stream.cuda_stream
        "    bind(context, 'images', (1, 3, 300, 300))\n"
        "def bind(ctx, name, shape):\n"  # unannotated: the receiver's type is unknown
        "    ctx.set_input_shape(name, dims=shape)\n"
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
        "IProgressMonitor.phase_start (override) takes 2 parameters; TensorRT",
        "IBuilderConfig.set_memory_pool_limit() with 2 positional and keywords [] (int, "
        "MemoryPoolType) matches no overload",
        "IExecutionContext.set_tensor_address() with 2 positional and keywords [] (str, ?)",
        "IExecutionContext.execute_async_v3() with 1 positional and keywords [] (?)",
        "cannot tell the type of `ctx` in `ctx.set_input_shape()`",
    ):
        assert expected in errors, errors


@pytest.mark.parametrize(
    "path, before, after, expected",
    [
        ("ssd_rt/export/tensorrt.py",
         "set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(workspace_gib * (1 << 30)))",
         "set_memory_pool_limit(int(workspace_gib * (1 << 30)), trt.MemoryPoolType.WORKSPACE)",
         "IBuilderConfig.set_memory_pool_limit() with 2 positional"),
        ("ssd_rt/backends/tensorrt.py", "set_tensor_address(name, tensor.data_ptr())",
         "set_tensor_address(name, tensor)", "IExecutionContext.set_tensor_address()"),
        ("ssd_rt/backends/tensorrt.py", "execute_async_v3(self.stream.cuda_stream)",
         "execute_async_v3(self.stream)", "IExecutionContext.execute_async_v3()"),
        ("ssd_rt/export/progress.py", "def phase_start(self, phase_name, parent_phase, num_steps)",
         "def phase_start(self, phase_name, num_steps)",
         "IProgressMonitor.phase_start (override) takes 2 parameters"),
    ],
    ids=["swapped-pool-limit", "tensor-not-address", "stream-not-handle", "override-arity"],
)  # fmt: skip
def test_mutations_of_the_real_code_fail_the_check(tmp_path, path, before, after, expected):
    """Each mistake the issue found passing, made in the real file: the check now fails."""
    text = (ROOT / path).read_text()
    assert text.count(before) == 1, f"{before!r} is no longer in {path}"
    mutated = tmp_path / Path(path).name
    mutated.write_text(text.replace(before, after))
    for release in RELEASES:
        errors = "\n".join(check_sources(Api(API_DIR / f"{release}.json"), (mutated,)).errors)
        assert expected in errors, (release, errors)
        assert not check_sources(Api(API_DIR / f"{release}.json"), (ROOT / path,)).errors
