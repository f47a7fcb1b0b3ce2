"""The authorization matrix: every URL pattern (walked from the resolver, so that a new route cannot
be forgotten) × anonymous, judge, another judge, a crowd participant and researcher, each with its
expected status.

A judge's objects (an assignment's public id, the invite token) belong to judge A: "judge" is A,
"other_judge" is B asking for A's object. "crowd_judge" is a participant who arrived through the
round's study link: a judge of the round like B, so by default they get B's answers
(CROWD_JUDGE lists where they differ). Rounds, judges and catalogs are the researcher's objects.
Each case runs in a fresh database so that state-changing requests (close, revoke, invite) cannot
affect another case.
"""

from __future__ import annotations

import json
import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from bti_eval.judging.services.invites import invite_revoke
from tests.security.conftest import World, make_world

ROLES = ("anonymous", "judge", "other_judge", "researcher")  # the columns of EXPECTED
ALL_ROLES = (*ROLES, "crowd_judge")
NO_SUCH_ID = 987_654

# Expected status per role, in ROLES order.
RESEARCHER_PAGE = (302, 403, 403, 200)  # anonymous users go to the login page
RESEARCHER_ACTION = (302, 403, 403, 302)  # POST buttons: back to the round page with a message
RESEARCHER_GET_ON_POST_ONLY = (302, 403, 403, 405)
API = {  # researcher API: 401 without credentials (TokenAuthentication asks for them), 403 for judges
    200: (401, 403, 403, 200),
    201: (401, 403, 403, 201),
    400: (401, 403, 403, 400),
    404: (401, 403, 403, 404),
    405: (401, 403, 403, 405),
    409: (401, 403, 403, 409),
}

# (route name, method) -> expected statuses. A route missing here fails test_every_route_has_an_expectation.
EXPECTED: dict[tuple[str, str], tuple[int, int, int, int]] = {
    # public
    ("core:home", "GET"): (302, 302, 302, 302),
    ("login", "GET"): (200, 200, 200, 200),
    ("login", "POST"): (200, 200, 200, 200),  # wrong password: the form again
    ("logout", "GET"): (405, 405, 405, 405),
    ("logout", "POST"): (302, 302, 302, 302),
    ("password_change", "GET"): (302, 200, 200, 200),
    ("password_change_done", "GET"): (302, 200, 200, 200),
    ("api-schema", "GET"): (200, 200, 200, 200),
    ("api-docs", "GET"): (200, 200, 200, 200),
    # researcher pages
    ("pairs:list", "GET"): RESEARCHER_PAGE,
    ("pairs:import", "GET"): RESEARCHER_PAGE,
    ("pairs:import", "POST"): (302, 403, 403, 200),  # an empty form is shown again
    ("pairs:import-preview", "GET"): (302, 403, 403, 302),  # nothing uploaded yet: back to the upload
    ("pairs:delete", "GET"): RESEARCHER_GET_ON_POST_ONLY,
    ("pairs:delete", "POST"): RESEARCHER_ACTION,  # nothing chosen: back to the list with a message
    ("rounds:list", "GET"): RESEARCHER_PAGE,
    ("rounds:new", "GET"): RESEARCHER_PAGE,
    ("rounds:new", "POST"): (302, 403, 403, 200),
    ("rounds:detail", "GET"): RESEARCHER_PAGE,
    ("rounds:pairs-download", "GET"): RESEARCHER_PAGE,
    ("rounds:import", "GET"): RESEARCHER_GET_ON_POST_ONLY,
    ("rounds:import", "POST"): (302, 403, 403, 400),  # no file: the round page again, with the form's errors
    ("rounds:imported-remove", "GET"): RESEARCHER_GET_ON_POST_ONLY,
    ("rounds:imported-remove", "POST"): RESEARCHER_ACTION,  # no such method: back with a message
    ("results:round", "GET"): RESEARCHER_PAGE,
    ("results:auto-metrics", "GET"): RESEARCHER_GET_ON_POST_ONLY,
    ("results:plan", "GET"): RESEARCHER_PAGE,  # the empty form: nothing is computed
    ("judging:round-judges", "GET"): RESEARCHER_PAGE,
    ("judging:round-judges", "POST"): (302, 403, 403, 302),
    ("catalogs:list", "GET"): RESEARCHER_PAGE,
    ("catalogs:detail", "GET"): (302, 403, 403, 404),
    **{
        (f"rounds:{action}", method): expected
        for action in ("launch", "retry-failed", "drop-failed", "open", "close", "delete", "archive", "restore")
        for method, expected in (("GET", RESEARCHER_GET_ON_POST_ONLY), ("POST", RESEARCHER_ACTION))
    },
    ("judging:judge-revoke", "GET"): RESEARCHER_GET_ON_POST_ONLY,
    ("judging:judge-revoke", "POST"): RESEARCHER_ACTION,
    ("judging:judge-reissue", "GET"): RESEARCHER_GET_ON_POST_ONLY,
    ("judging:judge-reissue", "POST"): RESEARCHER_ACTION,
    ("judging:round-judges-bulk", "GET"): RESEARCHER_GET_ON_POST_ONLY,
    ("judging:round-judges-bulk", "POST"): (302, 403, 403, 400),  # no names: the form again
    ("judging:round-judges-links-csv", "GET"): RESEARCHER_PAGE,
    ("judging:round-judges-links-dismiss", "GET"): RESEARCHER_GET_ON_POST_ONLY,
    ("judging:round-judges-links-dismiss", "POST"): RESEARCHER_ACTION,
    ("judging:round-study-links", "GET"): RESEARCHER_GET_ON_POST_ONLY,
    ("judging:round-study-links", "POST"): (302, 403, 403, 400),  # no platform: the form again
    ("judging:study-link-close", "GET"): RESEARCHER_GET_ON_POST_ONLY,
    ("judging:study-link-close", "POST"): RESEARCHER_ACTION,
    ("judging:round-participants-csv", "GET"): RESEARCHER_PAGE,
    ("judging:round-preview", "GET"): (302, 403, 403, 302),  # to the first explanation's preview
    ("judging:explanation-preview", "GET"): RESEARCHER_PAGE,
    ("judging:explanation-preview", "POST"): (302, 403, 403, 405),
    ("accounts:tokens", "GET"): RESEARCHER_PAGE,
    ("accounts:tokens", "POST"): (302, 403, 403, 302),  # a token is made; the page shows it once
    ("accounts:token-revoke", "GET"): RESEARCHER_GET_ON_POST_ONLY,
    ("accounts:token-revoke", "POST"): RESEARCHER_ACTION,  # no such token: back with a message
    ("accounts:legacy-token-revoke", "GET"): RESEARCHER_GET_ON_POST_ONLY,
    ("accounts:legacy-token-revoke", "POST"): RESEARCHER_ACTION,
    # the token endpoint: credentials in the body, no session (judges have no password)
    ("api-auth-token", "GET"): (405, 405, 405, 405),
    ("api-auth-token", "POST"): (400, 400, 400, 400),
    # researcher API
    ("api-pairs", "GET"): API[200],
    ("api-pairs-import", "GET"): API[405],
    ("api-pairs-import", "POST"): API[400],
    ("api-rounds", "GET"): API[200],
    ("api-rounds", "POST"): API[400],
    ("api-round", "GET"): API[200],
    ("api-round", "DELETE"): API[409],  # the round is open: only a draft can be deleted
    ("api-round-archive", "POST"): API[409],  # only a closed round can be archived
    ("api-round-archive", "GET"): API[405],
    ("api-round-restore", "POST"): API[409],  # not archived
    ("api-round-imported-methods", "GET"): API[200],
    ("api-round-imported-methods", "POST"): API[400],  # no file
    ("api-round-imported-method", "DELETE"): API[404],  # the round has no imported method of that name
    ("api-round-imported-method", "GET"): API[405],
    ("api-pairs-delete", "POST"): API[400],  # neither ids nor a source
    ("api-pair", "DELETE"): API[409],  # the open round uses the pair
    ("api-pair", "GET"): API[405],
    ("api-round-launch", "POST"): API[409],
    ("api-round-progress", "GET"): API[200],
    ("api-round-retry-failed", "POST"): API[409],
    ("api-round-drop-failed", "POST"): API[409],
    ("api-round-open", "POST"): API[409],
    ("api-round-close", "POST"): API[200],
    ("api-round-close", "GET"): API[405],
    ("api-round-results", "GET"): API[200],
    ("api-round-export", "GET"): API[200],
    ("api-round-auto-metrics", "GET"): API[404],  # none computed yet
    ("api-round-judges", "GET"): API[200],
    ("api-round-judges", "POST"): API[201],
    ("api-judge-revoke", "POST"): API[200],
    ("api-judge-reissue", "POST"): API[200],
    ("api-round-judges-bulk", "POST"): API[400],  # no names
    ("api-round-study-links", "GET"): API[200],
    ("api-round-study-links", "POST"): API[400],  # no platform
    ("api-study-link-close", "POST"): API[200],
    ("api-study-link-close", "GET"): API[405],
    ("api-catalogs", "GET"): API[200],
    ("api-catalog", "GET"): API[404],
    ("api-catalog-embed", "POST"): API[404],
    ("api-catalog-mine", "POST"): API[404],
    ("api-catalog-train", "POST"): API[404],
    ("api-catalog-job", "GET"): API[404],
    # the judge's own pages and API (another judge's item looks exactly like a missing one: 404)
    ("judging:invite-accept", "GET"): (200, 200, 200, 200),
    ("judging:invite-accept", "POST"): (302, 302, 302, 302),  # the link signs in the judge it belongs to
    # a study link with a new participant's ids: whoever opens it becomes that participant, signed in
    ("judging:study-arrive", "GET"): (302, 302, 302, 302),
    ("judging:study-arrive", "POST"): (405, 405, 405, 405),
    ("judging:rate", "GET"): (403, 200, 200, 403),
    ("judging:rate-rubric", "GET"): (403, 200, 200, 403),
    ("judging:rate-next", "GET"): (403, 302, 302, 403),
    ("judging:rate-done", "GET"): (403, 302, 302, 403),
    ("judging:rate-item", "GET"): (403, 200, 404, 403),
    ("judging:rate-item", "POST"): (405, 405, 405, 405),
    ("api-judge-assignments", "GET"): (401, 200, 200, 403),
    ("api-judge-assignment", "GET"): (401, 200, 404, 403),
    ("api-judge-rating", "GET"): (401, 405, 405, 403),
    ("api-judge-rating", "PUT"): (401, 201, 404, 403),
    ("api-judge-rating", "POST"): (401, 201, 404, 403),
}
# Where a crowd participant's answer differs from another invited judge's (EXPECTED's other_judge).
CROWD_JUDGE: dict[tuple[str, str], int] = {}


def expected_status(name: str, method: str, role: str) -> int:
    if role == "crowd_judge":
        return CROWD_JUDGE.get((name, method), EXPECTED[(name, method)][ROLES.index("other_judge")])
    return EXPECTED[(name, method)][ROLES.index(role)]


# Queries some routes need to do their job.
QUERY = {
    "api-round-export": "?format=csv",
    "judging:study-arrive": "?PROLIFIC_PID=" + "a" * 24 + "&STUDY_ID=" + "b" * 24 + "&SESSION_ID=" + "c" * 24,
}
# The admin site: every pattern is checked by rule (researchers, staff without model permissions, may
# view the platform's rows, read-only).
ADMIN_ANONYMOUS_OR_JUDGE = 302  # to the admin login page
ADMIN_RESEARCHER = {200, 302, 403, 404, 405}


def url_patterns() -> list[tuple[str, str, list[str]]]:
    """Every URL pattern as (name or route, route, parameter names), admin included."""
    found: list[tuple[str, str, list[str]]] = []

    def walk(patterns, prefix: str, namespace: str | None) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = ":".join(p for p in (namespace, pattern.namespace) if p) or None
                walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
            elif isinstance(pattern, URLPattern):
                route = prefix + str(pattern.pattern)
                name = f"{namespace}:{pattern.name}" if namespace and pattern.name else pattern.name
                params = list(pattern.pattern.regex.groupindex)
                found.append((name or route, route, params))

    walk(get_resolver().url_patterns, "", None)
    return found


def _is_admin(route: str) -> bool:
    return route.startswith("admin/")


def test_every_route_has_an_expectation():
    """A new URL pattern must be added to EXPECTED (or be part of the admin site) to pass."""
    names = {name for name, route, _ in url_patterns() if not _is_admin(route)}
    covered = {name for name, _ in EXPECTED}
    assert sorted(names - covered) == [], "routes without an expected status: add them to EXPECTED"
    assert sorted(covered - names) == [], "EXPECTED names routes that no longer exist"


def _kwargs(world: World, params: list[str], name: str = "") -> dict:
    values = {
        "round_id": world.round.pk,
        "judge_id": world.judge.pk,
        "public_id": world.judge.assignments.order_by("position").first().public_id,
        "token": world.study_link.token if name == "judging:study-arrive" else world.judge_token,
        "link_id": world.study_link.pk,
        "explanation_id": world.round.explanations.order_by("id").first().pk,
        "token_id": NO_SUCH_ID,
        "pair_id": world.round.explanations.first().pair_id,
        "catalog_id": NO_SUCH_ID,
        "job_id": NO_SUCH_ID,
        "name": "no-such-method",
    }
    missing = [p for p in params if p not in values]
    assert not missing, f"no test value for URL parameter(s) {missing}: add one to _kwargs"
    return {p: values[p] for p in params}


def _request(client, method: str, url: str):
    if method in ("PUT", "POST") and url.startswith("/api/judge/"):
        return client.generic(method, url, json.dumps({"score": 4}), content_type="application/json")
    if method == "POST" and url.startswith("/accounts/login/"):
        return client.post(url, {"username": "nobody", "password": "wrong"})
    return client.generic(method, url)


CASES = [(name, method, role) for (name, method) in EXPECTED for role in ALL_ROLES]


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "method", "role"), CASES, ids=[f"{m} {n} as {r}" for n, m, r in CASES])
def test_route_answers_each_role_as_expected(name, method, role):
    world = make_world()
    params = next(p for n, _, p in url_patterns() if n == name)
    url = reverse(name, kwargs=_kwargs(world, params, name)) + QUERY.get(name, "")
    response = _request(world.client(role), method, url)
    expected = expected_status(name, method, role)
    assert response.status_code == expected, f"{method} {url} as {role}: {response.status_code}, expected {expected}"
    if (
        response.status_code == 302
        and role == "anonymous"
        and expected == 302
        and name
        not in (
            "core:home",
            "logout",
            "judging:invite-accept",
            "judging:study-arrive",
        )
    ):
        assert response["Location"].startswith("/accounts/login/")
    if url.startswith("/api/") and response.status_code >= 400:
        assert response["Content-Type"].startswith("application/json") and "message" in response.json()


def _admin_url(route: str) -> str:
    """A concrete URL for an admin pattern (object ids 1, an app index, the catch-all)."""
    url = route.replace("(?P<url>.*)$", "no-such-page/")
    url = re.sub(r"\^\(\?P<app_label>([a-z_]+)[^)]*\)/\$", r"\1/", url)
    url = re.sub(r"<(\w+:)?\w+>", "1", url)
    assert not re.search(r"[<>()^$?]", url), f"cannot build a URL for admin pattern {route!r}"
    return "/" + url


@pytest.mark.django_db
def test_every_admin_route_is_closed_to_anonymous_users_and_judges():
    world = make_world()
    routes = {name: route for name, route, _ in url_patterns() if _is_admin(route)}
    assert len(routes) > 20 and "admin:judging_rating_changelist" in routes
    open_to_all = {"admin:login": 200, "admin-login": 200}  # the log-in page itself (rate-limited)
    for role in ROLES:
        client = world.client(role)
        for name, route in routes.items():
            url = _admin_url(route)
            status = client.get(url).status_code
            if role == "researcher":  # staff without model permissions: view pages only
                assert status in ADMIN_RESEARCHER, (url, status)
            else:
                assert status == open_to_all.get(name, ADMIN_ANONYMOUS_OR_JUDGE), (url, role, status)
    researcher = world.client("researcher")
    assert researcher.get("/admin/judging/rating/").status_code == 200  # viewing, read-only
    assert researcher.get("/admin/judging/rating/add/").status_code == 403
    assert researcher.get("/admin/auth/user/").status_code == 403  # not the users (password hashes)
    assert world.client("judge").get("/admin/judging/rating/")["Location"].startswith("/admin/login/")


@pytest.mark.django_db
def test_a_judge_cannot_rate_or_read_through_another_judges_session_or_a_revoked_one():
    world = make_world()
    public_id = world.judge.assignments.order_by("position").first().public_id
    other = world.client("other_judge")
    for url in (f"/api/judge/assignments/{public_id}/", f"/rate/{public_id}/"):
        assert other.get(url).status_code == 404
    mine = world.client("judge")
    invite_revoke(judge=world.judge)
    assert mine.get(f"/rate/{public_id}/").status_code == 403
    assert _request(mine, "PUT", f"/api/judge/assignments/{public_id}/rating/").status_code in (401, 403)
