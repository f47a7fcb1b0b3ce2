"""Deployment: the compose file validates, production refuses to start without SECRET_KEY, and
``check --deploy`` is clean under the production settings."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROD_ENV = {
    "DJANGO_SETTINGS_MODULE": "bti_eval.settings.production",
    "SECRET_KEY": "a-long-random-production-key-for-the-deploy-check-0123456789-abcdefghij",
    "DATABASE_URL": "sqlite:////tmp/bti-deploy-check.sqlite3",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "ALLOWED_HOSTS": "bti.example.org",
}


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {"DJANGO_SETTINGS_MODULE", "SECRET_KEY"}}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_compose_file_validates():
    compose = shutil.which("docker-compose")
    if compose is None:
        if os.environ.get("CI") == "true":
            pytest.fail("docker-compose is not installed; .ci/run installs Debian's docker-compose")
        pytest.skip("docker-compose is not installed")
    env = {**os.environ, "SECRET_KEY": "x", "POSTGRES_PASSWORD": "y"}
    ok = subprocess.run(
        [compose, "-f", "docker-compose.yml", "config", "-q"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert ok.returncode == 0, ok.stderr
    # Production secrets are mandatory: without them the file does not validate.
    env.pop("SECRET_KEY")
    missing = subprocess.run(
        [compose, "-f", "docker-compose.yml", "config", "-q"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert missing.returncode != 0
    assert "SECRET_KEY" in missing.stderr


def test_production_check_deploy_is_clean():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=PROD_ENV)
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_refuses_to_start_without_secret_key():
    env = {k: v for k, v in PROD_ENV.items() if k != "SECRET_KEY"}
    result = _manage("check", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_debug_is_off_by_default_in_production():
    code = "from django.conf import settings; print(settings.DEBUG)"
    clean = {k: v for k, v in os.environ.items() if k not in {"DEBUG"}}
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env={**clean, **PROD_ENV},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.strip() == "False", result.stderr


def _gunicorn_conf(monkeypatch, **env: str):
    import importlib.util

    for name in ("WEB_CONCURRENCY", "GUNICORN_TIMEOUT", "GUNICORN_ACCESS_LOG", "GUNICORN_BIND"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    spec = importlib.util.spec_from_file_location("gunicorn_conf", ROOT / "gunicorn.conf.py")
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)
    return conf


def test_gunicorn_runs_sync_workers_two_per_core_plus_one(monkeypatch):
    import multiprocessing

    conf = _gunicorn_conf(monkeypatch)
    assert conf.worker_class == "sync" and conf.wsgi_app == "bti_eval.wsgi:application"
    assert conf.workers == 2 * multiprocessing.cpu_count() + 1 and conf.accesslog is None
    conf = _gunicorn_conf(monkeypatch, WEB_CONCURRENCY="7", GUNICORN_TIMEOUT="30", GUNICORN_ACCESS_LOG="-")
    assert (conf.workers, conf.timeout, conf.accesslog) == (7, 30, "-")
    assert _gunicorn_conf(monkeypatch, WEB_CONCURRENCY="").workers == 2 * multiprocessing.cpu_count() + 1


def test_the_image_and_compose_serve_with_gunicorn_conf():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "gunicorn.conf.py" in dockerfile and 'CMD ["gunicorn"]' in dockerfile
    assert "gunicorn --" not in (ROOT / "docker-compose.yml").read_text()  # no flags overriding the file


@pytest.mark.parametrize("redis_url", [None, ""])
def test_the_embedded_mode_uses_its_own_broker_when_redis_url_is_unset_or_empty(tmp_path, redis_url):
    """An empty REDIS_URL (``export REDIS_URL=``) is no broker address: the embedded settings keep
    the filesystem broker instead of Celery's AMQP default, and kombu has a host to name."""
    code = "from django.conf import settings; print(settings.CELERY_BROKER_URL)"
    result = run_embedded(code, tmp_path, **({} if redis_url is None else {"REDIS_URL": redis_url}))
    assert result.stdout.strip() == "filesystem://localhost/", result.stderr


def run_embedded(code: str, var_dir, **env_vars: str) -> subprocess.CompletedProcess:
    """``code`` run after ``django.setup()`` in a fresh interpreter with the embedded settings,
    ``var_dir`` as BTI_VAR_DIR, no REDIS_URL unless given."""
    env = {k: v for k, v in os.environ.items() if k not in {"DJANGO_SETTINGS_MODULE", "REDIS_URL"}}
    env |= {"DJANGO_SETTINGS_MODULE": "bti_eval.settings.embedded", "BTI_VAR_DIR": str(var_dir), **env_vars}
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_embedded_mode_serves_static_files_without_a_warning(tmp_path):
    """make demo collects nothing: the finders serve the files, and WhiteNoise finds a (empty)
    STATIC_ROOT instead of warning at every start that it has none."""
    code = (
        "import warnings; warnings.simplefilter('error'); "
        "from django.conf import settings; from django.test import Client; "
        "response = Client().get('/static/bti/judge.css'); "
        "print(response.status_code, settings.STATIC_ROOT.is_dir(), settings.STATIC_ROOT.parent)"
    )
    result = run_embedded(code, tmp_path, DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    assert result.stdout.strip() == f"200 True {tmp_path}", result.stderr[-2000:]
