"""Pairwise rounds under the security tests: blinding (no method, no side's method, no internal id
in anything a judge receives; the two explanations and every item page built alike), the
authorization matrix of the routes a pairwise round uses, and schemathesis on the judge's and the
results operations of a pairwise round."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model

from bti_eval.judging.models import Assignment, Invite, Judge
from bti_eval.judging.services.invites import judge_invite
from bti_eval.judging.services.studies import study_link_create
from bti_eval.rounds import services as round_services
from bti_eval.rounds.models import EvaluationRound, Explanation
from tests.factories import EvaluationRoundFactory, ExplanationFactory, ParagraphPairFactory, ResearcherFactory
from tests.judging.payloads import payload_for_texts
from tests.security.conftest import World
from tests.security.test_blinding import ENTRY_PAGES, MODEL, Visit, _masked, _next_ids_from, internal_ids
from tests.security.test_schemathesis import CHECKS, SETTINGS, schema, served

METHODS = ["bti", "tfidf-w2v", "vanilla-gradients"]
ROUND_ID, PAIR_IDS, FIRST_EXPLANATION_ID = 641_123, (811_101, 811_102), 901_101


def make_pairwise_world(*, leaky_ids: bool = False) -> World:
    """A pairwise round open for rating (2 pairs × 3 methods, one control item), whose payloads name
    their method and model everywhere a careless view might show them; judges A and B, a researcher,
    and a Prolific study link of the round (as ``conftest.World`` has)."""
    extra = {"id": ROUND_ID} if leaky_ids else {}
    round = EvaluationRoundFactory(
        name="bti vs tfidf-w2v", methods=METHODS, status=EvaluationRound.Status.COMPUTING, **extra
    )
    next_id = FIRST_EXPLANATION_ID
    for n, pair_id in enumerate(PAIR_IDS):
        pair = ParagraphPairFactory(
            **({"id": pair_id, "external_id": f"ext-{pair_id}"} if leaky_ids else {}),
            text_a=f"Soft wool gloves with touchscreen fingertips, style {n}.",
            text_b=f"Knitted wool gloves that work with touchscreens, model {n}.",
        )
        round.pairs.add(pair)
        for rank, method in enumerate(METHODS):
            payload = payload_for_texts(
                pair.text_a, pair.text_b, method=method, extra={"model": MODEL, "diagnostics": {"method": method}}
            )
            for side in payload["words"]:  # the same words matched, highlighted more weakly by each method
                for word in side:
                    word["saliency"] = float(f"{word['saliency'] * (1 - 0.25 * rank):.3f}")
            ExplanationFactory(
                **({"id": next_id} if leaky_ids else {}), round=round, pair=pair, method=method, payload=payload
            )
            next_id += 1
    round_services.round_options_update(round=round, design="pairwise", control_items=1)
    if leaky_ids:
        _next_ids_from(7_200_001, get_user_model(), Judge, Invite, Assignment, Explanation)  # controls too
    judge, token = judge_invite(round=round, name="Ann")
    other, _ = judge_invite(round=round, name="Ben")
    round_services.round_open(round=round)
    round.refresh_from_db()
    link = study_link_create(round=round, platform="prolific")
    return World(
        round=round, judge=judge, judge_token=token, other_judge=other, researcher=ResearcherFactory(), study_link=link
    )


# --- blinding --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_pairwise_judges_whole_visit_leaks_no_method_no_side_and_no_internal_id():
    world = make_pairwise_world(leaky_ids=True)
    judge, round = world.judge, world.round
    visit = Visit()
    visit("GET", f"/j/{world.judge_token}/")
    visit.form_post(f"/j/{world.judge_token}/")
    for url in ENTRY_PAGES:
        visit("GET", url)
    items = list(judge.assignments.order_by("position"))
    assert len(items) == 2 * 3 + 1
    for n, item in enumerate(items):
        visit("GET", f"/rate/{item.public_id}/")
        visit("GET", f"/api/judge/assignments/{item.public_id}/")
        visit("PUT", f"/api/judge/assignments/{item.public_id}/rating/", {"choice": "left", "seconds": 4})
        visit("POST", f"/api/judge/assignments/{item.public_id}/rating/", {"choice": ("right", "same")[n % 2]})
        visit("PUT", f"/api/judge/assignments/{item.public_id}/rating/", {"score": 3})  # the wrong kind: a 400
    for url in (
        "/rate/done/",
        "/rate/no-such-item/",
        "/api/judge/assignments/nope/",
        f"/api/rounds/{round.pk}/results/",
    ):
        visit("GET", url)
    assert visit.statuses() >= {200, 201, 302, 400, 403, 404}
    visit.assert_blind(internal_ids(round, judge, judge.invite, PAIR_IDS), hidden=["control"])


def _page_skeleton(html: str, fragments: list[str], public_ids: list[str]) -> str:
    """An item page with its two explanations, ids, nonces and numbers masked."""
    for fragment in fragments:
        assert html.count(fragment) >= 1
        html = html.replace(fragment, "<EXPLANATION>")
    for public_id in public_ids:
        html = html.replace(public_id, "ID")
    html = re.sub(r'nonce="[^"]*"', 'nonce="N"', html)
    html = re.sub(r'<nav class="judge-nav".*?</nav>', "<NAV>", html, flags=re.S)  # first/last differ: no item
    return re.sub(r"\d", "9", html)


@pytest.mark.django_db
def test_every_pairwise_item_is_built_alike_whichever_method_is_on_which_side(client):
    """The two explanations of an item have one structure (only numbers and highlight levels
    differ); every item page is the same page around them; the API's fields are the same for every
    item. So nothing in the markup, its order or its size tells a side's method."""
    world = make_pairwise_world()
    judge = world.judge
    client.force_login(judge.user)
    items = list(judge.assignments.select_related("explanation", "right_explanation").order_by("position"))
    public_ids = [item.public_id for item in items]
    skeletons, api_shapes, sides = set(), set(), set()
    for item in items:
        page = client.get(f"/rate/{item.public_id}/").content.decode()
        item.explanation.refresh_from_db()
        item.right_explanation.refresh_from_db()
        left, right = item.explanation.judge_html, item.right_explanation.judge_html
        assert left != right and page.index(left) < page.index(right)  # the left one first
        if not (item.explanation.is_control or item.right_explanation.is_control):
            # Every method here matches the same words (payload_for_texts), so only numbers and
            # highlight levels may differ; a control's random matches are its content, not a tell.
            masked = {_masked(re.sub(r"expl-a\d{3}", "expl-aNNN", f)) for f in (left, right)}
            assert len(masked) == 1  # one structure on both sides
        skeletons.add(_page_skeleton(page, [left, right], public_ids))
        body = client.get(f"/api/judge/assignments/{item.public_id}/").json()
        api_shapes.add((tuple(sorted(body)), body["kind"], body["html"] == left, body["right_html"] == right))
        sides.add((item.explanation.method, item.right_explanation.method))
    assert len(skeletons) == 1
    assert api_shapes == {(tuple(sorted(body)), "pairwise", True, True)}  # the page's two, in its order
    # The sides were random: some method was shown on the left in one item and on the right in another.
    lefts, rights = {left for left, _ in sides}, {right for _, right in sides}
    assert lefts & rights


# --- authorization ---------------------------------------------------------------------------

ROLES = ("anonymous", "judge", "other_judge", "researcher")
# (method, URL template, body) -> statuses in ROLES order, on a pairwise round: the judge's item is A's.
PAIRWISE_ROUTES = {
    ("GET", "/rate/{public_id}/", None): (403, 200, 404, 403),
    ("GET", "/api/judge/assignments/{public_id}/", None): (401, 200, 404, 403),
    ("PUT", "/api/judge/assignments/{public_id}/rating/", '{"choice": "left"}'): (401, 201, 404, 403),
    ("POST", "/api/judge/assignments/{public_id}/rating/", '{"choice": "same"}'): (401, 201, 404, 403),
    ("GET", "/api/judge/assignments/{public_id}/rating/", None): (401, 405, 405, 403),
    ("GET", "/api/judge/assignments/", None): (401, 200, 200, 403),
    ("GET", "/rate/", None): (403, 200, 200, 403),
    ("GET", "/rate/rubric/", None): (403, 200, 200, 403),
    ("GET", "/rounds/{round_id}/results/", None): (302, 403, 403, 200),
    ("GET", "/api/rounds/{round_id}/results/", None): (401, 403, 403, 200),
    ("GET", "/api/rounds/{round_id}/export/?format=csv", None): (401, 403, 403, 200),
    ("GET", "/api/rounds/{round_id}/export/?format=heds", None): (401, 403, 403, 200),
    # The study plan needs a MOS pilot: a clear 409 on the form page, never a 500.
    ("GET", "/rounds/{round_id}/results/plan/?judges=5&pairs=10&simulations=10&seed=0", None): (302, 403, 403, 409),
}
CASES = [(key, role) for key in PAIRWISE_ROUTES for role in ROLES]


@pytest.mark.django_db
@pytest.mark.parametrize(("key", "role"), CASES, ids=[f"{k[0]} {k[1]} as {r}" for k, r in CASES])
def test_pairwise_routes_answer_each_role_as_expected(key, role):
    world = make_pairwise_world()
    method, template, body = key
    public_id = world.judge.assignments.order_by("position").first().public_id
    url = template.format(public_id=public_id, round_id=world.round.pk)
    client = world.client(role)
    response = client.generic(method, url, body or "", content_type="application/json")
    expected = PAIRWISE_ROUTES[key][ROLES.index(role)]
    assert response.status_code == expected, f"{method} {url} as {role}: {response.status_code}, expected {expected}"
    if url.startswith("/api/") and response.status_code >= 400:
        assert response["Content-Type"].startswith("application/json") and "message" in response.json()


# --- schemathesis ----------------------------------------------------------------------------


@pytest.fixture
def pairwise_world_ids(db, monkeypatch):
    """The schemathesis world of test_schemathesis, with a pairwise round: the judge's items are
    pairwise ones; path ids are swapped for this world's half of the time."""
    monkeypatch.setattr("celery.app.task.Task.apply_async", lambda self, *args, **kwargs: None)
    world = make_pairwise_world()
    with served(world, round_id=[world.round.pk], judge_id=[world.other_judge.pk]):
        yield world


PAIRWISE_OPERATIONS = schema.include(path_regex=r"^/api/(judge/|rounds/\{round_id\}/(results|export)/)")


@pytest.mark.slow
@PAIRWISE_OPERATIONS.parametrize()
@SETTINGS
def test_judge_and_results_operations_on_a_pairwise_round(case, pairwise_world_ids):
    """The judge's operations as the pairwise judge, the results and exports as the researcher."""
    cookies = pairwise_world_ids.judge_cookies
    if case.path.startswith("/api/judge/"):
        case.call_and_validate(headers={"X-CSRFToken": cookies["csrftoken"]}, cookies=cookies, checks=CHECKS)
    else:
        token = pairwise_world_ids.researcher_token
        case.call_and_validate(headers={"Authorization": f"Token {token}"}, checks=CHECKS)
