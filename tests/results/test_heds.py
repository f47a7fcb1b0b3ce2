"""The HEDS 3.0 datasheet export: valid against the shipped schema, filled with the round's facts,
and every question the platform cannot answer kept, empty, for the researcher."""

from __future__ import annotations

import copy
import json

import jsonschema
import pytest
from django.core.management import call_command
from django.urls import reverse

from bti_eval.judging.models import Judge, Rating
from bti_eval.judging.views import SCORES
from bti_eval.results import exports
from bti_eval.results.heds import SCHEMA_PATH, form, heds_schema, instrument
from bti_eval.results.report import round_report
from bti_eval.rounds.models import EvaluationRound, ImportedMethod
from tests.factories import EvaluationRoundFactory
from tests.results.test_simulation import open_round

pytestmark = pytest.mark.django_db


@pytest.fixture
def simulated():
    round = open_round(pairs=10, controls=5)
    EvaluationRound.objects.filter(pk=round.pk).update(pairs_shown=4)  # not the default: the export must read it
    round.refresh_from_db()
    call_command("simulate_judges", str(round.pk), "--judges", "4", "--seed", "1")
    return round


def heds(round, **options) -> dict:
    return json.loads("".join(exports.export(round, "heds", **options)))


def validate(document: dict) -> None:
    jsonschema.Draft202012Validator(heds_schema(), format_checker=jsonschema.FormatChecker()).validate(document)


def questions(document: dict) -> dict[str, dict]:
    """Every question of the datasheet by its number (the criteria section: its first criterion's)."""
    out = {}
    for section in document["sections"].values():
        out.update(section["questions"] if "questions" in section else section["criteria"][0]["questions"])
    return out


def test_heds_export_validates_and_carries_the_rounds_facts(simulated, tmp_path):
    target = tmp_path / "heds.json"
    call_command("export_results", str(simulated.pk), "--format", "heds", "--output", str(target))
    document = json.loads(target.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(heds_schema())
    validate(document)
    q = {qid: entry["answer"] for qid, entry in questions(document).items()}
    report = round_report(round=simulated)

    assert document["form"] == {"name": "HEDS", "version": "3.0", "reference": document["form"]["reference"]}
    assert "2412.07940" in document["form"]["reference"]
    assert document["generated"]["round"] == {
        "id": simulated.pk,
        "name": simulated.name,
        "status": "rating",
        "final": False,
    }
    systems = q["2.1"]["systems"]
    assert q["2.1"]["count"] == 4 and [s["name"] for s in systems] == simulated.methods
    assert systems[0] == {"name": "bti", "title": "BTI", "source": "built-in"}
    assert systems[1]["title"] == "BTI (gradients only)"
    assert q["3.1"] == {
        "pairs": 10,
        "explanations": 40,
        "per_system": {m: 10 for m in simulated.methods},
        "control_items": 5,
        "assignments": 4 * 45,
        "ratings": Rating.objects.filter(judge__round=simulated).count(),
    }
    assert q["3.2"] == {"sources": [{"source": "test", "pairs": 10}]}
    assert q["3.5"]["truncated_explanations"] == 0
    assert q["4.1"] == {"judges": 4, "rated": 4, "flagged": 1, "excluded": 0}
    assert [(k["kind"], k["platform"], k["judges"]) for k in q["4.2"]["kinds"]] == [
        ("invited", None, 0),
        ("without invite", None, 4),
    ]
    assert q["5.3"]["design"] == "all" and q["5.3"]["judges_per_item"] is None
    seeds = {j.pk: j.seed for j in Judge.objects.filter(round=simulated)}
    assert {s["judge"]: s["seed"] for s in q["5.4"]["judge_seeds"]} == seeds
    assert q["5.4"]["round_seed"] == simulated.seed
    assert q["5.5"]["pairs_shown"] == 4 and q["5.5"]["top_k"] == 2 and q["5.5"]["blind"] is True
    assert "at most 4 matched word pairs" in q["5.5"]["description"]
    assert q["5.6"]["control_items"]["requested"] == 5 and q["5.6"]["control_items"]["items"] == 5
    assert q["5.6"]["flagged_judges"] == 1 and q["5.6"]["too_fast_seconds"] == report["options"]["too_fast_seconds"]
    assert q["6.5"] == "absolute" and q["6.9"] == 5
    assert [(s["value"], s["label"]) for s in q["6.10"]] == SCORES  # the labels on the judges' buttons
    assert q["6.10"][0]["description"].startswith("the highlighted words and pairs do not explain")
    assert q["6.12"]["question"].startswith("How well do the highlighted words and matched pairs explain")
    assert "Full rubric" not in q["6.12"]["question"]
    assert (
        "A good explanation points at the words" in q["6.12"]["instructions"] and "<" not in q["6.12"]["instructions"]
    )
    assert q["6.2"].startswith("A good explanation points at the words")
    means = {row["method"]: row["mean"] for row in q["6.13"]["results"]}
    assert means == {row["method"]: row["mean"] for row in report["methods"]}
    assert q["6.13"]["settings"]["resamples"] == 400 and q["6.13"]["settings"]["seed"] == simulated.seed
    assert {s["name"] for s in q["6.13"]["statistics"]} >= {"MOS", "95% CI", "paired tests", "agreement"}
    assert q["6.14"]["interval"]["alpha"] == report["agreement"]["overall"]["interval"]["alpha"]


def test_questions_the_platform_cannot_answer_stay_empty_with_their_question(simulated):
    document = heds(simulated)
    entries = questions(document)
    asked = {qid: text for section in form().values() for qid, text in section["questions"].items()}
    assert list(entries) == list(asked)  # every question of the form, in its order
    assert all(entries[qid]["question"] == text and text.endswith("?") for qid, text in asked.items())
    empty = {qid for qid, entry in entries.items() if entry["filled_by"] == "researcher"}
    assert {"1.1", "1.2", "1.3", "2.5", "2.6", "3.3", "3.4", "4.3", "4.4", "5.1", "6.3", "6.15", "7.1"} <= empty
    assert all(entries[qid]["answer"] is None for qid in empty)
    assert all(entries[qid]["answer"] is not None for qid in set(entries) - empty)
    assert "plan_study" in entries["3.4"]["hint"]
    assert [s["number"] for s in document["sections"].values()] == ["1", "2", "3", "4", "5", "6", "7"]


def test_the_schema_rejects_a_datasheet_that_lost_its_structure(simulated):
    document = heds(simulated)
    validate(document)
    broken = []
    missing = copy.deepcopy(document)
    del missing["sections"]["ethics"]["questions"]["7.1"]
    broken.append(missing)
    unanswered = copy.deepcopy(document)
    unanswered["sections"]["systems"]["questions"]["2.1"]["answer"] = None  # a platform answer must be there
    broken.append(unanswered)
    reworded = copy.deepcopy(document)
    reworded["sections"]["paper"]["questions"]["1.1"]["question"] = "Anything?"
    broken.append(reworded)
    wrong_shape = copy.deepcopy(document)
    wrong_shape["sections"]["design"]["questions"]["5.5"]["answer"]["pairs_shown"] = "three"
    broken.append(wrong_shape)
    for document in broken:
        with pytest.raises(jsonschema.ValidationError):
            validate(document)
    # A researcher's answer is welcome.
    filled = copy.deepcopy(heds(simulated))
    filled["sections"]["paper"]["questions"]["1.1"]["answer"] = "https://example.org/paper.pdf"
    validate(filled)


def test_k_per_item_design_imported_methods_and_flagged_judges_are_recorded(simulated):
    round = open_round(pairs=6, controls=0, design="k-per-item", judges_per_explanation=2)
    call_command("simulate_judges", str(round.pk), "--judges", "3", "--seed", "2", "--sloppy", "0")
    q = {qid: e["answer"] for qid, e in questions(heds(round)).items()}
    assert q["5.3"]["design"] == "k-per-item" and q["5.3"]["judges_per_item"] == 2
    assert "2 distinct judges" in q["5.3"]["description"]

    foreign = EvaluationRoundFactory(
        methods=["bti", "someone-elses-method", "uninstalled-plugin"], explained_pairs=3, judges=2
    )
    upload = ImportedMethod.objects.create(
        round=foreign, name="someone-elses-method", file_name="xsbert.jsonl", sha256="ab" * 32, size_bytes=10, lines=3
    )
    document = heds(foreign)
    validate(document)
    systems = questions(document)["2.1"]["answer"]["systems"]
    assert systems[0]["source"] == "built-in"
    assert systems[1] == {
        "name": "someone-elses-method",
        "title": "someone-elses-method",
        "source": "imported (explanations computed elsewhere, uploaded to this round)",
        "provenance": {
            "file_name": "xsbert.jsonl",
            "sha256": "ab" * 32,
            "uploaded_at": upload.uploaded_at.isoformat(),
            "explanations": 3,
        },
    }
    assert systems[2]["source"] == "not in this installation's method registry"

    without = heds(simulated, exclude_flagged=True)
    validate(without)
    flagged = [j["id"] for j in round_report(round=simulated)["judges"] if j["flagged"]]
    assert without["generated"]["exclude_flagged"] is True
    assert questions(without)["5.6"]["answer"]["excluded_judges"] == flagged
    assert questions(without)["4.1"]["answer"]["excluded"] == 1


def test_heds_download_from_the_api_and_the_results_page(simulated, researcher_client, researcher_api_client):
    response = researcher_api_client.get(f"/api/rounds/{simulated.pk}/export/?format=heds")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == f'attachment; filename="round-{simulated.pk}-heds.json"'
    validate(json.loads(response.content))
    html = researcher_client.get(reverse("results:round", args=[simulated.pk])).content.decode()
    assert f"/api/rounds/{simulated.pk}/export/?format=heds" in html and ">HEDS</a>" in html


def test_the_schema_ships_in_the_package_and_the_instrument_is_read_from_the_judges_templates():
    assert SCHEMA_PATH.is_file() and SCHEMA_PATH.parent.name == "heds"
    judged = instrument()
    assert [s["value"] for s in judged["scale"]] == [1, 2, 3, 4, 5]
    assert judged["question"].endswith("Rate this explanation on its own.")
