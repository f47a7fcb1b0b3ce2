"""The explainers library's imports: no circle between its modules, and nothing of Django.

Every import statement counts, those inside functions too: a lazy import only defers a circle to
the first call, and a module that imports back the module importing it cannot be read on its own.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import explainers

PACKAGE = Path(explainers.__file__).parent
# The platform and what only it uses; the library must work without any of them installed.
PLATFORM = ("django", "rest_framework", "celery", "bti_eval", "workers")


def _imports(path: Path) -> list[str]:
    """The absolute module names that ``path`` (a module of the package) imports."""
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                names.append(node.module or "")
                continue
            base = "explainers" if node.level == 1 else ""  # the package has no subpackages
            target = f"{base}.{node.module}" if node.module else base
            submodules = [a.name for a in node.names if not node.module and (PACKAGE / f"{a.name}.py").is_file()]
            # ``from . import safejson`` imports the module explainers.safejson, not the package's names
            names += [f"{target}.{name}" for name in submodules]
            if len(submodules) < len(node.names):
                names.append(target)
    return names


def _graph() -> dict[str, set[str]]:
    modules = {f"explainers.{p.stem}" if p.stem != "__init__" else "explainers": p for p in PACKAGE.glob("*.py")}
    return {name: {t for t in _imports(path) if t in modules and t != name} for name, path in modules.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle of ``graph`` as [a, b, ..., a], or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_cycle_finder_finds_a_circle_and_accepts_a_tree():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_the_graph_sees_relative_imports_inside_functions_too():
    graph = _graph()
    assert {"explainers.cli_common", "explainers.cli_catalog", "explainers.rows"} <= graph["explainers.cli"]
    assert "explainers.encoder" in graph["explainers.cli"]  # imported inside a function
    assert "explainers.safejson" in graph["explainers.rows"]  # ``from . import safejson``


def test_no_import_circle_among_explainers_modules():
    cycle = _cycle(_graph())
    assert cycle is None, f"import circle: {' -> '.join(cycle or [])}"


def test_explainers_imports_nothing_of_the_platform():
    offenders = {
        f"{path.name}: {name}"
        for path in PACKAGE.glob("*.py")
        for name in _imports(path)
        if name.split(".")[0] in PLATFORM
    }
    assert not offenders
    # And at run time: the CLI and the readers load without Django (torch stays lazy too).
    code = (
        "import sys, explainers.cli, explainers.catalog, explainers.rows, explainers.render; "
        f"loaded = [m for m in {PLATFORM!r} if m in sys.modules]; "
        "assert not loaded, loaded"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=PACKAGE.parent)
    assert result.returncode == 0, result.stderr
