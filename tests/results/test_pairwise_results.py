"""A pairwise round from launch to Bradley–Terry results: the worker's part played by storing
factory payloads, judges choosing through the API with known preferences, then the report, the
results page, the API and every export format (HEDS validated against its schema), with Kendall's
tau against a MOS round over the same pairs."""

from __future__ import annotations

import csv
import io
import json

import jsonschema
import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from bti_eval.judging.models import Rating
from bti_eval.judging.services.invites import judge_invite
from bti_eval.results import exports
from bti_eval.results.heds import heds_schema
from bti_eval.results.report import round_report
from bti_eval.results.simulation import ratings_simulate
from bti_eval.rounds import services as rounds
from bti_eval.rounds.models import EvaluationRound, Explanation
from tests.explanation_payloads import explanation_payload
from tests.factories import EvaluationRoundFactory, ParagraphPairFactory

pytestmark = pytest.mark.django_db
Status = EvaluationRound.Status
# The judges' preference, best first (as the paper's Table 1 ranks them).
METHODS = ["bti", "bti-gradients", "vanilla-gradients", "tfidf-w2v"]


def _compute(round: EvaluationRound) -> None:
    """What a worker does with the launched chunks: store each explanation, then open the round."""
    for explanation in Explanation.objects.filter(round=round):
        explanation.payload = explanation_payload(explanation.method)
        explanation.status = Explanation.Status.DONE
        explanation.finished_at = timezone.now()
        explanation.save(update_fields=["payload", "status", "finished_at"])
    assert rounds.round_open_if_complete(round_id=round.pk)


def _choose(client, judge, *, sloppy: bool = False) -> int:
    """The judge answers every item through the API: the better method of the paper's order and
    the real explanation over a control's degraded one; a sloppy judge "left" on every real item and
    the degraded explanation of every control item."""
    made = 0
    for assignment in judge.assignments.select_related("explanation", "right_explanation").order_by("position"):
        left, right = assignment.explanation, assignment.right_explanation
        if left.is_control or right.is_control:
            choice = "right" if left.is_control != sloppy else "left"
        elif sloppy:
            choice = "left"
        elif {left.method, right.method} == {"vanilla-gradients", "tfidf-w2v"} and left.pair_id % 2 == 0:
            choice = "same"
        else:
            choice = "left" if METHODS.index(left.method) < METHODS.index(right.method) else "right"
        url = reverse("api-judge-rating", kwargs={"public_id": assignment.public_id})
        body = {"item": assignment.public_id, "choice": choice, "seconds": 0.5 if sloppy else 6.0}
        response = client.put(url, json.dumps(body), content_type="application/json")
        assert response.status_code == 201, response.content
        made += 1
    return made


@pytest.fixture
def decided(researcher, enqueued, client, django_capture_on_commit_callbacks, settings):
    """A closed pairwise round (6 pairs × 4 methods, k = 2, 2 control items) that 4 careful judges and
    a sloppy one decided, and a MOS round over the same pairs rated by simulated judges."""
    settings.BTI_BOOTSTRAP_RESAMPLES = 300
    settings.BTI_ALPHA_RESAMPLES = 100
    pairs = ParagraphPairFactory.create_batch(6)
    round = rounds.round_create(
        name="pairwise study",
        pairs=pairs,
        methods=METHODS,
        design="pairwise",
        judges_per_explanation=2,
        control_items=2,
        seed=7,
        by=researcher,
    )
    judges = [judge_invite(round=round, name=f"J{i}")[0] for i in range(4)]
    sloppy, _ = judge_invite(round=round, name="Sloppy")
    with django_capture_on_commit_callbacks(execute=True):
        rounds.round_launch(round=round, by=researcher)
    assert [name for name, _, queue in enqueued if queue == "explain"]  # the chunks went to the workers
    _compute(round)
    round.refresh_from_db()
    assert round.status == Status.RATING
    for judge in judges:
        client.force_login(judge.user)
        assert _choose(client, judge) == judge.assignments.count()
    client.force_login(sloppy.user)
    _choose(client, sloppy, sloppy=True)
    rounds.round_close(round=round)
    mos = EvaluationRoundFactory(explained_pairs=pairs, methods=METHODS, status=Status.COMPUTING)
    rounds.round_open(round=mos)
    ratings_simulate(round=mos, judges=4, seed=2, sloppy=0)
    return round, mos


def test_the_report_ranks_the_methods_by_bradley_terry_with_cis_and_kendalls_tau(decided):
    round, mos = decided
    report = round_report(round=round, exclude_flagged=True)
    assert report["kind"] == "pairwise" and report["final"]
    assert [row["method"] for row in report["methods"]] == METHODS
    assert [row["rank"] for row in report["methods"]] == [1, 2, 3, 4]
    strengths = [row["strength"] for row in report["methods"]]
    assert strengths == sorted(strengths, reverse=True) and abs(sum(strengths)) < 1e-6
    for row in report["methods"]:
        assert row["ci_low"] <= row["strength"] <= row["ci_high"] and row["ci_resamples"] == 300
        assert row["comparisons"] == row["wins"] + row["losses"] + row["ties"]
    block = report["pairwise"]
    careful = sum(j["n"] for j in report["judges"] if j["name"] != "Sloppy")
    sloppy = next(j["n"] for j in report["judges"] if j["name"] == "Sloppy")
    assert careful + sloppy == 6 * 6 * 2  # k = 2 judges per (pair, method pair)
    assert block["resamples"] == 300 and block["pairs"] == 6 and block["judgements"] == careful
    assert block["win_rates"][0][3] == 1.0 and block["win_rates"][3][0] == 0.0  # bti always beat tfidf-w2v
    assert 0 < block["win_rates"][2][3] < 1  # ties between vanilla-gradients and tfidf-w2v count half
    kendall = block["kendall"]
    assert kendall["round_id"] == mos.pk and kendall["tau"]["tau"] == pytest.approx(1.0)
    assert kendall["mos_rank"] == {m: i + 1 for i, m in enumerate(METHODS)}
    # Agreement is defined over the comparisons two judges decided (nearly all the same way here,
    # so alpha itself is near chance: see test_agreement_codes_the_preferred_method_not_the_side).
    assert block["agreement"]["ordinal"]["units"] > 20 and block["agreement"]["resamples"] == 100
    # The sloppy judge preferred the degraded controls: flagged (and too fast), left out here.
    judges = {j["name"]: j for j in report["judges"]}
    assert judges["Sloppy"]["flagged"] and judges["Sloppy"]["excluded"] and judges["Sloppy"]["control_flag"]
    assert judges["Sloppy"]["control_degraded"] == 2 and judges["Sloppy"]["too_fast"]
    assert judges["Sloppy"]["left_share"] > 0.8  # "left" on every real item: a position bias
    assert all(not j["flagged"] and j["control_real"] == 2 for name, j in judges.items() if name != "Sloppy")
    assert report["controls"]["items"] == 2 and report["controls"]["degraded_preferred"] == 0
    # With every judge, the sloppy one's choices count: more judgements, and the report says so.
    everyone = round_report(round=round)
    assert everyone["pairwise"]["judgements"] > block["judgements"] and not everyone["options"]["excluded_judges"]
    # Seeded: the same report again, CIs included.
    assert round_report(round=round, exclude_flagged=True, use_cache=False) == report


def test_the_results_page_and_the_api_show_the_pairwise_results(decided, researcher_client, researcher_api_client):
    round, mos = decided
    page = researcher_client.get(reverse("results:round", args=[round.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="bradley-terry"' in html and "<svg" in html and "Bradley–Terry log-strength" in html
    assert "Kendall" in html and "τ = 1.00" in html and 'id="win-rates"' in html and "300 resamples" in html
    body = researcher_api_client.get(f"/api/rounds/{round.pk}/results/?exclude_flagged=1").json()
    assert body["kind"] == "pairwise" and [m["method"] for m in body["methods"]] == METHODS
    assert body["pairwise"]["kendall"]["tau"]["tau"] == pytest.approx(1.0)
    mos_page = researcher_client.get(reverse("results:round", args=[mos.pk])).content.decode()
    assert "MOS (mean ± std)" in mos_page  # a rating round's page is unchanged


def _export(round, fmt: str, **options) -> str:
    return "".join(exports.export(round, fmt, **options))


def test_every_export_format_carries_the_pairwise_results(decided):
    round, _ = decided
    rows = list(csv.DictReader(io.StringIO(_export(round, "csv"))))
    assert len(rows) == Rating.objects.filter(judge__round=round).count()
    assert {"left_method", "right_method", "choice", "preferred_method"} <= set(rows[0])
    for row in rows:
        assert row["left_method"] != row["right_method"] and row["choice"] in ("left", "right", "same")
        side = {"left": row["left_method"], "right": row["right_method"], "same": ""}[row["choice"]]
        assert row["preferred_method"] == side
        assert (row["control"] == "1") == ("control" in (row["left_method"], row["right_method"]))
    # Sides were random: every method was shown on both sides.
    for method in METHODS:
        assert any(r["left_method"] == method for r in rows) and any(r["right_method"] == method for r in rows)
    without = list(csv.DictReader(io.StringIO(_export(round, "csv", exclude_flagged=True))))
    assert {r["judge"] for r in without} == {"J0", "J1", "J2", "J3"}

    document = json.loads(_export(round, "json"))
    assert document["round"]["design"] == "pairwise" and document["results"]["kind"] == "pairwise"
    assert len(document["ratings"]) == len(rows) and document["ratings"][0]["left_method"]
    order = next(iter(document["orders"].values()))
    assert all(len(entry) == 4 for entry in order)  # position, pair, left method, right method

    markdown = _export(round, "markdown", exclude_flagged=True)
    assert "| Rank | Method | Strength | 95% CI |" in markdown and "Kendall's tau" in markdown
    assert "## Win rates" in markdown and "300 resamples" in markdown and "| 1 | BTI |" in markdown
    latex = _export(round, "latex")
    assert r"\begin{tabular}" in latex and "Bradley--Terry" in latex and "Win rates" in latex
    assert "<svg" in _export(round, "svg") and "Bradley–Terry" in _export(round, "svg")

    methods = list(csv.DictReader(io.StringIO(_export(round, "methods-csv", exclude_flagged=True))))
    assert [r["method"] for r in methods] == METHODS and [r["mos_rank"] for r in methods] == ["1", "2", "3", "4"]
    assert methods[0]["ci_resamples"] == "300" and float(methods[0]["strength"]) > 0
    judges = list(csv.DictReader(io.StringIO(_export(round, "judges-csv"))))
    assert {r["name"] for r in judges if r["flagged"] == "True"} == {"Sloppy"}

    heds = json.loads(_export(round, "heds"))
    jsonschema.Draft202012Validator(heds_schema(), format_checker=jsonschema.FormatChecker()).validate(heds)
    criteria = heds["sections"]["criteria"]["criteria"][0]
    assert criteria["criterion"] == "Explanation quality (pairwise preference)"
    questions = criteria["questions"]
    assert questions["6.5"]["answer"] == "relative" and "pairwise preference" in questions["6.8"]["answer"]
    assert [v["label"] for v in questions["6.10"]["answer"]] == ["Left is better", "Right is better", "About the same"]
    design = heds["sections"]["design"]["questions"]
    assert design["5.3"]["answer"]["design"] == "pairwise" and design["5.3"]["answer"]["judges_per_item"] == 2
    assert design["5.6"]["answer"]["control_items"]["real_preferred"] >= 8


def test_plan_study_says_a_pairwise_round_is_no_mos_pilot(decided):
    round, _ = decided
    with pytest.raises(CommandError, match="pairwise round"):
        call_command("plan_study", str(round.pk))


def test_simulated_judges_choose_on_a_pairwise_round():
    round = EvaluationRoundFactory(explained_pairs=5, methods=METHODS, status=Status.COMPUTING)
    rounds.round_options_update(round=round, design="pairwise", control_items=2)
    rounds.round_open(round=round)
    result = ratings_simulate(round=round, judges=4, seed=1, sloppy=1)
    assert result.ratings == 4 * (5 * 6 + 2)
    assert not Rating.objects.filter(judge__round=round, choice__isnull=True).exists()
    report = round_report(round=round, exclude_flagged=True)
    ranking = [row["method"] for row in report["methods"]]
    assert ranking.index("bti") < ranking.index("tfidf-w2v")  # Table 1: 4.3 against 2.5
    sloppy = next(j for j in report["judges"] if "sloppy" in j["name"])
    assert sloppy["too_fast"] and sloppy["excluded"]
    careful = [j for j in report["judges"] if "sloppy" not in j["name"]]
    real, degraded = sum(j["control_real"] for j in careful), sum(j["control_degraded"] for j in careful)
    assert real >= 5 * degraded  # careful judges see a degraded copy for what it is


def test_agreement_codes_the_preferred_method_not_the_side():
    """Two judges who prefer the same method of every comparison agree perfectly, whichever side
    each saw it on; a third who prefers the other one disagrees."""
    from bti_eval.results.pairwise_report import _agreement

    options = {"alpha_resamples": 50, "seed": 0, "confidence": 0.95}
    comparisons = [(pair, "a", "b") for pair in range(6)]
    preferred = ["a", "b", "a", None, "b", "a"]

    def judged(judge, flip: bool, invert: bool = False):
        rows = []
        for comparison, best in zip(comparisons, preferred, strict=True):
            if invert and best is not None:
                best = "b" if best == "a" else "a"
            rows.append({"judge": judge, "comparison": comparison, "preferred": best, "flip": flip})
        return rows

    agree = _agreement(judged(1, False) + judged(2, True), options)
    assert agree["ordinal"]["alpha"] == pytest.approx(1.0) and agree["ordinal"]["units"] == 6
    disagree = _agreement(judged(1, False) + judged(3, False, invert=True), options)
    assert disagree["interval"]["alpha"] < 0


def test_a_pairwise_round_without_choices_yet_has_a_page_a_report_and_exports(researcher_client):
    round = EvaluationRoundFactory(explained_pairs=3, methods=METHODS, status=Status.COMPUTING)
    rounds.round_options_update(round=round, design="pairwise", control_items=1)
    rounds.round_open(round=round)
    judge_invite(round=round, name="Ann")
    report = round_report(round=round)
    assert report["n_ratings"] == 0 and all(
        row["ci_low"] is None and row["win_rate"] is None for row in report["methods"]
    )
    assert report["pairwise"]["kendall"] is None and report["pairwise"]["agreement"]["ordinal"]["alpha"] is None
    page = researcher_client.get(reverse("results:round", args=[round.pk]))
    assert page.status_code == 200 and "no choices yet" in page.content.decode()
    for fmt in exports.FORMATS:
        assert _export(round, fmt), fmt
    heds = json.loads(_export(round, "heds"))
    jsonschema.Draft202012Validator(heds_schema(), format_checker=jsonschema.FormatChecker()).validate(heds)
    assert _export(round, "csv").strip() == ",".join(
        ["round", "judge_id", "judge", "pair", "left_method", "right_method", "choice", "preferred_method"]
        + ["seconds", "position", "rated_at", "control", "judge_flagged", "item_flagged", "comment", "participant_id"]
    )


def test_the_strengths_plot_draws_an_interval_that_misses_its_estimate():
    """A percentile interval need not contain the point estimate (few pairs): the plot draws it as it is."""
    from bti_eval.results.plots import strengths_plot_svg

    row = {"rank": 1, "label": "BTI", "comparisons": 4, "win_rate": 0.75}
    report = {
        "methods": [
            {**row, "strength": 0.3, "ci_low": 0.5, "ci_high": 1.0},
            {**row, "rank": 2, "label": "TF-IDF-W2V", "strength": -0.3, "ci_low": None, "ci_high": None},
        ],
        "pairwise": {"resamples": 50},
    }
    svg = strengths_plot_svg(report)
    assert svg.startswith("<?xml") and "TF-IDF-W2V" in svg and "50 resamples" in svg
