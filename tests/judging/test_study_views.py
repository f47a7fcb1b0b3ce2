"""Crowd study links over HTTP: arrival pages (Prolific, MTurk in its frame and tab, generic), the
participant's done page and way back, and the researcher's judges page, CSV and API."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from bti_eval.judging.models import Judge, Participation, StudyLink
from bti_eval.judging.services.ratings import rating_submit
from bti_eval.judging.services.studies import study_link_create
from bti_eval.rounds.models import EvaluationRound
from tests.factories import ResearcherFactory
from tests.judging.test_studies import pid, prolific

pytestmark = pytest.mark.django_db
Status = EvaluationRound.Status
MTURK = {"hitId": "3HIT9", "turkSubmitTo": "https://workersandbox.mturk.com", "workerId": "A1WORKER"}


def _url(link: StudyLink) -> str:
    return reverse("judging:study-arrive", kwargs={"token": link.token})


def _rate_all(client: Client, judge: Judge, score: int = 4, control_score: int | None = None) -> None:
    for assignment in judge.assignments.select_related("explanation"):
        given = control_score if assignment.explanation.is_control and control_score is not None else score
        response = client.put(
            reverse("api-judge-rating", kwargs={"public_id": assignment.public_id}),
            json.dumps({"score": given, "seconds": 4}),
            content_type="application/json",
        )
        assert response.status_code == 201, response.content


@pytest.fixture
def researcher_client(client) -> Client:
    client.force_login(ResearcherFactory())
    return client


# --- arrival ---------------------------------------------------------------------------------


def test_a_prolific_participant_arrives_signed_in_and_finishes_with_the_return_to_prolific(rating_round):
    link = study_link_create(round=rating_round, platform="prolific", completion_code="C0MPL3T3")
    browser = Client()
    response = browser.get(_url(link), prolific(1))
    assert response.status_code == 302 and response["Location"] == reverse("judging:rate")
    assert response["X-Frame-Options"] == "DENY"
    judge = Judge.objects.get(participant_id=pid(1))
    assert browser.get(reverse("judging:rate")).wsgi_request.user == judge.user
    assert browser.get(reverse("judging:rate-done"))["Location"] == reverse("judging:rate-next")  # not done yet
    _rate_all(browser, judge)
    done = browser.get(reverse("judging:rate-done"))
    page = done.content.decode()
    assert done.status_code == 200 and "C0MPL3T3" in page and "no-store" in done["Cache-Control"]
    assert 'href="https://app.prolific.com/submissions/complete?cc=C0MPL3T3"' in page
    assert pid(1) not in page and "Review your ratings" not in page
    # Finished: items and the next-item redirect lead to the done page; ratings are refused.
    first = judge.assignments.first()
    assert browser.get(reverse("judging:rate-item", kwargs={"public_id": first.public_id}))["Location"] == (
        reverse("judging:rate-done")
    )
    assert browser.get(reverse("judging:rate-next"))["Location"] == reverse("judging:rate-done")
    refused = browser.put(
        reverse("api-judge-rating", kwargs={"public_id": first.public_id}),
        json.dumps({"score": 1}),
        content_type="application/json",
    )
    assert refused.status_code == 409
    # Coming back through the link in the same browser: the same judge, on to the done page.
    assert browser.get(_url(link), prolific(1))["Location"] == reverse("judging:rate")
    assert Judge.objects.count() == 1


@pytest.mark.parametrize(
    ("query", "status", "title"),
    [
        ({}, 400, "This study link is incomplete"),
        ({"PROLIFIC_PID": "x", "STUDY_ID": pid(2), "SESSION_ID": pid(3)}, 400, "This study link is incomplete"),
        ({"PROLIFIC_PID": pid(1) + "\x00", "STUDY_ID": pid(2), "SESSION_ID": pid(3)}, 400, "incomplete"),
    ],
)
def test_a_missing_or_malformed_id_gets_a_clear_page_and_creates_nothing(rating_round, query, status, title):
    link = study_link_create(round=rating_round, platform="prolific")
    response = Client().get(_url(link), query)
    assert response.status_code == status and title in response.content.decode()
    assert "Traceback" not in response.content.decode()
    assert not Judge.objects.exists() and "sessionid" not in response.cookies


def test_full_closed_and_not_open_studies_get_polite_pages(rating_round):
    link = study_link_create(round=rating_round, platform="prolific", quota=1)
    assert Client().get(_url(link), prolific(1)).status_code == 302
    full = Client().get(_url(link), prolific(2))
    assert full.status_code == 409 and "This study is full" in full.content.decode()
    link.closed_at = timezone.now()
    link.save()
    closed = Client().get(_url(link), prolific(3))
    assert closed.status_code == 410 and "This study is closed" in closed.content.decode()
    draft = study_link_create(round=rating_round, platform="prolific")
    EvaluationRound.objects.filter(pk=rating_round.pk).update(status=Status.COMPUTING)
    waiting = Client().get(_url(draft), prolific(4))
    assert waiting.status_code == 409 and "not open yet" in waiting.content.decode()
    EvaluationRound.objects.filter(pk=rating_round.pk).update(status=Status.CLOSED)  # the round itself closed
    ended = Client().get(_url(draft), prolific(5))
    assert ended.status_code == 410 and "This study is closed" in ended.content.decode()
    assert "Thank you for your interest" in ended.content.decode()
    for page in (full, closed, waiting, ended):  # the study's state, not a mistake: not in the error colour
        assert 'class="judge-notice"' in page.content.decode() and 'class="judge-error"' not in page.content.decode()
    broken = Client().get(_url(draft))  # no participant id: the visitor's link is wrong
    assert broken.status_code == 400 and 'class="judge-error"' in broken.content.decode()
    assert Judge.objects.count() == 1


def test_an_unknown_link_is_a_404_and_guessing_links_is_rate_limited(rating_round):
    browser = Client(REMOTE_ADDR="10.9.9.9")
    for n in range(20):
        assert browser.get(f"/s/{n:032x}/", prolific(1)).status_code == 404
    blocked = browser.get(f"/s/{99:032x}/", prolific(1))
    assert blocked.status_code == 429 and blocked["Retry-After"]


def test_the_same_participant_in_another_browser_with_another_session_is_refused(rating_round):
    link = study_link_create(round=rating_round, platform="prolific")
    Client().get(_url(link), prolific(1))
    response = Client().get(_url(link), prolific(1, session=50))
    assert response.status_code == 409 and "another browser" in response.content.decode()
    assert Client().get(_url(link), prolific(1)).status_code == 302  # same session id: goes on


def test_bad_query_values_never_cause_a_server_error(rating_round):
    links = [
        study_link_create(round=rating_round, platform="prolific"),
        study_link_create(round=rating_round, platform="mturk"),
        study_link_create(round=rating_round, platform="generic", participant_param="pid", session_param="sid"),
    ]
    values = ["", "\x00", "é" * 30, "x" * 5000, "%", "../../etc", "<script>", "1" * 24, "ASSIGNMENT_ID_NOT_AVAILABLE"]
    names = [
        "PROLIFIC_PID",
        "STUDY_ID",
        "SESSION_ID",
        "workerId",
        "assignmentId",
        "hitId",
        "turkSubmitTo",
        "pid",
        "sid",
    ]
    for link in links:
        for value in values:
            response = Client().get(_url(link), {name: value for name in names})
            assert 400 <= response.status_code < 500 or response.status_code in (200, 302), (link.platform, value)
    assert Client().get("/s/" + "x" * 300 + "/").status_code == 404


# --- MTurk -----------------------------------------------------------------------------------


def test_mturk_preview_shows_a_read_only_sample_in_mturks_frame_and_creates_nothing(rating_round):
    link = study_link_create(round=rating_round, platform="mturk")
    response = Client().get(
        _url(link),
        {"assignmentId": "ASSIGNMENT_ID_NOT_AVAILABLE", "hitId": "H1", "turkSubmitTo": "https://www.mturk.com"},
    )
    page = response.content.decode()
    assert response.status_code == 200 and "Preview of this task" in page
    assert 'class="judge-explanation"' in page and "disabled" in page and 'id="judge-item"' not in page
    policy = response["Content-Security-Policy"]
    assert "frame-ancestors https://www.mturk.com https://workersandbox.mturk.com" in policy
    assert "X-Frame-Options" not in response
    assert not Judge.objects.exists() and "sessionid" not in response.cookies


def test_an_mturk_worker_starts_in_the_frame_works_in_a_tab_and_submits_to_mturk(rating_round):
    link = study_link_create(round=rating_round, platform="mturk", completion_code="MT0K")
    params = {**MTURK, "assignmentId": "3ASSIGN1"}
    frame = Client().get(_url(link), params)  # MTurk's frame: the judge is made, the task opens in a tab
    page = frame.content.decode()
    assert frame.status_code == 200 and 'id="study-open"' in page and 'target="_blank"' in page
    assert "A1WORKER" not in page and "3ASSIGN1" not in page
    assert "frame-ancestors https://www.mturk.com" in frame["Content-Security-Policy"]
    tab = Client()
    opened = tab.get(_url(link), {**params, "tab": "1"})  # the tab: same worker and assignment, so resumed
    assert opened.status_code == 302 and opened["Location"] == reverse("judging:rate")
    assert "frame-ancestors 'none'" in opened["Content-Security-Policy"]
    judge = Judge.objects.get()
    assert judge.participation.submit_to == "https://workersandbox.mturk.com"
    _rate_all(tab, judge)
    done = tab.get(reverse("judging:rate-done"))
    page = done.content.decode()
    assert 'action="https://workersandbox.mturk.com/mturk/externalSubmit"' in page
    assert 'name="assignmentId" value="3ASSIGN1"' in page and 'name="completion_code" value="MT0K"' in page
    assert "form-action 'self' https://workersandbox.mturk.com" in done["Content-Security-Policy"]
    assert "A1WORKER" not in page


# --- done page -------------------------------------------------------------------------------


def test_a_participant_who_fails_the_controls_gets_the_screen_out_code(controlled_round):
    link = study_link_create(
        round=controlled_round,
        platform="prolific",
        completion_code="GOOD1",
        screen_out_failed_controls=True,
        screen_out_code="SCREEN1",
    )
    browser = Client()
    browser.get(_url(link), prolific(1))
    _rate_all(browser, Judge.objects.get(), score=2, control_score=5)
    page = browser.get(reverse("judging:rate-done")).content.decode()
    assert "cc=SCREEN1" in page and "GOOD1" not in page and "attention checks" in page


def test_a_participant_out_of_time_is_sent_to_the_done_page_without_a_code(rating_round):
    link = study_link_create(round=rating_round, platform="prolific", time_limit_minutes=10)
    browser = Client()
    browser.get(_url(link), prolific(1))
    judge = Judge.objects.get()
    first = judge.assignments.order_by("position").first()
    item = browser.get(reverse("judging:rate-item", kwargs={"public_id": first.public_id}))
    assert item.status_code == 200 and "min left" in item.content.decode()
    Judge.objects.filter(pk=judge.pk).update(deadline_at=timezone.now() - timedelta(seconds=1))
    assert browser.get(reverse("judging:rate-next"))["Location"] == reverse("judging:rate-done")
    page = browser.get(reverse("judging:rate-done")).content.decode()
    assert "Your time is up" in page and link.completion_code not in page
    assert Participation.objects.get().outcome == "timed-out"


# --- researchers -----------------------------------------------------------------------------


def test_the_judges_page_creates_lists_and_closes_links_and_shows_participants(researcher_client, rating_round):
    page_url = reverse("judging:round-judges", kwargs={"round_id": rating_round.pk})
    created = researcher_client.post(
        reverse("judging:round-study-links", kwargs={"round_id": rating_round.pk}),
        {"platform": "prolific", "label": "pilot", "completion_code": "PILOT1", "quota": "50"},
    )
    assert created.status_code == 302
    link = StudyLink.objects.get()
    assert (link.label, link.completion_code, link.quota) == ("pilot", "PILOT1", 50)
    browser = Client()
    browser.get(_url(link), prolific(1))
    _rate_all(browser, Judge.objects.get())
    browser.get(reverse("judging:rate-done"))
    Client().get(_url(link), prolific(2))
    page = researcher_client.get(page_url).content.decode()
    assert f"/s/{link.token}/?PROLIFIC_PID={{{{%PROLIFIC_PID%}}}}" in page
    assert pid(1) in page and pid(2) in page
    summary = page[page.index('id="crowd-summary"') :][:600]
    assert "<strong>2</strong> arrived" in summary and "<strong>1</strong> completed" in summary
    assert "<strong>0</strong> screened out" in summary and "median time <strong>" in summary
    closed = researcher_client.post(
        reverse("judging:study-link-close", kwargs={"round_id": rating_round.pk, "link_id": link.pk})
    )
    assert closed.status_code == 302 and StudyLink.objects.get().closed_at is not None
    assert "(closed)" in researcher_client.get(page_url).content.decode()


def test_bad_link_forms_answer_400_with_the_reason(researcher_client, rating_round):
    url = reverse("judging:round-study-links", kwargs={"round_id": rating_round.pk})
    for form, says in (
        ({}, "Choose a platform"),
        ({"platform": "prolific", "quota": "0"}, "greater than or equal to 1"),
        ({"platform": "prolific", "quota": "x"}, "whole number"),
        ({"platform": "prolific", "completion_code": "a b"}, "completion code"),
        ({"platform": "generic"}, "participant parameter"),
        ({"platform": "prolific", "label": "a\x00"}, "Null characters"),
        ({"platform": "prolific", "screen_out_failed_controls": "on", "screen_out_code": "S1"}, "can never pass"),
    ):
        response = researcher_client.post(url, form)
        assert response.status_code == 400, form
        assert says in response.content.decode(), form
    assert not StudyLink.objects.exists()


def test_the_participants_csv_holds_ids_outcomes_and_codes(researcher_client, rating_round):
    link = study_link_create(round=rating_round, platform="prolific", completion_code="CSV1")
    browser = Client()
    browser.get(_url(link), prolific(1))
    _rate_all(browser, Judge.objects.get())
    browser.get(reverse("judging:rate-done"))
    response = researcher_client.get(reverse("judging:round-participants-csv", kwargs={"round_id": rating_round.pk}))
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert response.status_code == 200 and len(rows) == 1
    row = rows[0]
    assert (row["participant_id"], row["study_session"], row["outcome"], row["code"]) == (
        pid(1),
        pid(10_001),
        "completed",
        "CSV1",
    )
    assert float(row["minutes"]) >= 0 and row["rated"] == row["total"]


def test_the_api_creates_lists_and_closes_links(researcher_client, rating_round):
    url = reverse("api-round-study-links", kwargs={"round_id": rating_round.pk})
    body = {"platform": "generic", "participant_param": "pid", "session_param": "sid", "time_limit_minutes": 20}
    created = researcher_client.post(url, body, content_type="application/json")
    assert created.status_code == 201, created.content
    link = created.json()
    assert link["participant_url"].endswith("?pid=PARTICIPANT_ID&sid=SESSION_ID")
    assert link["url"].startswith("http://testserver/s/") and link["arrivals"] == 0
    Client().get(link["url"], {"pid": "P1", "sid": "S1"})
    listed = researcher_client.get(url).json()
    assert [row["arrivals"] for row in listed] == [1]
    judges = researcher_client.get(reverse("api-round-judges", kwargs={"round_id": rating_round.pk})).json()
    assert [(j["platform"], j["participant_id"], j["outcome"]) for j in judges] == [("generic", "P1", "")]
    closed = researcher_client.post(reverse("api-study-link-close", kwargs={"link_id": link["id"]}))
    assert closed.status_code == 200 and closed.json()["closed_at"] and closed.json()["arrivals"] == 1
    for bad, says in (
        ({"platform": "nope"}, "platform"),
        ({"platform": "prolific", "quota": 0}, "quota"),
        ({"platform": "prolific", "completion_code": "a b"}, "completion_code"),
        ({"platform": "prolific", "items_per_participant": 3}, "k-per-item"),
        ({"platform": "prolific", "label": "\x00"}, "label"),
    ):
        response = researcher_client.post(url, bad, content_type="application/json")
        assert response.status_code == 400 and says in response.json()["message"], (bad, response.json())
    assert researcher_client.post(reverse("api-study-link-close", kwargs={"link_id": 987654})).status_code == 404


def test_judges_never_see_participant_ids_but_researchers_do(rating_round):
    link = study_link_create(round=rating_round, platform="prolific")
    first, second = Client(), Client()
    first.get(_url(link), prolific(1))
    second.get(_url(link), prolific(2))
    judge = Judge.objects.get(participant_id=pid(1))
    seen = [first.get(reverse("judging:rate"), follow=True), first.get(reverse("api-judge-assignments"))]
    for assignment in judge.assignments.all():
        seen.append(first.get(reverse("judging:rate-item", kwargs={"public_id": assignment.public_id})))
        seen.append(first.get(reverse("api-judge-assignment", kwargs={"public_id": assignment.public_id})))
    rating_submit(judge=judge, public_id=judge.assignments.first().public_id, score=3, seconds=1)
    for response in seen:
        text = response.content.decode()
        assert pid(1) not in text and pid(2) not in text and pid(10_001) not in text


def test_a_participant_who_lost_their_browser_goes_on_through_a_new_link_from_the_researcher(
    researcher_client, rating_round
):
    link = study_link_create(round=rating_round, platform="generic", participant_param="pid")
    first = Client()
    first.get(_url(link), {"pid": "P-9"})
    judge = Judge.objects.get()
    rating_submit(judge=judge, public_id=judge.assignments.first().public_id, score=5, seconds=2)
    elsewhere = Client()
    assert elsewhere.get(_url(link), {"pid": "P-9"}).status_code == 409  # no session parameter: same browser only
    researcher_client.post(reverse("judging:judge-reissue", kwargs={"round_id": rating_round.pk, "judge_id": judge.pk}))
    invite_url = researcher_client.get(reverse("judging:round-judges-links-csv", kwargs={"round_id": rating_round.pk}))
    url = next(csv.DictReader(io.StringIO(invite_url.content.decode())))["invite_link"]
    assert elsewhere.post(url.removeprefix("http://testserver")).status_code == 302
    assert elsewhere.get(reverse("judging:rate")).wsgi_request.user == judge.user
    assert elsewhere.get(reverse("judging:rate-next"))["Location"] != reverse("judging:rate-done")  # goes on
    assert first.get(reverse("judging:rate")).status_code == 403  # the old browser is signed out


@pytest.mark.parametrize("token", ["%00", "abc%00def", "%FF%FE", "%C3%A9" * 10, "x" * 65, "%E2%80%AE"])
def test_a_hostile_token_is_a_404_page(rating_round, token):
    response = Client().get(f"/s/{token}/", prolific(1))
    assert response.status_code == 404 and "This study link does not work" in response.content.decode()
