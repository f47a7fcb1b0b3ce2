"""The results app's part of opening and closing a round (``rounds.signals``)."""

from __future__ import annotations

from bti_eval.core import jobs
from bti_eval.results.services import auto_evaluation_request
from bti_eval.results.tasks import report_compute
from bti_eval.rounds.models import EvaluationRound


def auto_metrics_request(sender, *, round: EvaluationRound, **kwargs) -> None:
    """The automatic metrics' job, when the round asked for it at creation (queued after the commit;
    a refused enqueue marks the job failed, the opening stands)."""
    if round.auto_metrics:
        auto_evaluation_request(round=round, check_broker=False)


def report_prepare(sender, *, round: EvaluationRound, **kwargs) -> None:
    """Queue the closed round's report (after the commit; if the broker refuses, the first view or
    export computes it, as before)."""
    jobs.enqueue(report_compute, [round.pk], check_broker=False)
