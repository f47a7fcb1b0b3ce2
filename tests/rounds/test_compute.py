"""explanations_compute on the tiny model: payloads, a failing pair, idempotent reruns, auto-open, encoder cache."""

from __future__ import annotations

from unittest import mock

import pytest

import explainers
from bti_eval.core import encoders
from bti_eval.rounds import compute, services
from bti_eval.rounds.models import EvaluationRound, Explanation
from bti_eval.rounds.tasks import explain_chunk
from tests.factories import JudgeFactory, ParagraphPairFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_encoder_cache")]
Status = EvaluationRound.Status
METHODS = ["bti", "tfidf-w2v"]


def launched(tiny_model_dir, pairs, settings, capture) -> tuple[EvaluationRound, list[list[int]]]:
    """A computing round over ``pairs`` with METHODS on the tiny model; returns it and the chunks
    its launch published."""
    settings.BTI_CHUNK_SIZE = 2
    round = services.round_create(name="tiny", pairs=pairs, methods=METHODS, model=str(tiny_model_dir), top_k=2)
    return round, launch(round, capture)


def launch(round: EvaluationRound, capture) -> list[list[int]]:
    """Launch ``round`` with the broker replaced by a recorder; the chunks it published."""
    sent: list[list[int]] = []
    with mock.patch.object(explain_chunk, "apply_async", lambda args, **_: sent.append(args[0])), capture(execute=True):
        services.round_launch(round=round)
    return sent


def good_pairs(n: int):
    return ParagraphPairFactory.create_batch(n)


def test_chunks_store_payloads_and_open_the_round(tiny_model_dir, settings, django_capture_on_commit_callbacks):
    round, chunks = launched(tiny_model_dir, good_pairs(3), settings, django_capture_on_commit_callbacks)
    judge = JudgeFactory(round=round)
    assert len(chunks) == 4  # 2 methods × ceil(3 / 2)

    for chunk in chunks:
        counts = compute.explanations_compute(explanation_ids=chunk)
        assert counts["failed"] == 0 and counts["done"] == len(chunk)

    for row in Explanation.objects.filter(round=round):
        payload = row.payload
        assert row.status == Explanation.Status.DONE and row.attempts == 1 and row.compute_seconds > 0
        assert set(payload) >= {"method", "model", "similarity", "truncated", "words", "pairs"}
        assert payload["method"] == row.method and len(payload["words"]) == 2
        first_word = payload["words"][0][0]
        assert row.pair.text_a[first_word["start"] : first_word["end"]] == first_word["text"]
        assert payload["pairs"] and set(payload["pairs"][0]) == {"a", "b", "word_similarity", "score"}
    round.refresh_from_db()
    assert round.status == Status.RATING  # opened by the last chunk
    assert judge.assignments.count() == 6


def test_a_failing_pair_fails_alone_and_reruns_are_idempotent(
    tiny_model_dir, settings, django_capture_on_commit_callbacks
):
    bad = ParagraphPairFactory(text_a="   ")
    round, chunks = launched(tiny_model_dir, [bad, *good_pairs(1)], settings, django_capture_on_commit_callbacks)
    for chunk in chunks:
        compute.explanations_compute(explanation_ids=chunk)

    failed = Explanation.objects.filter(round=round, status=Explanation.Status.FAILED)
    assert set(failed.values_list("pair_id", flat=True)) == {bad.pk} and failed.count() == 2
    assert all(e.error for e in failed)
    assert Explanation.objects.filter(round=round, status=Explanation.Status.DONE).count() == 2
    round.refresh_from_db()
    assert round.status == Status.COMPUTING  # a failure blocks opening

    before = {e.pk: (e.payload, e.attempts) for e in Explanation.objects.filter(round=round)}
    with mock.patch.object(explainers, "explain_pairs", wraps=explainers.explain_pairs) as spy:
        for chunk in chunks:
            counts = compute.explanations_compute(explanation_ids=chunk)
            assert counts["done"] == 0 and counts["skipped"] == len(chunk)
    assert spy.call_count == 0
    assert {e.pk: (e.payload, e.attempts) for e in Explanation.objects.filter(round=round)} == before
    assert Explanation.objects.filter(round=round).count() == 4

    assert services.explanations_drop_failed(round=round) == {"dropped": 2, "opened": True}


def test_rerun_after_a_killed_worker_recomputes_only_the_unfinished_rows(
    tiny_model_dir, settings, django_capture_on_commit_callbacks
):
    round, chunks = launched(tiny_model_dir, good_pairs(2), settings, django_capture_on_commit_callbacks)
    chunk = chunks[0]
    compute.explanations_compute(explanation_ids=chunk)
    # As if a worker had died mid-chunk: one row stored, the other left RUNNING.
    done_row, lost_row = Explanation.objects.filter(pk__in=chunk).order_by("id")
    Explanation.objects.filter(pk=lost_row.pk).update(status=Explanation.Status.RUNNING, payload=None)
    done_payload = Explanation.objects.get(pk=done_row.pk).payload

    counts = compute.explanations_compute(explanation_ids=chunk)

    assert counts == {"done": 1, "failed": 0, "skipped": 1}
    lost_row.refresh_from_db()
    assert lost_row.status == Explanation.Status.DONE and lost_row.attempts == 2 and lost_row.payload
    assert Explanation.objects.get(pk=done_row.pk).payload == done_payload
    assert Explanation.objects.filter(round=round).count() == 4


def test_encoder_is_loaded_once_per_process_on_the_configured_device(tiny_model_dir, settings):
    settings.BTI_EXPLAIN_DEVICE = "cpu"
    with mock.patch.object(explainers, "load_encoder", wraps=explainers.load_encoder) as load:
        first = encoders.encoder_get(model=str(tiny_model_dir))
        second = encoders.encoder_get(model=str(tiny_model_dir))
    assert first is second and load.call_count == 1
    assert load.call_args.kwargs["device"] == "cpu" and str(first.device) == "cpu"


def test_default_model_setting_is_used_when_the_round_names_none(tiny_model_dir, settings):
    settings.BTI_DEFAULT_MODEL = str(tiny_model_dir)
    with mock.patch.object(explainers, "load_encoder", wraps=explainers.load_encoder) as load:
        encoders.encoder_get(model="")
    assert load.call_args.args[0] == str(tiny_model_dir)


def test_a_missing_model_fails_the_chunk_with_its_message(
    tiny_model_dir, settings, django_capture_on_commit_callbacks, tmp_path
):
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    settings.BTI_CHUNK_SIZE = 5
    round = services.round_create(name="broken", pairs=good_pairs(1), methods=["bti"], model=str(model))
    [chunk] = launch(round, django_capture_on_commit_callbacks)
    counts = compute.explanations_compute(explanation_ids=chunk)
    assert counts["failed"] == 1
    assert Explanation.objects.get(round=round).error.startswith("could not load the model")


def test_gpu_workers_ask_for_cuda_and_cache_per_device(settings):
    settings.BTI_EXPLAIN_DEVICE = "cuda"
    loaded = lambda model, device, **options: mock.Mock(name=f"encoder on {device}", device=device)  # noqa: E731
    with mock.patch.object(explainers, "load_encoder", side_effect=loaded) as load:
        gpu = encoders.encoder_get(model="/models/x")
        settings.BTI_EXPLAIN_DEVICE = "cpu"
        cpu = encoders.encoder_get(model="/models/x")
    assert [c.kwargs["device"] for c in load.call_args_list] == ["cuda", "cpu"]
    assert gpu is not cpu
    assert set(encoders._encoders) == {("/models/x", "cuda", None, "fp32", ""), ("/models/x", "cpu", None, "fp32", "")}


def test_a_rounds_dtype_and_pooling_reach_the_encoder_and_the_payload(
    tiny_model_dir, settings, django_capture_on_commit_callbacks
):
    settings.BTI_EXPLAIN_DEVICE = "cpu"
    settings.BTI_CHUNK_SIZE = 5
    options = {"pairs": good_pairs(1), "methods": ["bti"], "model": str(tiny_model_dir)}
    round = services.round_create(name="bf16", dtype="bf16", pooling="cls", **options)
    with (
        mock.patch("bti_eval.rounds.tasks.explain_chunk.apply_async") as published,
        django_capture_on_commit_callbacks(execute=True),
    ):
        services.round_launch(round=round)
    with mock.patch.object(explainers, "load_encoder", wraps=explainers.load_encoder) as load:
        assert compute.explanations_compute(explanation_ids=published.call_args.kwargs["args"][0])["done"] == 1
        encoders.encoder_get(model=str(tiny_model_dir), dtype="bf16", pooling="cls")  # cached
        encoders.encoder_get(model=str(tiny_model_dir))  # another key: fp32, the model's own pooling
    assert [(c.kwargs["dtype"], c.kwargs["pooling"]) for c in load.call_args_list] == [("bf16", "cls"), ("fp32", None)]
    info = Explanation.objects.get(round=round).payload["model_info"]
    assert (info["dtype"], info["pooling"], info["pooled_tokens"]) == ("bf16", "cls", "first")
