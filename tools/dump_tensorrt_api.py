"""Record the Python API of a TensorRT release, without a GPU, for tests/test_tensorrt_api.py.

    .venv/bin/python tools/dump_tensorrt_api.py 10.0.1 10.16.1.11 11.0.0.114 11.4.0.106

For each version this downloads NVIDIA's `tensorrt-cu12-bindings` wheel from PyPI (a real wheel,
unlike the `tensorrt` and `-libs` packages, which fetch from NVIDIA's own index), and imports its
pybind11 module `tensorrt_bindings.tensorrt` against stand-in libnvinfer / libnvonnxparser /
libnvinfer_plugin libraries compiled here with gcc. The stand-ins define the few C entry points
the module links to (createInferBuilder_INTERNAL and the like) and nothing else: importing the
module only registers its classes, so every class, method, property, enum member and signature
that the real bindings declare can be read, and nothing can run. The result is written to
tests/data/tensorrt_api/<version>.json; the test checks every TensorRT call in ssd_rt against
those files, which is as far as TensorRT code can be checked on a machine without one.

Needs pip access to PyPI, gcc and binutils' `nm`/`readelf`; the tests only read the JSON files.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT_DIR = ROOT / "tests" / "data" / "tensorrt_api"
PACKAGE = "tensorrt-cu12-bindings"
TRT_LIB = re.compile(r"^lib(nvinfer|nvonnxparser|nvinfer_plugin)\.so\.\d+$")

# Run inside the stand-in environment: print the module's API as JSON on stdout.
INTROSPECT = r"""
import json, re, sys
import tensorrt_bindings as trt

PREFIX = re.compile(r"\btensorrt_bindings\.tensorrt\.")

def signatures(name, doc):
    doc = PREFIX.sub("", doc or "")
    pattern = re.compile(r"^\s*(?:\d+\. )?" + re.escape(name) + r"\((.*)\)(?: -> (.+))?\s*$")
    found = []
    for line in doc.splitlines():
        m = pattern.match(line)
        if m and m.group(1) != "*args, **kwargs":
            found.append({"params": m.group(1), "returns": (m.group(2) or "").strip()})
    return found

def describe_class(cls):
    members = {}
    for name, value in vars(cls).items():
        if name.startswith("_") and name != "__init__":
            continue
        if isinstance(value, property):
            members[name] = {"kind": "property"}
        elif isinstance(value, type):
            members[name] = {"kind": "class", "class": describe_class(value)}
        elif callable(value) or isinstance(value, staticmethod):
            members[name] = {"kind": "method", "signatures": signatures(name, value.__doc__)}
        else:
            members[name] = {"kind": "value", "type": type(value).__name__}
    bases = [b.__name__ for b in cls.__mro__[1:] if b.__module__.startswith("tensorrt")]
    enum = sorted(getattr(cls, "__members__", {}) or {})
    return {"bases": bases, "members": members, "enum_members": enum}

api = {"version": trt.__version__, "module": {}}
for name, value in sorted(vars(trt.tensorrt).items()):
    if name.startswith("_") and name != "__version__":
        continue
    if isinstance(value, type):
        api["module"][name] = {"kind": "class", "class": describe_class(value)}
    elif callable(value):
        api["module"][name] = {"kind": "function", "signatures": signatures(name, value.__doc__)}
    else:
        api["module"][name] = {"kind": "value", "type": type(value).__name__}
api["module"]["__version__"] = {"kind": "value", "type": "str"}
json.dump(api, sys.stdout, indent=1, sort_keys=True)
"""


def run(cmd: list[str], **kwargs) -> str:
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kwargs).stdout


def download(version: str, into: Path) -> Path:
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--only-binary=:all:",
            "--dest",
            str(into),
            f"{PACKAGE}=={version}",
        ]
    )
    (wheel,) = into.glob("tensorrt_cu12_bindings-*.whl")
    return wheel


def stand_in_libraries(module: Path, into: Path) -> None:
    """One tiny shared library per TensorRT library the module needs, defining its symbols."""
    dynamic = run(["readelf", "-d", str(module)])
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[(.+?)\]", dynamic)
    undefined = [
        line.split()[-1]
        for line in run(["nm", "-D", "--undefined-only", str(module)]).splitlines()
        if line.split()[0] == "U"
    ]
    # Everything not from Python, libc, libstdc++ or the dynamic loader comes from TensorRT.
    ours = [s for s in undefined if "@" not in s and not s.startswith(("Py", "_Py", "dl"))]
    source = into / "stand_in.c"
    source.write_text("".join(f"long {symbol}(void) {{ return 0; }}\n" for symbol in ours))
    for soname in filter(TRT_LIB.match, needed):
        run(
            [
                "gcc",
                "-shared",
                "-fPIC",
                f"-Wl,-soname,{soname}",
                "-o",
                str(into / soname),
                str(source),
            ]
        )


def dump(version: str) -> Path:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        wheel = download(version, tmp)
        site = tmp / "site"
        zipfile.ZipFile(wheel).extractall(site)
        (module,) = (site / "tensorrt_bindings").glob("tensorrt*.so")
        libs = tmp / "libs"
        libs.mkdir()
        stand_in_libraries(module, libs)
        env = {**os.environ, "LD_LIBRARY_PATH": str(libs), "PYTHONPATH": str(site)}
        api = json.loads(run([sys.executable, "-c", INTROSPECT], env=env, cwd=tmp))
    api["source"] = f"{PACKAGE}=={version} from PyPI, read by tools/dump_tensorrt_api.py"
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    out = OUT_DIR / f"{version}.json"
    out.write_text(json.dumps(api, indent=1, sort_keys=True) + "\n")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("versions", nargs="+", help="tensorrt-cu12-bindings versions")
    for version in parser.parse_args().versions:
        print(f"{version}: {dump(version).relative_to(ROOT)}")


if __name__ == "__main__":
    main()
