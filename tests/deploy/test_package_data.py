"""The packages' data files are declared, so that a wheel or a non-editable install carries them."""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("explainers", "bti_eval", "workers")


def declared(path: Path, package_data: dict[str, list[str]]) -> bool:
    """Whether ``path`` (a file inside a package) matches a glob of its package or of a parent one."""
    parts = path.relative_to(ROOT).parts
    for depth in range(len(parts) - 1, 0, -1):
        package, inside = ".".join(parts[:depth]), "/".join(parts[depth:])
        if any(fnmatch.fnmatch(inside, glob) for glob in package_data.get(package, [])):
            return True
    return False


def test_every_data_file_inside_the_packages_is_declared_as_package_data():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    package_data = config["tool"]["setuptools"].get("package-data", {})
    data_files = [
        path
        for package in PACKAGES
        for path in (ROOT / package).rglob("*")
        if path.is_file() and path.suffix not in (".py", ".pyc") and "__pycache__" not in path.parts
    ]
    assert data_files, "the packages hold data files (the HEDS schema, the demo pairs)"
    missing = [str(p.relative_to(ROOT)) for p in data_files if not declared(p, package_data)]
    assert missing == [], f"add these to [tool.setuptools.package-data] in pyproject.toml: {missing}"
