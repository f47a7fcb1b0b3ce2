"""Hostile and bad input: bad scores, other judges' items, closed rounds, a 100 MB upload, a non-UTF-8
CSV, HTML and script in every text a page shows, and spreadsheet formulas in the CSV export."""

from __future__ import annotations

import csv
import io
import json
import socket
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from bti_eval.judging.models import Rating
from bti_eval.judging.services.invites import judge_invite
from bti_eval.judging.services.ratings import ASSIGNMENT_NOT_FOUND, rating_submit
from bti_eval.pairs.models import ParagraphPair
from bti_eval.rounds.models import EvaluationRound, Explanation
from tests.factories import (
    EvaluationRoundFactory,
    ExplanationFactory,
    JudgeFactory,
    ParagraphPairFactory,
    RatingFactory,
    ResearcherFactory,
)
from tests.judging.payloads import payload_for_texts

HUNDRED_MB = 100 * 1024 * 1024
SCRIPT = '<script>alert("owned")</script>'
IMG = "<img src=x onerror=alert(1)>"


def _rate(client: Client, public_id: str, body, method: str = "put"):
    data = body if isinstance(body, str) else json.dumps(body)
    return client.generic(
        method.upper(), f"/api/judge/assignments/{public_id}/rating/", data, content_type="application/json"
    )


# --- ratings ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [{"score": 0}, {"score": 6}, {"score": "abc"}, {"score": None}, {"score": 3.5}, {"score": True}, {}, "not json"],
    ids=["0", "6", "abc", "null", "3.5", "true", "missing", "not-json"],
)
def test_bad_scores_are_a_clear_400_and_store_nothing(world, body):
    client = world.client("judge")
    public_id = world.judge.assignments.first().public_id
    response = _rate(client, public_id, body)
    assert response.status_code == 400
    message = response.json()["message"]
    assert "score" in message.lower() or "json" in message.lower(), message
    assert not Rating.objects.exists()


def test_rating_someone_elses_assignment_is_404_and_changes_nothing(world):
    theirs = world.judge.assignments.first()
    rating_submit(judge=world.judge, public_id=theirs.public_id, score=2, seconds=1)
    for method in ("put", "post"):
        response = _rate(world.client("other_judge"), theirs.public_id, {"score": 5}, method)
        assert response.status_code == 404 and response.json()["message"] == ASSIGNMENT_NOT_FOUND
    assert Rating.objects.get().score == 2
    assert _rate(world.client("researcher"), theirs.public_id, {"score": 5}).status_code == 403


def test_rating_in_a_closed_round_is_409_and_the_rating_stays_frozen(world):
    first = world.judge.assignments.first()
    client = world.client("judge")
    assert _rate(client, first.public_id, {"score": 4}).status_code == 201
    EvaluationRound.objects.filter(pk=world.round.pk).update(status=EvaluationRound.Status.CLOSED)
    for public_id in (first.public_id, world.judge.assignments.last().public_id):
        response = _rate(client, public_id, {"score": 1})
        assert response.status_code == 409 and "closed" in response.json()["message"]
    assert list(Rating.objects.values_list("score", flat=True)) == [4]


# --- uploads ---------------------------------------------------------------------------------


class CountingStream:
    """A request body of ``size`` bytes that counts what the server reads of it."""

    def __init__(self, size: int):
        self.size, self.read_bytes = size, 0

    def read(self, n: int = -1) -> bytes:
        n = self.size - self.read_bytes if n is None or n < 0 else min(n, self.size - self.read_bytes)
        self.read_bytes += n
        return b"a" * n

    def readline(self, n: int = -1) -> bytes:
        return self.read(min(n, 1024) if n and n > 0 else 1024)


@pytest.mark.parametrize("url", ["/api/pairs/import/", "/pairs/import/"])
def test_a_100_mb_upload_is_413_before_a_byte_of_it_is_read(world, url):
    client = world.client("researcher")
    pairs_before = ParagraphPair.objects.count()
    body = CountingStream(HUNDRED_MB)
    started = time.perf_counter()
    response = client.generic(
        "POST",
        url,
        **{"wsgi.input": body, "CONTENT_LENGTH": str(HUNDRED_MB), "CONTENT_TYPE": "multipart/form-data; boundary=x"},
    )
    assert response.status_code == 413
    assert body.read_bytes == 0
    assert time.perf_counter() - started < 2
    text = response.json()["message"] if url.startswith("/api/") else response.content.decode()
    assert "BTI_MAX_UPLOAD_BYTES" in text and "104,857,600" in text
    assert ParagraphPair.objects.count() == pairs_before


@pytest.mark.django_db(transaction=True)
def test_a_streamed_100_mb_upload_over_http_is_refused_at_once(live_server):
    """A real socket: the headers announce 100 MB, the client sends a little, the answer is 413."""
    host, port = live_server.thread.host, live_server.thread.port
    with socket.create_connection((host, port), timeout=10) as sock:
        head = (
            "POST /api/pairs/import/ HTTP/1.1\r\n"
            f"Host: {host}\r\nContent-Type: multipart/form-data; boundary=xyz\r\n"
            f"Content-Length: {HUNDRED_MB}\r\nConnection: close\r\n\r\n"
        )
        started = time.perf_counter()
        sock.sendall(head.encode() + b"--xyz\r\n" + b"a" * 65536)
        answer = b""
        while b"BTI_MAX_UPLOAD_BYTES" not in answer and time.perf_counter() - started < 5:
            chunk = sock.recv(65536)  # the answer comes while the rest of the 100 MB is never sent
            if not chunk:
                break
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert time.perf_counter() - started < 5
    assert b"BTI_MAX_UPLOAD_BYTES" in answer


def test_a_non_utf8_csv_is_refused_clearly_and_writes_nothing(world):
    latin1 = "id,a,b\n1,Gants en laine très doux,Gants tricotés\n".encode("latin-1")
    client = world.client("researcher")
    pairs_before = ParagraphPair.objects.count()
    response = client.post(
        "/api/pairs/import/", {"file": SimpleUploadedFile("pairs.csv", latin1, "text/csv"), "source": "latin"}
    )
    assert response.status_code == 400
    assert "not UTF-8" in response.json()["message"] and "save it as UTF-8" in response.json()["message"]
    page = client.post("/pairs/import/", {"file": SimpleUploadedFile("pairs.csv", latin1), "source": "latin"})
    assert page.status_code == 400 and "not UTF-8" in page.content.decode()
    assert ParagraphPair.objects.count() == pairs_before


# --- HTML and script -------------------------------------------------------------------------


def _assert_escaped(response, *payloads: str) -> None:
    html = response.content.decode()
    assert response.status_code == 200, response.status_code
    for payload in payloads:
        assert payload not in html, f"{payload!r} is in {response.request['PATH_INFO']} unescaped"
    assert "&lt;script&gt;" in html or "&lt;img" in html, response.request["PATH_INFO"]


def test_html_and_script_in_texts_are_escaped_on_every_page(db):
    text_a = f"Soft wool gloves {SCRIPT} with {IMG} fingertips."
    text_b = f"Knitted gloves {SCRIPT} in wool."
    pair = ParagraphPairFactory(
        text_a=text_a, text_b=text_b, title_a=SCRIPT, external_id=f"x{IMG}", source=f"src{SCRIPT}"
    )
    round = EvaluationRoundFactory(name=f"round {SCRIPT}", status=EvaluationRound.Status.RATING, methods=["bti"])
    round.pairs.add(pair)
    ExplanationFactory(round=round, pair=pair, method="bti", payload=payload_for_texts(text_a, text_b))
    judge, _ = judge_invite(round=round, name=f"judge {SCRIPT}")
    failing = EvaluationRoundFactory(name="failing", status=EvaluationRound.Status.COMPUTING, methods=["bti"])
    failing.pairs.add(pair)
    ExplanationFactory(
        round=failing, pair=pair, method="bti", status=Explanation.Status.FAILED, payload=None, error=f"boom {SCRIPT}"
    )

    researcher = Client()
    researcher.force_login(ResearcherFactory())
    for url in (
        "/pairs/",
        f"/pairs/?source=src{SCRIPT}",
        "/rounds/",
        f"/rounds/{round.pk}/",
        f"/rounds/{failing.pk}/",
        f"/rounds/{round.pk}/judges/",
        f"/rounds/{round.pk}/results/",
    ):
        _assert_escaped(researcher.get(url), SCRIPT, IMG)
    assert "boom &lt;script&gt;" in researcher.get(f"/rounds/{failing.pk}/").content.decode()

    judge_browser = Client()
    judge_browser.force_login(judge.user)
    item = judge.assignments.get()
    page = judge_browser.get(f"/rate/{item.public_id}/")
    _assert_escaped(page, SCRIPT, IMG)
    assert page.content.decode().count("<script") == 1  # judge.js, inlined; nothing else
    api = judge_browser.get(f"/api/judge/assignments/{item.public_id}/")
    assert api["Content-Type"] == "application/json" and SCRIPT not in api.json()["html"]
    assert api["X-Content-Type-Options"] == "nosniff"


def test_import_preview_escapes_the_files_cells(db):
    client = Client()
    client.force_login(ResearcherFactory())
    content = f'id,a,b\n1,"{SCRIPT}","{IMG}"\n'.encode()
    upload = client.post("/pairs/import/", {"file": SimpleUploadedFile("evil.csv", content), "source": "evil"})
    assert upload.status_code == 302
    _assert_escaped(client.get("/pairs/import/preview/"), SCRIPT, IMG)


# --- CSV export ------------------------------------------------------------------------------


@pytest.mark.parametrize("formula", ['=HYPERLINK("http://x")', "+SUM(A1:A9)", "-2+3", "@cmd", "\t=1", "\r=1"])
def test_export_cells_that_a_spreadsheet_would_run_are_neutralised(db, formula):
    round = EvaluationRoundFactory(name=formula, status=EvaluationRound.Status.CLOSED, methods=["bti"])
    pair = ParagraphPairFactory(external_id=formula)
    explanation = ExplanationFactory(round=round, pair=pair, method="bti")
    judge = JudgeFactory(round=round, name=formula)
    RatingFactory(assignment__judge=judge, assignment__explanation=explanation, score=3)
    client = Client()
    client.force_login(ResearcherFactory())
    response = client.get(f"/api/rounds/{round.pk}/export/?format=csv")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == 1
    for column in ("round", "judge", "pair"):
        assert rows[0][column] == "'" + formula, (column, rows[0][column])
    assert rows[0]["score"] == "3"


@pytest.mark.parametrize(
    ("method", "url"),
    [("GET", "/rate/%00/"), ("GET", "/api/judge/assignments/a%00b/"), ("PUT", "/api/judge/assignments/%00/rating/")],
)
def test_a_nul_in_a_judges_item_address_is_a_404_not_a_server_error(world, method, url):
    client = world.client("judge")
    response = client.generic(method, url, json.dumps({"score": 3}), content_type="application/json")
    assert response.status_code == 404
