"""Inviting judges: links never lost before they are copied, bulk invites with a CSV of links,
re-issued links (a judge's second device), numbered unnamed judges, NUL-free names."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from bti_eval.core.exceptions import ApplicationError
from bti_eval.judging.models import Judge, Rating
from bti_eval.judging.services.invites import invite_revoke, judge_invite
from bti_eval.judging.services.ratings import rating_submit
from bti_eval.rounds.models import EvaluationRound
from tests.factories import EvaluationRoundFactory, ResearcherFactory

pytestmark = pytest.mark.django_db
Status = EvaluationRound.Status
LINK = re.compile(r'value="(http://testserver/j/[^"]+)"')


@pytest.fixture
def researcher_client(client):
    client.force_login(ResearcherFactory())
    return client


def _judges_url(round) -> str:
    return reverse("judging:round-judges", kwargs={"round_id": round.pk})


def _links(page: str) -> list[str]:
    return LINK.findall(page)


def _accept(link: str) -> Client:
    """A fresh browser that opens ``link`` and signs in through it."""
    browser = Client()
    assert browser.post(link.removeprefix("http://testserver"))["Location"] == reverse("judging:rate")
    return browser


# --- a link is never lost before it is copied --------------------------------------------------


def test_inviting_bob_keeps_alices_link_listed_until_dismissed(researcher_client, rating_round):
    url = _judges_url(rating_round)
    researcher_client.post(url, {"name": "Alice", "expires_in_hours": "72"})
    researcher_client.post(url, {"name": "Bob", "expires_in_hours": "72"})
    page = researcher_client.get(url).content.decode()
    links = _links(page)
    assert len(links) == 2 and "Alice" in page and "Bob" in page
    assert _links(researcher_client.get(url).content.decode()) == links  # reloading loses nothing
    # Each link is the judge's own and works.
    alice = Judge.objects.get(name="Alice")
    _accept(links[0])
    alice.invite.refresh_from_db()
    assert alice.invite.used_at is not None
    assert len(_links(researcher_client.get(url).content.decode())) == 1  # a used link leaves the list
    dismiss = reverse("judging:round-judges-links-dismiss", kwargs={"round_id": rating_round.pk})
    assert researcher_client.post(dismiss).status_code == 302
    assert _links(researcher_client.get(url).content.decode()) == []


def test_fresh_links_download_as_csv(researcher_client, rating_round):
    url = _judges_url(rating_round)
    researcher_client.post(url, {"name": "=cmd()", "expires_in_hours": "never"})
    researcher_client.post(url, {"name": "Bob", "expires_in_hours": "24"})
    on_page = _links(researcher_client.get(url).content.decode())
    response = researcher_client.get(reverse("judging:round-judges-links-csv", kwargs={"round_id": rating_round.pk}))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"] and "no-store" in response["Cache-Control"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [row["invite_link"] for row in rows] == on_page
    assert [row["name"] for row in rows] == ["'=cmd()", "Bob"]  # no spreadsheet formula
    assert rows[0]["expires_at"] == "never" and rows[1]["expires_at"].startswith("20")


def test_the_links_are_the_sessions_own(researcher_client, rating_round):
    researcher_client.post(_judges_url(rating_round), {"name": "Alice", "expires_in_hours": "72"})
    colleague = Client()
    colleague.force_login(ResearcherFactory())
    assert _links(colleague.get(_judges_url(rating_round)).content.decode()) == []


# --- bulk invites --------------------------------------------------------------------------------


def test_bulk_invite_by_names_and_by_csv(researcher_client, rating_round):
    bulk = reverse("judging:round-judges-bulk", kwargs={"round_id": rating_round.pk})
    response = researcher_client.post(bulk, {"names": "Ann\n\n  Ben  \nCleo\n", "expires_in_hours": "72"})
    assert response.status_code == 302
    upload = SimpleUploadedFile("judges.csv", b"email,name\nd@x.org,Dan\ne@x.org,\n", content_type="text/csv")
    assert researcher_client.post(bulk, {"csv_file": upload, "expires_in_hours": "168"}).status_code == 302
    names = list(Judge.objects.filter(round=rating_round).order_by("id").values_list("name", flat=True))
    assert names == ["Ann", "Ben", "Cleo", "Dan", "Judge 5"]
    assert all(judge.assignments.count() == 21 for judge in Judge.objects.filter(round=rating_round))
    page = researcher_client.get(_judges_url(rating_round)).content.decode()
    assert len(_links(page)) == 5 and "5 judges invited." not in page  # the message was shown once already
    assert page.count('data-copy="invite-url-') == 5


def test_bulk_invite_rejects_the_whole_list_on_one_bad_name(researcher_client, rating_round):
    bulk = reverse("judging:round-judges-bulk", kwargs={"round_id": rating_round.pk})
    response = researcher_client.post(bulk, {"names": "Ann\n" + "x" * 201, "expires_in_hours": "72"})
    assert response.status_code == 400 and "Line 2" in response.content.decode()
    response = researcher_client.post(bulk, {"names": "", "expires_in_hours": "72"})
    assert response.status_code == 400 and "at least one name" in response.content.decode()
    upload = SimpleUploadedFile("judges.csv", b"name\nAnn\nB\x00b\n", content_type="text/csv")
    response = researcher_client.post(bulk, {"csv_file": upload, "expires_in_hours": "72"})
    assert response.status_code == 400 and "NUL" in response.content.decode()
    assert not Judge.objects.filter(round=rating_round).exists()


def test_bulk_invite_api(researcher_client, rating_round):
    url = reverse("api-round-judges-bulk", kwargs={"round_id": rating_round.pk})
    response = researcher_client.post(url, {"names": ["Ann", "", "Cleo"]}, content_type="application/json")
    assert response.status_code == 201
    body = response.json()
    assert [row["name"] for row in body] == ["Ann", "Judge 2", "Cleo"]
    assert len({row["invite_url"] for row in body}) == 3
    _accept(body[1]["invite_url"])
    refused = researcher_client.post(url, {"names": ["Dan", "E\x00ve"]}, content_type="application/json")
    assert refused.status_code == 400 and "Null characters are not allowed" in refused.json()["message"]
    assert Judge.objects.filter(round=rating_round).count() == 3


# --- re-issue: a new link for the same judge -----------------------------------------------------


def test_reissue_stops_the_old_link_and_session_and_keeps_ratings(researcher_client, rating_round):
    judge, token = judge_invite(round=rating_round, name="Ann")
    first_device = _accept(f"http://testserver/j/{token}/")
    first = judge.assignments.get(position=0)
    rating_submit(judge=judge, public_id=first.public_id, score=4, seconds=3)
    order = list(judge.assignments.order_by("position").values_list("public_id", flat=True))

    reissue = reverse("judging:judge-reissue", kwargs={"round_id": rating_round.pk, "judge_id": judge.pk})
    assert researcher_client.post(reissue, {"expires_in_hours": "72"}).status_code == 302
    page = researcher_client.get(_judges_url(rating_round)).content.decode()
    [new_link] = _links(page)
    assert token not in new_link and "the old one no longer works" in page

    # The old link and the browser it opened are out; the new device continues where Ann left off.
    assert Client().get(f"/j/{token}/").status_code == 404
    assert first_device.get(reverse("judging:rate")).status_code == 403
    second_device = _accept(new_link)
    assert second_device.get(reverse("judging:rate-next"))["Location"] == reverse(
        "judging:rate-item", kwargs={"public_id": order[1]}
    )
    assert list(judge.assignments.order_by("position").values_list("public_id", flat=True)) == order
    assert Rating.objects.get(assignment=first).score == 4
    assert Judge.objects.filter(round=rating_round).count() == 1


def test_reissue_api_and_its_refusals(researcher_client, rating_round):
    judge, token = judge_invite(round=rating_round, name="Ann")
    _accept(f"http://testserver/j/{token}/")
    url = reverse("api-judge-reissue", kwargs={"judge_id": judge.pk})
    response = researcher_client.post(url, {"expires_in_hours": None}, content_type="application/json")
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == judge.pk and body["expires_at"] is None and token not in body["invite_url"]
    listed = researcher_client.get(reverse("api-round-judges", kwargs={"round_id": rating_round.pk})).json()
    assert listed[0]["invite"] == "pending"
    _accept(body["invite_url"])
    invite_revoke(judge=judge)
    refused = researcher_client.post(url, {}, content_type="application/json")
    assert refused.status_code == 409 and "revoked" in refused.json()["message"]
    other, _ = judge_invite(round=rating_round, name="Ben")
    EvaluationRound.objects.filter(pk=rating_round.pk).update(status=Status.CLOSED)
    refused = researcher_client.post(reverse("api-judge-reissue", kwargs={"judge_id": other.pk}))
    assert refused.status_code == 409 and "closed" in refused.json()["message"]


# --- names ---------------------------------------------------------------------------------------


def test_an_empty_name_becomes_judge_n(researcher_client, rating_round):
    url = _judges_url(rating_round)
    researcher_client.post(url, {"name": "", "expires_in_hours": "72"})
    researcher_client.post(url, {"name": "Ann", "expires_in_hours": "72"})
    researcher_client.post(url, {"name": "   ", "expires_in_hours": "72"})
    names = list(Judge.objects.filter(round=rating_round).order_by("id").values_list("name", flat=True))
    assert names == ["Judge 1", "Ann", "Judge 3"]
    page = researcher_client.get(url).content.decode()
    assert "(no name)" not in page and "Judge 3" in page


def test_a_nul_in_a_name_is_refused_by_the_form_and_the_api(researcher_client, rating_round):
    response = researcher_client.post(_judges_url(rating_round), {"name": "A\x00nn", "expires_in_hours": "72"})
    assert response.status_code == 400 and "Null characters are not allowed" in response.content.decode()
    api = reverse("api-round-judges", kwargs={"round_id": rating_round.pk})
    refused = researcher_client.post(api, {"name": "A\x00nn"}, content_type="application/json")
    assert refused.status_code == 400
    assert refused.json()["message"] == "name: Null characters are not allowed."
    with pytest.raises(ApplicationError, match="NUL"):
        judge_invite(round=rating_round, name="A\x00nn")
    assert not Judge.objects.filter(round=rating_round).exists()


def test_an_unknown_expiry_is_refused_beside_its_field(researcher_client, rating_round):
    response = researcher_client.post(_judges_url(rating_round), {"name": "Ann", "expires_in_hours": "5"})
    assert response.status_code == 400 and "Choose how long the invite stays valid." in response.content.decode()


# --- the page ------------------------------------------------------------------------------------


def test_revoke_and_new_link_buttons_ask_first_and_revoke_is_not_primary(researcher_client, rating_round):
    judge_invite(round=rating_round, name="Ann")
    page = researcher_client.get(_judges_url(rating_round)).content.decode()
    revoke = re.search(r'<form[^>]*judges/\d+/revoke/"[^>]*>', page).group(0)
    reissue = re.search(r'<form[^>]*judges/\d+/reissue/"[^>]*>', page).group(0)
    assert "data-confirm=" in revoke and "data-confirm=" in reissue
    assert re.search(r'<button type="submit" class="danger">Revoke</button>', page)
    assert "second device" in page
    assert 'src="/static/bti/copy.js"' in page and "onclick" not in page
    css = b"".join(Client().get("/static/bti/app.css").streaming_content).decode()
    assert re.search(r"button\.danger[^{]*\{[^}]*color: var\(--danger\)", css)
    assert Client().get("/static/bti/copy.js").status_code == 200


def test_closed_round_offers_no_invites_and_no_new_links(researcher_client, db):
    round = EvaluationRoundFactory(explained_pairs=1, status=Status.CLOSED)
    page = researcher_client.get(_judges_url(round)).content.decode()
    assert "Invite several judges" not in page
    bulk = reverse("judging:round-judges-bulk", kwargs={"round_id": round.pk})
    response = researcher_client.post(bulk, {"names": "Ann", "expires_in_hours": "72"})
    assert response.status_code == 409 and "closed" in response.content.decode()
