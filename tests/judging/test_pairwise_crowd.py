"""Crowd participants in a pairwise round: an arrival gets comparisons (two methods side by side),
the screen-out reads which side of each control item they preferred, and the exports carry their
participant id."""

from __future__ import annotations

import csv
import io
import json
import math

import pytest

from bti_eval.judging.models import Judge, Participation
from bti_eval.judging.services.ratings import rating_submit
from bti_eval.judging.services.studies import participant_finish, study_link_create
from bti_eval.results import exports
from bti_eval.rounds import services as round_services
from tests.judging.test_pairwise_rounds import _items, _pairwise_round
from tests.judging.test_studies import arrive, pid

pytestmark = pytest.mark.django_db
Outcome = Participation.Outcome


@pytest.fixture
def pairwise_study():
    """An open pairwise round of 3 pairs with 2 control items, and a Prolific link
    that screens out participants who prefer the degraded controls."""
    round = _pairwise_round(n_pairs=3, controls=2)
    round_services.round_open(round=round)
    link = study_link_create(
        round=round, platform="prolific", completion_code="DONE1", screen_out_failed_controls=True,
        screen_out_code="OUT1",
    )  # fmt: skip
    return round, link


def _choose_all(judge: Judge, *, prefer_control: bool) -> None:
    """Answer every item: a real comparison "left"; on a control item the real side, or the
    degraded one with ``prefer_control``."""
    for assignment in judge.assignments.select_related("explanation", "right_explanation"):
        if assignment.explanation.is_control or assignment.right_explanation.is_control:
            control_on_left = assignment.explanation.is_control
            choice = "left" if control_on_left == prefer_control else "right"
        else:
            choice = "left"
        rating_submit(
            judge=Judge.objects.get(pk=judge.pk), public_id=assignment.public_id, score=None, choice=choice, seconds=4
        )


def test_an_arrival_in_a_pairwise_round_gets_comparisons_and_the_controls(pairwise_study):
    round, link = pairwise_study
    judge = arrive(link, 1).judge
    items = _items(judge)
    assert items and all(right is not None for _, _, right, _, _ in items)  # two sides on every item
    real = [item for item in items if not (item[3] or item[4])]
    method_pairs = math.comb(len(round.methods), 2)
    assert len({(pair, frozenset((left, right))) for pair, left, right, *_ in real}) == 3 * method_pairs
    assert sum(1 for item in items if item[3] or item[4]) == 2  # every control item
    assert judge.participant_id == pid(1)


@pytest.mark.parametrize(("prefer_control", "outcome", "code"), [(False, Outcome.COMPLETED, "DONE1"),
                                                                  (True, Outcome.SCREENED_OUT, "OUT1")])  # fmt: skip
def test_the_screen_out_reads_which_side_of_a_control_item_was_preferred(pairwise_study, prefer_control, outcome, code):
    round, link = pairwise_study
    judge = arrive(link, 2).judge
    _choose_all(judge, prefer_control=prefer_control)
    participation = participant_finish(judge=judge)
    assert (participation.outcome, participation.code) == (outcome, code)


def test_the_pairwise_exports_carry_the_participant_id(pairwise_study):
    round, link = pairwise_study
    judge = arrive(link, 3).judge
    _choose_all(judge, prefer_control=False)
    participant_finish(judge=judge)
    round_services.round_close(round=round)
    rows = list(csv.DictReader(io.StringIO("".join(exports.export(round, "csv")))))
    assert rows and {row["participant_id"] for row in rows} == {pid(3)}
    document = json.loads("".join(exports.export(round, "json")))
    assert {row["participant_id"] for row in document["ratings"]} == {pid(3)}
    assert [p["participant_id"] for p in document["participants"]] == [pid(3)]
