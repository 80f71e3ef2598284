"""No import circles between the modules of ``etl`` and ``bench``, runtime or ``TYPE_CHECKING`` alike.

``lint-imports`` (``make lint``) checks the layers and, with its ``acyclic_siblings`` contract, circles
between the children of each package. That contract does not see a package whose ``__init__`` imports a
child that imports the package back; this test does, module by module, with grimp (import-linter's
graph). It names each circle as a path of imports with their lines. The temporary exceptions are the
``ignore_imports`` of the ``circles`` contract in pyproject.toml: one list, read by both.
"""

from __future__ import annotations

import copy
import itertools
import sys
import textwrap
import tomllib
from collections import deque
from pathlib import Path

import grimp
import pytest

import etl

ROOT = Path(__file__).resolve().parents[1]


def temporary_exceptions() -> set[tuple[str, str]]:
    """(importer, imported) of each import pyproject.toml's ``circles`` contract ignores."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    (contract,) = [c for c in config["tool"]["importlinter"]["contracts"] if c["id"] == "circles"]
    pairs = set()
    for line in contract.get("ignore_imports", []):
        importer, imported = (part.strip() for part in line.split("->"))
        pairs.add((importer, imported))
    return pairs


def strongly_connected(graph: grimp.ImportGraph) -> list[set[str]]:
    """The graph's strongly connected components (Tarjan, iterative: no recursion limit to meet)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            module, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                elif child in on_stack:
                    low[module] = min(low[module], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[module])
            if low[module] == index[module]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == module:
                        break
                components.append(component)
    return components


def circle_through(graph: grimp.ImportGraph, component: set[str]) -> list[str]:
    """One shortest closed path of imports inside ``component``, from its first module back to it."""
    start = min(component)
    previous: dict[str, str] = {}
    queue = deque([start])
    while queue:
        module = queue.popleft()
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            if imported == start:
                path = [start]
                while module != start:
                    path.append(module)
                    module = previous[module]
                return [start, *reversed(path[1:]), start]
            if imported in component and imported not in previous:
                previous[imported] = module
                queue.append(imported)
    raise AssertionError(f"no circle through {start}")  # a component of two or more always has one


def import_circles(graph: grimp.ImportGraph) -> list[str]:
    """Each circle as ``a -> b (line N: ...) -> a``: one per strongly connected component."""
    described = []
    for component in strongly_connected(graph):
        (only,) = component if len(component) == 1 else (None,)
        if only is not None and not graph.direct_import_exists(importer=only, imported=only):
            continue
        path = circle_through(graph, component)
        steps = [path[0]]
        for importer, imported in itertools.pairwise(path):
            detail = graph.get_import_details(importer=importer, imported=imported)
            where = f" (line {detail[0]['line_number']}: {detail[0]['line_contents']})" if detail else ""
            steps.append(f"{imported}{where}")
        others = sorted(component - set(path))
        also = f" [also in this circle: {', '.join(others)}]" if others else ""
        described.append(" -> ".join(steps) + also)
    return sorted(described)


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    assert Path(etl.__file__).resolve().parent == ROOT / "etl"  # this checkout, not an editable elsewhere
    return grimp.build_graph("etl", "bench", cache_dir=None)


def test_etl_and_bench_have_no_import_circles(graph: grimp.ImportGraph) -> None:
    graph = copy.deepcopy(graph)  # the module fixture stays whole for the next test
    for importer, imported in temporary_exceptions():
        graph.remove_import(importer=importer, imported=imported)
    circles = import_circles(graph)
    assert not circles, "import circles:\n" + "\n".join(circles)


def test_every_temporary_exception_is_still_an_import(graph: grimp.ImportGraph) -> None:
    """An exception whose import is gone is stale: delete it from pyproject.toml."""
    stale = [
        (importer, imported)
        for importer, imported in sorted(temporary_exceptions())
        if not graph.direct_import_exists(importer=importer, imported=imported)
    ]
    assert not stale, f"delete these from the circles contract in pyproject.toml: {stale}"


def test_a_circle_is_found_and_named() -> None:
    graph = grimp.ImportGraph()
    edges = [("p.a", "p.b"), ("p.b", "p.c"), ("p.c", "p.a"), ("p.c", "p.d"), ("p.e", "p.e")]
    for importer, imported in edges:
        line = f"import {imported}"
        graph.add_import(importer=importer, imported=imported, line_number=3, line_contents=line)
    assert import_circles(graph) == [
        "p.a -> p.b (line 3: import p.b) -> p.c (line 3: import p.c) -> p.a (line 3: import p.a)",
        "p.e -> p.e (line 3: import p.e)",
    ]


def test_a_type_only_circle_counts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A circle closed by an import under ``TYPE_CHECKING`` is a circle too (grimp reads those imports)."""
    package = tmp_path / "circle_fixture"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "engine.py").write_text("from circle_fixture import jobs\n")
    (package / "jobs.py").write_text(
        textwrap.dedent(
            """\
            from typing import TYPE_CHECKING

            if TYPE_CHECKING:
                from circle_fixture.engine import Run
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "circle_fixture", raising=False)
    circles = import_circles(grimp.build_graph("circle_fixture", cache_dir=None))
    assert circles == [
        "circle_fixture.engine -> circle_fixture.jobs (line 1: from circle_fixture import jobs)"
        " -> circle_fixture.engine (line 4: from circle_fixture.engine import Run)"
    ]
