"""Catalog services: atomic import with visible skips, chunked embedding, pair mining, RecoBERT job."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bti_eval.catalogs import services
from bti_eval.catalogs.models import Catalog, CatalogItem, CatalogJob, CatalogVector
from bti_eval.catalogs.selectors import catalog_vectors
from bti_eval.core.exceptions import ApplicationError
from bti_eval.pairs.models import ParagraphPair


def test_import_counts_skipped_rows_and_keeps_the_rest(catalog):
    assert (catalog.rows, catalog.skipped_empty, catalog.skipped_duplicate) == (7, 1, 1)
    items = list(catalog.items.values_list("external_id", "title"))
    assert items == [
        ("1", "Red shirt"),
        ("2", "Blue shirt"),
        ("5", "Wool socks"),
        ("6", "Green dress"),
        ("7", "Black scarf"),
    ]


@pytest.mark.parametrize(
    "content,kwargs,message",
    [
        (b"sku,desc\n1,a\n", {"text_column": "text"}, "no column 'text'"),
        (b"sku,desc\n1,a\n1,b\n", {}, "line 3: id '1' repeats line 2"),
        (b"sku,desc\n1,caf\xe9\n", {}, "not UTF-8"),
        (b"sku,desc\n1,\n", {}, "no usable items"),
    ],
)
def test_a_bad_file_imports_nothing(db, content, kwargs, message):
    args = {"content": content, "filename": "c.csv", "name": "bad", "id_column": "sku", "text_column": "desc"}
    with pytest.raises(ApplicationError, match=message):
        services.catalog_import(**{**args, **kwargs})
    assert not Catalog.objects.exists() and not CatalogItem.objects.exists()


def test_bad_jsonl_line_and_taken_name(catalog):
    with pytest.raises(ApplicationError, match="line 2: not valid JSON"):
        services.catalog_import(
            content=b'{"id": 1, "t": "a"}\n{oops\n', filename="c.jsonl", name="j", id_column="id", text_column="t"
        )
    with pytest.raises(ApplicationError) as exc:
        services.catalog_import(
            content=b"sku,desc\n1,a\n", filename="c.csv", name="shop", id_column="sku", text_column="desc"
        )
    assert exc.value.status == 409


def test_embedding_stores_vectors_once(
    catalog, embedded, tiny_model_dir, eager_celery, django_capture_on_commit_callbacks, monkeypatch
):
    embedded.refresh_from_db()
    assert embedded.status == CatalogJob.Status.DONE and embedded.done == embedded.total == 5
    model = str(tiny_model_dir)
    items, vectors = catalog_vectors(catalog=catalog, model=model)
    assert vectors.shape == (5, 32) and vectors.dtype == np.float32
    from explainers import load_encoder

    expected = load_encoder(tiny_model_dir, device="cpu").embed([it.text for it in items]).numpy()
    np.testing.assert_allclose(vectors, expected, atol=1e-5)

    monkeypatch.setattr(services, "EMBED_CHUNK_SIZE", 2)
    with django_capture_on_commit_callbacks(execute=True):
        again = services.catalog_embed(catalog=catalog, model=model)
    assert again.status == CatalogJob.Status.DONE and again.total == 0  # nothing re-embedded
    CatalogVector.objects.filter(item__external_id__in=["1", "2", "5"]).delete()
    with django_capture_on_commit_callbacks(execute=True):
        partial = services.catalog_embed(catalog=catalog, model=model)  # 3 items in chunks of 2
    partial.refresh_from_db()
    assert (partial.status, partial.done, partial.total) == (CatalogJob.Status.DONE, 3, 3)
    assert CatalogVector.objects.filter(model=model).count() == 5


def test_mining_creates_pairs_with_similarity_and_rank_choice(catalog, embedded, tiny_model_dir):
    model = str(tiny_model_dir)
    result = services.catalog_mine_pairs(catalog=catalog, model=model, seeds=3, random_seed=7, k=2)
    assert result["created"] == 6 and result["existing"] == 0 and result["source"] == "catalog:shop"
    pairs = ParagraphPair.objects.filter(pk__in=result["pair_ids"])
    assert pairs.count() == 6
    items, vectors = catalog_vectors(catalog=catalog, model=model)
    unit = torch.nn.functional.normalize(torch.from_numpy(vectors), dim=1)
    index = {it.id: i for i, it in enumerate(items)}
    for pair in pairs:
        seed_id, cand_id = pair.external_id.split("→")
        assert seed_id in result["seeds"] and seed_id != cand_id and pair.text_a != pair.text_b
        cos = float(unit[index[seed_id]] @ unit[index[cand_id]])
        assert pair.similarity == pytest.approx(cos, abs=1e-5)

    again = services.catalog_mine_pairs(catalog=catalog, model=model, seeds=3, random_seed=7, k=2)
    assert (again["created"], again["existing"]) == (0, 6)  # same seed: same pairs, not duplicated
    only = services.catalog_mine_pairs(catalog=catalog, model=model, seed_ids=["1"], k=3, only_rank_k=True)
    assert len(only["pair_ids"]) == 1
    with pytest.raises(ApplicationError, match="unknown seed id"):
        services.catalog_mine_pairs(catalog=catalog, model=model, seed_ids=["nope"])
    with pytest.raises(ApplicationError, match="Embed the catalog"):
        services.catalog_mine_pairs(catalog=catalog, model="other-model", seeds=2)


def test_recobert_job_trains_into_var_dir(
    catalog, tiny_model_dir, eager_celery, django_capture_on_commit_callbacks, settings, tmp_path
):
    settings.VAR_DIR = tmp_path
    with django_capture_on_commit_callbacks(execute=True):
        job = services.catalog_train_recobert(catalog=catalog, model=str(tiny_model_dir), max_steps=2, batch_size=2)
    job.refresh_from_db()
    assert job.status == CatalogJob.Status.DONE, job.error
    assert (job.done, job.total) == (2, 2)
    model_dir = tmp_path / "models" / f"shop-recobert-{job.pk}"
    assert job.result["model_dir"] == str(model_dir) and (model_dir / "config.json").is_file()
    from explainers import load_encoder

    assert load_encoder(model_dir, device="cpu").model.config.hidden_size == 32
    assert services.catalog_train_recobert_run(job_id=job.pk) == job.result  # a rerun is a no-op


def test_recobert_needs_titles(db):
    catalog = services.catalog_import(
        content=b"sku,desc\n1,a\n2,b\n", filename="c.csv", name="untitled", id_column="sku", text_column="desc"
    )
    with pytest.raises(ApplicationError, match="without a title column"):
        services.catalog_train_recobert(catalog=catalog)


def test_catalog_jobs_go_to_the_explain_queue_after_commit(catalog, enqueued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        embed = services.catalog_embed(catalog=catalog)
        train = services.catalog_train_recobert(catalog=catalog)
        assert enqueued == []  # nothing before the commit
    items = sorted(catalog.items.values_list("id", flat=True))
    assert enqueued == [
        ("bti_eval.catalog_embed_chunk", [embed.pk, items], "explain"),
        ("bti_eval.catalog_train_recobert", [train.pk], "explain"),
    ]


def test_a_catalog_job_the_broker_refuses_ends_failed_with_what_to_do(
    catalog, monkeypatch, django_capture_on_commit_callbacks
):
    from kombu.exceptions import OperationalError as BrokerError

    from bti_eval.catalogs.tasks import catalog_embed_chunk, catalog_train_recobert

    def refuse(*args, **kwargs):
        raise BrokerError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(catalog_embed_chunk, "apply_async", refuse)
    monkeypatch.setattr(catalog_train_recobert, "apply_async", refuse)
    with django_capture_on_commit_callbacks(execute=True):
        embed = services.catalog_embed(catalog=catalog)
        train = services.catalog_train_recobert(catalog=catalog)
    for job in (embed, train):  # never left RUNNING (or PENDING) with nothing queued
        job.refresh_from_db()
        assert job.status == CatalogJob.Status.FAILED and job.finished_at is not None
        assert "Could not queue the task" in job.error and "Connection refused" in job.error
        assert "check the broker (Redis)" in job.error


def test_a_catalog_job_with_the_broker_unreachable_is_a_503_and_writes_nothing(catalog, monkeypatch):
    from workers.celery import app

    monkeypatch.setattr(app.conf, "broker_write_url", "redis://127.0.0.1:9/0")  # nothing listens there
    for start in (services.catalog_embed, services.catalog_train_recobert):
        with pytest.raises(ApplicationError, match="broker is unreachable") as info:
            start(catalog=catalog)
        assert info.value.status == 503
    assert not CatalogJob.objects.exists()
