"""Method plugins for tests: the example package of tests/plugin_example installed with a path install
into a temporary folder (never into the shared environment), and fake distributions written by hand
(a ``*.dist-info`` folder with ``METADATA`` and ``entry_points.txt``, plus modules) for the cases a
real package would take long to build: broken imports, shadowing, duplicates, wrong shapes.

A folder is put on ``sys.path`` (and on PYTHONPATH for subprocesses such as a Celery worker) and the
registry re-reads its entry points (``explainers.registry.refresh``); leaving takes both back.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from explainers import registry

EXAMPLE = Path(__file__).resolve().parent / "plugin_example"
EXAMPLE_METHOD = "grad-times-input"
EXAMPLE_TITLE = "Gradient × Input"
EXAMPLE_DISTRIBUTION = "explainers-grad-input"
EXAMPLE_SOURCE = f"{EXAMPLE_DISTRIBUTION} 0.1.0"
EXAMPLE_MODULE = "explainers_grad_input"


def install_example(target: Path) -> Path:
    """``pip install --no-deps --no-build-isolation --target TARGET`` of a copy of tests/plugin_example
    (a copy, so that the build leaves nothing in the checkout); returns ``target``."""
    source = target.parent / f"{target.name}-source"
    shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    command = [
        sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
        "--target", str(target), str(source),
    ]  # fmt: skip
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return target


def fake_distribution(
    root: Path, name: str, *, entry_points: dict[str, str], modules: dict[str, str], version: str = "1.0"
) -> Path:
    """A distribution ``name`` ``version`` in ``root`` registering ``entry_points`` (method name ->
    "module:object") in the group ``explainers.methods``, with ``modules`` (dotted name -> source)."""
    info = root / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n", encoding="utf-8")
    lines = "".join(f"{key} = {value}\n" for key, value in entry_points.items())
    (info / "entry_points.txt").write_text(f"[{registry.ENTRY_POINT_GROUP}]\n{lines}", encoding="utf-8")
    for dotted, code in modules.items():
        path = root.joinpath(*dotted.split(".")).with_suffix(".py")
        path.parent.mkdir(parents=True, exist_ok=True)
        for parent in list(path.parents)[: len(dotted.split(".")) - 1]:
            (parent / "__init__.py").touch()
        path.write_text(code, encoding="utf-8")
    return root


def broken_distribution(root: Path, module: str) -> Path:
    """The distribution "broken-dist" 2.3 in ``root``, whose method "broken-method" lives in ``module``, a
    module that cannot be imported (it imports ``missing_dependency_xyz``)."""
    return fake_distribution(
        root,
        "broken-dist",
        version="2.3",
        entry_points={"broken-method": f"{module}:METHOD"},
        modules={module: "import missing_dependency_xyz\n"},
    )


def method_module(method: str) -> str:
    """A plugin's light entry-point module defining ``METHOD = <method>`` (Python source)."""
    return f"from explainers.registry import Method\nMETHOD = {method}\n"


# A plugin's function that starts from BTI's scores; each test appends what it does with them (s).
WRAP_BTI = (
    "from explainers.saliency import bti\n\n"
    "def score(encoder, batch, **options):\n"
    "    s = bti(encoder, batch, **options)\n"
)


def fake_plugin(root: Path, dist: str, method: str, *, body: str, title: str = "", version: str = "1.0") -> Path:
    """A fake distribution ``dist`` in ``root / dist`` registering ``method``, whose function is
    ``score`` in a module of source ``body``; returns the folder to put on the path."""
    module = f"{dist.replace('-', '_')}_{uuid.uuid4().hex[:8]}"
    modules = {
        module: method_module(f"Method({method!r}, {title or method + ' title'!r}, '{module}_scores:score')"),
        f"{module}_scores": body,
    }
    return fake_distribution(
        root / dist, dist, version=version, entry_points={method: f"{module}:METHOD"}, modules=modules
    )


@contextmanager
def on_path(*folders: Path) -> Iterator[None]:
    """``folders`` first on ``sys.path`` and PYTHONPATH, with the registry reading their plugins; on
    leaving, both as before, the registry re-read, and the modules imported from them forgotten."""
    saved_path, saved_env = list(sys.path), os.environ.get("PYTHONPATH")
    before = set(sys.modules)
    sys.path[:0] = [str(f) for f in folders]
    os.environ["PYTHONPATH"] = os.pathsep.join([*map(str, folders), *filter(None, [saved_env])])
    _reread()
    try:
        yield
    finally:
        sys.path[:] = saved_path
        if saved_env is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = saved_env
        for name in set(sys.modules) - before:
            module_file = getattr(sys.modules[name], "__file__", None) or ""
            if any(module_file.startswith(str(f)) for f in folders):
                del sys.modules[name]
        _reread()


def _reread() -> None:
    import importlib

    importlib.invalidate_caches()
    registry.refresh()
