"""The judging app's part of opening a round (``rounds.signals.round_opened``)."""

from __future__ import annotations

from bti_eval.core import jobs
from bti_eval.judging.services.assignments import assignments_build_for_round, controls_create
from bti_eval.judging.tasks import render_judge_html
from bti_eval.rounds.models import EvaluationRound


def judges_prepare(sender, *, round: EvaluationRound, **kwargs) -> None:
    """Control items, every invited judge's assignments, then the judges' HTML rendered once by a
    worker (after the commit). If the broker refuses that task, the judges' first views render it
    instead: slower for them, nothing lost."""
    controls_create(round=round)
    assignments_build_for_round(round=round)
    jobs.enqueue(render_judge_html, [round.pk], check_broker=False)
