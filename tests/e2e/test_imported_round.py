"""End to end: explanations computed elsewhere go through a whole round, blind.

A researcher imports a file into a draft round beside a computed method (bti), through the page;
launching queues both; a real Celery worker computes bti and completes the imported rows from the
round's model (the similarity where the file gave none, the truncation cut); the round opens; a
judge rates the imported items without anything naming the method; results and exports show it
and its provenance.
"""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from bti_eval.judging.services.invites import judge_invite
from bti_eval.rounds import services
from bti_eval.rounds.models import EvaluationRound, Explanation, ImportedMethod
from tests.factories import ParagraphPairFactory, ResearcherFactory
from tests.imported_files import jsonl, pair_lines
from tests.judging.conftest import method_words_in
from tests.worker_process import purge_queues, running_worker, wait_while_computing

NAME = "quokka-attributions"  # words no judge page would hold by chance
WORDS = ("quokka", "attribution")


def _judge_browser(token: str) -> Client:
    browser = Client()
    assert browser.post(f"/j/{token}/").status_code == 302  # the invite signs the judge in
    return browser


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_an_imported_method_goes_through_a_whole_round_blind(tiny_model_dir, tmp_path):
    purge_queues()
    pairs = [
        ParagraphPairFactory(
            text_a="Soft wool gloves with touchscreen fingertips.", text_b="Knitted wool gloves for touchscreens."
        ),
        ParagraphPairFactory(text_a="A long viscose dress with a V-neck.", text_b="Maxi dress in soft viscose."),
    ]
    researcher = ResearcherFactory()
    round = services.round_create(name="e2e import", pairs=pairs, methods=["bti"], model=str(tiny_model_dir))
    judge, token = judge_invite(round=round, name="Ann")
    lines = pair_lines(pairs)
    lines[1]["similarity"] = 0.25
    content = jsonl(*lines)
    page = Client()
    page.force_login(researcher)
    response = page.post(
        f"/rounds/{round.pk}/imported/", {"name": NAME, "file": SimpleUploadedFile("attributions.jsonl", content)}
    )
    assert response.status_code == 302, response.content.decode()[-2000:]

    log = tmp_path / "worker.log"
    with running_worker(model_dir=tiny_model_dir, log=log) as worker:
        assert page.post(f"/rounds/{round.pk}/launch/").status_code == 302
        wait_while_computing(round, worker, log)
    assert round.status == EvaluationRound.Status.RATING, f"round still {round.status}:\n{log.read_text()[-4000:]}"

    # The worker computed bti and completed the imported rows from the round's model.
    rows = {(e.method, e.pair_id): e for e in Explanation.objects.filter(round=round)}
    assert len(rows) == 4 and {e.status for e in rows.values()} == {Explanation.Status.DONE}
    first, second = (rows[(NAME, p.pk)].payload for p in pairs)
    assert first["similarity"] == pytest.approx(rows[("bti", pairs[0].pk)].payload["similarity"], abs=1e-6)
    assert second["similarity"] == 0.25 and first["model"] == tiny_model_dir.name
    assert first["words"] == lines[0]["words"] and first["truncated"] is False

    # The judge rates every item, the imported ones blind.
    browser = _judge_browser(token)
    seen: list[str] = []
    listing = browser.get("/api/judge/assignments/")
    seen.append(listing.content.decode())
    items = listing.json()["items"]
    assert len(items) == 4
    imported_ids = set(judge.assignments.filter(explanation__method=NAME).values_list("public_id", flat=True))
    word_spans = {}
    for item in items:
        public_id = item["public_id"]
        for url in (f"/rate/{public_id}/", f"/api/judge/assignments/{public_id}/"):
            response = browser.get(url)
            assert response.status_code == 200
            seen.append(response.content.decode())
        html = json.loads(seen[-1])["html"]
        word_spans[public_id] = len(re.findall(r'class="expl-word', html))
        rated = browser.put(
            f"/api/judge/assignments/{public_id}/rating/",
            json.dumps({"score": 5 if public_id in imported_ids else 3, "seconds": 6}),
            content_type="application/json",
        )
        assert rated.status_code in (200, 201)
        seen.append(rated.content.decode())
    for text in seen:
        lowered = text.lower()
        assert not [w for w in WORDS if w in lowered], text[:500]
        assert "attributions.jsonl" not in text and method_words_in(text) == []
    # Same words highlighted as spans for every method of a pair: nothing structural tells them apart.
    by_pair = {}
    for assignment in judge.assignments.select_related("explanation"):
        by_pair.setdefault(assignment.explanation.pair_id, set()).add(word_spans[assignment.public_id])
    assert all(len(counts) == 1 for counts in by_pair.values()), by_pair

    # Results and exports: the researcher's name, marked imported, with its provenance.
    results = page.get(f"/rounds/{round.pk}/results/").content.decode()
    assert f'{NAME} <small class="muted">imported</small>' in results
    report = page.get(f"/api/rounds/{round.pk}/results/").json()
    means = {row["method"]: row["mean"] for row in report["methods"]}
    assert means == {"bti": 3.0, NAME: 5.0}
    document = json.loads(page.get(f"/api/rounds/{round.pk}/export/?format=json").content)
    [provenance] = document["round"]["imported_methods"]
    method = ImportedMethod.objects.get(round=round)
    assert provenance["sha256"] == method.sha256 and provenance["file_name"] == "attributions.jsonl"
    assert provenance["lines"] == 2 and provenance["uploaded_by"] == researcher.username
    assert {r["method"] for r in document["ratings"]} == {"bti", NAME}
    export = page.get(f"/api/rounds/{round.pk}/export/?format=methods-csv")
    methods = {r["method"]: r for r in csv.DictReader(io.StringIO(export.content.decode()))}
    assert methods[NAME]["imported_sha256"] == method.sha256 and methods[NAME]["mean"] == "5.0"
    round_page = page.get(f"/rounds/{round.pk}/").content.decode()
    assert method.sha256[:16] in round_page and "attributions.jsonl" in round_page
