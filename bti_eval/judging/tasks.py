"""Judging tasks: render a round's judge HTML once when it opens (``default`` queue: no model)."""

from __future__ import annotations

from celery import shared_task

from bti_eval.core.jobs import JobTask


@shared_task(name="bti_eval.render_judge_html", base=JobTask)
def render_judge_html(round_id: int) -> int:
    """Render every explanation's judge HTML of the round; an explanation it has not reached is
    rendered on a judge's first view instead (nothing to mark failed)."""
    from bti_eval.judging.services.judge_html import round_judge_html_render

    return round_judge_html_render(round_id=round_id)
