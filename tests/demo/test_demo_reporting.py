"""The reporting on the demo round (``make demo``'s): the HEDS datasheet and the study plan."""

from __future__ import annotations

import io
import json
import re
from unittest import mock

import jsonschema
import pytest
from django.core.management import call_command

from bti_eval.results.heds import heds_schema
from bti_eval.rounds.models import EvaluationRound, Explanation
from bti_eval.rounds.services import round_open
from tests.demo.test_demo_setup import demo_setup
from tests.explanation_payloads import explanation_payload


@pytest.fixture
def rated_demo_round(db, django_capture_on_commit_callbacks):
    """The demo round after its worker computed it (payloads stand in for the model), with its
    invited demo judge and four simulated judges who rated everything."""
    with mock.patch("bti_eval.rounds.tasks.explain_chunk.apply_async"):
        demo_setup(django_capture_on_commit_callbacks)
    round = EvaluationRound.objects.get()
    for explanation in round.explanations.all():
        explanation.payload = explanation_payload(explanation.method, model="all-MiniLM-L6-v2")
        explanation.status = Explanation.Status.DONE
        explanation.save(update_fields=["payload", "status"])
    round = round_open(round=round)
    call_command("simulate_judges", str(round.pk), "--judges", "4", "--seed", "0", stdout=io.StringIO())
    return round


def test_heds_and_plan_study_work_on_the_demo_round(rated_demo_round):
    round = rated_demo_round
    out = io.StringIO()
    call_command("export_results", str(round.pk), "--format", "heds", stdout=out)
    document = json.loads(out.getvalue())
    jsonschema.Draft202012Validator(heds_schema()).validate(document)
    answers = {**document["sections"]["systems"]["questions"], **document["sections"]["evaluators"]["questions"]}
    assert answers["2.1"]["answer"]["count"] == 7 and answers["2.1"]["answer"]["model"] == "all-MiniLM-L6-v2"
    kinds = {k["kind"]: k["judges"] for k in answers["4.2"]["answer"]["kinds"]}
    assert kinds == {"invited": 1, "without invite": 4}  # the demo judge's invite link, and the simulated judges
    items = document["sections"]["items"]["questions"]
    assert items["3.2"]["answer"] == {"sources": [{"source": "demo", "pairs": 12}]}

    plan = io.StringIO()
    call_command(
        "plan_study", round.name, "--judges", "2", "5", "--pairs", "12", "40", "--simulations", "50", stdout=plan
    )
    text = plan.getvalue()
    assert "7 methods → 21 comparison(s)" in text and "50 simulations per cell" in text
    assert re.search(r"Pilot: \d+ ratings by 4 judges of 7 methods on 12 pairs", text)  # the demo judge rated none
    assert "in the pilot)" in text and "power (rows: judges, each rating every explanation; columns: pairs)" in text
