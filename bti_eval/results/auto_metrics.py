"""Automatic metrics of a round's methods, next to the human MOS.

- **plausibility**: precision of each method's selected word pairs against gold aligned token pairs
  (pairs imported with ``import_ists``): a selected pair (word a, word b) is correct when the gold
  tokens holding the two words are aligned (``bti_eval.pairs.ists``). Reported overall and for
  the selected pairs whose two words differ (case-insensitively): identical strings are easy
  even for a random model. Pairs without a gold alignment are skipped.
- **faithfulness**: comprehensiveness and sufficiency AOPC over k = 1..5 (``explainers.faithfulness``)
  with the round's encoder, on a seeded sample of ``faithfulness_pairs`` pairs.
- **sanity**: ``explainers.sanity_check`` (parameter randomization) per method on a seeded
  sample of ``sanity_pairs`` pairs: mean Spearman of saliencies and mean Jaccard of selected pairs
  between trained and random weights (lower means the method depends on the learned weights).

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
from bti_eval.rounds.compute import explain_device, model_path
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


def _explanations(round: EvaluationRound) -> dict[str, list[Explanation]]:
    rows: dict[str, list[Explanation]] = {m: [] for m in round.methods}
    done = Explanation.objects.filter(round=round, status=Explanation.Status.DONE, is_control=False)
    for explanation in done.select_related("pair").order_by("pair_id"):
        rows.setdefault(explanation.method, []).append(explanation)
    return rows


def compute(
    *, round: EvaluationRound, metrics: Sequence[str], options: dict[str, Any], encoder: Any = None
) -> dict[str, Any]:
    """Compute ``metrics`` for the round's methods; returns ``{"methods": {method: {metric: {...}}}, ...}``.

    ``encoder`` (an explainers Encoder) is loaded from the round's model when faithfulness needs it.
    """
    from bti_eval.pairs.alignments import gold_alignments_for

    by_method = _explanations(round)
    pair_ids = sorted({e.pair_id for rows in by_method.values() for e in rows})
    results: dict[str, dict[str, Any]] = {m: {} for m in by_method}
    notes: dict[str, str] = {}
    if "plausibility" in metrics:
        gold = gold_alignments_for(pair_ids=pair_ids)
        if not gold:
            notes["plausibility"] = "no pair of this round has a gold alignment (import pairs with import_ists)"
        for method, rows in by_method.items():
            if gold:
                results[method]["plausibility"] = plausibility(
                    (e.payload, gold[e.pair_id]) for e in rows if e.pair_id in gold
                )
    if "faithfulness" in metrics:
        from explainers.faithfulness import faithfulness

        if encoder is None:
            from bti_eval.rounds.compute import encoder_get

            encoder = encoder_get(model=round.model)
        chosen = set(_sample(pair_ids, int(options["faithfulness_pairs"]), round.seed))
        for method, rows in by_method.items():
            picked = [e for e in rows if e.pair_id in chosen]
            scores = faithfulness(
                encoder, [(e.pair.text_a, e.pair.text_b, e.payload) for e in picked], ks=options["ks"]
            )
            results[method]["faithfulness"] = _mean_faithfulness(scores, options["ks"])
    if "sanity" in metrics:
        import explainers

        chosen = _sample(pair_ids, int(options["sanity_pairs"]), round.seed)
        loaded = {e.pair_id: e.pair for rows in by_method.values() for e in rows}  # select_related("pair")
        pairs = [(loaded[i].text_a, loaded[i].text_b) for i in chosen]
        model, device = model_path(round.model), explain_device()
        for method in by_method:
            report = explainers.sanity_check(
                pairs, method, model=model, device=device, seed=round.seed, top_k=round.top_k
            )
            results[method]["sanity"] = {
                k: report[k] for k in ("pairs", "spearman_mean", "spearman_undefined", "jaccard_mean")
            }
    return {"methods": results, "notes": notes}


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

    Out: ``{"status", "error", "finished_at", "metrics", "options", "notes", "columns": [...],
    "methods": [{"method", "label", "mean", values...}], "correlations": [{"metric", "field",
    "label", "higher_is_better", "rho", "p", "n", "agrees"}]}``.
    """
    row = AutoEvaluation.objects.filter(round=round).first()
    if row is None:
        return None
    out: dict[str, Any] = {
        "status": row.status,
        "error": row.error,
        "finished_at": row.finished_at.isoformat() if row.finished_at else None,
        "metrics": row.metrics,
        "options": row.options,
        "notes": (row.results or {}).get("notes", {}),
        "columns": [],
        "methods": [],
        "correlations": [],
    }
    if row.status != AutoEvaluation.Status.DONE or not row.results:
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
