"""Blindness: nothing a judge receives names a method, a model, or a database id."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from bti_eval.judging.blind import blind_payload, explanation_judge_html
from bti_eval.judging.services.assignments import assignments_build
from bti_eval.judging.services.ratings import rating_submit
from bti_eval.rounds.models import EvaluationRound, default_methods
from tests.factories import EvaluationRoundFactory, ExplanationFactory, JudgeFactory, ParagraphPairFactory, UserFactory
from tests.judging.conftest import method_words_in
from tests.judging.payloads import payload_for_texts

pytestmark = pytest.mark.django_db

# Ids far above anything the sequences reach in a test run, so that finding one is a real leak.
PAIR_IDS = (810_001, 810_002, 810_003)
JUDGE_ID = 730_001
MODEL_NAME = "acme-encoder-xyz"


def _leaky_payload(pair, method: str) -> dict:
    """A payload that carries its method everywhere a careless renderer or serialiser might show it."""
    payload = payload_for_texts(
        pair.text_a,
        pair.text_b,
        method=method,
        extra={"model": MODEL_NAME, "diagnostics": {"method": method, "layers": "last-layer", "kind": "activations"}},
    )
    for side in payload["words"]:
        for word in side:
            word["gradient"] = 0.5
            word["method"] = method
    for pair_entry in payload["pairs"]:
        pair_entry["method"] = method
    return payload


@pytest.fixture
def blind_round():
    round = EvaluationRoundFactory(name="bti vs integrated-gradients", status=EvaluationRound.Status.RATING)
    explanation_ids = []
    for index, pair_id in enumerate(PAIR_IDS):
        pair = ParagraphPairFactory(id=pair_id)
        for offset, method in enumerate(default_methods()):
            explanation = ExplanationFactory(
                id=900_001 + index * 10 + offset,
                round=round,
                pair=pair,
                method=method,
                payload=_leaky_payload(pair, method),
            )
            explanation_ids.append(explanation.id)
    judge = JudgeFactory(id=JUDGE_ID, round=round, name="judge", user=UserFactory(username="judge-blind"))
    assignments_build(judge=judge)
    return round, judge, explanation_ids


def _leaks(text: str, explanation_ids) -> list[str]:
    found = method_words_in(text)
    found += [name for name in (MODEL_NAME, "diagnostics") if name in text]
    found += [str(i) for i in (*explanation_ids, *PAIR_IDS, JUDGE_ID) if str(i) in text]
    return found


def _response_text(response) -> str:
    headers = "\n".join(f"{key}: {value}" for key, value in response.headers.items())
    return headers + "\n" + response.content.decode()


def test_every_page_and_api_answer_a_judge_gets_is_blind(client, blind_round):
    _, judge, explanation_ids = blind_round
    client.force_login(judge.user)
    responses = [client.get(reverse(name)) for name in ("judging:rate", "judging:rate-rubric", "judging:rate-next")]
    responses.append(client.get(reverse("api-judge-assignments")))
    assignments = list(judge.assignments.order_by("position"))
    assert len(assignments) == 21
    for assignment in assignments:
        responses.append(client.get(reverse("judging:rate-item", kwargs={"public_id": assignment.public_id})))
        responses.append(client.get(reverse("api-judge-assignment", kwargs={"public_id": assignment.public_id})))
        responses.append(
            client.put(
                reverse("api-judge-rating", kwargs={"public_id": assignment.public_id}),
                data=json.dumps({"score": 3, "seconds": 4}),
                content_type="application/json",
            )
        )
    responses.append(client.get(reverse("judging:rate-done")))
    assert {r.status_code for r in responses} <= {200, 201, 302}
    for response in responses:
        assert _leaks(_response_text(response), explanation_ids) == [], response.request["PATH_INFO"]


def test_every_method_renders_the_same_html_for_the_same_pair(blind_round):
    _, judge, _ = blind_round
    by_pair: dict[int, set[str]] = {}
    for assignment in judge.assignments.select_related("explanation__pair"):
        html = explanation_judge_html(explanation=assignment.explanation)
        by_pair.setdefault(assignment.explanation.pair_id, set()).add(html)
    assert len(by_pair) == 3
    assert all(len(htmls) == 1 for htmls in by_pair.values())


def test_blind_payload_keeps_only_the_contract_fields():
    payload = _leaky_payload(type("P", (), {"text_a": "soft wool gloves", "text_b": "warm wool gloves"})(), "bti")
    blind = blind_payload(payload)
    assert set(blind) == {"similarity", "truncated", "words", "pairs"}  # "words_read" too when truncated
    assert method_words_in(json.dumps(blind)) == []
    assert blind["words"][0][0] == {"text": "soft", "start": 0, "end": 4, "saliency": 1.0}


def test_public_ids_are_random_not_sequential(blind_round):
    _, judge, explanation_ids = blind_round
    ids = list(judge.assignments.order_by("position").values_list("public_id", flat=True))
    assert len(set(ids)) == len(ids)
    assert all(len(public_id) >= 20 and public_id.replace("-", "").replace("_", "").isalnum() for public_id in ids)
    assert ids != sorted(ids)
    assert not any(str(i) in public_id for public_id in ids for i in explanation_ids)
    assert len({public_id[:4] for public_id in ids}) > len(ids) // 2  # no shared counter-like prefix


def test_a_judge_never_sees_other_judges_ratings(client, blind_round):
    round, judge, _ = blind_round
    other = JudgeFactory(round=round, user=UserFactory(username="judge-other"))
    assignments_build(judge=other)
    for assignment in other.assignments.all():
        rating_submit(judge=other, public_id=assignment.public_id, score=5, seconds=1)
    client.force_login(judge.user)
    listed = client.get(reverse("api-judge-assignments")).json()
    assert listed["progress"] == {"rated": 0, "total": 21}
    assert all(item["score"] is None for item in listed["items"])
    first = judge.assignments.get(position=0)
    page = client.get(reverse("judging:rate-item", kwargs={"public_id": first.public_id})).content.decode()
    assert 'data-score=""' in page and 'aria-pressed="true"' not in page and 'aria-live="polite"></p>' in page
    for url in (
        "/api/rounds/",
        f"/rounds/{round.pk}/results/",
        f"/api/rounds/{round.pk}/results/",
        f"/api/rounds/{round.pk}/export/?format=csv",
    ):
        assert client.get(url).status_code == 403, url
