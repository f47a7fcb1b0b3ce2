"""Web processes and management commands load torch and transformers only when they compute
explanations, and an export of a report already computed loads no statistics or plotting library.

Each check runs in a fresh interpreter (what a user or gunicorn starts), on this test run's database.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from bti_eval.rounds.models import EvaluationRound
from tests.factories import EvaluationRoundFactory

ROOT = Path(__file__).resolve().parents[2]
MODEL_LIBRARIES = ("torch", "transformers")
REPORT_LIBRARIES = ("scipy.stats", "matplotlib", "krippendorff")


def embedded_env(var_dir: Path) -> dict[str, str]:
    """The embedded settings (``make demo``'s), on this test run's database, with ``var_dir``."""
    db = connection.settings_dict
    if connection.vendor == "postgresql":
        url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    else:
        url = f"sqlite:///{db['NAME']}"
    return {"DJANGO_SETTINGS_MODULE": "bti_eval.settings.embedded", "DATABASE_URL": url, "BTI_VAR_DIR": str(var_dir)}


def loaded_after(code: str, extra_env: dict[str, str] | None = None) -> set[str]:
    """The modules in sys.modules after ``code`` ran in a fresh interpreter (test settings unless
    ``extra_env`` says otherwise)."""
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")},
        "DJANGO_SETTINGS_MODULE": "bti_eval.settings.test",
        "TEST_DB_NAME_OVERRIDE": str(connection.settings_dict["NAME"]),
        "PYTHONPATH": str(ROOT),
        **(extra_env or {}),
    }
    script = f"import json, sys\n{code}\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def test_the_wsgi_app_and_every_url_load_no_model_library():
    modules = loaded_after(
        "from bti_eval.wsgi import application\n"
        "from django.test import Client\n"
        "from django.urls import get_resolver\n"
        "get_resolver().reverse_dict  # imports every URLconf and view module\n"
        "assert Client(SERVER_NAME='localhost').get('/accounts/login/').status_code == 200"
    )
    assert "bti_eval.results.views" in modules and "bti_eval.judging.views" in modules
    assert not set(MODEL_LIBRARIES) & modules


def test_manage_py_check_loads_no_model_library():
    modules = loaded_after(
        "import django; django.setup()\nfrom django.core.management import call_command\ncall_command('check')"
    )
    assert "bti_eval.urls" in modules and not set(MODEL_LIBRARIES) & modules


@pytest.mark.django_db(transaction=True)
def test_export_results_loads_no_model_library_and_reads_a_computed_report_without_scipy(tmp_path):
    round = EvaluationRoundFactory(
        methods=["bti", "vanilla-gradients", "tfidf-w2v"],
        explained_pairs=6,
        judges=3,
        status=EvaluationRound.Status.RATING,
    )
    embedded = embedded_env(tmp_path / "var")
    export = (
        "import django; django.setup()\n"
        "from django.core.management import call_command\n"
        "for fmt in {formats}:\n"
        f"    call_command('export_results', '{round.pk}', format=fmt, output=r'{tmp_path}/out.' + fmt)"
    )
    computing = loaded_after(
        export.format(formats=["markdown", "latex", "json", "csv", "methods-csv", "judges-csv", "svg"]), embedded
    )
    assert "scipy.stats" in computing and "matplotlib" in computing  # it computed the report and drew it
    assert not set(MODEL_LIBRARIES) & computing
    first = (tmp_path / "out.markdown").read_text()
    assert "| BTI |" in first

    # The embedded settings keep reports in files under var/: exporting the same report again, in
    # another process, only reads and formats it.
    reading = loaded_after(export.format(formats=["markdown", "csv", "methods-csv"]), embedded)
    assert not (set(MODEL_LIBRARIES) | set(REPORT_LIBRARIES)) & reading
    assert (tmp_path / "out.markdown").read_text() == first


def test_offering_and_checking_a_plugin_method_loads_no_model_library(example_plugin_site):
    """The web process lists a plugin's method (the round form), validates a round with it and checks
    it before a launch (its function's module found, not run): no torch, no plugin function module."""
    modules = loaded_after(
        "import django; django.setup()\n"
        "from bti_eval.rounds.forms import method_choices\n"
        "from bti_eval.rounds.services import _check_methods, _clean_methods\n"
        "assert 'grad-times-input' in dict(method_choices())\n"
        "_clean_methods(['bti', 'grad-times-input']); _check_methods(['grad-times-input'])",
        {"PYTHONPATH": f"{example_plugin_site}{os.pathsep}{ROOT}"},
    )
    assert "explainers_grad_input" in modules and "explainers_grad_input.scores" not in modules
    assert not set(MODEL_LIBRARIES) & modules
