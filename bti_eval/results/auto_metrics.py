"""Automatic metrics of a round's methods, next to the human MOS.

- **plausibility**: precision of each method's selected word pairs against gold aligned token pairs
  (pairs imported with ``import_ists``): a selected pair (word a, word b) is correct when the gold
  tokens holding the two words are aligned (``bti_eval.pairs.ists``). Reported overall and for
  the selected pairs whose two words differ (case-insensitively): identical strings are easy
  even for a random model. Pairs without a gold alignment are skipped.
- **faithfulness**: comprehensiveness and sufficiency AOPC over k = 1..5 (``explainers.faithfulness``)
  with the round's encoder, on a seeded sample of ``faithfulness_pairs`` pairs.
- **sanity**: parameter randomization (``explainers.sanity``) per method on a seeded sample of
  ``sanity_pairs`` pairs: mean Spearman of saliencies and mean Jaccard of selected pairs between
  trained and random weights (lower means the method depends on the learned weights). The trained
  side is the round's stored explanation (what judges see; it is not recomputed), the random side
  is explained as the round's chunks were (same top_k, seed and tfidf-w2v corpus) by the random-weights
  encoder, loaded once per worker.

A job runs in chunks (``job_plan``): plausibility for every method at once, then faithfulness and
sanity one method at a time, so that a worker shows progress and takes explanation work between
chunks (``bti_eval.results.tasks.evaluate_auto_chunk``).

``auto_report`` reads the stored results and adds Spearman's correlation between each metric's
ranking of the methods and the human MOS ranking.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Iterable, Sequence
from typing import Any

from bti_eval.results import statistics
from bti_eval.results.models import AutoEvaluation
from bti_eval.rounds.imported import imported_names
from bti_eval.rounds.models import EvaluationRound, Explanation

METRICS = ("plausibility", "faithfulness", "sanity")
DEFAULT_OPTIONS = {"faithfulness_pairs": 100, "sanity_pairs": 10, "ks": [1, 2, 3, 4, 5]}
# (metric, field, label, higher is better)
COLUMNS = (
    ("plausibility", "precision", "Plausibility: precision vs gold alignment", True),
    ("plausibility", "precision_different", "Plausibility: precision, different words only", True),
    ("faithfulness", "comprehensiveness_aopc", "Comprehensiveness AOPC", True),
    ("faithfulness", "sufficiency_aopc", "Sufficiency AOPC", False),
    ("sanity", "spearman_mean", "Sanity: saliency rank correlation with random weights", False),
    ("sanity", "jaccard_mean", "Sanity: Jaccard of pairs with random weights", False),
)


def _token_at(spans: Sequence[Sequence[int]], start: int) -> int | None:
    """The gold token whose [start, end) span holds char ``start``, or None."""
    starts = [s for s, _ in spans]
    index = bisect.bisect_right(starts, start) - 1
    if index >= 0 and spans[index][0] <= start < spans[index][1]:
        return index
    return None


def plausibility(items: Iterable[tuple[dict[str, Any], dict[str, Any]]]) -> dict[str, Any]:
    """Precision of selected pairs against gold token pairs.

    In: (explanation payload, gold) per explanation, gold = ``{"tokens_a", "tokens_b", "token_pairs"}``
    (``pairs.alignments.gold_alignments_for``). Out: ``{"pairs", "selected", "correct", "precision",
    "selected_different", "correct_different", "precision_different"}`` (precision None when nothing
    was selected).
    """
    counts = {"pairs": 0, "selected": 0, "correct": 0, "selected_different": 0, "correct_different": 0}
    for payload, gold in items:
        counts["pairs"] += 1
        words_a, words_b = payload["words"]
        for pair in payload.get("pairs") or []:
            word_a, word_b = words_a[pair["a"]], words_b[pair["b"]]
            token_a = _token_at(gold["tokens_a"], int(word_a["start"]))
            token_b = _token_at(gold["tokens_b"], int(word_b["start"]))
            hit = token_a is not None and token_b is not None and (token_a, token_b) in gold["token_pairs"]
            counts["selected"] += 1
            counts["correct"] += hit
            if str(word_a["text"]).casefold() != str(word_b["text"]).casefold():
                counts["selected_different"] += 1
                counts["correct_different"] += hit
    return {
        **counts,
        "precision": counts["correct"] / counts["selected"] if counts["selected"] else None,
        "precision_different": (
            counts["correct_different"] / counts["selected_different"] if counts["selected_different"] else None
        ),
    }


def _sample(pair_ids: list[int], size: int, seed: int) -> list[int]:
    return sorted(random.Random(seed).sample(pair_ids, min(size, len(pair_ids))))


def _explanations(round: EvaluationRound, method: str | None = None) -> dict[str, list[Explanation]]:
    rows: dict[str, list[Explanation]] = {m: [] for m in round.methods if method in (None, m)}
    done = Explanation.objects.filter(round=round, status=Explanation.Status.DONE, is_control=False)
    if method is not None:
        done = done.filter(method=method)
    for explanation in done.select_related("pair").order_by("pair_id"):
        rows.setdefault(explanation.method, []).append(explanation)
    return rows


def _round_pair_ids(round: EvaluationRound) -> list[int]:
    """The pairs with a DONE explanation: what the seeded samples draw from (the same for every chunk)."""
    done = Explanation.objects.filter(round=round, status=Explanation.Status.DONE, is_control=False)
    return sorted(set(done.values_list("pair_id", flat=True)))


def job_plan(*, methods: Sequence[str], metrics: Sequence[str]) -> list[list[str | None]]:
    """The chunks of a job, in order: ``[metric, method]``, method None for plausibility (cheap, all
    methods at once); faithfulness and sanity load the model, so one chunk per method."""
    plan: list[list[str | None]] = [["plausibility", None]] if "plausibility" in metrics else []
    for metric in ("faithfulness", "sanity"):
        if metric in metrics:
            plan += [[metric, method] for method in methods]
    return plan


def compute_chunk(
    *, round: EvaluationRound, metric: str, method: str | None, options: dict[str, Any], encoder: Any = None
) -> dict[str, Any]:
    """One chunk of a job: ``{"methods": {method: {metric: {...}}}, "notes": {metric: note}}``.

    ``encoder`` (an explainers Encoder) is loaded from the round's model when faithfulness needs it.
    """
    if metric == "plausibility":
        return _plausibility(round)
    if metric == "faithfulness":
        return _faithfulness(round, method, options, encoder)
    if metric == "sanity":
        return _sanity(round, method, options)
    raise ValueError(f"unknown metric {metric!r}")


def compute(
    *, round: EvaluationRound, metrics: Sequence[str], options: dict[str, Any], encoder: Any = None
) -> dict[str, Any]:
    """Compute ``metrics`` for the round's methods, every chunk in turn (``evaluate_auto`` run now);
    returns ``{"methods": {method: {metric: {...}}}, "notes": {...}}``."""
    results: dict[str, Any] = {"methods": {m: {} for m in _explanations(round)}, "notes": {}}
    for metric, method in job_plan(methods=list(results["methods"]), metrics=metrics):
        merge_chunk(results, compute_chunk(round=round, metric=metric, method=method, options=options, encoder=encoder))
    return results


def merge_chunk(results: dict[str, Any], chunk: dict[str, Any]) -> dict[str, Any]:
    """Add a chunk's per-method metrics and notes into ``results`` (in place; returned)."""
    for method, values in chunk.get("methods", {}).items():
        results.setdefault("methods", {}).setdefault(method, {}).update(values)
    results.setdefault("notes", {}).update(chunk.get("notes", {}))
    return results


def _plausibility(round: EvaluationRound) -> dict[str, Any]:
    from bti_eval.pairs.alignments import gold_alignments_for

    by_method = _explanations(round)
    gold = gold_alignments_for(pair_ids=sorted({e.pair_id for rows in by_method.values() for e in rows}))
    if not gold:
        return {"methods": {}, "notes": {"plausibility": NO_GOLD}}
    return {
        "methods": {
            method: {"plausibility": plausibility((e.payload, gold[e.pair_id]) for e in rows if e.pair_id in gold)}
            for method, rows in by_method.items()
        },
        "notes": {},
    }


SANITY_IMPORTED = (
    "imported methods have no sanity score: the platform cannot recompute explanations made elsewhere with "
    "random weights (run the parameter-randomization test where they were computed)"
)
NO_GOLD = "no pair of this round has a gold alignment (import pairs with import_ists)"


def _faithfulness(round: EvaluationRound, method: str, options: dict[str, Any], encoder: Any) -> dict[str, Any]:
    from explainers.faithfulness import faithfulness

    if encoder is None:
        from bti_eval.core.encoders import encoder_get

        encoder = encoder_get(model=round.model, dtype=round.dtype, pooling=round.pooling)
    chosen = set(_sample(_round_pair_ids(round), int(options["faithfulness_pairs"]), round.seed))
    picked = [e for e in _explanations(round, method)[method] if e.pair_id in chosen]
    scores = faithfulness(encoder, [(e.pair.text_a, e.pair.text_b, e.payload) for e in picked], ks=options["ks"])
    return {"methods": {method: {"faithfulness": _mean_faithfulness(scores, options["ks"])}}, "notes": {}}


def _sanity(round: EvaluationRound, method: str, options: dict[str, Any]) -> dict[str, Any]:
    import torch

    import explainers
    from bti_eval.core.encoders import encoder_get
    from bti_eval.rounds.selectors import round_explain_options
    from explainers.sanity import sanity_compare

    if method in imported_names(round=round):
        return {"methods": {}, "notes": {"sanity": SANITY_IMPORTED}}
    chosen = set(_sample(_round_pair_ids(round), int(options["sanity_pairs"]), round.seed))
    picked = [e for e in _explanations(round, method)[method] if e.pair_id in chosen]
    random_run = []
    if picked:
        encoder = encoder_get(model=round.model, random_seed=round.seed, dtype=round.dtype, pooling=round.pooling)
        options = round_explain_options(round=round, method=method)
        torch.manual_seed(round.seed)  # as the round's chunks did
        pairs = [(e.pair.text_a, e.pair.text_b) for e in picked]
        random_run = explainers.explain_pairs(encoder, pairs, method, **options)
    report = sanity_compare(
        [e.payload for e in picked], random_run, method=method, model=_model_name(picked), seed=round.seed
    )
    keys = ("pairs", "spearman_mean", "spearman_undefined", "jaccard_mean")
    return {"methods": {method: {"sanity": {k: report[k] for k in keys}}}, "notes": {}}


def _model_name(rows: list[Explanation]) -> str:
    return str(rows[0].payload.get("model", "")) if rows else ""


def _mean_faithfulness(scores: list[dict[str, Any]], ks: Sequence[int]) -> dict[str, Any]:
    n = len(scores)
    if not n:
        return {"pairs": 0, "comprehensiveness_aopc": None, "sufficiency_aopc": None, "ks": list(ks)}

    def mean(key: str) -> float:
        return sum(s[key] for s in scores) / n

    def curve(key: str) -> list[float]:
        return [sum(s[key][i] for s in scores) / n for i in range(len(ks))]

    return {
        "pairs": n,
        "ks": list(ks),
        "comprehensiveness_aopc": mean("comprehensiveness_aopc"),
        "sufficiency_aopc": mean("sufficiency_aopc"),
        "comprehensiveness": curve("comprehensiveness"),
        "sufficiency": curve("sufficiency"),
    }


def auto_report(*, round: EvaluationRound, table: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The stored automatic metrics beside the MOS, and their rank correlation with it (None if never run).

    The status, progress and error are the round's newest job's; the values come from its newest DONE
    job, so that a recomputation in progress still shows the previous results. Out: ``{"status",
    "error", "finished_at", "metrics", "options", "notes", "chunks_done", "chunks_total", "columns":
    [...], "methods": [{"method", "label", "mean", values...}], "correlations": [{"metric", "field",
    "label", "higher_is_better", "rho", "p", "n", "agrees"}]}``.
    """
    jobs = AutoEvaluation.objects.filter(round=round).order_by("-requested_at", "-id")
    latest = jobs.first()
    if latest is None:
        return None
    row = latest if latest.status == AutoEvaluation.Status.DONE else jobs.filter(status="done").first()
    out: dict[str, Any] = {
        "status": latest.status,
        "error": latest.error,
        "chunks_done": latest.chunks_done,
        "chunks_total": latest.chunks_total,
        "finished_at": row.finished_at.isoformat() if row and row.finished_at else None,
        "metrics": (row or latest).metrics,
        "options": (row or latest).options,
        "notes": ((row.results if row else None) or {}).get("notes", {}),
        "columns": [],
        "methods": [],
        "correlations": [],
    }
    if row is None or not row.results:
        return out
    stored = row.results.get("methods", {})
    columns = [c for c in COLUMNS if any(_value(stored.get(m["method"]), c) is not None for m in table)]
    out["columns"] = [{"metric": c[0], "field": c[1], "label": c[2], "higher_is_better": c[3]} for c in columns]
    for method_row in table:
        values = {f"{c[0]}.{c[1]}": _value(stored.get(method_row["method"]), c) for c in columns}
        out["methods"].append(
            {"method": method_row["method"], "label": method_row["label"], "mean": method_row["mean"], **values}
        )
    for metric, field, label, higher in columns:
        both = [
            (m["mean"], m[f"{metric}.{field}"])
            for m in out["methods"]
            if m["mean"] is not None and m[f"{metric}.{field}"] is not None
        ]
        result = statistics.spearman([b[0] for b in both], [b[1] for b in both])
        agrees = None if result["rho"] is None else (result["rho"] > 0) == higher
        out["correlations"].append(
            {"metric": metric, "field": field, "label": label, "higher_is_better": higher, **result, "agrees": agrees}
        )
    return out


def _value(stored: dict[str, Any] | None, column: tuple) -> float | None:
    if not stored:
        return None
    value = (stored.get(column[0]) or {}).get(column[1])
    return float(value) if isinstance(value, int | float) else None
