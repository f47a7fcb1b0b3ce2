"""Control items: degraded explanations of real pairs, blind among the assignments, never in a method's MOS."""

from __future__ import annotations

import random
import re

import pytest
from django.urls import reverse
from scipy import stats

from bti_eval.judging.blind import blind_payload, explanation_judge_html
from bti_eval.judging.controls import control_test, degrade
from bti_eval.judging.services.assignments import controls_create
from bti_eval.judging.services.invites import judge_invite
from bti_eval.rounds import services as round_services
from bti_eval.rounds.models import EvaluationRound, Explanation
from tests.explanation_payloads import explanation_payload
from tests.factories import EvaluationRoundFactory
from tests.judging.conftest import method_words_in

Status = EvaluationRound.Status


def _shape(payload: dict) -> tuple:
    blind = blind_payload(payload)
    return (
        sorted(blind),
        [[sorted(w) for w in side] for side in blind["words"]],
        [sorted(p) for p in blind["pairs"]],
    )


def test_degrade_keeps_the_words_and_the_shape_but_randomises_saliency_and_pairs():
    real = explanation_payload("bti")
    control = degrade(real, rng=random.Random(0))
    assert control["method"] == "control" and control["similarity"] == real["similarity"]
    assert _shape(control) == _shape(real)
    for side_real, side_control in zip(real["words"], control["words"], strict=True):
        assert [(w["text"], w["start"], w["end"]) for w in side_real] == [
            (w["text"], w["start"], w["end"]) for w in side_control
        ]
        assert all(0.0 <= w["saliency"] <= 1.0 for w in side_control)
    assert len(control["pairs"]) == len(real["pairs"])
    assert {(p["a"], p["b"]) for p in control["pairs"]}.isdisjoint({(p["a"], p["b"]) for p in real["pairs"]})
    scores = [p["score"] for p in control["pairs"]]
    assert scores == sorted(scores, reverse=True)
    assert degrade(real, rng=random.Random(0)) == control  # seeded


@pytest.fixture
def round_with_controls(db) -> EvaluationRound:
    round = EvaluationRoundFactory(explained_pairs=4, methods=["bti", "tfidf-w2v"], status=Status.COMPUTING)
    round_services.round_options_update(round=round, control_items=2)
    return round


def test_controls_are_added_at_opening_once_and_go_to_every_judge(round_with_controls):
    judge, _ = judge_invite(round=round_with_controls, name="early")
    round_services.round_open(round=round_with_controls)
    controls = Explanation.objects.filter(round=round_with_controls, is_control=True)
    assert controls.count() == 2 and set(controls.values_list("method", flat=True)) == {"control"}
    assert all(c.status == Explanation.Status.DONE for c in controls)
    assert controls_create(round=round_with_controls) == 0  # once
    late, _ = judge_invite(round=round_with_controls, name="late")
    for j in (judge, late):
        assert set(controls.values_list("id", flat=True)) <= set(j.assignments.values_list("explanation_id", flat=True))
        assert j.assignments.count() == 8 + 2


def test_control_pairs_follow_the_round_seed(db):
    def control_pairs(seed: int) -> list[str]:
        round = EvaluationRoundFactory(explained_pairs=8, methods=["bti"], status=Status.COMPUTING)
        round.seed = seed
        round.save()
        round_services.round_options_update(round=round, control_items=3)
        round_services.round_open(round=round)
        pairs = sorted(round.pairs.values_list("id", flat=True))
        return [pairs.index(p) for p in round.explanations.filter(is_control=True).values_list("pair_id", flat=True)]

    assert control_pairs(9) == control_pairs(9)


def test_controls_are_blind_to_judges(client, round_with_controls):
    judge, _ = judge_invite(round=round_with_controls, name="Ann")
    round_services.round_open(round=round_with_controls)
    client.force_login(judge.user)
    bodies = {}
    for assignment in judge.assignments.select_related("explanation"):
        body = client.get(f"/api/judge/assignments/{assignment.public_id}/").json()
        bodies[assignment.explanation.is_control] = body
        assert "control" not in body["html"].lower() and not method_words_in(body["html"])
        page = client.get(reverse("judging:rate-item", kwargs={"public_id": assignment.public_id})).content.decode()
        assert "control" not in page.lower()
    assert sorted(bodies[True]) == sorted(bodies[False])  # same fields for a control and a real item


def test_control_html_has_the_same_structure_as_a_real_one(round_with_controls):
    judge, _ = judge_invite(round=round_with_controls, name="Ann")
    round_services.round_open(round=round_with_controls)
    tags = {}
    for assignment in judge.assignments.select_related("explanation__pair"):
        html = explanation_judge_html(explanation=assignment.explanation)
        classes = re.findall(r'class="([^"]+)"', re.sub(r"expl-a\d{3}", "expl-aNNN", html))  # level = saliency
        tags.setdefault(assignment.explanation.is_control, set()).update(classes)
    assert tags[True] == tags[False]


def test_control_items_cannot_exceed_the_pairs_or_change_after_opening(round_with_controls):
    from bti_eval.core.exceptions import ApplicationError

    with pytest.raises(ApplicationError, match="between 0 and the round's number of pairs"):
        round_services.round_options_update(round=round_with_controls, control_items=5)
    round_services.round_open(round=round_with_controls)
    with pytest.raises(ApplicationError) as err:
        round_services.round_options_update(round=round_with_controls, control_items=1)
    assert err.value.status == 409


def test_no_method_can_take_the_control_items_name():
    from bti_eval.judging.controls import CONTROL_METHOD
    from explainers.registry import RESERVED_NAMES

    assert CONTROL_METHOD in RESERVED_NAMES  # a plugin named "control" is refused (tests/explainers/test_plugins.py)


def test_control_test_is_a_one_sided_mann_whitney():
    real, control = [4, 5, 4, 3, 5, 4, 4], [1, 2, 1, 2]
    got = control_test(real, control)
    want = stats.mannwhitneyu(real, control, alternative="greater")
    assert got["u"] == want.statistic and got["p"] == pytest.approx(want.pvalue) and got["flag"] is False
    assert control_test([3, 3, 2, 4], [3, 4])["flag"] is True  # controls not rated lower
    assert control_test([3, 3], [])["flag"] is None
