"""Creating a pairwise round: the form and the API offer the design, and refuse one method."""

from __future__ import annotations

import pytest
from django.urls import reverse

from bti_eval.rounds.models import EvaluationRound
from tests.factories import ParagraphPairFactory

pytestmark = pytest.mark.django_db


def _form(**changes) -> dict:
    return {"name": "duel", "source": "fashion", "top_k": 2, "seed": 1, "design": "pairwise", **changes}


def test_the_form_creates_a_pairwise_round_and_shows_its_design(researcher_client):
    ParagraphPairFactory.create_batch(3, source="fashion")
    assert 'value="pairwise"' in researcher_client.get(reverse("rounds:new")).content.decode()
    response = researcher_client.post(reverse("rounds:new"), _form(methods=["bti", "tfidf-w2v"]))
    round = EvaluationRound.objects.get(name="duel")
    assert response.status_code == 302 and round.design == "pairwise" and round.judges_per_explanation is None
    detail = researcher_client.get(reverse("rounds:detail", args=[round.pk])).content.decode()
    assert "pairwise preference, every method pair of every pair for every judge" in detail


def test_one_method_is_refused_beside_the_methods_field(researcher_client):
    ParagraphPairFactory.create_batch(3, source="fashion")
    response = researcher_client.post(reverse("rounds:new"), _form(methods=["bti"]))
    assert response.status_code == 400 and not EvaluationRound.objects.exists()
    assert "at least two methods" in str(response.context["form"].errors["methods"])


def test_the_api_creates_a_pairwise_round_with_k(researcher_api_client):
    pairs = ParagraphPairFactory.create_batch(2)
    body = {
        "name": "duel",
        "pairs": [p.pk for p in pairs],
        "methods": ["bti", "tfidf-w2v", "vanilla-gradients"],
        "design": "pairwise",
        "judges_per_explanation": 3,
    }
    response = researcher_api_client.post("/api/rounds/", body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["design"] == "pairwise" and response.json()["judges_per_explanation"] == 3
    bad = researcher_api_client.post("/api/rounds/", {**body, "methods": ["bti"], "name": "solo"}, format="json")
    assert bad.status_code == 400 and "at least two methods" in bad.json()["message"]
