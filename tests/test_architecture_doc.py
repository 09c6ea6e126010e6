"""docs/architecture.md's module map names every package and module of the code, one line each,
and nothing that does not exist."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DOC = REPO / "docs" / "architecture.md"
ROOTS = ("protocol", "gateway", "fleet", "tools", "firmware")
# listed by directory only: one line for the folder, not one per file
BY_DIRECTORY = ("fleet/migrations/versions/",)
_LINE = re.compile(r"^- `(?P<path>[^`]+)`: \S")


def module_map(text: str) -> list[str]:
    """The paths the map's lines name, in order (``- `path`: what it holds``)."""
    section = text.split("\n## Module map\n", 1)[1].split("\n## ", 1)[0]
    return [m["path"] for line in section.splitlines() if (m := _LINE.match(line))]


def code_entries(repo: Path) -> set[str]:
    """What the map must name: each folder holding Python (``dir/``, which covers its
    ``__init__.py``) and each other module (``dir/name.py``)."""
    entries: set[str] = set()
    for root in ROOTS:
        for path in (repo / root).rglob("*.py"):
            rel = path.relative_to(repo).as_posix()
            folder = rel.rsplit("/", 1)[0] + "/"
            if folder.startswith(BY_DIRECTORY):
                entries.add(next(d for d in BY_DIRECTORY if folder.startswith(d)))
                continue
            entries.add(folder)
            if path.name != "__init__.py":
                entries.add(rel)
    return entries


def test_the_module_map_names_every_package_and_module() -> None:
    named = set(module_map(DOC.read_text()))
    missing = sorted(code_entries(REPO) - named)
    assert not missing, f"docs/architecture.md's module map lacks: {missing}"


def test_the_module_map_names_nothing_that_does_not_exist() -> None:
    gone = [p for p in module_map(DOC.read_text()) if not (REPO / p).exists()]
    assert not gone, f"docs/architecture.md's module map names what does not exist: {gone}"


def test_the_module_map_names_each_module_once() -> None:
    paths = module_map(DOC.read_text())
    assert len(paths) == len(set(paths)), sorted(p for p in paths if paths.count(p) > 1)


def test_a_new_module_is_missed_and_a_removed_one_is_named(tmp_path: Path) -> None:
    """The check itself: a module added to the code and not to the map is reported."""
    (tmp_path / "protocol" / "new").mkdir(parents=True)
    for root in ROOTS[1:]:
        (tmp_path / root).mkdir()
    (tmp_path / "protocol" / "codec.py").write_text("")
    (tmp_path / "protocol" / "new" / "__init__.py").write_text("")
    (tmp_path / "protocol" / "new" / "thing.py").write_text("")
    doc = "# A\n\n## Module map\n\n- `protocol/`: p\n- `protocol/codec.py`: c\n\n## Next\n"
    missing = code_entries(tmp_path) - set(module_map(doc))
    assert missing == {"protocol/new/", "protocol/new/thing.py"}
