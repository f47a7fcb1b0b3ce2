"""The HEDS 3.0 datasheet of a round (``export_results ROUND --format heds``): ``heds_json``.

The form's structure and its questions live in one place, the shipped JSON Schema
``heds-3.0.schema.json`` (``SCHEMA_PATH``): its sections and numbered questions follow the
sections of HEDS 3.0 (Belz and Thomson, arXiv:2412.07940), each question a short paraphrase of
our own. ``heds_document`` walks that form and answers what the round knows; every other
question keeps its text with answer null and ``filled_by: "researcher"``, some with a hint.
The tests validate the output against the schema with ``jsonschema`` (a test dependency): the
platform itself does not need it at run time.

What may change as the platform grows is read in one small function each, to extend there:
``judge_kinds`` (how judges arrived: invite links today), ``design_facts`` (the assignment
design and the kind of judgement it asks for: "all" and "k-per-item" ask for absolute 1-5 ratings,
"pairwise" for a relative judgement between two methods' explanations) and ``instrument`` (the
question, the rubric and the scale, from the judges' own templates: the 1-5 scale, or the three
choices of a pairwise item).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

from django.db.models import Count, Q
from django.template.loader import get_template
from django.utils.html import strip_tags

from bti_eval.judging.models import Assignment, Judge, Rating
from bti_eval.pairs.models import ParagraphPair
from bti_eval.rounds.models import EvaluationRound, Explanation, ImportedMethod
from bti_eval.rounds.selectors import round_truncation
from explainers import registry

SCHEMA_PATH = Path(__file__).with_name("heds-3.0.schema.json")
REFERENCE = "Belz, A. and Thomson, C. (2024). HEDS 3.0: The Human Evaluation Datasheet Version 3.0. arXiv:2412.07940."
CRITERION = "Explanation quality (mean opinion score)"
PAIRWISE_CRITERION = "Explanation quality (pairwise preference)"

# Where the platform can help with a question it cannot answer.
HINTS = {
    "1.2": "The round's exports hold the items (pair ids), the instructions (this sheet), every rating and every "
    "judge's order: `manage.py export_results ROUND --format json` and `--format csv`.",
    "3.4": "`manage.py plan_study ROUND` simulates, from this round's ratings, how many judges × pairs detect a given "
    "MOS difference (power 0.8, Holm over all method pairs); the results page has the same plan.",
    "4.4": "Crowd judges' payment is set on the recruiting platform.",
    "5.9": "Judges rate in their own web browser, wherever they open their link; the platform records no device.",
    "6.3": "Belz et al.'s taxonomy: an explanation rated for how well it explains is usually 'goodness'.",
    "6.15": "Each judge rates each explanation once, so the platform measures no self-agreement.",
    "7.2": "The platform keeps each judge's display name as the researcher typed it, their ratings, remarks, "
    "timings and display order; no e-mail address or demographics.",
}


@cache
def heds_schema() -> dict[str, Any]:
    """The shipped JSON Schema of the datasheet."""
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def form() -> dict[str, dict[str, Any]]:
    """The form from the schema: ``{section: {"number", "title", "questions": {id: text}}}`` in the
    form's order; the criteria section's questions are those asked for each criterion."""
    sections = heds_schema()["properties"]["sections"]["properties"]
    out = {}
    for key, spec in sections.items():
        props = spec["properties"]
        questions = props["criteria"]["items"]["properties"] if "criteria" in props else props
        out[key] = {
            "number": props["number"]["const"],
            "title": props["title"]["const"],
            "questions": {
                qid: q["properties"]["question"]["const"] for qid, q in questions["questions"]["properties"].items()
            },
        }
    return out


def heds_json(round: EvaluationRound, *, report: dict[str, Any], exclude_flagged: bool = False) -> str:
    return json.dumps(
        heds_document(round, report=report, exclude_flagged=exclude_flagged), indent=1, ensure_ascii=False
    )


def heds_document(round: EvaluationRound, *, report: dict[str, Any], exclude_flagged: bool = False) -> dict[str, Any]:
    """The datasheet of ``round`` as a dict (valid against ``heds_schema()``); ``report`` is its
    ``round_report`` (with ``exclude_flagged`` as given)."""
    answers = {
        **_systems(round),
        **_items(round),
        **_evaluators(round, report),
        **_design(round, report),
        **_criterion(round, report),
    }
    sections = {}
    for key, section in form().items():
        questions = {qid: _question(text, qid, answers) for qid, text in section["questions"].items()}
        criterion = PAIRWISE_CRITERION if _pairwise(round) else CRITERION
        body = {"criteria": [{"criterion": criterion, "questions": questions}]} if key == "criteria" else {}
        sections[key] = {"number": section["number"], "title": section["title"], **(body or {"questions": questions})}
    return {
        "form": {"name": "HEDS", "version": "3.0", "reference": REFERENCE},
        "generated": {
            "platform": "bti-eval",
            "platform_version": _version(),
            "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "round": {"id": round.pk, "name": round.name, "status": round.status, "final": bool(report["final"])},
            "exclude_flagged": exclude_flagged,
        },
        "sections": sections,
    }


def _question(text: str, qid: str, answers: dict[str, Any]) -> dict[str, Any]:
    filled = qid in answers and answers[qid] is not None
    out = {"question": text, "answer": answers.get(qid), "filled_by": "platform" if filled else "researcher"}
    if not filled and qid in HINTS:
        out["hint"] = HINTS[qid]
    return out


def _version() -> str:
    try:
        return metadata.version("bti-eval")
    except metadata.PackageNotFoundError:
        return "unknown"


# --- what may grow: judges, designs, the instrument ------------------------------------------


def judge_kinds(round: EvaluationRound) -> list[dict[str, Any]]:
    """How the round's judges arrived, one entry per kind: ``{"kind", "platform", "judges",
    "description"}``. Today a judge comes by a one-time invite link, or without one (simulated
    judges, judges added in the admin); a crowd platform's judges would be a kind with its platform."""
    counts = Judge.objects.filter(round=round).aggregate(
        invited=Count("id", filter=Q(invite__isnull=False)), other=Count("id", filter=Q(invite__isnull=True))
    )
    kinds = [
        {
            "kind": "invited",
            "platform": None,
            "judges": counts["invited"],
            "description": "one-time invite links that the researcher created and handed out",
        }
    ]
    if counts["other"]:
        kinds.append(
            {
                "kind": "without invite",
                "platform": None,
                "judges": counts["other"],
                "description": "judges added without an invite link (simulated judges or judges added by an admin)",
            }
        )
    return kinds


def _pairwise(round: EvaluationRound) -> bool:
    return round.design == EvaluationRound.Design.PAIRWISE


def design_facts(round: EvaluationRound) -> dict[str, Any]:
    """The assignment design and the judgement it asks for: ``{"design", "judges_per_item",
    "description", "mode", "elicitation"}`` ("mode" is HEDS's absolute / relative)."""
    if _pairwise(round):
        k = round.judges_per_explanation
        share = (
            f"each item goes to {k} distinct judges, dealt so that every judge's number of items and of each method "
            "pair differ by one at most"
            if k
            else "every judge gets every item"
        )
        return {
            "design": round.design,
            "judges_per_item": k,
            "description": "pairwise: each item shows one pair's explanations by two methods side by side, for every "
            f"method pair of every pair; {share}. Which method is on the left is a coin flip per judge and item "
            "(seeded, recorded, never shown). Control items (a real explanation against a degraded copy of it) go "
            "to every judge.",
            "mode": "relative",
            "elicitation": "relative judgement, pairwise preference: which of two explanations is better, with "
            "'about the same' allowed; ranked by a Bradley-Terry model",
        }
    if round.design == EvaluationRound.Design.K_PER_ITEM:
        k = round.judges_per_explanation
        description = (
            f"k-per-item: each explanation goes to {k} distinct judges and every judge gets a balanced share "
            "(loads differ by one at most); a judge who joins after the round opened gets the least-covered "
            "explanations. Control items go to every judge."
        )
    else:
        k = None
        description = "all: every judge rates every explanation of every pair (the design of Malkiel et al., WWW '22)."
    return {
        "design": round.design,
        "judges_per_item": k,
        "description": description,
        "mode": "absolute",
        "elicitation": "direct quality estimation: each explanation rated on its own on a 1-5 scale",
    }


@cache
def instrument(pairwise: bool = False) -> dict[str, Any]:
    """What judges read and answer, from the judges' own templates: the question on every item page
    (``judging/rate.html``), the rubric (``judging/_rubric_text.html``), its definition of a good
    explanation, and the scale's values with their labels and descriptions. ``pairwise``: a
    pairwise round's (``judging/rate_pairwise.html``, ``judging/_rubric_pairwise_text.html``), whose
    "scale" is the three choices with the number keys that give them."""
    text = "judging/_rubric_pairwise_text.html" if pairwise else "judging/_rubric_text.html"
    rubric = get_template(text).render({})
    scale = [
        {"value": int(value), "label": label.strip(), "description": _text(description)}
        for value, label, description in re.findall(r"<li><strong>(\d+)</strong>\s*([^:<]+):(.*?)</li>", rubric, re.S)
    ]
    definition = re.search(r"<p>(A good explanation.*?)</p>", rubric, re.S)
    source = get_template("judging/rate_pairwise.html" if pairwise else "judging/rate.html").template.source
    reminder = re.search(r'<p class="judge-reminder">(.*?)</p>', source, re.S)
    question = re.sub(r"<a [^>]*>.*?</a>", "", reminder.group(1), flags=re.S) if reminder else ""
    return {
        "question": _text(question),
        "instructions": _text(rubric),
        "definition": _text(definition.group(1)) if definition else "",
        "scale": scale,
    }


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", strip_tags(html)).strip()


# --- answers by section -----------------------------------------------------------------------


def _systems(round: EvaluationRound) -> dict[str, Any]:
    """The methods (systems): a registry method with its source (built-in, or the plugin's
    distribution), an imported one with its file's provenance."""
    methods = registry.all_methods()
    imported = {m.name: m for m in ImportedMethod.objects.filter(round=round)}
    systems = []
    for name in round.methods:
        system = {"name": name, "title": registry.method_title(name)}
        if name in imported:
            upload = imported[name]
            system["source"] = "imported (explanations computed elsewhere, uploaded to this round)"
            system["provenance"] = {
                "file_name": upload.file_name,
                "sha256": upload.sha256,
                "uploaded_at": upload.uploaded_at.isoformat(),
                "explanations": upload.lines,
            }
        else:
            known = methods.get(name)
            system["source"] = known.source if known is not None else "not in this installation's method registry"
        systems.append(system)
    payload_model = (
        Explanation.objects.filter(round=round, status=Explanation.Status.DONE, is_control=False)
        .values_list("payload__model", flat=True)
        .first()
    )
    return {
        "2.1": {"count": len(systems), "systems": systems, "model": round.model or payload_model or "packaged default"},
        "2.2": "a pair of text paragraphs and a text-similarity encoder (the model) that scores them as similar",
        "2.3": "an explanation of the pair's similarity: a saliency for every word of each paragraph (highlighted "
        "words) and matched word pairs, one word from each paragraph, each with a score",
        "2.4": "explain why the encoder finds the two paragraphs similar (post-hoc explanation of text similarity)",
    }


def _items(round: EvaluationRound) -> dict[str, Any]:
    explanations = Explanation.objects.filter(round=round)
    per_system = dict(
        explanations.filter(is_control=False, status=Explanation.Status.DONE)
        .values("method")
        .annotate(n=Count("id"))
        .values_list("method", "n")
    )
    sources = (
        ParagraphPair.objects.filter(rounds=round).values("source").annotate(n=Count("id")).order_by("-n", "source")
    )
    truncation = round_truncation(round=round)
    return {
        "3.1": {
            "pairs": round.pairs.count(),
            "explanations": sum(per_system.values()),
            "per_system": {m: per_system.get(m, 0) for m in round.methods},
            "control_items": explanations.filter(is_control=True).count(),
            "assignments": Assignment.objects.filter(judge__round=round).count(),
            "ratings": Rating.objects.filter(judge__round=round).count(),
        },
        "3.2": {"sources": [{"source": row["source"] or "(no source)", "pairs": row["n"]} for row in sources]},
        "3.5": {
            "truncated_explanations": truncation["explanations"],
            "truncated_pairs": truncation["pairs"],
            "per_system": truncation["per_method"],
            "description": "explanations of paragraphs longer than the model's token limit: the model read only the "
            "start, and judges saw the rest dimmed after a 'The model read only up to here' mark",
        },
    }


def _evaluators(round: EvaluationRound, report: dict[str, Any]) -> dict[str, Any]:
    judges = report["judges"]
    return {
        "4.1": {
            "judges": len(judges),
            "rated": sum(1 for j in judges if j["n"] or j["n_control"]),
            "flagged": sum(1 for j in judges if j["flagged"]),
            "excluded": len(report["options"]["excluded_judges"]),
        },
        "4.2": {"kinds": judge_kinds(round)},
        "4.5": "the rating instructions (question 6.12) before the first item and on a 'Full rubric' page that every "
        "item links to; each item page repeats the question and the ends of the scale",
    }


CONTROL_SELECTION = (
    "control items are made from pairs drawn with random.Random(round seed); each control's random highlights come "
    "from the round seed and its pair"
)


def _design_and_order(
    round: EvaluationRound, report: dict[str, Any], facts: dict[str, Any], *, control_selection: str
) -> dict[str, Any]:
    """Questions 5.3 and 5.4, alike for every design: the design (``design_facts``), the judges' orders
    and seeds, and how the control items were drawn (``control_selection``)."""
    return {
        "5.3": {k: facts[k] for k in ("design", "judges_per_item", "description")},
        "5.4": {
            "order": report["design"]["order"],
            "round_seed": round.seed,
            "judge_seeds": [{"judge": j["id"], "seed": j["seed"]} for j in report["design"]["judges"]],
            "control_selection": control_selection,
        },
    }


def _design(round: EvaluationRound, report: dict[str, Any]) -> dict[str, Any]:
    if _pairwise(round):
        return _design_pairwise(round, report)
    facts = design_facts(round)
    options = report["options"]
    return {
        "5.2": "this platform's web pages: each judge has an own queue of items, one item per page, rated with "
        "buttons or the keys 1-5, saved at once; judges can go back and change a rating until the round closes",
        **_design_and_order(round, report, facts, control_selection=CONTROL_SELECTION),
        "5.5": {
            "description": "both paragraphs of the pair, the explanation's important words highlighted in each, and "
            f"a table of at most {round.pairs_shown} matched word pairs, scores relative to the explanation's best "
            "pair; the same renderer and row budget for every method, and never the method's name",
            "blind": True,
            "pairs_shown": round.pairs_shown,
            "top_k": round.top_k,
        },
        "5.6": {
            "control_items": {
                "requested": report["controls"]["requested"],
                "items": report["controls"]["items"],
                "ratings": report["controls"]["n_ratings"],
                "mean": report["controls"]["mean"],
                "real_mean": report["controls"]["real_mean"],
            },
            "too_fast_seconds": options["too_fast_seconds"],
            "judge_flags": "a judge is flagged whose median time per rating is under too_fast_seconds, or who does "
            "not rate control items lower than real ones (one-sided Mann-Whitney, p < "
            f"{options['significance']}); results can be recomputed without flagged judges",
            "flagged_judges": sum(1 for j in report["judges"] if j["flagged"]),
            "excluded_judges": list(options["excluded_judges"]),
        },
        "5.7": "judges rate whenever they like while the round is open, in any number of sittings, with no time limit "
        "per item; the time spent on each rating is recorded",
    }


def _design_pairwise(round: EvaluationRound, report: dict[str, Any]) -> dict[str, Any]:
    """Section 5 of a pairwise round: the mode, design, order and sides, and its control items."""
    facts, options, controls = design_facts(round), report["options"], report["controls"]
    return {
        "5.2": "this platform's web pages: each judge has an own queue of items, one item per page showing two "
        "explanations side by side, answered with three buttons or the keys ←/1 (left), →/2 (right) and ↓/3 (about "
        "the same), saved at once; judges can go back and change a choice until the round closes",
        **_design_and_order(
            round,
            report,
            facts,
            control_selection=f"{CONTROL_SELECTION}; the real explanation it is compared with is of a method drawn "
            "per judge",
        ),
        "5.5": {
            "description": "both paragraphs of the pair and, side by side, two explanations of it by two methods: "
            f"each with its important words highlighted and a table of at most {round.pairs_shown} matched word "
            "pairs, scores relative to the explanation's best pair; the same renderer and row budget for every "
            "method, and never a method's name or side",
            "blind": True,
            "pairs_shown": round.pairs_shown,
            "top_k": round.top_k,
        },
        "5.6": {
            "control_items": {
                "requested": controls["requested"],
                "items": controls["items"],
                "ratings": controls["n_ratings"],
                "mean": None,  # no scores: which side the judges preferred instead
                "real_mean": None,
                "real_preferred": controls["real_preferred"],
                "degraded_preferred": controls["degraded_preferred"],
                "same": controls["same"],
            },
            "too_fast_seconds": options["too_fast_seconds"],
            "judge_flags": "a judge is flagged whose median time per choice is under too_fast_seconds, or who "
            "prefers the degraded explanation of control items at least as often as the real one; results can be "
            "recomputed without flagged judges",
            "flagged_judges": sum(1 for j in report["judges"] if j["flagged"]),
            "excluded_judges": list(options["excluded_judges"]),
        },
        "5.7": "judges choose whenever they like while the round is open, in any number of sittings, with no time "
        "limit per item; the time spent on each choice is recorded",
    }


def _criterion(round: EvaluationRound, report: dict[str, Any]) -> dict[str, Any]:
    """Section 6: the criterion, how judges answer (``instrument``), and the statistics of the round's design."""
    pairwise = _pairwise(round)
    facts, judged = design_facts(round), instrument(pairwise=pairwise)
    return {
        "6.1": PAIRWISE_CRITERION if pairwise else CRITERION,
        "6.2": judged["definition"] or None,
        "6.5": facts["mode"],
        "6.6": "subjective",
        "6.7": "intrinsic",
        "6.8": facts["elicitation"],
        "6.9": len(judged["scale"]) or None,
        "6.10": judged["scale"] or None,
        "6.11": (
            "three buttons below the two explanations: 'Left is better', 'About the same', 'Right is better', "
            "each with its keys (←/1, ↓/3, →/2)"
            if pairwise
            else "one button per value, each with its number and label, in order from 1 to 5; keys 1-5 as well"
        ),
        "6.12": {"question": judged["question"], "instructions": judged["instructions"]},
        **(_statistics_pairwise(report) if pairwise else _statistics(report)),
    }


def _statistics_pairwise(report: dict[str, Any]) -> dict[str, Any]:
    """Questions 6.13 and 6.14 of a pairwise round: Bradley-Terry statistics, agreement over comparisons."""
    options, block = report["options"], report["pairwise"]
    kendall = block["kendall"]
    return {
        "6.13": {
            "statistics": [
                {"name": "Bradley-Terry strengths", "description": f"{block['model']}; ties count as {block['ties']}"},
                {"name": "95% CI", "description": f"{options['bootstrap']} ({block['resamples']} resamples)"},
                {"name": "win rates", "description": "how often each method was preferred to each other (ties half)"},
                {"name": "ranking", "description": "methods ordered by strength"},
                {
                    "name": "Kendall's tau",
                    "description": "tau-b between the Bradley-Terry ranking and the MOS ranking of a rating round over "
                    "the same pairs and methods, when there is one"
                    + (f" (round {kendall['round_id']})" if kendall else " (none in this installation)"),
                },
                {
                    "name": "agreement",
                    "description": f"Krippendorff's alpha, ordinal and interval, {block['agreement']['coding']}",
                },
                {
                    "name": "judge quality",
                    "description": "per judge: agreement with the others' most frequent choice, share of left "
                    "choices (position bias), median seconds, control-item test (question 5.6)",
                },
            ],
            "settings": {
                k: options[k] for k in ("confidence", "resamples", "alpha_resamples", "seed", "exclude_flagged")
            }
            | {"excluded_judges": options["excluded_judges"], "sides": block["sides"]},
            "results": [
                {
                    k: row.get(k)
                    for k in ("method", "label", "rank", "strength", "ci_low", "ci_high", "win_rate", "comparisons")
                }
                for row in report["methods"]
            ],
        },
        "6.14": {
            "measure": "Krippendorff's alpha over the comparisons judged twice or more "
            f"({block['agreement']['coding']})",
            "ordinal": _alpha(block["agreement"]["ordinal"]),
            "interval": _alpha(block["agreement"]["interval"]),
            "resamples": block["agreement"]["resamples"],
        },
    }


def _statistics(report: dict[str, Any]) -> dict[str, Any]:
    """Questions 6.13 and 6.14 of a rating round: the paper's MOS table and tests, agreement over explanations."""
    options, agreement = report["options"], report["agreement"]
    return {
        "6.13": {
            "statistics": [
                {
                    "name": "MOS",
                    "description": "mean of all ratings of a method (control items never count); ± the "
                    "sample SD of the judges' per-method means, as Table 1 of Malkiel et al. (WWW '22)",
                },
                {"name": "95% CI", "description": f"{options['bootstrap']} ({options['resamples']} resamples)"},
                {"name": "paired tests", "description": f"{options['paired_test']}; effect: {options['effect_size']}"},
                {
                    "name": "letters",
                    "description": "compact letter display: methods sharing a letter do not differ "
                    f"significantly (Holm-adjusted p ≥ {options['significance']})",
                },
                {
                    "name": "agreement",
                    "description": "Krippendorff's alpha, ordinal and interval, over explanations "
                    f"rated twice or more; CI: {options['alpha_bootstrap']} ({options['alpha_resamples']} resamples)",
                },
                {
                    "name": "judge quality",
                    "description": "per judge: mean, leave-one-out z, Spearman agreement with "
                    "the others, median seconds, control-item test (question 5.6)",
                },
            ],
            "settings": {
                k: options[k]
                for k in (
                    "confidence",
                    "significance",
                    "resamples",
                    "alpha_resamples",
                    "seed",
                    "exclude_flagged",
                    "excluded_judges",
                )
            },
            "results": [
                {
                    k: row.get(k)
                    for k in ("method", "label", "n", "n_pairs", "mean", "std", "ci_low", "ci_high", "letters")
                }
                for row in report["methods"]
            ],
        },
        "6.14": {
            "measure": "Krippendorff's alpha over all real ratings",
            "ordinal": _alpha(agreement["overall"]["ordinal"]),
            "interval": _alpha(agreement["overall"]["interval"]),
            "resamples": agreement["resamples"],
        },
    }


def _alpha(entry: dict[str, Any]) -> dict[str, Any]:
    return {k: entry[k] for k in ("alpha", "low", "high", "units")}
