"""End to end: a method from a plugin package goes through a whole blind round.

tests/plugin_example is path-installed into a temporary folder (on sys.path here and on PYTHONPATH
for the worker). A researcher creates a round with the plugin's method through the API and launches
it; a real Celery worker computes it as it computes a built-in; the round opens; a judge fetches and
rates every item, seeing nothing that names the method; the results label it with the plugin's title.
"""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from bti_eval.judging.services.invites import judge_invite
from bti_eval.rounds.models import EvaluationRound, Explanation
from tests.factories import ResearcherFactory, gloves_and_dress_pairs
from tests.judging.conftest import method_words_in
from tests.plugin_install import EXAMPLE_DISTRIBUTION, EXAMPLE_METHOD, EXAMPLE_MODULE, EXAMPLE_TITLE
from tests.worker_process import purge_queues, running_worker, wait_while_computing

# Everything that would name the plugin's method to a judge, in any spelling.
PLUGIN_WORDS = (EXAMPLE_METHOD, EXAMPLE_TITLE, "Gradient &times; Input", EXAMPLE_DISTRIBUTION, EXAMPLE_MODULE)


def _leaks(text: str) -> list[str]:
    return [word for word in PLUGIN_WORDS if word.lower() in text.lower()] + method_words_in(text)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_plugin_method_goes_through_a_whole_blind_round(tiny_model_dir, example_plugin, tmp_path):
    purge_queues()
    pairs = gloves_and_dress_pairs()
    researcher = APIClient()
    researcher.force_authenticate(ResearcherFactory())
    created = researcher.post(
        "/api/rounds/",
        {"name": "plugin e2e", "pairs": [p.pk for p in pairs], "methods": ["bti", EXAMPLE_METHOD]},
        format="json",
    )
    assert created.status_code == 201, created.json()
    round = EvaluationRound.objects.get(pk=created.json()["id"])

    log = tmp_path / "worker.log"
    with running_worker(model_dir=tiny_model_dir, log=log) as worker:  # PYTHONPATH has the plugin
        launched = researcher.post(f"/api/rounds/{round.pk}/launch/")
        assert launched.status_code == 202, launched.json()
        wait_while_computing(round, worker, log)

    rows = Explanation.objects.filter(round=round)
    errors = list(rows.exclude(error="").values_list("error", flat=True))
    assert round.status == EvaluationRound.Status.RATING, f"round {round.status}, {errors}:\n{log.read_text()[-4000:]}"
    assert set(rows.values_list("status", flat=True)) == {Explanation.Status.DONE}
    plugin_rows = rows.filter(method=EXAMPLE_METHOD)
    assert plugin_rows.count() == 2 and all(r.payload["method"] == EXAMPLE_METHOD for r in plugin_rows)
    assert all(r.payload["model"] == tiny_model_dir.name and r.payload["pairs"] for r in plugin_rows)

    # A judge's whole visit: every page and JSON item, each rated.
    judge, token = judge_invite(round=round, name="Dana")
    browser = Client()
    seen = [("GET /j/", browser.get(f"/j/{token}/")), ("POST /j/", browser.post(f"/j/{token}/"))]
    seen += [(url, browser.get(url)) for url in ("/rate/", "/api/judge/assignments/")]
    assignments = list(judge.assignments.order_by("position"))
    assert len(assignments) == 4
    for assignment in assignments:
        page = browser.get(f"/rate/{assignment.public_id}/")
        item = browser.get(f"/api/judge/assignments/{assignment.public_id}/")
        assert page.status_code == 200 and item.status_code == 200
        assert item.json()["html"] and item.json()["text_a"] in (pairs[0].text_a, pairs[1].text_a)
        rated = browser.put(
            f"/api/judge/assignments/{assignment.public_id}/rating/",
            '{"score": 4, "seconds": 6}',
            content_type="application/json",
        )
        assert rated.status_code in (200, 201), rated.content
        seen += [(f"rate {assignment.public_id}", page), ("item", item), ("rating", rated)]
    seen.append(("GET /rate/done/", browser.get("/rate/done/")))
    for request, response in seen:
        assert _leaks(response.content.decode(errors="replace")) == [], request

    results = researcher.get(f"/api/rounds/{round.pk}/results/").json()
    labels = {row["method"]: (row["label"], row["n"]) for row in results["methods"]}
    assert labels[EXAMPLE_METHOD] == (EXAMPLE_TITLE, 2) and labels["bti"] == ("BTI", 2)
    researcher_page = Client()
    researcher_page.force_login(round.created_by)
    assert EXAMPLE_TITLE in researcher_page.get(f"/rounds/{round.pk}/results/").content.decode()
