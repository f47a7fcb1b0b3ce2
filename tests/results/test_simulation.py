"""simulate_judges: a dry run fills a rating round; the control-item test catches the sloppy judge."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from bti_eval.judging.models import Assignment, Rating, RatingChange
from bti_eval.results.report import round_report
from bti_eval.rounds import services as rounds
from bti_eval.rounds.models import EvaluationRound
from tests.factories import EvaluationRoundFactory
from tests.judging.order_checks import adjacent_same_pair

pytestmark = pytest.mark.django_db
METHODS = ["bti", "bti-gradients", "vanilla-gradients", "tfidf-w2v"]


def open_round(*, pairs: int = 20, controls: int = 10, **options) -> EvaluationRound:
    round = EvaluationRoundFactory(explained_pairs=pairs, methods=METHODS, status=EvaluationRound.Status.COMPUTING)
    rounds.round_options_update(round=round, control_items=controls, **options)
    return rounds.round_open(round=round)


def test_simulated_round_has_table1_like_means_and_the_sloppy_judge_is_flagged(capsys):
    round = open_round()
    call_command("simulate_judges", str(round.pk), "--judges", "5", "--seed", "0")
    out = capsys.readouterr().out
    assert "Simulated 5 judges and 450 ratings" in out and "(sloppy)" in out
    assert Rating.objects.filter(assignment__judge__round=round).count() == 5 * (20 * 4 + 10)
    assert RatingChange.objects.filter(rating__assignment__judge__round=round).count() == 450
    report = round_report(round=round)
    means = {row["method"]: row["mean"] for row in report["methods"]}
    assert means["bti"] > means["bti-gradients"] > means["tfidf-w2v"]
    sloppy = [j for j in report["judges"] if "sloppy" in j["name"]]
    careful = [j for j in report["judges"] if "sloppy" not in j["name"]]
    assert len(sloppy) == 1 and sloppy[0]["control_flag"] is True and sloppy[0]["too_fast"] is True
    assert all(j["control_flag"] is False and not j["flagged"] for j in careful)
    assert report["agreement"]["overall"]["interval"]["alpha"] > 0.2
    # Without the flagged judge, agreement goes up.
    cleaned = round_report(round=round, exclude_flagged=True)
    assert cleaned["agreement"]["overall"]["interval"]["alpha"] > report["agreement"]["overall"]["interval"]["alpha"]


def test_simulated_judges_follow_the_design_and_the_spread_rule():
    round = open_round(pairs=12, controls=3, design="k-per-item", judges_per_explanation=2)
    call_command("simulate_judges", str(round.pk), "--judges", "4", "--seed", "3", "--sloppy", "0")
    real = round.explanations.filter(is_control=False)
    for explanation in real:
        assert Assignment.objects.filter(explanation=explanation).count() == 2
    for judge in round.judges.all():
        loads = judge.assignments.filter(explanation__is_control=False).count()
        assert loads in (12 * 4 * 2 // 4, -(-12 * 4 * 2 // 4))
        pairs = list(judge.assignments.order_by("position").values_list("explanation__pair_id", flat=True))
        assert adjacent_same_pair(pairs) == 0


def test_simulation_is_deterministic_for_a_seed():
    scores = []
    for _ in range(2):
        round = open_round(pairs=6, controls=2)
        call_command("simulate_judges", str(round.pk), "--judges", "3", "--seed", "5")
        scores.append(
            sorted(
                Rating.objects.filter(assignment__judge__round=round).values_list(
                    "assignment__explanation__method", "score"
                )
            )
        )
    assert scores[0] == scores[1]


def test_simulate_needs_a_rating_round():
    round = EvaluationRoundFactory(explained_pairs=2, methods=["bti"], status=EvaluationRound.Status.COMPUTING)
    with pytest.raises(CommandError, match="open for rating") as err:
        call_command("simulate_judges", str(round.pk))
    assert err.value.returncode == 2
    with pytest.raises(CommandError, match="--sloppy"):
        call_command("simulate_judges", str(open_round(pairs=2, controls=0).pk), "--judges", "2", "--sloppy", "3")
