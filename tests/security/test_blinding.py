"""Blinding, end to end: everything a judge's browser receives on a whole visit (pages, JSON, headers,
redirect URLs, cookies, error pages) is free of method names and internal ids, and a crowd
participant's from no participant id, theirs or another's; public ids are random."""

from __future__ import annotations

import json
import math
import re
from base64 import urlsafe_b64decode

import numpy as np
import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from scipy import stats

from bti_eval.judging.blind import blind_payload, explanation_judge_html
from bti_eval.judging.models import Assignment, Invite, Judge, StudyLink
from bti_eval.judging.services.invites import judge_invite
from bti_eval.judging.services.judge_html import round_judge_html_render
from bti_eval.rounds.models import EvaluationRound, default_methods
from tests.factories import EvaluationRoundFactory, ExplanationFactory, ParagraphPairFactory
from tests.judging.conftest import method_words_in
from tests.judging.payloads import payload_for_texts

pytestmark = pytest.mark.django_db

# Far above anything a test run's sequences reach, so that finding one in a response is a real leak.
ROUND_ID, PAIR_IDS, FIRST_EXPLANATION_ID = 640_123, (810_101, 810_102), 900_101
MODEL = "acme-encoder-xyz"
# What a signed-in judge opens before any item: the rating start, the rubric, the next item, the item list.
ENTRY_PAGES = ("/rate/", "/rate/rubric/", "/rate/next/", "/api/judge/assignments/")


@pytest.fixture
def leaky_round():
    """A round whose payloads carry their method (and model) everywhere a careless view might show them."""
    round = EvaluationRoundFactory(id=ROUND_ID, name="bti vs tfidf-w2v", status=EvaluationRound.Status.RATING)
    next_id = FIRST_EXPLANATION_ID
    for pair_id in PAIR_IDS:
        pair = ParagraphPairFactory(id=pair_id, external_id=f"ext-{pair_id}")
        for method in default_methods():
            extra = {"model": MODEL, "diagnostics": {"method": method}}
            payload = payload_for_texts(pair.text_a, pair.text_b, method=method, extra=extra)
            ExplanationFactory(id=next_id, round=round, pair=pair, method=method, payload=payload)
            next_id += 1
    return round


def _next_ids_from(start: int, *models) -> None:
    """Make the next rows of ``models`` get ids from ``start`` on (one million apart per model), so
    that the judge's, its user's, invite's and assignments' ids are long enough to look for."""
    with connection.cursor() as cursor:
        for n, model in enumerate(models):
            table, first = model._meta.db_table, start + n * 1_000_000
            if connection.vendor == "postgresql":
                sql = "SELECT setval(pg_get_serial_sequence(%s, %s), %s, false)"
                cursor.execute(sql, [connection.ops.quote_name(table), model._meta.pk.column, first])
            else:  # SQLite's AUTOINCREMENT continues after sqlite_sequence's value
                cursor.execute("DELETE FROM sqlite_sequence WHERE name = %s", [table])
                cursor.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (%s, %s)", [table, first - 1])


def internal_ids(round: EvaluationRound, judge, via, pair_ids=PAIR_IDS) -> list[str]:
    """The ids a judge must never see: the round's, the judge's and their user's, ``via`` (the invite or
    study link they came by), the pairs', the explanations' and the judge's assignments'."""
    ids = [str(round.pk), str(judge.pk), str(judge.user_id), str(via.pk), *map(str, pair_ids)]
    ids += [str(pk) for pk in round.explanations.values_list("id", flat=True)]
    ids += [str(pk) for pk in Assignment.objects.filter(judge=judge).values_list("id", flat=True)]
    # A short id (a user id of 3) would match any number; every id here is long, so none is skipped.
    assert all(len(i) >= 6 for i in ids), ids
    return ids


# Random secrets a response carries: a session id and CSRF tokens (a fresh masked one in every form).
# They are drawn at random, so they say nothing of a method, but one in a few hundred spells "w2v".
_RANDOM_SECRETS = re.compile(r'((?:sessionid|csrftoken)=|name="csrfmiddlewaretoken" value=")[A-Za-z0-9]+')


def _everything(response) -> str:
    """Status, headers (Location, Set-Cookie, ...), cookies and body of a response, as text, with the
    random session id and CSRF tokens blanked."""
    cookies = "\n".join(f"{name}={morsel.value}; {morsel.OutputString()}" for name, morsel in response.cookies.items())
    headers = "\n".join(f"{key}: {value}" for key, value in response.headers.items())
    text = f"{response.status_code}\n{headers}\n{cookies}\n{response.content.decode(errors='replace')}"
    return _RANDOM_SECRETS.sub(r"\1", text)


class Visit:
    """A judge's browser that keeps every response it gets (``seen``: (request, response)), so that a
    test can check all of them at the end. ``visit(method, path, body)`` sends JSON; with ``query``, a GET."""

    def __init__(self):
        self.browser = Client()
        self.seen: list[tuple[str, object]] = []

    def __call__(self, method: str, path: str, body=None, query=None):
        if query is not None:
            response = self.browser.get(path, query)
        else:
            response = self.browser.generic(
                method, path, json.dumps(body) if body else "", content_type="application/json"
            )
        self.seen.append((f"{method} {path}", response))
        return response

    def form_post(self, path: str):
        """A POST of an empty form, as the invite page's button sends it."""
        response = self.browser.post(path)
        self.seen.append((f"POST {path}", response))
        return response

    def statuses(self) -> set[int]:
        return {response.status_code for _, response in self.seen}

    def assert_blind(self, ids: list[str], hidden: list[str] = ()) -> None:
        """No response named a method, the model or its diagnostics, held one of ``ids`` or (in any case)
        of ``hidden``, or showed a traceback."""
        for request, response in self.seen:
            text = _everything(response)
            assert method_words_in(text) == [], request
            assert MODEL not in text and "diagnostics" not in text, request
            assert [i for i in ids if i in text] == [], request
            assert [s for s in hidden if s.lower() in text.lower()] == [], request
            assert "Traceback" not in text, request


def test_a_judges_whole_visit_leaks_no_method_and_no_internal_id(leaky_round):
    _next_ids_from(7_100_001, get_user_model(), Judge, Invite, Assignment)
    judge, token = judge_invite(round=leaky_round, name="Dana")
    visit = Visit()
    visit("GET", f"/j/{token}/")
    visit.form_post(f"/j/{token}/")
    for url in ENTRY_PAGES:
        visit("GET", url)
    for assignment in judge.assignments.order_by("position"):
        visit("GET", f"/rate/{assignment.public_id}/")
        visit("GET", f"/api/judge/assignments/{assignment.public_id}/")
        visit("PUT", f"/api/judge/assignments/{assignment.public_id}/rating/", {"score": 3, "seconds": 5})
        visit("POST", f"/api/judge/assignments/{assignment.public_id}/rating/", {"score": 4})
    # Pages a judge may wander to, and the errors they may meet.
    for url in ("/rate/done/", "/rate/no-such-item/", "/api/judge/assignments/nope/", "/no-such-page/"):
        visit("GET", url)
    for url in (f"/rounds/{leaky_round.pk}/", f"/api/rounds/{leaky_round.pk}/results/", "/pairs/", "/api/no-such/"):
        visit("GET", url)
    visit("DELETE", "/api/judge/assignments/")
    assert visit.statuses() >= {200, 201, 302, 403, 404, 405}
    visit.assert_blind(internal_ids(leaky_round, judge, judge.invite))


@pytest.mark.parametrize("platform", ["prolific", "mturk"])
def test_a_crowd_participants_whole_visit_leaks_no_method_and_no_participant_id(leaky_round, platform):
    """A participant's every response, from the study link to the code, holds no method name, no
    internal id, and no participant id: neither theirs (nor their study session) nor another's."""
    from bti_eval.judging.services.studies import study_link_create

    _next_ids_from(7_200_001, get_user_model(), Judge, Assignment, StudyLink)
    link = study_link_create(round=leaky_round, platform=platform, completion_code="CODE77")
    if platform == "prolific":
        mine = {"PROLIFIC_PID": "5f1e" + "7" * 20, "STUDY_ID": "60aa" + "8" * 20, "SESSION_ID": "61bb" + "9" * 20}
        theirs = {"PROLIFIC_PID": "5f1e" + "6" * 20, "STUDY_ID": mine["STUDY_ID"], "SESSION_ID": "61bb" + "5" * 20}
        secret = [
            mine["PROLIFIC_PID"],
            mine["SESSION_ID"],
            mine["STUDY_ID"],
            theirs["PROLIFIC_PID"],
            theirs["SESSION_ID"],
        ]
    else:
        common = {"hitId": "3HITQ0ZZ", "turkSubmitTo": "https://www.mturk.com"}
        mine = {**common, "workerId": "A2MINEWORKER9", "assignmentId": "3MYASSIGNMENT"}
        theirs = {**common, "workerId": "A3THEIRWORKER", "assignmentId": "3THEIRASSIGN"}
        secret = [mine["workerId"], theirs["workerId"], theirs["assignmentId"], common["hitId"]]
    url = f"/s/{link.token}/"
    assert Client().get(url, theirs).status_code in (200, 302)  # another participant arrived first
    visit = Visit()
    visit("GET", url, query=mine)
    if platform == "mturk":
        visit("GET", url, query={**mine, "tab": "1"})
    judge = Judge.objects.get(participant_id=mine.get("PROLIFIC_PID", mine.get("workerId")))
    for path in ENTRY_PAGES:
        visit("GET", path)
    for assignment in judge.assignments.order_by("position"):
        visit("GET", f"/rate/{assignment.public_id}/")
        visit("GET", f"/api/judge/assignments/{assignment.public_id}/")
        visit("PUT", f"/api/judge/assignments/{assignment.public_id}/rating/", {"score": 3, "seconds": 5})
    done = visit("GET", "/rate/done/")
    assert "CODE77" in done.content.decode()
    visit("PUT", f"/api/judge/assignments/{judge.assignments.first().public_id}/rating/", {"score": 2})  # refused
    visit("GET", url, query=theirs | {"SESSION_ID": mine.get("SESSION_ID", "")} if platform == "prolific" else theirs)
    visit("GET", url, query={"PROLIFIC_PID": "bad"})
    visit("GET", f"/api/rounds/{leaky_round.pk}/judges/")
    assert visit.statuses() >= {200, 201, 302, 400, 403, 409}
    visit.assert_blind(internal_ids(leaky_round, judge, link), hidden=secret)


def test_the_rating_order_is_the_judges_own_and_says_nothing_about_methods(leaky_round):
    """Neighbouring items and the order itself: no method is ever at a fixed place across judges."""
    judges = [judge_invite(round=leaky_round, name=f"J{i}")[0] for i in range(12)]
    first_methods = {j.assignments.get(position=0).explanation.method for j in judges}
    assert len(first_methods) > 1
    orders = {tuple(j.assignments.order_by("position").values_list("explanation_id", flat=True)) for j in judges}
    assert len(orders) == len(judges)


def test_public_ids_are_random_not_sequential():
    """1,050 public ids (5 judges × 210 items): unique, 128-bit, uniform bits, unrelated to creation order."""
    round = EvaluationRoundFactory(status=EvaluationRound.Status.RATING)
    for pair in ParagraphPairFactory.create_batch(30):
        for method in default_methods():
            ExplanationFactory(round=round, pair=pair, method=method)
    for i in range(5):
        judge_invite(round=round, name=f"J{i}")
    rows = list(Assignment.objects.filter(judge__round=round).order_by("id").values_list("public_id", flat=True))
    assert len(rows) == 1050 and len(set(rows)) == len(rows)
    assert all(len(public_id) == 22 for public_id in rows)
    assert method_words_in(" ".join(rows)) == []

    # 16 random bytes each: every one of the 128 bits is set in about half of the ids.
    raw = np.array([list(urlsafe_b64decode(public_id + "==")) for public_id in rows], dtype=np.uint8)
    assert raw.shape == (1050, 16)
    ones = np.unpackbits(raw, axis=1).mean(axis=0)
    assert np.all(np.abs(ones - 0.5) < 5 * math.sqrt(0.25 / len(rows))), ones  # 5 sigma
    # Byte values are uniform (chi-square over 256 bins, 16,800 bytes).
    counts = np.bincount(raw.ravel(), minlength=256)
    assert stats.chisquare(counts).pvalue > 1e-4
    # Creation order says nothing about the id: no rank correlation, no shared prefixes of neighbours.
    as_numbers = [int.from_bytes(bytes(b[:6]), "big") for b in raw.tolist()]  # 48 bits: exact as floats
    rho = stats.spearmanr(range(len(as_numbers)), as_numbers).statistic
    assert abs(rho) < 0.15, rho
    shared = [len(_common_prefix(a, b)) for a, b in zip(rows, rows[1:], strict=False)]
    assert np.mean(shared) < 0.2  # ≈ 1/64 by chance


def _common_prefix(a: str, b: str) -> str:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return a[:n]


# --- presentation: one row budget, one number scale, one structure for every method ----------------

LONG_A = "A wool hat, a wool scarf and a cotton coat for a cold day, a soft knit for a long walk."
LONG_B = "A scarf in wool, a hat in cotton: a coat for a day in the cold, a knit for a walk."


def _method_payload(method: str, rank: int, *, truncated: bool = False) -> dict:
    """Each method as the side channel saw them: its own number of pairs (2 + 3 * rank, up to 20,
    tfidf-w2v's "a ↔ a" repeated), its own score scale (below 0.10 for some) and saliency level;
    the three best rows are the same words for every method."""
    import re

    words = []
    for text, level in ((LONG_A, 0.2 + 0.1 * rank), (LONG_B, 0.9 - 0.1 * rank)):
        spans = [m.span() for m in re.finditer(r"\w+|[^\w\s]", text)]
        words.append([{"text": text[s:e], "start": s, "end": e, "saliency": level} for s, e in spans])
    index = [{}, {}]
    for side, found in zip(words, index, strict=True):
        for i, w in enumerate(side):
            found.setdefault(w["text"].casefold(), []).append(i)
    scale = 10.0**-rank  # 1, 0.1, 0.01, ...
    best = [("wool", 0.9), ("scarf", 0.6), ("coat", 0.5)]
    pairs = [{"a": index[0][w][0], "b": index[1][w][0], "word_similarity": 0.9, "score": s * scale} for w, s in best]
    extra = [("hat", "hat"), ("cotton", "cotton"), ("cold", "cold"), ("day", "day"), ("knit", "knit")]
    extra += [("a", "a")] * 12 + [("walk", "walk"), ("soft", "knit"), ("long", "walk")]
    for n, (wa, wb) in enumerate(extra[: 2 + 3 * rank]):
        a = index[0][wa][n % len(index[0][wa])]
        b = index[1][wb][n % len(index[1][wb])]
        pairs.append({"a": a, "b": b, "word_similarity": 0.8, "score": 0.4 * scale / (n + 2)})
    payload = {"method": method, "model": MODEL, "similarity": 0.61, "truncated": truncated, "words": words}
    payload["pairs"] = pairs
    if truncated:
        payload["words_read"] = [20, len(words[1])]
    return payload


def _masked(fragment: str) -> str:
    import re

    return re.sub(r">[^<]+<", ">T<", re.sub(r"\d", "9", fragment))


@pytest.mark.parametrize("truncated", [False, True])
def test_judge_html_has_one_row_budget_one_scale_and_one_structure_for_every_method(truncated):
    import re

    round = EvaluationRoundFactory(status=EvaluationRound.Status.RATING, pairs_shown=3)
    pair = ParagraphPairFactory(text_a=LONG_A, text_b=LONG_B)
    explanations = [
        ExplanationFactory(round=round, pair=pair, method=m, payload=_method_payload(m, rank, truncated=truncated))
        for rank, m in enumerate(default_methods())
    ]
    assert round_judge_html_render(round_id=round.pk) == len(default_methods())
    stored = {e.method: e.judge_html for e in round.explanations.all()}
    assert stored[default_methods()[0]] == explanation_judge_html(explanation=explanations[0])
    for method, fragment in stored.items():
        assert "style=" not in fragment, method
        rows = re.findall(r'<tr><td class="expl-pair">.*?</tr>', fragment)
        assert len(rows) == 3, method  # 5 to 20 pairs stored, 3 rows shown
        importance = [re.findall(r'<td class="expl-num">([0-9.]+)</td>', row)[0] for row in rows]
        assert "0.90" not in "".join(rows), method  # the word similarity (a cosine of the method's own space)
        assert importance == ["1.00", "0.67", "0.56"], method  # relative to the best pair, whatever the scale
        assert fragment.count("the model read only up to here") == int(truncated), method
    # The same structure and the same size for every method: only numbers and highlight levels differ.
    assert len({_masked(re.sub(r"expl-a\d{3}", "expl-aNNN", f)) for f in stored.values()}) == 1
    assert len({len(f.encode()) for f in stored.values()}) == 1
    # The full selection stays stored.
    assert [len(e.payload["pairs"]) for e in round.explanations.order_by("id")] == [3 + 2 + 3 * r for r in range(7)]


def test_a_control_item_is_cut_where_the_real_explanations_are():
    import random

    from bti_eval.judging.controls import degrade
    from explainers.render import render_html

    real = _method_payload("bti", 0, truncated=True)
    control = degrade(real, rng=random.Random(0))
    assert control["words_read"] == real["words_read"]
    fragment = render_html(blind_payload(control), texts=(LONG_A, LONG_B))
    assert fragment.count("the model read only up to here") == 1
