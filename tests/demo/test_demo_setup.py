"""``manage.py demo_setup``: demo pairs imported once, a round launched, a researcher login and a judge link."""

from __future__ import annotations

import io
import re
from unittest import mock

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.test import Client

from bti_eval.demo.management.commands.demo_setup import DEMO_PAIRS, DEMO_SOURCE
from bti_eval.pairs.models import ParagraphPair
from bti_eval.rounds.models import EvaluationRound, default_methods

BASE_URL = "http://demo.example:8123"


def demo_setup(capture, *args: str) -> str:
    out = io.StringIO()
    with capture(execute=True):
        call_command("demo_setup", f"--base-url={BASE_URL}/", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def published():
    with mock.patch("bti_eval.rounds.tasks.explain_chunk.apply_async") as patched:
        yield patched


def test_demo_setup_imports_pairs_launches_a_round_and_prints_the_logins(
    db, client, published, django_capture_on_commit_callbacks
):
    output = demo_setup(django_capture_on_commit_callbacks)

    n_pairs = sum(1 for line in DEMO_PAIRS.read_text(encoding="utf-8").splitlines() if line.strip())
    assert ParagraphPair.objects.filter(source=DEMO_SOURCE).count() == n_pairs > 0
    round_ = EvaluationRound.objects.get()
    assert round_.methods == default_methods()  # no --methods: round_create's default
    assert round_.status == EvaluationRound.Status.COMPUTING
    assert round_.explanations.count() == n_pairs * len(default_methods())
    assert published.call_count >= 1  # its chunks went to the broker
    assert f"{n_pairs} pairs x {len(default_methods())} methods" in output

    login = re.search(rf"Researcher: {re.escape(BASE_URL)}/accounts/login/  user 'demo'  password '([^']+)'", output)
    assert login and authenticate(username="demo", password=login.group(1)).is_staff
    assert f"Round page: {BASE_URL}/rounds/{round_.pk}/" in output
    link = re.search(rf"Judge link: {re.escape(BASE_URL)}(/j/[^/\s]+/)", output)
    assert link


def _page(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def test_the_printed_logins_open_the_round_page_and_the_judge_page(
    db, client, published, django_capture_on_commit_callbacks
):
    output = demo_setup(django_capture_on_commit_callbacks)
    round_ = EvaluationRound.objects.get()
    password = re.search(r"user 'demo'  password '([^']+)'", output).group(1)
    round_page = re.search(rf"Round page: {re.escape(BASE_URL)}(/rounds/\d+/)", output).group(1)
    judge_link = re.search(rf"Judge link: {re.escape(BASE_URL)}(/j/[^/\s]+/)", output).group(1)

    researcher = Client()
    assert researcher.login(username="demo", password=password)
    html = _page(researcher.get(round_page))
    assert f"<h1>{round_.name} " in html and 'id="round-status">computing<' in html

    start = _page(client.get(judge_link))  # the start page spends nothing
    assert "<h1>Welcome</h1>" in start and 'id="judge-accept"' in start
    waiting = _page(client.post(judge_link, follow=True))  # signed in; the round is still computing
    assert "<h1>Not open yet</h1>" in waiting and 'id="judge-glossary"' in waiting  # the rubric, to read meanwhile


def test_demo_setup_again_reuses_the_pairs_and_takes_methods(db, published, django_capture_on_commit_callbacks):
    demo_setup(django_capture_on_commit_callbacks)
    pairs = ParagraphPair.objects.count()
    output = demo_setup(django_capture_on_commit_callbacks, "--methods=bti, tfidf-w2v")
    assert ParagraphPair.objects.count() == pairs
    assert EvaluationRound.objects.order_by("-id").first().methods == ["bti", "tfidf-w2v"]
    assert f"{pairs} pairs x 2 methods" in output


def test_the_printed_study_link_is_prolific_style_and_admits_its_example_participant(
    db, published, django_capture_on_commit_callbacks
):
    from bti_eval.judging.models import Judge
    from bti_eval.rounds.models import Explanation
    from tests.explanation_payloads import explanation_payload

    output = demo_setup(django_capture_on_commit_callbacks)
    found = re.search(
        rf"Study link: {re.escape(BASE_URL)}(/s/[0-9a-f]{{32}}/)\?PROLIFIC_PID=([0-9a-f]{{24}})"
        r"&STUDY_ID=([0-9a-f]{24})&SESSION_ID=([0-9a-f]{24})  \(Prolific-style",
        output,
    )
    assert found, output
    path, pid, study, session = found.groups()
    query = {"PROLIFIC_PID": pid, "STUDY_ID": study, "SESSION_ID": session}
    waiting = Client().get(path, query)  # the round is still computing
    assert waiting.status_code == 409 and "not open yet" in waiting.content.decode()
    round_ = EvaluationRound.objects.get()
    for explanation in round_.explanations.all():  # as the worker would have done
        explanation.status, explanation.payload = Explanation.Status.DONE, explanation_payload(explanation.method)
        explanation.save()
    EvaluationRound.objects.filter(pk=round_.pk).update(status=EvaluationRound.Status.RATING)
    arrived = Client().get(path, query)
    assert arrived.status_code == 302 and arrived["Location"] == "/rate/"
    judge = Judge.objects.get(participant_id=pid)
    assert judge.round == round_ and judge.assignments.count() == round_.explanations.count()
