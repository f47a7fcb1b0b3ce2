"""Sample-size planning (results.planning, ``manage.py plan_study``, the results page's plan)."""

from __future__ import annotations

import io
import os
import re
from unittest import mock

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from bti_eval.core.exceptions import ApplicationError
from bti_eval.results import planning
from tests.results.helpers import ROOT, manage_py
from tests.results.test_simulation import open_round


def plan(**settings) -> planning.Plan:
    return planning.plan_study(**{"simulations": 200, "seed": 0, **settings})


def ratings(design: str, *, seed: int, judges=12, pairs=80, sds=(0.3, 0.4, 0.3, 0.6)):
    """Integer 1-5 ratings of 4 methods from the planning model, and the SDs the draws realised."""
    rng = np.random.default_rng(seed)
    judge_sd, pair_sd, item_sd, residual_sd = sds
    b, u, v = rng.normal(0, judge_sd, judges), rng.normal(0, pair_sd, pairs), rng.normal(0, item_sd, (pairs, 4))
    means = np.array([3.4, 3.1, 2.9, 2.7])
    rows = []
    for p in range(pairs):
        for m in range(4):
            for j in range(judges) if design == "all" else rng.choice(judges, 3, replace=False):
                rows.append((j, p, m, means[m] + b[j] + u[p] + v[p, m] + rng.normal(0, residual_sd)))
    a = np.array(rows)
    scores = np.clip(np.rint(a[:, 3]), 1, 5)
    realised = {"judge": b.std(ddof=1) if judges > 1 else 0.0, "pair": u.std(ddof=1)}
    return dict(judge=a[:, 0], pair=a[:, 1], method=a[:, 2].astype(int).astype(str), score=scores), realised


@pytest.mark.parametrize("design", ["all", "k-per-item"])
def test_variance_components_recover_the_parts_of_rounded_ratings(design):
    data, realised = ratings(design, seed=0)
    variance, _ = planning.variance_components(**data)
    assert variance.residual == pytest.approx(0.6, abs=0.06)  # after Sheppard's 1/12 for the rounding
    assert variance.judge == pytest.approx(realised["judge"], abs=0.08)
    assert variance.pair == pytest.approx(realised["pair"], abs=0.08)
    assert variance.item == pytest.approx(0.3, abs=0.08)


def test_variance_components_refuse_a_pilot_that_cannot_separate_them():
    data, _ = ratings("all", seed=1, judges=1, pairs=5)
    with pytest.raises(ApplicationError, match="two judges or more") as caught:
        planning.variance_components(**data)
    assert caught.value.status == 409


def test_power_is_alpha_when_the_methods_do_not_differ():
    result = plan(effects=[0.0], sd=1.0, methods=2, judges=[3], pairs=[30], simulations=3000, seed=7)
    assert result.power[0][0][0] == pytest.approx(0.05, abs=0.015)
    # With Holm over more methods, a single comparison is rejected less often than α.
    holm = plan(effects=[0.0], sd=1.0, methods=4, judges=[3], pairs=[30], simulations=1000, seed=7)
    assert holm.power[0][0][0] < 0.03


def test_power_grows_with_judges_pairs_and_the_difference():
    result = plan(effects=[0.25, 0.5], sd=1.0, item_sd=0.3, methods=3, judges=[1, 3, 10], pairs=[10, 30, 90])
    power = np.array(result.power)  # (effects, judges, pairs)
    assert power.shape == (2, 3, 3)
    slack = 0.05  # Monte-Carlo noise of 200 simulations (common random numbers keep it small)
    assert np.all(np.diff(power, axis=1) >= -slack) and np.all(np.diff(power, axis=2) >= -slack)
    assert np.all(power[1] >= power[0] - slack)
    assert power[0, -1, -1] > power[0, 0, 0] + 0.4
    assert power[1, -1, -1] > 0.95 and power[0, 0, 0] < 0.2
    # An explanation's own effect is not averaged away by judges: more pairs help more than more judges.
    assert power[0, 0, -1] > power[0, -1, 0]


def test_a_plan_is_reproducible_with_its_seed():
    settings = dict(effects=[0.3], sd=1.0, judge_sd=0.3, methods=3, judges=[2, 4], pairs=[20, 40])
    assert plan(**settings).power == plan(**settings).power
    assert plan(**settings).power != plan(**settings, seed=1).power


def test_the_smallest_design_has_the_fewest_ratings():
    power = np.array([[0.5, 0.85], [0.81, 0.99]])
    assert planning.smallest_design(power, [2, 5], [20, 50]) == (2, 50, 0.85)  # 100 ratings each: fewer judges
    assert planning.smallest_design(power, [2, 5], [20, 40]) == (2, 40, 0.85)
    assert planning.smallest_design(np.array([[0.1]]), [2], [20]) is None


@pytest.fixture
def demo_like(db):
    """A round like the demo's: 12 pairs × the paper's 7 methods, 5 simulated judges (one sloppy)."""
    from bti_eval.rounds.models import default_methods
    from bti_eval.rounds.services import round_open, round_options_update
    from tests.factories import EvaluationRoundFactory

    round = EvaluationRoundFactory(explained_pairs=12, methods=default_methods(), status="computing")
    round_options_update(round=round, control_items=3)
    round = round_open(round=round)
    call_command("simulate_judges", str(round.pk), "--judges", "5", "--seed", "0")
    return round


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("plan_study", *args, stdout=out)
    return out.getvalue()


def test_plan_study_on_a_pilot_round_prints_the_table_and_the_simulation_count(demo_like):
    grid = ("--effect", "0.5", "1.0", "--judges", "2", "5", "--pairs", "20", "100", "--simulations", "100")
    out = run(str(demo_like.pk), *grid)
    assert f"Study plan from round {demo_like.name!r}" in out
    assert re.search(r"Pilot: \d+ ratings by 5 judges of 7 methods on 12 pairs \(design all\)", out)
    assert "7 methods → 21 comparison(s)" in out and "100 simulations per cell, seed 0" in out
    tables = re.findall(r"^\s+(\d+)\s+([\d.]+)\s+([\d.]+)$", out, re.M)
    assert [row[0] for row in tables] == ["2", "5", "2", "5"]
    power = np.array([[float(v) for v in row[1:]] for row in tables]).reshape(2, 2, 2)
    assert power[:, 1, 1].min() > power[:, 0, 0].max() - 0.05 and power[1, 1, 1] >= power[0, 1, 1]
    assert out.count("Smallest design with power ≥ 0.8") + out.count("No design in this grid") == 2
    assert out == run(str(demo_like.pk), *grid)

    default = run(str(demo_like.pk), "--judges", "3", "--pairs", "30", "--simulations", "20")
    assert "in the pilot)" in default  # the pilot's own differences between neighbouring methods

    careful = run(str(demo_like.pk), "--exclude-flagged", "--judges", "3", "--pairs", "30", "--simulations", "20")
    assert "by 4 judges" in careful and "Without the 1 flagged judge(s)." in careful
    sd = [float(re.search(r"Rating SD ([\d.]+)", text).group(1)) for text in (default, careful)]
    assert sd[1] < sd[0]  # the sloppy judge's random ratings were most of the noise


def test_plan_study_with_assumed_effects_and_no_round():
    out = run("--effect", "0.3", "--sd", "1.0", "--judges", "3", "10", "--pairs", "50", "200", "--simulations", "200")
    assert "Study plan" in out and "2 methods → 1 comparison(s)" in out and "Difference 0.30 (assumed)" in out
    assert "Rating SD 1.00 = judge bias 0.00, pair 0.00, explanation 0.00, residual 1.00" in out
    assert re.search(r"Smallest design with power ≥ 0.8: \d+ judges × \d+ pairs", out)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "args, message",
    [
        (["--effect", "0.3"], "Give a pilot round, or assumed effects"),
        (["--sd", "1"], "Give a pilot round, or assumed effects"),
        (["--effect", "-0.3", "--sd", "1"], "between 0 and 4"),
        (["--effect", "0.3", "--sd", "0"], "--sd must be more than 0"),
        (["--effect", "0.3", "--sd", "0.5", "--judge-sd", "0.6"], "smaller than its parts"),
        (["--effect", "0.3", "--sd", "1", "--judges", "0"], "--judges must be 1 to"),
        (["--effect", "0.3", "--sd", "1", "--pairs", "1"], "--pairs must be 2 to"),
        (["--effect", "0.3", "--sd", "1", "--simulations", "0"], "--simulations must be between"),
        (["--effect", "0.3", "--sd", "1", "--methods", "1"], "--methods must be between 2"),
        (
            ["--effect", "0.3", "--sd", "1", "--methods", "7", "--judges", "100", "--pairs", "5000"],
            "plan with fewer judges or pairs",
        ),
        (["no-such-round", "--effect", "0.3"], "No round with id or name"),
    ],
)
def test_plan_study_bad_arguments_are_clear_errors(args, message):
    with pytest.raises(CommandError, match=re.escape(message)) as caught:
        run(*args)
    assert caught.value.returncode == 2


def test_plan_study_on_a_round_without_enough_ratings_says_so(db):
    round = open_round(pairs=4, controls=0)
    with pytest.raises(CommandError, match="Rate more, or plan from assumed effects") as caught:
        run(str(round.pk))
    assert caught.value.returncode == 2


def test_plan_study_exits_2_without_a_traceback():
    done = manage_py("plan_study", "--effect", "0.3", env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 2
    assert "Give a pilot round, or assumed effects" in done.stderr and "Traceback" not in done.stderr


def test_the_results_page_offers_the_plan_without_computing_it(demo_like, researcher_client):
    with mock.patch.object(planning, "plan_study", side_effect=AssertionError("computed on the results page")):
        html = researcher_client.get(reverse("results:round", args=[demo_like.pk])).content.decode()
    assert 'id="study-plan"' in html and f'action="/rounds/{demo_like.pk}/results/plan/"' in html

    url = reverse("results:plan", args=[demo_like.pk])
    assert 'id="plan-form"' in researcher_client.get(url).content.decode()  # the empty page computes nothing
    query = {"effects": "0.5, 1", "judges": "2 5", "pairs": "20 60", "simulations": "50", "seed": "3"}
    first = researcher_client.get(url, query)
    assert first.status_code == 200
    page = first.content.decode()
    assert "Difference 0.50" in page and "Difference 1.00" in page and "<strong>50 simulations</strong>" in page
    assert "computed in" in page and page.count("<th>2</th>") == 2
    with mock.patch.object(planning, "plan_study", side_effect=AssertionError("not cached")):
        again = researcher_client.get(url, query).content.decode()
    assert "shown from the cache" in again


@pytest.mark.parametrize(
    "query, status, message",
    [
        ({"judges": "2 x", "pairs": "20", "simulations": "50", "seed": "0"}, 400, "Give whole numbers"),
        ({"judges": "2", "pairs": "20", "simulations": "5", "seed": "0"}, 400, "greater than or equal to 10"),
        ({"judges": "0", "pairs": "20", "simulations": "50", "seed": "0"}, 400, "--judges must be 1 to"),
        ({"judges": "2 5 10 20", "pairs": "100 500 1000", "simulations": "2000", "seed": "0"}, 400, "too large"),
    ],
)
def test_the_plan_page_answers_bad_values_with_a_clear_400(demo_like, researcher_client, query, status, message):
    response = researcher_client.get(reverse("results:plan", args=[demo_like.pk]), query)
    assert response.status_code == status and message in response.content.decode()


def test_the_plan_page_of_a_round_without_ratings_is_a_409(db, researcher_client):
    round = open_round(pairs=4, controls=0)
    query = {"judges": "2", "pairs": "20", "simulations": "50", "seed": "0"}
    response = researcher_client.get(reverse("results:plan", args=[round.pk]), query)
    assert response.status_code == 409 and "Rate more" in response.content.decode()


def test_the_plan_page_is_for_researchers_only(demo_like, client):
    response = client.get(reverse("results:plan", args=[demo_like.pk]), {"judges": "2", "pairs": "20"})
    assert response.status_code in (302, 403)
