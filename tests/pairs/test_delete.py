"""Deleting pairs and sources: never those of a launched round; a draft round loses them."""

from __future__ import annotations

import pytest
from django.urls import reverse

from bti_eval.core.exceptions import ApplicationError
from bti_eval.pairs.models import GoldAlignment, ParagraphPair
from bti_eval.pairs.services import pairs_delete
from bti_eval.rounds.models import EvaluationRound
from tests.factories import EvaluationRoundFactory, ParagraphPairFactory

pytestmark = pytest.mark.django_db
Status = EvaluationRound.Status


def launched_round(pairs, *, name="pilot", status=Status.RATING) -> EvaluationRound:
    return EvaluationRoundFactory(name=name, status=status, methods=["bti"], explained_pairs=pairs)


def test_deleting_pairs_takes_them_out_of_a_draft_round_and_says_so():
    kept, gone = ParagraphPairFactory(), ParagraphPairFactory()
    GoldAlignment.objects.create(pair=gone, tokens_a=[], tokens_b=[], chunks=[])
    draft = EvaluationRoundFactory(name="draft one", status=Status.DRAFT)
    draft.pairs.set([kept, gone])
    result = pairs_delete(pair_ids=[gone.pk])
    assert result.deleted == 1 and result.drafts == ["draft one"]
    assert list(draft.pairs.all()) == [kept]  # the draft keeps its other pairs
    assert not ParagraphPair.objects.filter(pk=gone.pk).exists() and not GoldAlignment.objects.exists()


@pytest.mark.parametrize("status", [Status.COMPUTING, Status.RATING, Status.CLOSED])
def test_a_pair_that_a_launched_round_uses_is_never_deleted_and_the_409_names_the_round(status):
    free, used = ParagraphPairFactory(), ParagraphPairFactory()
    launched_round([used], name="pilot", status=status)
    with pytest.raises(ApplicationError) as caught:
        pairs_delete(pair_ids=[free.pk, used.pk])
    assert caught.value.status == 409
    assert "launched round 'pilot' uses some of these pairs" in caught.value.message
    assert caught.value.extra == {"rounds": ["pilot"]}
    assert ParagraphPair.objects.count() == 2  # all or nothing: the free pair stays too


def test_a_launched_round_blocks_even_when_its_explanation_of_the_pair_was_dropped():
    pair = ParagraphPairFactory()
    round = EvaluationRoundFactory(name="dropped", status=Status.RATING)
    round.pairs.set([pair])  # selected, no explanation left
    with pytest.raises(ApplicationError, match="'dropped' uses this pair"):
        pairs_delete(pair_ids=[pair.pk])


def test_deleting_a_source_deletes_only_its_pairs():
    ParagraphPairFactory.create_batch(3, source="typo")
    ParagraphPairFactory.create_batch(2, source="fashion")
    assert pairs_delete(source="typo").deleted == 3
    assert set(ParagraphPair.objects.values_list("source", flat=True)) == {"fashion"}
    with pytest.raises(ApplicationError, match="no pairs in source 'typo'") as caught:
        pairs_delete(source="typo")
    assert caught.value.status == 404


def test_unknown_ids_delete_nothing():
    pair = ParagraphPairFactory()
    with pytest.raises(ApplicationError, match="No pair with id 987654") as caught:
        pairs_delete(pair_ids=[pair.pk, 987654])
    assert caught.value.status == 404 and ParagraphPair.objects.filter(pk=pair.pk).exists()


# ---------------------------------------------------------------- the API
def test_api_deletes_pairs_by_id_or_source_and_refuses_a_launched_rounds_pairs(researcher_api_client):
    a, b = ParagraphPairFactory(source="shop"), ParagraphPairFactory(source="shop")
    used = ParagraphPairFactory(source="live")
    launched_round([used], name="live round")

    response = researcher_api_client.delete(f"/api/pairs/{a.pk}/")
    assert response.status_code == 200 and response.json() == {"deleted": 1, "drafts": []}
    response = researcher_api_client.post("/api/pairs/delete/", {"source": "shop"}, format="json")
    assert response.status_code == 200 and response.json()["deleted"] == 1
    assert not ParagraphPair.objects.filter(pk=b.pk).exists()

    response = researcher_api_client.delete(f"/api/pairs/{used.pk}/")
    assert response.status_code == 409
    assert "'live round'" in response.json()["message"] and response.json()["extra"]["rounds"] == ["live round"]
    response = researcher_api_client.post("/api/pairs/delete/", {"pairs": [used.pk]}, format="json")
    assert response.status_code == 409 and ParagraphPair.objects.filter(pk=used.pk).exists()


@pytest.mark.parametrize(
    "body",
    [{}, {"pairs": [1], "source": "x"}, {"pairs": []}, {"pairs": [10**20]}, {"pairs": ["x"]}, {"pairs": [True]}],
)
def test_api_delete_rejects_bad_input_with_a_400(researcher_api_client, body):
    ParagraphPairFactory()
    response = researcher_api_client.post("/api/pairs/delete/", body, format="json")
    assert response.status_code == 400 and ParagraphPair.objects.count() == 1


def test_api_delete_of_a_missing_or_huge_pair_id_is_a_404(researcher_api_client):
    assert researcher_api_client.delete("/api/pairs/987654/").status_code == 404
    assert researcher_api_client.delete(f"/api/pairs/{10**20}/").status_code == 404


# ---------------------------------------------------------------- the page
def test_pair_list_offers_deletion_with_confirmation_and_greys_out_pairs_in_use(researcher_client):
    free = ParagraphPairFactory(source="shop")
    used = ParagraphPairFactory(source="shop")
    launched_round([used])
    html = researcher_client.get(reverse("pairs:list") + "?source=shop").content.decode()
    assert f'name="pair" value="{free.pk}"' in html and f'name="pair" value="{used.pk}"' not in html
    assert html.count("data-confirm=") == 2  # checked pairs, and the whole source
    assert "Delete all 2 pairs of source “shop”?" in html


def test_deleting_checked_pairs_from_the_page(researcher_client):
    pairs = ParagraphPairFactory.create_batch(3, source="shop")
    draft = EvaluationRoundFactory(name="my draft", status=Status.DRAFT)
    draft.pairs.set(pairs)
    response = researcher_client.post(
        reverse("pairs:delete"), {"pair": [pairs[0].pk], "from_source": "shop"}, follow=True
    )
    html = response.content.decode()
    assert response.redirect_chain[-1][0] == reverse("pairs:list") + "?source=shop"
    assert "Deleted 1 pair. It was taken out of the draft round “my draft”." in html
    assert ParagraphPair.objects.count() == 2


def test_deleting_a_source_in_use_from_the_page_explains_why_not(researcher_client):
    used = ParagraphPairFactory(source="live")
    launched_round([used], name="live round")
    response = researcher_client.post(reverse("pairs:delete"), {"source": "live"}, follow=True)
    assert (
        "Nothing was deleted: launched round &#x27;live round&#x27; uses pairs of source &#x27;live&#x27;"
        in response.content.decode()
    )
    assert ParagraphPair.objects.filter(pk=used.pk).exists()


def test_deleting_nothing_from_the_page_is_a_clear_message(researcher_client):
    response = researcher_client.post(reverse("pairs:delete"), {}, follow=True)
    assert "Choose at least one pair to delete." in response.content.decode()
