"""Automatic metrics: plausibility by hand, AOPC on the tiny model against direct cosines, evaluate_auto end to end."""

from __future__ import annotations

from unittest import mock

import pytest
import torch
from django.core.management import CommandError, call_command
from scipy import stats

import explainers
from bti_eval.pairs.alignments import pairs_import_ists
from bti_eval.pairs.models import ParagraphPair
from bti_eval.results import exports
from bti_eval.results.auto_metrics import plausibility
from bti_eval.results.models import AutoEvaluation
from bti_eval.results.report import round_report
from bti_eval.rounds import services as rounds
from bti_eval.rounds.models import EvaluationRound, Explanation
from explainers.faithfulness import erase, faithfulness, keep_only, ranked_words
from tests.pairs.test_ists import SNIPPET
from workers.tasks import evaluate_auto

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
    round = rounds.round_create(name="ists", pairs=pairs, methods=METHODS, model=str(tiny_model_dir))
    encoder = explainers.load_encoder(str(tiny_model_dir), device="cpu")
    for method in METHODS:
        explained = explainers.explain_pairs(encoder, [(p.text_a, p.text_b) for p in pairs], method)
        for pair, e in zip(pairs, explained, strict=True):
            Explanation.objects.create(round=round, pair=pair, method=method, status="done", payload=e.to_dict())
    round.status = EvaluationRound.Status.RATING
    round.save()
    return round


@pytest.fixture(autouse=True)
def _fresh_encoders():
    from bti_eval.rounds import compute

    compute._encoders.clear()
    yield
    compute._encoders.clear()


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
    settings.BTI_EXPLAIN_DEVICE = "cpu"
    AutoEvaluation.objects.create(round=ists_round, metrics=["sanity"], options={"sanity_pairs": 2})
    assert evaluate_auto(ists_round.pk) == "done"  # the task body, run in-process
    row = AutoEvaluation.objects.get(round=ists_round)
    for method in METHODS:
        sanity = row.results["methods"][method]["sanity"]
        assert sanity["pairs"] == 2 and 0.0 <= sanity["jaccard_mean"] <= 1.0
    assert evaluate_auto(10**9) == "round gone"


def test_evaluate_auto_errors_exit_2(ists_round, db):
    with pytest.raises(CommandError, match="Unknown metric") as err:
        call_command("evaluate_auto", str(ists_round.pk), "--metrics", "vibes")
    assert err.value.returncode == 2
    empty = rounds.round_create(name="empty", pairs=[ParagraphPair.objects.first()], methods=["bti"])
    with pytest.raises(CommandError, match="no computed explanations") as err:
        call_command("evaluate_auto", str(empty.pk))
    assert err.value.returncode == 2


def test_auto_metrics_api_queues_on_the_explain_queue(
    ists_round, researcher_api_client, django_capture_on_commit_callbacks
):
    url = f"/api/rounds/{ists_round.pk}/auto-metrics/"
    assert researcher_api_client.get(url).status_code == 404
    with (
        mock.patch("bti_eval.rounds.queueing.broker_check"),
        mock.patch("workers.tasks.evaluate_auto.apply_async") as apply_async,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = researcher_api_client.post(url, {"metrics": ["plausibility"], "sanity_pairs": 3}, format="json")
    assert response.status_code == 202 and response.json()["status"] == "pending"
    apply_async.assert_called_once_with(args=[ists_round.pk], queue="explain")
    body = researcher_api_client.get(url).json()
    assert body["metrics"] == ["plausibility"] and body["options"]["sanity_pairs"] == 3
    assert researcher_api_client.post(url, {"metrics": ["vibes"]}, format="json").status_code == 400
