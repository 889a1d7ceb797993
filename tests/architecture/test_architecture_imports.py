"""The floors of docs/architecture.md hold: every import in ppgan_app/ (top-level or inside a
function) goes to the importer's own room or to a lower floor, and no modules import each
other in a circle."""
from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Dict, List, Set

import pytest

from ppgan_app._moved import MOVED

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "ppgan_app"
TABLE_ROW = re.compile(r"^\|\s*(\d+)\s*\|(.*?)\|")


def floors() -> Dict[str, int]:
    """``{room: floor}`` from the table of docs/architecture.md."""
    rooms = {}
    for line in (REPO / "docs" / "architecture.md").read_text(encoding="utf-8").splitlines():
        row = TABLE_ROW.match(line)
        if row:
            for room in re.findall(r"`([\w.]+)`", row.group(2)):
                rooms[room] = int(row.group(1))
    return rooms


def modules() -> Dict[str, Path]:
    """``{dotted name: file}`` of every module of the package, less the old paths of moved
    modules (aliases kept for one release, see ``ppgan_app._moved``) and packages holding only those."""
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(REPO).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path

    def moved(name: str) -> bool:
        children = [other for other in found if other.startswith(name + ".")]
        return name in MOVED or (bool(children) and all(child in MOVED for child in children))

    return {name: path for name, path in found.items() if not moved(name)}


def imports(mods: Dict[str, Path]) -> Dict[str, Set[str]]:
    """``{module: modules of the package it imports}``, counting imports inside functions."""
    edges: Dict[str, Set[str]] = {name: set() for name in mods}
    for name, path in mods.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: List[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in mods else base
                           for alias in node.names]
            for target in targets:
                while target and target not in mods:
                    target = target.rsplit(".", 1)[0] if "." in target else ""
                if target and target != name:
                    edges[name].add(target)
    return edges


def room_of(module: str, rooms: Dict[str, int]) -> str:
    """The most specific room holding ``module``; a room with rooms inside it (``ppgan_app``,
    ``ppgan_app.apps``) holds only its own ``__init__``. "" when no room holds it."""
    best = ""
    for room in rooms:
        parent = any(other.startswith(room + ".") for other in rooms)
        if module == room or (not parent and module.startswith(room + ".")):
            best = room if len(room) > len(best) else best
    return best


def test_the_table_is_read():
    rooms = floors()
    assert rooms["ppgan_app.errors"] == 0 and rooms["ppgan_app.cli"] > rooms["ppgan_app.apps"]
    assert rooms["ppgan_app.models"] < rooms["ppgan_app.engine"] < rooms["ppgan_app.faces"]


def test_every_module_lives_in_a_room_of_the_table():
    rooms = floors()
    homeless = sorted(m for m in modules() if not room_of(m, rooms))
    assert not homeless, f"add these rooms to docs/architecture.md: {homeless}"


def test_imports_go_to_the_same_room_or_a_lower_floor():
    rooms = floors()
    wrong = []
    for importer, targets in imports(modules()).items():
        home = room_of(importer, rooms)
        for target in sorted(targets):
            there = room_of(target, rooms)
            if there != home and rooms.get(there, 99) >= rooms.get(home, -1):
                wrong.append(f"{importer} (floor {rooms.get(home)}) imports {target} "
                             f"(floor {rooms.get(there)})")
    assert not wrong, "\n".join(wrong)


def _cycles(edges: Dict[str, Set[str]]) -> List[List[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    on_stack: Set[str] = set()
    found: List[List[str]] = []
    for root in edges:
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_import_circles():
    assert _cycles(imports(modules())) == []


@pytest.mark.parametrize("edges, expected", [
    ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c"]]),
    ({"a": {"b"}, "b": set()}, []),
])
def test_the_circle_finder_finds_circles(edges, expected):
    assert _cycles(edges) == expected


def test_moved_paths_are_aliases_of_their_new_modules():
    import importlib
    import warnings

    for old, new in MOVED.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            assert importlib.import_module(old) is importlib.import_module(new), old


def test_room_of_keeps_parent_rooms_to_their_own_init():
    rooms = {"ppgan_app": 0, "ppgan_app.apps": 12, "ppgan_app.apps.gan": 8, "ppgan_app.utils": 1}
    assert room_of("ppgan_app.apps.gan.sampler", rooms) == "ppgan_app.apps.gan"
    assert room_of("ppgan_app.apps", rooms) == "ppgan_app.apps"
    assert room_of("ppgan_app.apps.newthing", rooms) == ""
    assert room_of("ppgan_app.utils.config", rooms) == "ppgan_app.utils"
