"""Automatic metrics: plausibility by hand, AOPC on the tiny model against direct cosines, evaluate_auto end to end."""

from __future__ import annotations

import threading
from unittest import mock

import pytest
import torch
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, connections, transaction
from django.urls import reverse
from scipy import stats

import explainers
from bti_eval.pairs.alignments import pairs_import_ists
from bti_eval.pairs.models import ParagraphPair
from bti_eval.results import exports, services
from bti_eval.results.auto_metrics import _sample, job_plan, plausibility
from bti_eval.results.models import AutoEvaluation
from bti_eval.results.report import round_report
from bti_eval.results.tasks import evaluate_auto_chunk
from bti_eval.rounds import services as rounds
from bti_eval.rounds.models import EvaluationRound
from explainers import faithfulness as faithfulness_module
from explainers.faithfulness import erase, faithfulness, keep_only, ranked_words
from tests.factories import ExplanationFactory, ParagraphPairFactory, explained_round
from tests.pairs.test_ists import SNIPPET

pytestmark = pytest.mark.usefixtures("fresh_encoder_cache")
METHODS = ["bti", "vanilla-gradients", "bti-activations"]


def word(text: str, start: int, saliency: float = 0.5) -> dict:
    return {"text": text, "start": start, "end": start + len(text), "saliency": saliency}


def test_plausibility_precision_overall_and_for_different_words():
    # text_a "big red car", text_b "large red automobile" (gold: big~large, red~red, car~automobile)
    gold = {
        "tokens_a": [[0, 3], [4, 7], [8, 11]],
        "tokens_b": [[0, 5], [6, 9], [10, 20]],
        "token_pairs": {(0, 0), (1, 1), (2, 2)},
    }
    payload = {
        "words": [
            [word("big", 0), word("red", 4), word("car", 8)],
            [word("large", 0), word("red", 6), word("automobile", 10)],
        ],
        "pairs": [{"a": 1, "b": 1}, {"a": 2, "b": 2}, {"a": 0, "b": 2}],  # red~red ✓, car~automobile ✓, big~auto ✗
    }
    got = plausibility([(payload, gold), (payload, gold)])
    assert (got["pairs"], got["selected"], got["correct"]) == (2, 6, 4)
    assert got["precision"] == pytest.approx(4 / 6)
    assert (got["selected_different"], got["correct_different"]) == (4, 2) and got["precision_different"] == 0.5
    assert plausibility([])["precision"] is None


EXPLANATION = {
    "words": [
        [word("soft", 0, 0.2), word("wool", 5, 1.0), word("gloves", 10, 0.6)],
        [word("warm", 0, 0.1), word("gloves", 5, 0.9), word("in", 12, 0.0), word("wool", 15, 1.0)],
    ],
    "pairs": [{"a": 1, "b": 3}, {"a": 2, "b": 1}],
}
TEXT_A, TEXT_B = "soft wool gloves", "warm gloves in wool"


def test_erasure_texts():
    assert ranked_words(EXPLANATION, 0) == [1, 2, 0] and ranked_words(EXPLANATION, 1) == [3, 1, 0, 2]
    assert erase(TEXT_A, EXPLANATION["words"][0], [1]) == "soft gloves"
    assert erase(TEXT_B, EXPLANATION["words"][1], [3, 1]) == "warm in"
    assert keep_only(EXPLANATION["words"][1], [3, 1]) == "gloves wool"
    assert erase(TEXT_A, EXPLANATION["words"][0], [0, 1, 2]) == ""


def test_aopc_on_the_tiny_model_matches_direct_cosines(tiny_model_dir):
    encoder = explainers.load_encoder(str(tiny_model_dir), device="cpu")

    def cos(a: str, b: str) -> float:
        if not a or not b:
            return 0.0
        va, vb = encoder.embed([a, b])
        return float(torch.nn.functional.cosine_similarity(va, vb, dim=0))

    [got] = faithfulness(encoder, [(TEXT_A, TEXT_B, EXPLANATION)], ks=[1, 2, 3, 4, 5])
    full = cos(TEXT_A, TEXT_B)
    removed = [("soft gloves", "warm gloves in"), ("soft", "warm in"), ("", "in"), ("", ""), ("", "")]
    kept = [("wool", "wool"), ("wool gloves", "gloves wool"), ("soft wool gloves", "warm gloves wool")]
    kept += [("soft wool gloves", "warm gloves in wool")] * 2
    assert got["similarity"] == pytest.approx(full, abs=1e-5)
    assert got["comprehensiveness"] == pytest.approx([full - cos(a, b) for a, b in removed], abs=1e-5)
    assert got["sufficiency"] == pytest.approx([full - cos(a, b) for a, b in kept], abs=1e-5)
    assert got["comprehensiveness_aopc"] == pytest.approx(sum(got["comprehensiveness"]) / 5)
    assert got["sufficiency"][-1] == pytest.approx(0.0, abs=1e-5)  # keeping every word keeps the similarity
    with pytest.raises(ValueError):
        faithfulness(encoder, [(TEXT_A, TEXT_B, EXPLANATION)], ks=[0])


@pytest.fixture
def ists_round(db, tiny_model_dir) -> EvaluationRound:
    """A rating round over 3 iSTS pairs (gold alignments) explained by 3 methods on the tiny model."""
    snippet = "\n".join(SNIPPET.replace('id="7"', f'id="{i}"') for i in range(3))
    pairs_import_ists(content=snippet.encode(), filename="STSint.input.headlines.wa", source="ists")
    pairs = list(ParagraphPair.objects.filter(source="ists"))
    return explained_round(name="ists", pairs=pairs, methods=METHODS, model_dir=tiny_model_dir)


def test_evaluate_auto_command_stores_metrics_and_correlates_with_mos(ists_round, capsys):
    call_command(
        "evaluate_auto", str(ists_round.pk), "--metrics", "plausibility,faithfulness", "--faithfulness-pairs", "2"
    )
    out = capsys.readouterr().out
    assert "done" in out and "plausibility.precision" in out
    row = AutoEvaluation.objects.get(round=ists_round)
    assert row.status == "done" and row.metrics == ["plausibility", "faithfulness"]
    for method in METHODS:
        metrics = row.results["methods"][method]
        assert metrics["plausibility"]["pairs"] == 3 and metrics["plausibility"]["selected"] > 0
        assert metrics["faithfulness"]["pairs"] == 2 and len(metrics["faithfulness"]["comprehensiveness"]) == 5
    call_command("simulate_judges", str(ists_round.pk), "--judges", "3", "--seed", "2", "--sloppy", "0")
    report = round_report(round=ists_round)
    auto = report["auto"]
    assert [c["field"] for c in auto["columns"]][:2] == ["precision", "precision_different"]
    mos = [m["mean"] for m in report["methods"]]
    for c in auto["correlations"]:
        values = [m[f"{c['metric']}.{c['field']}"] for m in auto["methods"]]
        if None in values or len(set(values)) < 2:
            continue
        assert c["rho"] == pytest.approx(stats.spearmanr(mos, values).statistic)
    md = "".join(exports.export(ists_round, "markdown"))
    assert "## Automatic metrics" in md and "Spearman rho with MOS" in md


def test_sanity_metric_and_the_celery_task(ists_round, settings):
    """The sanity chunk compares the round's stored explanations with a random-weights run: the same
    numbers as explainers.sanity_check, which explains the sample with both models itself."""
    settings.BTI_EXPLAIN_DEVICE = "cpu"
    job = AutoEvaluation.objects.create(
        round=ists_round,
        metrics=["sanity"],
        options={"sanity_pairs": 2, "faithfulness_pairs": 2, "ks": [1, 2]},
        plan=job_plan(methods=METHODS, metrics=["sanity"]),
    )
    with mock.patch("bti_eval.results.tasks.evaluate_auto_chunk.apply_async"):
        for index in range(len(METHODS)):
            expected = "done" if index == len(METHODS) - 1 else "running"
            assert evaluate_auto_chunk.apply(args=[job.pk, index]).get() == expected  # the task body, in-process
    job.refresh_from_db()
    chosen = sorted(
        ParagraphPair.objects.filter(explanations__round=ists_round).values_list("id", flat=True).distinct()
    )
    chosen = _sample(chosen, 2, ists_round.seed)
    pairs = [(p.text_a, p.text_b) for p in ParagraphPair.objects.filter(pk__in=chosen).order_by("id")]
    for method in METHODS:
        sanity = job.results["methods"][method]["sanity"]
        direct = explainers.sanity_check(pairs, method, model=ists_round.model, device="cpu", seed=ists_round.seed)
        assert sanity["pairs"] == 2 and 0.0 <= sanity["jaccard_mean"] <= 1.0
        assert sanity["jaccard_mean"] == pytest.approx(direct["jaccard_mean"], abs=1e-9)
        assert sanity["spearman_mean"] == pytest.approx(direct["spearman_mean"], abs=1e-6)
    assert evaluate_auto_chunk.apply(args=[10**9, 0]).get() == "gone"


def test_evaluate_auto_errors_exit_2(ists_round, db):
    with pytest.raises(CommandError, match="Unknown metric") as err:
        call_command("evaluate_auto", str(ists_round.pk), "--metrics", "vibes")
    assert err.value.returncode == 2
    empty = rounds.round_create(name="empty", pairs=[ParagraphPair.objects.first()], methods=["bti"])
    with pytest.raises(CommandError, match="no computed explanations") as err:
        call_command("evaluate_auto", str(empty.pk))
    assert err.value.returncode == 2


def test_auto_metrics_api_queues_one_job_per_round_on_the_metrics_queue(
    ists_round, researcher_api_client, django_capture_on_commit_callbacks, enqueued
):
    url = f"/api/rounds/{ists_round.pk}/auto-metrics/"
    assert researcher_api_client.get(url).status_code == 404
    with mock.patch("bti_eval.core.jobs.broker_check"), django_capture_on_commit_callbacks(execute=True):
        response = researcher_api_client.post(url, {"metrics": ["plausibility"], "sanity_pairs": 3}, format="json")
        again = researcher_api_client.post(url, {"metrics": ["sanity"]}, format="json")
    assert response.status_code == 202 and response.json()["status"] == "pending"
    job = AutoEvaluation.objects.get(round=ists_round)
    assert enqueued == [("bti_eval.evaluate_auto_chunk", [job.pk, 0], "metrics")]  # the second request queued nothing
    assert again.status_code == 200 and again.json()["id"] == job.pk and again.json()["metrics"] == ["plausibility"]
    body = researcher_api_client.get(url).json()
    assert body["metrics"] == ["plausibility"] and body["options"]["sanity_pairs"] == 3
    assert (body["chunks_done"], body["chunks_total"]) == (0, 1)
    assert researcher_api_client.post(url, {"metrics": ["vibes"]}, format="json").status_code == 400
    assert AutoEvaluation.objects.filter(round=ists_round).count() == 1

    evaluate_auto_chunk.apply(args=[job.pk, 0])  # done: a new request makes a new job, the old one is kept
    with mock.patch("bti_eval.core.jobs.broker_check"), django_capture_on_commit_callbacks(execute=True):
        assert researcher_api_client.post(url, {"metrics": ["plausibility"]}, format="json").status_code == 202
    assert AutoEvaluation.objects.filter(round=ists_round).count() == 2
    report = round_report(round=ists_round)["auto"]  # the new job is pending: the page shows the done one's values
    assert report["status"] == "pending" and report["finished_at"] and report["columns"]


def test_auto_metrics_are_refused_while_the_round_computes(ists_round, researcher_api_client, researcher_client):
    ists_round.status = EvaluationRound.Status.COMPUTING
    ists_round.save()
    with (
        mock.patch("bti_eval.core.jobs.broker_check"),
        mock.patch("bti_eval.results.tasks.evaluate_auto_chunk.apply_async"),
    ):
        response = researcher_api_client.post(f"/api/rounds/{ists_round.pk}/auto-metrics/", {}, format="json")
        page = researcher_client.post(reverse("results:auto-metrics", args=[ists_round.pk]), follow=True)
    assert response.status_code == 409 and "still computing" in response.json()["message"]
    assert "still computing" in page.content.decode()
    assert not AutoEvaluation.objects.filter(round=ists_round).exists()


def test_the_page_asks_once_and_shows_the_progress(ists_round, researcher_client, django_capture_on_commit_callbacks):
    url = reverse("results:auto-metrics", args=[ists_round.pk])
    with (
        mock.patch("bti_eval.core.jobs.broker_check"),
        mock.patch("bti_eval.results.tasks.evaluate_auto_chunk.apply_async") as apply_async,
        django_capture_on_commit_callbacks(execute=True),
    ):
        researcher_client.post(url)
        second = researcher_client.post(url, follow=True).content.decode()
    assert apply_async.call_count == 1 and AutoEvaluation.objects.filter(round=ists_round).count() == 1
    job = AutoEvaluation.objects.get(round=ists_round)
    assert job.chunks_total == 1 + 2 * len(METHODS)  # plausibility, then faithfulness and sanity per method
    assert "already pending (0 of 7 steps done)" in second
    assert "0 of 7 steps done" in second and "Compute automatic metrics</button>" not in second
    next_chunks: list[list[int]] = []
    with mock.patch.object(evaluate_auto_chunk, "apply_async", lambda args, **_: next_chunks.append(args)):
        with django_capture_on_commit_callbacks(execute=True):
            assert evaluate_auto_chunk.apply(args=[job.pk, 0]).get() == "running"
        assert evaluate_auto_chunk.apply(args=[job.pk, 0]).get() == "running"  # a redelivered chunk: nothing
    assert next_chunks == [[job.pk, 1]]  # the job's next chunk, queued once
    page = researcher_client.get(reverse("results:round", args=[ists_round.pk])).content.decode()
    assert "running</strong>, 1 of 7 steps done" in page
    job.refresh_from_db()
    assert job.chunks_done == 1 and set(job.results["methods"]["bti"]) == {"plausibility"}


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_requests_make_one_job(tiny_model_dir):
    """Two researchers (threads, each its own database connection) ask at the same moment."""
    if connection.vendor != "postgresql":
        pytest.skip("concurrent transactions need PostgreSQL")
    pair = ParagraphPairFactory()
    round = rounds.round_create(name="race", pairs=[pair], methods=["bti"])
    ExplanationFactory(round=round, pair=pair, method="bti")
    EvaluationRound.objects.filter(pk=round.pk).update(status=EvaluationRound.Status.RATING)
    round.refresh_from_db()
    barrier = threading.Barrier(2)
    outcomes: list = []

    def ask() -> None:
        try:
            barrier.wait(timeout=10)
            outcomes.append(services.auto_evaluation_request(round=round)[1])
        finally:
            connections.close_all()

    with (
        mock.patch("bti_eval.core.jobs.broker_check"),
        mock.patch("bti_eval.results.tasks.evaluate_auto_chunk.apply_async"),
    ):
        threads = [threading.Thread(target=ask) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    assert sorted(outcomes) == [False, True]
    assert AutoEvaluation.objects.filter(round=round).count() == 1


@pytest.mark.django_db
def test_the_database_allows_one_active_job_per_round(ists_round):
    AutoEvaluation.objects.create(round=ists_round, status="done")
    AutoEvaluation.objects.create(round=ists_round, status="pending")
    with pytest.raises(IntegrityError), transaction.atomic():
        AutoEvaluation.objects.create(round=ists_round, status="running")
    AutoEvaluation.objects.create(round=ists_round, status="failed")


def test_faithfulness_in_batches_equals_one_text_per_forward(tiny_model_dir):
    """The perturbations go through the encoder in token-budgeted batches; a budget of 1 (one text
    per forward, the unbatched way) gives the same numbers."""
    encoder = explainers.load_encoder(str(tiny_model_dir), device="cpu")
    pairs = [
        ("Soft wool gloves with touchscreen fingertips and a ribbed cuff.", "Knitted wool gloves."),
        ("A long viscose dress with a V-neck and long sleeves, in a soft and flowing weave.", "Maxi dress."),
        ("Slim jeans in washed stretch denim with five pockets.", "Skinny jeans in stretch denim, zip fly."),
    ]
    explained = explainers.explain_pairs(encoder, pairs, "bti")
    items = [(a, b, e.to_dict()) for (a, b), e in zip(pairs, explained, strict=True)]
    batched = faithfulness(encoder, items)
    with mock.patch("explainers.faithfulness.embed_texts", wraps=faithfulness_module.embed_texts) as embed:
        one_by_one = faithfulness(encoder, items, token_budget=1)
    [call] = embed.call_args_list
    assert call.kwargs["batch_tokens"] == 1
    for got, want in zip(batched, one_by_one, strict=True):
        for key in ("comprehensiveness", "sufficiency"):
            assert got[key] == pytest.approx(want[key], abs=1e-5)
        assert got["comprehensiveness_aopc"] == pytest.approx(want["comprehensiveness_aopc"], abs=1e-5)
    with pytest.raises(ValueError, match="token_budget"):
        faithfulness(encoder, items, token_budget=0)
