"""Invite links (single use, bound to their judge, expiring, revocable, not guessable by brute force),
login rate limiting, and production's ``check --deploy``."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client, override_settings
from django.utils import timezone

from bti_eval.core import ratelimit
from bti_eval.judging.models import Invite
from bti_eval.judging.services.invites import invite_revoke
from tests.factories import ResearcherFactory

pytestmark = pytest.mark.django_db
PASSWORD = "pw-not-for-production"  # tests.factories.UserFactory's


def _browser(address: str) -> Client:
    return Client(REMOTE_ADDR=address)


# --- invites ---------------------------------------------------------------------------------


def test_an_invite_signs_in_its_own_judge_once(world):
    first = _browser("198.51.100.1")
    assert first.get(f"/j/{world.judge_token}/").status_code == 200  # a link preview spends nothing
    assert first.post(f"/j/{world.judge_token}/").status_code == 302
    assert int(first.session["_auth_user_id"]) == world.judge.user_id

    # Single use: another browser (someone who got hold of the link) is turned away, on GET and POST.
    stranger = _browser("198.51.100.2")
    for method in ("get", "post"):
        response = getattr(stranger, method)(f"/j/{world.judge_token}/")
        assert response.status_code == 410 and "already used" in response.content.decode()
        assert "_auth_user_id" not in stranger.session

    # Bound to its judge: signed in as judge B, A's used link does not become A, and B stays B.
    other = world.client("other_judge")
    assert other.post(f"/j/{world.judge_token}/").status_code == 410
    assert int(other.session["_auth_user_id"]) == world.other_judge.user_id
    # The judge it belongs to may come back through it.
    assert first.get(f"/j/{world.judge_token}/")["Location"] == "/rate/"


@pytest.mark.parametrize("state", ["expired", "revoked"])
def test_expired_and_revoked_links_are_refused_with_what_to_do(world, state):
    if state == "expired":
        Invite.objects.filter(judge=world.judge).update(expires_at=timezone.now() - timedelta(seconds=1))
    else:
        invite_revoke(judge=world.judge)
    for method in ("get", "post"):
        response = getattr(_browser("198.51.100.3"), method)(f"/j/{world.judge_token}/")
        assert response.status_code == 410
        assert "ask the researcher for a new one" in response.content.decode()


def test_revoking_ends_a_judges_open_session(world):
    browser = _browser("198.51.100.4")
    browser.post(f"/j/{world.judge_token}/")
    public_id = world.judge.assignments.first().public_id
    assert browser.get(f"/rate/{public_id}/").status_code == 200
    invite_revoke(judge=world.judge)
    assert browser.get(f"/rate/{public_id}/").status_code == 403
    assert browser.get("/api/judge/assignments/").status_code in (401, 403)


def test_guessing_invite_links_is_rate_limited_per_address(world):
    guesser = _browser("198.51.100.5")
    limit = ratelimit.INVITE_PER_ADDRESS
    for n in range(limit.max_failures):
        assert guesser.get(f"/j/guess-{n}/").status_code == 404
    blocked = guesser.get("/j/guess-final/")
    assert blocked.status_code == 429 and blocked["Retry-After"] == str(limit.window_seconds)
    assert "Too many invalid invite links" in blocked.content.decode()
    # Even the right link waits out the window from that address; other addresses are not affected.
    assert guesser.post(f"/j/{world.judge_token}/").status_code == 429
    assert _browser("198.51.100.6").post(f"/j/{world.judge_token}/").status_code == 302


# --- login -----------------------------------------------------------------------------------


def _login(browser: Client, username: str, password: str, **extra):
    return browser.post("/accounts/login/", {"username": username, "password": password}, **extra)


def test_login_is_rate_limited_per_address_and_username():
    researcher = ResearcherFactory()
    attacker = _browser("192.0.2.10")
    for _ in range(ratelimit.LOGIN_PER_USER.max_failures):
        response = _login(attacker, researcher.username, "wrong")
        assert response.status_code == 200 and "didn't match" in response.content.decode()
    blocked = _login(attacker, researcher.username, PASSWORD)  # even the right password is not checked
    assert blocked.status_code == 429
    assert "Too many failed log-ins" in blocked.content.decode() and "15 minutes" in blocked.content.decode()
    assert blocked["Retry-After"] == str(15 * 60)
    assert "_auth_user_id" not in attacker.session
    # A spoofed X-Forwarded-For does not help (no trusted proxy is configured) ...
    assert _login(attacker, researcher.username, PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.99").status_code == 429
    # ... the same username from another address, and another username from this one, still work.
    assert _login(_browser("192.0.2.11"), researcher.username, PASSWORD).status_code == 302
    other = ResearcherFactory()
    assert _login(attacker, other.username, PASSWORD).status_code == 302


def test_the_admin_login_is_rate_limited_too():
    researcher = ResearcherFactory(is_superuser=True)
    attacker = _browser("192.0.2.60")
    for _ in range(ratelimit.LOGIN_PER_USER.max_failures):
        response = attacker.post("/admin/login/", {"username": researcher.username, "password": "wrong"})
        assert response.status_code == 200
    blocked = attacker.post("/admin/login/", {"username": researcher.username, "password": PASSWORD})
    assert blocked.status_code == 429 and "Too many failed log-ins" in blocked.content.decode()
    ok = _browser("192.0.2.61").post("/admin/login/", {"username": researcher.username, "password": PASSWORD})
    assert ok.status_code == 302


def test_many_usernames_from_one_address_hit_the_address_limit():
    attacker = _browser("192.0.2.20")
    for n in range(ratelimit.LOGIN_PER_ADDRESS.max_failures):
        assert _login(attacker, f"user-{n}", "wrong").status_code == 200
    assert _login(attacker, "user-new", "wrong").status_code == 429


def test_a_successful_login_resets_the_username_count():
    researcher = ResearcherFactory()
    browser = _browser("192.0.2.30")
    for _ in range(ratelimit.LOGIN_PER_USER.max_failures - 1):
        _login(browser, researcher.username, "wrong")
    assert _login(browser, researcher.username, PASSWORD).status_code == 302
    browser.logout()
    for _ in range(ratelimit.LOGIN_PER_USER.max_failures - 1):
        assert _login(browser, researcher.username, "wrong").status_code == 200
    assert _login(browser, researcher.username, PASSWORD).status_code == 302


@override_settings(BTI_TRUSTED_PROXY_COUNT=1)
def test_behind_a_trusted_proxy_the_address_the_proxy_saw_counts():
    researcher = ResearcherFactory()
    proxy = _browser("10.0.0.1")
    for _ in range(ratelimit.LOGIN_PER_USER.max_failures):
        _login(proxy, researcher.username, "wrong", HTTP_X_FORWARDED_FOR="spoofed, 192.0.2.40")
    assert _login(proxy, researcher.username, PASSWORD, HTTP_X_FORWARDED_FOR="192.0.2.40").status_code == 429
    assert _login(proxy, researcher.username, PASSWORD, HTTP_X_FORWARDED_FOR="192.0.2.41").status_code == 302


def test_judges_have_no_password_to_guess(world):
    assert not world.judge.user.has_usable_password()
    response = _login(_browser("192.0.2.50"), world.judge.user.username, "")
    assert response.status_code == 200 and "_auth_user_id" not in response.client.session
