"""Judge quality: control-item test, too-fast flag, z-scores; results without flagged judges; controls outside MOS."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from bti_eval.judging.services.invites import judge_invite
from bti_eval.judging.services.ratings import rating_submit
from bti_eval.results.report import round_report
from bti_eval.rounds import services as rounds
from bti_eval.rounds.models import EvaluationRound
from tests.factories import EvaluationRoundFactory

pytestmark = pytest.mark.django_db

# judge name → (bti score, tfidf-w2v score, control score, seconds per rating)
JUDGES = {"careful A": (5, 3, 1, 10.0), "careful B": (4, 3, 2, 8.0), "careless C": (2, 2, 5, 1.5)}


@pytest.fixture
def judged_round() -> EvaluationRound:
    round = EvaluationRoundFactory(
        explained_pairs=6, methods=["bti", "tfidf-w2v"], status=EvaluationRound.Status.COMPUTING
    )
    rounds.round_options_update(round=round, control_items=4)
    judges = {name: judge_invite(round=round, name=name)[0] for name in JUDGES}
    rounds.round_open(round=round)
    for name, judge in judges.items():
        bti, tfidf, control, seconds = JUDGES[name]
        for assignment in judge.assignments.select_related("explanation"):
            e = assignment.explanation
            score = control if e.is_control else bti if e.method == "bti" else tfidf
            rating_submit(judge=judge, public_id=assignment.public_id, score=score, seconds=seconds)
    round.refresh_from_db()
    return round


def test_per_judge_numbers_and_the_control_test(judged_round):
    report = round_report(round=judged_round)
    rows = {row["name"]: row for row in report["judges"]}
    for name, (bti, tfidf, control, seconds) in JUDGES.items():
        row = rows[name]
        real = [bti] * 6 + [tfidf] * 6
        assert (row["n"], row["n_control"]) == (12, 4)
        assert row["mean"] == pytest.approx(np.mean(real)) and row["control_mean"] == control
        assert row["median_seconds"] == seconds
        want = stats.mannwhitneyu(real, [control] * 4, alternative="greater")
        assert row["control_u"] == want.statistic and row["control_p"] == pytest.approx(want.pvalue)
    assert rows["careful A"]["control_flag"] is False and rows["careful B"]["control_flag"] is False
    assert rows["careless C"]["control_flag"] is True and rows["careless C"]["too_fast"] is True
    assert [r["flagged"] for r in report["judges"]] == [False, False, True]
    # Judge means 4.0, 3.5, 2.0. By hand: A vs (3.5, 2.0): 1.25 / sqrt(1.125); B vs (4.0, 2.0):
    # 0.5 / sqrt(2); C vs (4.0, 3.5): −1.75 / sqrt(0.125).
    expected_z = [5 / (3 * math.sqrt(2)), 1 / (2 * math.sqrt(2)), -7 / math.sqrt(2)]
    assert [row["z"] for row in report["judges"]] == pytest.approx(expected_z)


def test_controls_never_count_toward_a_method(judged_round):
    report = round_report(round=judged_round)
    assert [m["method"] for m in report["methods"]] == ["bti", "tfidf-w2v"]
    bti, tfidf = report["methods"]
    assert bti["n"] == tfidf["n"] == 18 and report["n_ratings"] == 36
    assert bti["mean"] == pytest.approx((5 + 4 + 2) / 3)
    assert report["controls"] == {
        "items": 4,
        "requested": 4,
        "n_ratings": 12,
        "mean": pytest.approx(8 / 3),
        "real_mean": pytest.approx((4 + 3.5 + 2) / 3),
    }


def test_results_without_flagged_judges(judged_round, researcher_api_client):
    report = round_report(round=judged_round, exclude_flagged=True)
    careless = next(j for j in report["judges"] if j["name"] == "careless C")
    assert report["options"]["exclude_flagged"] is True and report["options"]["excluded_judges"] == [careless["id"]]
    bti, tfidf = report["methods"]
    assert (bti["n"], bti["mean"], bti["n_judges"]) == (12, 4.5, 2) and tfidf["mean"] == 3.0
    assert careless["excluded"] is True and report["agreement"]["judges"] == 2
    body = researcher_api_client.get(f"/api/rounds/{judged_round.pk}/results/?exclude_flagged=1").json()
    assert body["options"]["excluded_judges"] == [careless["id"]] and body["methods"][0]["mean"] == 4.5
    assert researcher_api_client.get(f"/api/rounds/{judged_round.pk}/results/?exclude_flagged=maybe").status_code == 400


def test_the_too_fast_threshold_is_a_round_option_over_the_setting(judged_round, settings):
    settings.BTI_TOO_FAST_SECONDS = 9.0
    rows = {r["name"]: r for r in round_report(round=judged_round)["judges"]}
    assert rows["careful B"]["too_fast"] is True and "median 8.0 s per rating < 9 s" in rows["careful B"]["reasons"]
    rounds.round_options_update(round=judged_round, too_fast_seconds=1.0)
    rows = {r["name"]: r for r in round_report(round=judged_round)["judges"]}
    assert not any(r["too_fast"] for r in rows.values())
    assert rows["careless C"]["flagged"] and rows["careless C"]["reasons"] == ["does not rate control items lower"]
