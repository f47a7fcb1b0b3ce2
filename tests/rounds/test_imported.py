"""Imported methods (rounds.imported): the upload is atomic and draft-only, names never collide,
provenance is recorded, a launch turns the uploads into the round's rows and a worker completes
them from the round's model."""

from __future__ import annotations

import hashlib
from unittest import mock

import pytest

from bti_eval.core.exceptions import ApplicationError
from bti_eval.judging.services import assignments
from bti_eval.pairs.services import pairs_delete
from bti_eval.results import auto_metrics
from bti_eval.rounds import compute, services
from bti_eval.rounds.imported import imported_method_create, imported_method_remove
from bti_eval.rounds.models import EvaluationRound, Explanation, ImportedExplanation, ImportedMethod
from tests.factories import JudgeFactory, ParagraphPairFactory, ResearcherFactory
from tests.imported_files import explanation_line, jsonl, pair_lines

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_encoder_cache")]
Status = EvaluationRound.Status


@pytest.fixture
def pairs():
    return [
        ParagraphPairFactory(text_a="Soft wool gloves, touchscreen-compatible.", text_b="Knitted gloves in wool."),
        ParagraphPairFactory(text_a="A long viscose dress with a V-neck.", text_b="Maxi dress in soft viscose."),
        ParagraphPairFactory(text_a="Slim-fit jeans in stretch denim.", text_b="Skinny jeans, stretchy denim."),
    ]


@pytest.fixture
def draft(pairs, tiny_model_dir):
    return services.round_create(name="draft", pairs=pairs, methods=["bti"], model=str(tiny_model_dir))


def upload(round, content: bytes, *, name: str = "shap", file_name: str = "shap.jsonl", by=None):
    return imported_method_create(round=round, name=name, content=content, file_name=file_name, by=by)


def refusal(round, content: bytes, **options) -> ApplicationError:
    with pytest.raises(ApplicationError) as caught:
        upload(round, content, **options)
    return caught.value


def nothing_written(round) -> bool:
    round.refresh_from_db()
    return round.methods == ["bti"] and not ImportedMethod.objects.exists() and not ImportedExplanation.objects.exists()


def test_an_upload_records_its_provenance_and_becomes_a_method_of_the_round(draft, pairs):
    researcher = ResearcherFactory()
    lines = pair_lines(pairs)
    lines[1]["similarity"] = 0.42
    content = jsonl(*lines)
    method = upload(draft, content, file_name="../../etc/shap.jsonl", by=researcher)
    assert (method.name, method.file_name, method.size_bytes, method.lines) == ("shap", "shap.jsonl", len(content), 3)
    assert method.sha256 == hashlib.sha256(content).hexdigest() and method.similarities_given == 1
    assert method.uploaded_by == researcher and method.uploaded_at is not None
    draft.refresh_from_db()
    assert draft.methods == ["bti", "shap"]
    stored = {e.pair_id: e for e in method.explanations.all()}
    assert sorted(stored) == sorted(p.pk for p in pairs) and [stored[p.pk].line for p in pairs] == [1, 2, 3]
    assert stored[pairs[1].pk].payload["similarity"] == 0.42 and "similarity" not in stored[pairs[0].pk].payload
    assert stored[pairs[0].pk].payload["method"] == "shap"
    assert stored[pairs[0].pk].payload["words"] == lines[0]["words"]
    assert not Explanation.objects.exists()  # a draft has no explanation rows: launching makes them


def test_the_file_name_is_recorded_without_folders_or_control_characters(draft, pairs):
    method = upload(draft, jsonl(*pair_lines(pairs)), file_name="C:\\data\\sh\x00ap\n.jsonl")
    assert method.file_name == "shap.jsonl"


def test_one_bad_line_refuses_the_whole_file_and_writes_nothing(draft, pairs):
    lines = pair_lines(pairs)
    lines[2]["words"][0][1]["start"] += 1  # "fit" no longer where it is
    lines[2]["words"][0][1]["end"] += 1
    error = refusal(draft, jsonl(*lines))
    assert error.status == 400 and error.extra["field"] == "file"
    [problem] = error.extra["errors"]
    assert problem["line"] == 3 and "does not match the pair's text there" in problem["message"]
    assert error.message.startswith("File 'shap.jsonl' was refused (1 error; nothing was imported):")
    assert nothing_written(draft)

    lines = pair_lines(pairs)
    lines[0]["words"][1][0]["saliency"] = 2
    error = refusal(draft, jsonl(lines[0], lines[1], "", lines[2], "[1]"))
    assert [(e["line"], e["message"][:24]) for e in error.extra["errors"]] == [
        (1, "paragraph b word 0 'Knit"),
        (5, "expected a JSON object, "),
    ]
    assert nothing_written(draft)


def test_every_pair_of_the_round_exactly_once(draft, pairs):
    lines = pair_lines(pairs)
    error = refusal(draft, jsonl(lines[0], lines[2]))
    [problem] = error.extra["errors"]
    assert problem["line"] is None and f"has no explanation in the file: '{pairs[1].external_id}'" in problem["message"]
    error = refusal(draft, jsonl(*lines, explanation_line("elsewhere", "a", "b")))
    assert error.extra["errors"] == [{"line": 4, "message": "round 'draft' has no pair with id 'elsewhere'"}]
    error = refusal(draft, jsonl(*lines, lines[0]))
    assert (
        error.extra["errors"][0]["line"] == 4
        and "appears again (first on line 1)" in error.extra["errors"][0]["message"]
    )
    assert nothing_written(draft)


def test_pairs_without_an_external_id_are_named_by_their_id(tiny_model_dir):
    pair = ParagraphPairFactory(external_id="", text_a="Wool gloves.", text_b="Gloves of wool.")
    round = services.round_create(name="r", pairs=[pair], methods=["bti"], model=str(tiny_model_dir))
    upload(round, jsonl(explanation_line(pair.pk, pair.text_a, pair.text_b)))  # an integer id reads as its text
    assert ImportedExplanation.objects.get().pair == pair


def test_pairs_that_share_an_id_cannot_be_named_apart():
    twins = [ParagraphPairFactory(source=s, external_id="1") for s in ("fashion", "wine")]
    round = services.round_create(name="r", pairs=twins, methods=["bti"])
    error = refusal(round, jsonl(*pair_lines(twins[:1])))
    assert error.status == 400 and "share an id ('1' (sources 'fashion', 'wine'))" in error.message


@pytest.mark.parametrize(
    ("name", "status", "fragment"),
    [
        ("bti", 400, "the name of a method the platform computes"),
        ("tfidf-w2v", 400, "the name of a method the platform computes"),
        ("control", 400, "kept for the round's control items"),
        ("Shap", 400, "use lower case"),
        ("sh ap", 400, "is not allowed"),
        ("", 400, "Give the imported method a name"),
    ],
)
def test_a_name_never_collides_with_another_method(draft, pairs, name, status, fragment):
    error = refusal(draft, jsonl(*pair_lines(pairs)), name=name)
    assert (error.status, error.extra["field"]) == (status, "name") and fragment in error.message
    assert nothing_written(draft)


def test_a_second_import_under_the_same_name_is_a_conflict_and_plugins_names_are_taken(draft, pairs, monkeypatch):
    content = jsonl(*pair_lines(pairs))
    upload(draft, content)
    error = refusal(draft, content)
    assert error.status == 409 and "already has a method named 'shap'" in error.message
    import explainers.registry

    registered = explainers.registry.available_methods()
    monkeypatch.setattr(explainers.registry, "available_methods", lambda: [*registered, "acme-plugin"])
    assert refusal(draft, content, name="acme-plugin").status == 400
    upload(draft, content, name="shap-2")
    draft.refresh_from_db()
    assert draft.methods == ["bti", "shap", "shap-2"]


def test_only_a_draft_takes_or_gives_back_an_imported_method(draft, pairs, published):
    content = jsonl(*pair_lines(pairs))
    upload(draft, content)
    services.round_launch(round=draft)
    error = refusal(draft, content, name="other")
    assert error.status == 409 and "only a draft round can be" in error.message
    with pytest.raises(ApplicationError) as caught:
        imported_method_remove(round=draft, name="shap")
    assert caught.value.status == 409
    with pytest.raises(ApplicationError) as caught:
        imported_method_remove(round=draft, name="nope")
    assert caught.value.status == 404


def test_a_file_over_the_limit_is_413(draft, pairs, settings):
    settings.BTI_MAX_UPLOAD_BYTES = 100
    assert refusal(draft, jsonl(*pair_lines(pairs))).status == 413
    assert nothing_written(draft)


def test_a_draft_can_remove_an_imported_method(draft, pairs):
    upload(draft, jsonl(*pair_lines(pairs)))
    assert imported_method_remove(round=draft, name="shap") == "shap"
    assert nothing_written(draft)
    upload(draft, jsonl(*pair_lines(pairs)))
    services.round_delete(round=draft)  # the draft goes with its imports; the pairs stay
    assert not ImportedMethod.objects.exists() and not ImportedExplanation.objects.exists()
    assert all(type(p).objects.filter(pk=p.pk).exists() for p in pairs)


def test_deleting_a_pair_of_the_draft_takes_its_imported_explanation_with_it(draft, pairs, published):
    upload(draft, jsonl(*pair_lines(pairs)))
    assert pairs_delete(pair_ids=[pairs[0].pk]).drafts == ["draft"]
    assert ImportedExplanation.objects.count() == 2
    services.round_launch(round=draft)
    assert Explanation.objects.filter(round=draft, method="shap").count() == 2


def test_launch_makes_the_imported_rows_after_the_computed_ones_and_a_worker_completes_them(
    draft, pairs, tiny_model_dir, django_capture_on_commit_callbacks
):
    import explainers

    lines = pair_lines(pairs)
    lines[1]["similarity"] = 0.42
    lines[2]["model"] = "xsbert-mpnet"
    upload(draft, jsonl(*lines))
    judge = JudgeFactory(round=draft)
    with (
        mock.patch("bti_eval.rounds.tasks.explain_chunk.apply_async") as published,
        django_capture_on_commit_callbacks(execute=True),
    ):
        services.round_launch(round=draft)
    rows = list(Explanation.objects.filter(round=draft).order_by("id"))
    assert [r.method for r in rows] == ["bti"] * 3 + ["shap"] * 3  # computed first: their similarity is shown
    assert {r.status for r in rows} == {Explanation.Status.PENDING}
    assert rows[3].payload["words"] == lines[0]["words"]
    chunks = [c.kwargs["args"][0] for c in published.call_args_list]
    assert sorted(i for chunk in chunks for i in chunk) == [r.pk for r in rows]

    for chunk in chunks:
        assert compute.explanations_compute(explanation_ids=chunk)["failed"] == 0
    draft.refresh_from_db()
    assert draft.status == Status.RATING and judge.assignments.count() == 6
    encoder = explainers.load_encoder(str(tiny_model_dir), device="cpu")
    expected = explainers.explain_pairs(encoder, [(p.text_a, p.text_b) for p in pairs], "bti")
    done = {(r.method, r.pair_id): r.payload for r in Explanation.objects.filter(round=draft)}
    for pair, computed in zip(pairs, expected, strict=True):
        imported = done[("shap", pair.pk)]
        assert imported["method"] == "shap" and imported["truncated"] is False and "words_read" not in imported
        assert imported["words"] == lines[pairs.index(pair)]["words"]
        assert done[("bti", pair.pk)]["similarity"] == pytest.approx(computed.similarity, abs=1e-6)
    assert done[("shap", pairs[0].pk)]["similarity"] == pytest.approx(expected[0].similarity, abs=1e-6)
    assert done[("shap", pairs[1].pk)]["similarity"] == 0.42  # its own, as given
    assert done[("shap", pairs[0].pk)]["model"] == tiny_model_dir.name
    assert done[("shap", pairs[2].pk)]["model"] == "xsbert-mpnet"


def test_a_long_paragraph_gets_the_models_cut_on_the_imported_method_too(tiny_model_dir, published):
    long = " ".join(["Warm wool gloves"] * 300)
    pair = ParagraphPairFactory(text_a=long, text_b="Gloves.")
    round = services.round_create(name="long", pairs=[pair], methods=["bti"], model=str(tiny_model_dir))
    upload(round, jsonl(*pair_lines([pair])))
    services.round_launch(round=round)
    with pytest.warns(UserWarning, match="truncated"):
        compute.explanations_compute(explanation_ids=list(round.explanations.values_list("id", flat=True)))
    payloads = {e.method: e.payload for e in round.explanations.all()}
    assert payloads["shap"]["truncated"] is True and payloads["bti"]["truncated"] is True
    assert payloads["shap"]["words_read"] == payloads["bti"]["words_read"]


def test_a_refused_launch_keeps_the_uploads_and_failed_rows_keep_their_payload_for_a_retry(draft, pairs, published):
    upload(draft, jsonl(*pair_lines(pairs)))
    services.round_launch(round=draft)
    with pytest.raises(ApplicationError):
        services._launch_revert(draft.pk, "The broker is down.")
    draft.refresh_from_db()
    assert draft.status == Status.DRAFT and not draft.explanations.exists() and ImportedExplanation.objects.count() == 3
    services.round_launch(round=draft)
    ids = list(draft.explanations.filter(method="shap").values_list("id", flat=True))
    services.explanations_fail(explanation_ids=ids, error="lost")
    assert services.explanations_retry_failed(round=draft) == 3
    assert all(e.payload["method"] == "shap" for e in draft.explanations.filter(method="shap"))


def test_public_ids_avoid_the_words_of_the_rounds_method_names(monkeypatch):
    avoid = assignments.public_id_avoid(["bti", "zq-shapley-kernels"])
    assert {"zq", "shapley", "kernel", "bti", "vanilla"} <= avoid
    drawn = iter(["xxKernelxx", "xxZQxxxxxx", "clean-id-123"])
    monkeypatch.setattr(assignments, "new_public_id", lambda: next(drawn))
    assert assignments._blind_public_id(avoid) == "clean-id-123"


def test_imported_methods_have_no_sanity_score(draft, pairs, published):
    upload(draft, jsonl(*pair_lines(pairs)))
    chunk = auto_metrics.compute_chunk(round=draft, metric="sanity", method="shap", options={"sanity_pairs": 2})
    assert chunk == {"methods": {}, "notes": {"sanity": auto_metrics.SANITY_IMPORTED}}
