"""Plugin methods in rounds: offered like any method (form, API, labels), refused before launch when
they cannot run here, and in the worker a broken plugin fails its chunk's rows with a message that
names it, storing none of them."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.urls import reverse

from bti_eval.core.exceptions import ApplicationError
from bti_eval.rounds import compute, services
from bti_eval.rounds.forms import method_choices
from bti_eval.rounds.models import EvaluationRound, Explanation
from tests.factories import ParagraphPairFactory
from tests.plugin_install import (
    EXAMPLE_METHOD,
    EXAMPLE_SOURCE,
    EXAMPLE_TITLE,
    WRAP_BTI,
    broken_distribution,
    fake_plugin,
    on_path,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_encoder_cache")]
Status = EvaluationRound.Status


def _computing(methods: list[str], model_dir: Path, n_pairs: int = 2) -> EvaluationRound:
    """A round over ``n_pairs`` new pairs, launched with the broker replaced (rows PENDING)."""
    from unittest import mock

    round = services.round_create(
        name="plugins", pairs=ParagraphPairFactory.create_batch(n_pairs), methods=methods, model=str(model_dir)
    )
    with mock.patch("bti_eval.rounds.tasks.explain_chunk.apply_async"):
        services.round_launch(round=round)
    round.refresh_from_db()
    assert round.status == Status.COMPUTING
    return round


def _compute_all(round: EvaluationRound, *, worker: str = "") -> None:
    for method in round.methods:
        ids = list(Explanation.objects.filter(round=round, method=method).values_list("id", flat=True))
        compute.explanations_compute(explanation_ids=ids, worker=worker)


def test_the_form_and_the_api_offer_an_installed_plugin_method(
    researcher_client, researcher_api_client, example_plugin
):
    assert (EXAMPLE_METHOD, f"{EXAMPLE_METHOD}: {EXAMPLE_TITLE} (plugin {EXAMPLE_SOURCE})") in method_choices()
    html = researcher_client.get(reverse("rounds:new")).content.decode()
    assert f'value="{EXAMPLE_METHOD}"' in html and EXAMPLE_SOURCE in html

    pair = ParagraphPairFactory()
    created = researcher_api_client.post(
        "/api/rounds/", {"name": "p", "pairs": [pair.pk], "methods": ["bti", EXAMPLE_METHOD]}, format="json"
    )
    assert created.status_code == 201, created.json()
    assert created.json()["methods"] == ["bti", EXAMPLE_METHOD]


def test_without_the_plugin_the_api_refuses_its_method(researcher_api_client):
    pair = ParagraphPairFactory()
    response = researcher_api_client.post(
        "/api/rounds/", {"name": "p", "pairs": [pair.pk], "methods": [EXAMPLE_METHOD]}, format="json"
    )
    assert response.status_code == 400 and f"Unknown method(s) {EXAMPLE_METHOD}" in response.json()["message"]


def test_a_broken_plugin_method_is_refused_at_creation_with_its_name_and_distribution(tmp_path, researcher_api_client):
    folder = broken_distribution(tmp_path, "broken_dist_rounds")
    pair = ParagraphPairFactory()
    with on_path(folder):
        response = researcher_api_client.post(
            "/api/rounds/", {"name": "p", "pairs": [pair.pk], "methods": ["bti", "broken-method"]}, format="json"
        )
    body = response.json()
    assert response.status_code == 400 and body["extra"]["field"] == "methods"
    assert body["message"].startswith("method 'broken-method' (plugin broken-dist 2.3) cannot be used: cannot import")
    assert "missing_dependency_xyz" in body["message"] and not EvaluationRound.objects.exists()


def test_launch_is_refused_when_a_plugins_function_is_gone_and_nothing_is_written(
    tmp_path, researcher_api_client, published
):
    folder = fake_plugin(tmp_path, "gone-dist", "gone-method", body=WRAP_BTI + "    return s\n")
    with on_path(folder):
        round = services.round_create(name="p", pairs=[ParagraphPairFactory()], methods=["bti", "gone-method"])
        for module in folder.glob("*_scores.py"):
            module.unlink()  # the plugin's function module was removed since the round was created
        response = researcher_api_client.post(f"/api/rounds/{round.pk}/launch/")
    assert response.status_code == 400
    assert "method 'gone-method' (plugin gone-dist 1.0): module" in response.json()["message"]
    assert "is not installed here" in response.json()["message"]
    round.refresh_from_db()
    assert round.status == Status.DRAFT and not Explanation.objects.exists() and len(published) == 0


def test_launch_is_refused_when_the_plugin_was_uninstalled(tmp_path, published):
    folder = fake_plugin(tmp_path, "removed-dist", "removed-method", body=WRAP_BTI + "    return s\n")
    with on_path(folder):
        round = services.round_create(name="p", pairs=[ParagraphPairFactory()], methods=["removed-method"])
    with pytest.raises(ApplicationError, match="Method 'removed-method' is not installed on this server"):
        services.round_launch(round=round)
    round.refresh_from_db()
    assert round.status == Status.DRAFT and not Explanation.objects.exists() and len(published) == 0


def test_a_plugin_method_is_computed_like_a_built_in(tiny_model_dir, example_plugin):
    round = _computing(["bti", EXAMPLE_METHOD], tiny_model_dir)
    _compute_all(round)
    rows = Explanation.objects.filter(round=round, method=EXAMPLE_METHOD)
    assert rows.count() == 2 and set(rows.values_list("status", flat=True)) == {Explanation.Status.DONE}
    assert all(row.payload["method"] == EXAMPLE_METHOD and row.payload["pairs"] for row in rows)
    round.refresh_from_db()
    assert round.status == Status.RATING


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ("    s.token_scores = s.token_scores[:, :-1]\n    return s\n", "returned token_scores of shape"),
        ("    raise RuntimeError('boom in the plugin')\n", "failed: RuntimeError: boom in the plugin"),
        (  # right for one pair, wrong for a batch: no pair-by-pair rescue keeps some rows of a broken method
            "    if s.similarity.size > 1:\n        s.hidden = s.hidden[:, :-1]\n    return s\n",
            "returned hidden of shape",
        ),
    ],
    ids=["wrong-shape", "raises", "wrong-in-batches"],
)
def test_a_broken_plugin_fails_its_rows_with_its_name_and_stores_none(tmp_path, tiny_model_dir, change, error):
    folder = fake_plugin(tmp_path, "shape-dist", "shape-method", body=WRAP_BTI + change, version="0.9")
    with on_path(folder):
        round = _computing(["bti", "shape-method"], tiny_model_dir, n_pairs=3)
        _compute_all(round)
    failed = Explanation.objects.filter(round=round, method="shape-method")
    assert set(failed.values_list("status", flat=True)) == {Explanation.Status.FAILED}
    assert set(failed.values_list("payload", flat=True)) == {None}
    for message in failed.values_list("error", flat=True):
        assert message.startswith("method 'shape-method' (plugin shape-dist 0.9) ") and error in message
    built_in = Explanation.objects.filter(round=round, method="bti")
    assert set(built_in.values_list("status", flat=True)) == {Explanation.Status.DONE}
    round.refresh_from_db()
    assert round.status == Status.COMPUTING  # waits for a retry or a drop: never opens half computed


def test_a_worker_without_the_plugin_fails_its_rows_saying_so(tiny_model_dir, example_plugin_site):
    with on_path(example_plugin_site):
        round = _computing([EXAMPLE_METHOD], tiny_model_dir)
    _compute_all(round, worker="gpu-7@box 0123abcd")  # this process no longer has the plugin
    rows = Explanation.objects.filter(round=round)
    assert set(rows.values_list("status", flat=True)) == {Explanation.Status.FAILED}
    for message in rows.values_list("error", flat=True):
        assert message.startswith(f"method {EXAMPLE_METHOD!r} is not installed on worker gpu-7@box: install the plugin")


def test_non_finite_scores_fail_only_their_pair(tmp_path, tiny_model_dir):
    body = WRAP_BTI + (
        "    import numpy as np\n"
        "    poisoned = (batch.ids == encoder.tokenizer.convert_tokens_to_ids('poison')).any(-1).cpu().numpy()\n"
        "    s.token_scores[poisoned, 1] = np.nan  # the first content token of those rows\n"
        "    return s\n"
    )
    folder = fake_plugin(tmp_path, "nan-dist", "nan-method", body=body)
    with on_path(folder):
        round = _computing(["nan-method"], tiny_model_dir, n_pairs=3)
        bad = round.pairs.order_by("id").first()
        bad.text_a = "poison in a wool glove"
        bad.save()
        _compute_all(round)
    rows = {row.pair_id: row for row in Explanation.objects.filter(round=round)}
    assert rows[bad.pk].status == Explanation.Status.FAILED and rows[bad.pk].payload is None
    assert rows[bad.pk].error == "method 'nan-method' (plugin nan-dist 1.0) gave NaN or infinite scores for this pair"
    assert {row.status for pk, row in rows.items() if pk != bad.pk} == {Explanation.Status.DONE}
