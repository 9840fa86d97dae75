"""docs/architecture.md describes the code as it is: every file of the three packages is named in
its layout block (under its folder), and it cites nothing outside the repository."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "architecture.md"


def layout_block() -> str:
    text = DOC.read_text()
    section = text[text.index("## Layout"):text.index("## Data flow of one frame")]
    return section[section.index("```") + 3:section.rindex("```")]


def named_under(block: str) -> dict[str, str]:
    """Folder heading -> the text listed under it (a heading is a line starting at column 0 or
    an indented `name/` entry, as in the block)."""
    groups: dict[str, str] = {}
    current = top = ""
    for line in block.splitlines():
        first = line.split()[0] if line.strip() else ""
        if line and not line.startswith(" ") and first.endswith("/"):
            top = current = first
        elif re.match(r"^  \S+/\s", line):
            current = top + first
        groups[current] = groups.get(current, "") + line + "\n"
    return groups


def test_every_package_file_is_named_in_the_layout():
    groups = named_under(layout_block())
    missing = []
    for package in ("ssd_rt", "gui", "trainer"):
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT)
            if path.name == "__init__.py":
                continue  # a package's __init__ is named by its folder
            folder = "/".join(relative.parts[:2]) + "/" if len(relative.parts) > 2 else ""
            text = groups.get(folder or f"{relative.parts[0]}/", "")
            if path.name not in text:
                missing.append(str(relative))
    assert missing == []


def test_the_check_notices_a_file_left_out():
    groups = named_under("ssd_rt/\n  config.py   x\n  video/      readers.py (one)\ngui/  a.py\n")
    assert "readers.py" in groups["ssd_rt/video/"] and "readers.py" not in groups["ssd_rt/"]
    assert "session.py" not in groups["ssd_rt/video/"]


def test_nothing_outside_the_repository_is_cited():
    brief = "DESIGN" + ".md"  # the original brief beside the repository, not part of it
    text = DOC.read_text()
    assert "../" not in text and brief not in text
    code = [p for p in ROOT.rglob("*.py") if ".venv" not in p.parts]
    assert [str(p) for p in code if brief in p.read_text()] == []
