"""Round pages: list, create form, detail with progress and actions; researchers only."""

from __future__ import annotations

import re
from unittest import mock

import pytest
from django.urls import reverse

from bti_eval.rounds.models import EvaluationRound, Explanation, default_methods
from tests.factories import EvaluationRoundFactory, ExplanationFactory, ParagraphPairFactory, UserFactory

pytestmark = pytest.mark.django_db
Status = EvaluationRound.Status


def test_create_form_prechecks_the_seven_methods(researcher_client):
    ParagraphPairFactory(source="fashion")
    ParagraphPairFactory.create_batch(2, source="wine")
    html = researcher_client.get(reverse("rounds:new")).content.decode()
    for method in default_methods():
        assert f'value="{method}"' in html
    assert html.count("checked") == 7
    assert "fashion (1 pair)" in html and "wine (2 pairs)" in html and "1 pairs" not in html


def test_create_round_from_a_source_with_a_seeded_sample(researcher_client):
    ParagraphPairFactory.create_batch(5, source="fashion")
    ParagraphPairFactory.create_batch(2, source="wine")
    data = {
        "name": "pilot",
        "source": "fashion",
        "limit": 3,
        "methods": ["bti", "tfidf-w2v"],
        "model": "",
        "top_k": 2,
        "seed": 7,
    }
    response = researcher_client.post(reverse("rounds:new"), data)
    round = EvaluationRound.objects.get(name="pilot")
    assert response.status_code == 302 and response.url == reverse("rounds:detail", args=[round.pk])
    assert round.pairs.count() == 3 and set(round.pairs.values_list("source", flat=True)) == {"fashion"}
    assert round.methods == ["bti", "tfidf-w2v"] and round.seed == 7


def test_create_form_names_top_k_as_clusters_and_sets_the_pairs_shown(researcher_client):
    ParagraphPairFactory.create_batch(2, source="fashion")
    html = researcher_client.get(reverse("rounds:new")).content.decode()
    assert "Score clusters kept (top_k)" in html and "MeanShift clusters" in html
    assert "Word pairs per explanation" not in html
    assert re.search(r'name="pairs_shown" value="2"', html) and "Pairs shown at most" in html
    data = {"name": "budget", "source": "fashion", "methods": ["bti"], "top_k": 2, "seed": 0, "pairs_shown": 4}
    assert researcher_client.post(reverse("rounds:new"), data).status_code == 302
    round = EvaluationRound.objects.get(name="budget")
    assert round.pairs_shown == 4
    html = researcher_client.get(reverse("rounds:detail", args=[round.pk])).content.decode()
    assert "Pairs shown at most</dt><dd>4 per explanation" in html
    response = researcher_client.post(reverse("rounds:new"), {**data, "name": "b2", "pairs_shown": 0})
    assert response.status_code == 400 and not EvaluationRound.objects.filter(name="b2").exists()


def test_create_form_sets_the_pooling_and_precision_shown_on_the_round_page(researcher_client):
    ParagraphPairFactory.create_batch(2)
    html = researcher_client.get(reverse("rounds:new")).content.decode()
    assert "the model&#x27;s own" in _field_block(html, "pooling") and "bf16" in _field_block(html, "dtype")
    data = {"name": "p", "source": "", "methods": ["bti"], "model": "", "top_k": 2, "seed": 0}
    response = researcher_client.post(reverse("rounds:new"), {**data, "pooling": "max", "dtype": "bf16"})
    round = EvaluationRound.objects.get(name="p")
    assert response.status_code == 302 and (round.pooling, round.dtype) == ("max", "bf16")
    page = researcher_client.get(reverse("rounds:detail", args=[round.pk])).content.decode()
    assert '<dd id="round-pooling">max</dd>' in page and '<dd id="round-dtype">bf16</dd>' in page
    researcher_client.post(reverse("rounds:new"), {**data, "name": "q"})
    plain = EvaluationRound.objects.get(name="q")
    assert (plain.pooling, plain.dtype) == ("", "fp32")
    page = researcher_client.get(reverse("rounds:detail", args=[plain.pk])).content.decode()
    assert '<dd id="round-pooling">the model\'s own</dd>' in page and '<dd id="round-dtype">fp32</dd>' in page


def test_round_page_counts_the_truncated_explanations(researcher_client):
    round = EvaluationRoundFactory(status=Status.COMPUTING, methods=["bti", "tfidf-w2v"])
    long_pair, short_pair = ParagraphPairFactory(), ParagraphPairFactory()
    for method in round.methods:
        for pair, cut in ((long_pair, True), (short_pair, False)):
            explanation = ExplanationFactory(round=round, pair=pair, method=method)
            explanation.payload = {**explanation.payload, "truncated": cut}
            explanation.save()
    html = researcher_client.get(reverse("rounds:detail", args=[round.pk])).content.decode()
    text = " ".join(re.sub(r"<[^>]+>", " ", html).split())
    assert "2 explanations (1 pair) read only the start of a paragraph longer than the model's token limit" in text
    untouched = EvaluationRoundFactory(status=Status.COMPUTING, methods=["bti"])
    ExplanationFactory(round=untouched, method="bti")
    html = researcher_client.get(reverse("rounds:detail", args=[untouched.pk])).content.decode()
    assert "No explanation is truncated" in html


def test_create_form_shows_service_errors(researcher_client):
    ParagraphPairFactory()
    data = {"name": "x", "source": "", "methods": ["bti"], "model": "/no/such/dir", "top_k": 2, "seed": 0}
    response = researcher_client.post(reverse("rounds:new"), data)
    assert response.status_code == 400 and "does not exist on the server" in response.content.decode()


def test_detail_links_judges_and_results_and_shows_progress(researcher_client):
    round = EvaluationRoundFactory(status=Status.COMPUTING, methods=["bti"])
    ExplanationFactory(
        round=round, method="bti", status=Explanation.Status.FAILED, payload=None, error="<b>input</b> too long"
    )
    html = researcher_client.get(reverse("rounds:detail", args=[round.pk])).content.decode()
    assert reverse("judging:round-judges", args=[round.pk]) in html
    assert reverse("results:round", args=[round.pk]) in html
    assert f'data-progress-url="/api/rounds/{round.pk}/progress/"' in html
    assert "Retry failed" in html and "Drop failed" in html
    assert "&lt;b&gt;input&lt;/b&gt; too long" in html  # errors are escaped
    assert "/static/bti/round.js" in html and re.search(r'(src|href)="(https?:)?//', html) is None  # nothing from a CDN


def test_launch_button_launches_and_reports(researcher_client):
    round = EvaluationRoundFactory(methods=["bti"])
    round.pairs.add(ParagraphPairFactory())
    with mock.patch("bti_eval.rounds.tasks.explain_chunk.apply_async"):
        response = researcher_client.post(reverse("rounds:launch", args=[round.pk]), follow=True)
    assert "Launched" in response.content.decode()
    round.refresh_from_db()
    assert round.status == Status.COMPUTING


def test_invalid_transition_shows_the_error(researcher_client):
    round = EvaluationRoundFactory(status=Status.DRAFT)
    response = researcher_client.post(reverse("rounds:close", args=[round.pk]), follow=True)
    assert "only a rating round can be" in response.content.decode()
    round.refresh_from_db()
    assert round.status == Status.DRAFT


def test_actions_are_post_only(researcher_client):
    round = EvaluationRoundFactory()
    assert researcher_client.get(reverse("rounds:launch", args=[round.pk])).status_code == 405


def test_home_sends_researchers_to_rounds_and_others_to_login(client, researcher):
    assert client.get("/").url == reverse("login")
    client.force_login(researcher)
    assert client.get("/").url == reverse("rounds:list")


def test_login_page_renders(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200 and 'name="csrfmiddlewaretoken"' in response.content.decode()


@pytest.mark.parametrize("name", ["rounds:list", "rounds:new", "rounds:detail", "results:round"])
def test_pages_are_for_researchers(client, name):
    round = EvaluationRoundFactory()
    url = reverse(name, args=[round.pk]) if name in ("rounds:detail", "results:round") else reverse(name)
    assert client.get(url).status_code == 302
    client.force_login(UserFactory())
    assert client.get(url).status_code == 403


def test_round_list_shows_rounds(researcher_client):
    EvaluationRoundFactory(name="<i>pilot</i>")
    html = researcher_client.get(reverse("rounds:list")).content.decode()
    assert "&lt;i&gt;pilot&lt;/i&gt;" in html


def _field_block(html: str, name: str) -> str:
    """The HTML of one field's <div> on the round form."""
    start = html.index(f'id="field-{name}"')
    ends = [i for i in (html.find('id="field-', start + 1), html.find("</form>", start)) if i > 0]
    return html[start : min(ends)]


def _top_of_form(html: str) -> str:
    """What the form shows before its first field (the non-field errors)."""
    start = html.index("<form")
    return html[start : html.index('id="field-', start)]


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"design": "k-per-item"}, "judges_per_explanation", "Give k, the number of judges per explanation"),
        (
            {"design": "k-per-item", "judges_per_explanation": 5000},
            "judges_per_explanation",
            "less than or equal to 1000",
        ),
        ({"control_items": 3}, "control_items", "At most the number of pairs in the round (2)"),
        ({"too_fast_seconds": 7200}, "too_fast_seconds", "less than or equal to 3600"),
        ({"model": "/no/such/dir"}, "model", "does not exist on the server"),
        ({"methods": []}, "methods", "This field is required"),
        ({"dtype": "int8"}, "dtype", "Select a valid choice. int8 is not one of the available choices."),
    ],
)
def test_create_form_errors_sit_beside_their_field_in_words(researcher_client, data, field, message):
    ParagraphPairFactory.create_batch(2)
    base = {"name": "x", "source": "", "methods": ["bti"], "model": "", "top_k": 2, "seed": 0}
    response = researcher_client.post(reverse("rounds:new"), {**base, **data})
    html = response.content.decode()
    assert response.status_code == 400
    assert message in _field_block(html, field)
    assert 'class="error"' not in _top_of_form(html)  # nothing at the top: it is about one field
    assert "judges_per_explanation (k)" not in html and "control_items must" not in html


def test_a_service_error_about_one_input_sits_beside_it(researcher_client):
    data = {"name": "x", "source": "", "methods": ["bti"], "model": "", "top_k": 2, "seed": 0}
    response = researcher_client.post(reverse("rounds:new"), data)  # no pairs imported yet
    assert response.status_code == 400
    assert "Choose at least one pair" in _field_block(response.content.decode(), "source")


def test_create_form_ends_with_the_automatic_metrics_checkbox_and_its_help(researcher_client):
    html = researcher_client.get(reverse("rounds:new")).content.decode()
    fields = re.findall(r'id="field-([a-z_]+)"', html)
    assert fields[-1] == "auto_metrics" and len(fields) > 5
    block = _field_block(html, "auto_metrics")
    assert 'type="checkbox"' in block and "Compute plausibility, faithfulness and sanity" in block
