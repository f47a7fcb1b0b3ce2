"""The apps are layered: each app imports only the apps below it, and none imports the worker package.

Each app is imported alone, in a fresh interpreter (what a worker or a management command starts), so
that an import that only works because another app happened to be loaded first shows here. The
app → app graph is read from the source (``ast``): its imports, at module level or inside functions, must have no cycle,
and no module of an app may import ``workers`` (the Celery app sits on top of every app: its
autodiscovery finds each app's ``tasks.py``), not even inside a function, which is how a circle
through the worker's task module used to close.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "bti_eval"
APPS = sorted(p.name for p in PACKAGE.iterdir() if (p / "apps.py").is_file())


def app_modules(app: str) -> list[str]:
    """Every module of ``app`` but its migrations and management commands, as dotted names."""
    folder = PACKAGE / app
    return sorted(
        ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for path in folder.rglob("*.py")
        if not {"migrations", "management"} & set(path.relative_to(folder).parts)
    )


def imported(path: Path, *, module_level: bool) -> set[str]:
    """The absolute module names ``path`` imports: at module level only, or anywhere in it."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if module_level else ast.walk(tree)
    names: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def app_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "bti_eval" and len(parts) > 1 and parts[1] in APPS else None


def app_graph(*, module_level: bool = True) -> dict[str, set[str]]:
    """app → the other apps its modules import."""
    graph: dict[str, set[str]] = {app: set() for app in APPS}
    for app in APPS:
        for path in (PACKAGE / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            graph[app] |= {app_of(name) for name in imported(path, module_level=module_level)} - {None, app}
    return graph


def test_the_apps_module_level_imports_have_no_cycle():
    try:
        order = list(TopologicalSorter(app_graph()).static_order())
    except CycleError as exc:
        pytest.fail(f"import cycle between apps: {' -> '.join(exc.args[1])}")
    assert order.index("core") < order.index("rounds") < order.index("results")


def test_no_app_imports_an_app_above_it_even_inside_a_function():
    """A deferred import (inside a function) still ties two apps together: when one app must act on
    another's event (a round opening builds the judges' assignments and asks for the metrics), the
    app below sends a signal that the app above receives (``rounds.signals``)."""
    try:
        list(TopologicalSorter(app_graph(module_level=False)).static_order())
    except CycleError as exc:
        pytest.fail(f"import cycle between apps, counting imports inside functions: {' -> '.join(exc.args[1])}")


def test_no_app_imports_the_worker_package():
    offenders = sorted(
        f"{path.relative_to(ROOT)} imports {name}"
        for path in PACKAGE.rglob("*.py")
        if "migrations" not in path.parts and path.parent != PACKAGE
        for name in imported(path, module_level=False)
        if name == "workers" or name.startswith("workers.")
    )
    assert offenders == []


def test_the_worker_package_holds_only_the_celery_app():
    assert sorted(p.name for p in (ROOT / "workers").glob("*.py")) == ["__init__.py", "celery.py"]
    # bti_eval/__init__.py loads the Celery app: an app imported here would be a circle back to bti_eval.
    assert not any(name.startswith("bti_eval") for name in imported(ROOT / "workers" / "celery.py", module_level=True))


def test_every_app_owns_its_tasks():
    """Every registered task lives in the tasks.py of the app whose service it calls."""
    for path in PACKAGE.glob("*/tasks.py"):
        app = path.parent.name
        services = {n for n in imported(path, module_level=False) if ".services" in n or ".compute" in n}
        assert services and {app_of(n) for n in services} == {app}, path


@pytest.mark.parametrize("app", APPS)
def test_each_app_imports_alone_in_a_fresh_interpreter(app):
    modules = app_modules(app)
    script = "import django\ndjango.setup()\nimport importlib\n" + "".join(
        f"importlib.import_module({name!r})\n" for name in modules
    )
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")},
        "DJANGO_SETTINGS_MODULE": "bti_eval.settings.test",
        "PYTHONPATH": str(ROOT),
    }
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
