"""Undoing mistakes with rounds: delete a draft, archive and restore a closed round; ratings are never deleted."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from bti_eval.core.exceptions import ApplicationError
from bti_eval.judging.models import Judge, Rating
from bti_eval.judging.services.invites import judge_invite
from bti_eval.judging.services.ratings import rating_submit
from bti_eval.pairs.models import ParagraphPair
from bti_eval.rounds import services
from bti_eval.rounds.models import EvaluationRound, Explanation
from tests.factories import EvaluationRoundFactory, ParagraphPairFactory

pytestmark = pytest.mark.django_db
Status = EvaluationRound.Status


def draft_round(pairs: int = 2) -> EvaluationRound:
    round = EvaluationRoundFactory(status=Status.DRAFT)
    round.pairs.set(ParagraphPairFactory.create_batch(pairs))
    return round


def rated_round(status=Status.CLOSED) -> EvaluationRound:
    """A round whose judge has rated one item, then put in ``status``."""
    round = EvaluationRoundFactory(explained_pairs=2, methods=["bti"], status=Status.RATING)
    judge, _ = judge_invite(round=round, name="Ann")
    first = judge.assignments.order_by("position").first()
    rating_submit(judge=judge, public_id=first.public_id, score=4, seconds=9.0)
    EvaluationRound.objects.filter(pk=round.pk).update(status=status)
    round.refresh_from_db()
    return round


# ---------------------------------------------------------------- delete a draft
def test_deleting_a_draft_removes_it_and_its_judges_but_keeps_the_pairs():
    round = draft_round()
    judge, _ = judge_invite(round=round, name="Ann")
    result = services.round_delete(round=round)
    assert result == {"name": round.name, "judges": 1}
    assert not EvaluationRound.objects.filter(pk=round.pk).exists()
    assert ParagraphPair.objects.count() == 2  # pairs are never deleted with a round
    assert not Judge.objects.filter(pk=judge.pk).exists()
    assert not get_user_model().objects.filter(pk=judge.user_id).exists()  # the judge's account too


@pytest.mark.parametrize(
    "action,refusal,status",
    [("round_delete", "only a draft round can be", s) for s in (Status.COMPUTING, Status.RATING, Status.CLOSED)]
    + [("round_archive", "only a closed round can be", s) for s in (Status.DRAFT, Status.COMPUTING, Status.RATING)],
)
def test_only_a_draft_round_can_be_deleted_and_only_a_closed_one_archived(action, refusal, status):
    round = EvaluationRoundFactory(explained_pairs=1, methods=["bti"], status=status)
    with pytest.raises(ApplicationError, match=refusal) as caught:
        getattr(services, action)(round=round)
    assert caught.value.status == 409
    assert EvaluationRound.objects.filter(pk=round.pk).exists() and Explanation.objects.filter(round=round).exists()
    round.refresh_from_db()
    assert round.archived_at is None and round.status == status


@pytest.mark.parametrize("status", [Status.DRAFT, Status.COMPUTING, Status.RATING, Status.CLOSED])
def test_a_round_with_ratings_can_never_be_deleted_whatever_its_status(
    status, researcher_api_client, researcher_client
):
    """Even a round forced back to draft keeps its ratings: the service, the API and the page all refuse."""
    round = rated_round(status=status)
    with pytest.raises(ApplicationError, match="has ratings and can never be deleted") as caught:
        services.round_delete(round=round)
    assert caught.value.status == 409

    response = researcher_api_client.delete(f"/api/rounds/{round.pk}/")
    assert response.status_code == 409 and "can never be deleted" in response.json()["message"]

    page = researcher_client.post(reverse("rounds:delete", args=[round.pk]), follow=True)
    assert "can never be deleted" in page.content.decode()
    assert Rating.objects.filter(judge__round=round).count() == 1
    assert EvaluationRound.objects.filter(pk=round.pk).exists()


def test_api_deletes_a_draft_with_204(researcher_api_client):
    round = draft_round()
    response = researcher_api_client.delete(f"/api/rounds/{round.pk}/")
    assert response.status_code == 204
    assert not EvaluationRound.objects.filter(pk=round.pk).exists()
    assert researcher_api_client.delete(f"/api/rounds/{round.pk}/").status_code == 404


def test_delete_page_goes_back_to_the_list_with_a_message(researcher_client):
    round = draft_round()
    response = researcher_client.post(reverse("rounds:delete", args=[round.pk]), follow=True)
    assert response.redirect_chain[-1][0] == reverse("rounds:list")
    assert f"Draft round “{round.name}” deleted. Its pairs are kept." in response.content.decode()


# ---------------------------------------------------------------- archive and restore
def test_archive_hides_a_closed_round_keeps_everything_and_restore_brings_it_back(researcher_client):
    round = rated_round(status=Status.CLOSED)
    ratings = Rating.objects.filter(judge__round=round).count()
    services.round_archive(round=round)
    assert round.archived_at is not None and round.status == Status.CLOSED
    assert Rating.objects.filter(judge__round=round).count() == ratings == 1
    listing = researcher_client.get(reverse("rounds:list")).content.decode()
    assert round.name not in listing
    shown = researcher_client.get(reverse("rounds:list") + "?archived=1").content.decode()
    assert round.name in shown and "archived</span>" in shown
    detail = researcher_client.get(reverse("rounds:detail", args=[round.pk])).content.decode()
    assert "Restore to the round list" in detail

    researcher_client.post(reverse("rounds:restore", args=[round.pk]))
    round.refresh_from_db()
    assert round.archived_at is None
    assert round.name in researcher_client.get(reverse("rounds:list")).content.decode()


def test_archiving_twice_or_restoring_a_current_round_is_a_409():
    round = EvaluationRoundFactory(explained_pairs=1, methods=["bti"], status=Status.CLOSED)
    with pytest.raises(ApplicationError, match="is not archived"):
        services.round_restore(round=round)
    services.round_archive(round=round)
    with pytest.raises(ApplicationError, match="archived already"):
        services.round_archive(round=round)


def test_api_archive_filter_and_restore(researcher_api_client):
    current = EvaluationRoundFactory(explained_pairs=1, methods=["bti"], status=Status.CLOSED)
    archived = EvaluationRoundFactory(explained_pairs=1, methods=["bti"], status=Status.CLOSED)
    response = researcher_api_client.post(f"/api/rounds/{archived.pk}/archive/")
    assert response.status_code == 200 and response.json()["archived_at"]

    listed = {r["id"] for r in researcher_api_client.get("/api/rounds/").json()["results"]}
    assert listed == {current.pk}
    everything = researcher_api_client.get("/api/rounds/?archived=true").json()["results"]
    assert {r["id"] for r in everything} == {current.pk, archived.pk}
    assert researcher_api_client.get("/api/rounds/?archived=maybe").status_code == 400

    assert researcher_api_client.post(f"/api/rounds/{current.pk}/archive/").status_code == 200
    response = researcher_api_client.post(f"/api/rounds/{archived.pk}/restore/")
    assert response.status_code == 200 and response.json()["archived_at"] is None
    assert researcher_api_client.post(f"/api/rounds/{archived.pk}/restore/").status_code == 409


# ---------------------------------------------------------------- confirmation
def test_close_delete_and_archive_forms_ask_for_confirmation_and_the_script_is_loaded(researcher_client):
    pages = {
        "delete": draft_round(),
        "close": EvaluationRoundFactory(explained_pairs=1, methods=["bti"], status=Status.RATING),
        "archive": EvaluationRoundFactory(explained_pairs=1, methods=["bti"], status=Status.CLOSED),
    }
    for action, round in pages.items():
        html = researcher_client.get(reverse("rounds:detail", args=[round.pk])).content.decode()
        action_url = reverse(f"rounds:{action}", args=[round.pk])
        form = html[html.index(f'action="{action_url}"') :].split(">", 1)[0]
        assert 'data-confirm="' in form, (action, form)
        assert '<script src="/static/bti/confirm.js" defer></script>' in html
        assert "onclick=" not in html and "onsubmit=" not in html


def test_dropping_failed_explanations_asks_first(researcher_client):
    round = EvaluationRoundFactory(explained_pairs=2, methods=["bti"], status=Status.COMPUTING)
    Explanation.objects.filter(round=round).update(status=Explanation.Status.FAILED)
    html = researcher_client.get(reverse("rounds:detail", args=[round.pk])).content.decode()
    assert 'data-confirm="Drop the 2 failed explanations? They are deleted and will not be rated."' in html


def test_confirm_script_cancels_the_submit_when_the_user_says_no():
    from django.conf import settings

    script = (settings.BASE_DIR / "static" / "bti" / "confirm.js").read_text()
    assert "form[data-confirm]" in script or 'hasAttribute("data-confirm")' in script
    assert "window.confirm(" in script and "preventDefault()" in script
