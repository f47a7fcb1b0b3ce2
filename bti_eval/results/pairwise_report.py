"""The results of a pairwise round (a selector): Bradley–Terry strengths with bootstrap CIs, the
win-rate matrix, the ranking, Kendall's tau against a MOS round of the same pairs and methods,
the judges' agreement and quality, the control items, position bias and the design.

The statistics are ``results.pairwise``'s (choix I-LSR, ties as half a win each, percentile
bootstrap over pairs); this module reads the round's judgements and assembles the report that the
results page, the API and every export show. ``report.round_report`` calls it for a pairwise round
and caches it like a rating round's report.

The MOS round compared with (``mos_reference``): another round, not pairwise, open or closed, with
ratings, over exactly the same pairs, whose methods include every method of the pairwise round;
closed rounds first, then the newest. Kendall's tau-b (scipy) compares the Bradley–Terry strengths
with that round's MOS over the shared methods.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.db.models import Count, F, Q

from bti_eval.judging.models import Rating
from bti_eval.results.pairwise import Judgement, kendall_tau, pairwise_report
from bti_eval.results.quality import mark_excluded, pairwise_judge_quality
from bti_eval.results.selectors import judge_loads, round_judges
from bti_eval.rounds.models import EvaluationRound
from explainers.registry import method_title

TIES = "half a win for each of the two methods (not Davidson's tie model)"
BOOTSTRAP = "percentile; resamples the pairs (items) with replacement, all judgements of a pair together"
ORDER = (
    "per judge: random.Random(judge seed) shuffle, then no two items of a pair adjacent; each method's side "
    "a coin flip seeded by the judge's seed and the (pair, method pair)"
)


def pairwise_judgements(*, round: EvaluationRound) -> list[dict[str, Any]]:
    """Every choice of the round (control items included), by judge and position (one query):
    ``{"judge", "pair", "left", "right", "control", "choice", "seconds", "preferred",
    "comparison", "control_preferred"}``. On a control item ``left``/``right`` name the real
    explanation's method and "control"; ``preferred`` is the preferred side's method (None: about
    the same); ``comparison`` the (pair, method, method) key in the round's method order."""
    rank = {m: i for i, m in enumerate(round.methods)}
    rows = (
        Rating.objects.filter(judge__round=round, choice__isnull=False, assignment__right_explanation__isnull=False)
        .order_by("judge_id", "assignment__position")
        .values_list(
            "judge_id",
            "assignment__explanation__pair_id",
            "assignment__explanation__method",
            "assignment__right_explanation__method",
            "assignment__explanation__is_control",
            "assignment__right_explanation__is_control",
            "choice",
            "seconds",
        )
    )
    out = []
    for judge, pair, left, right, left_control, right_control, choice, seconds in rows:
        control = bool(left_control or right_control)
        preferred = {"left": left, "right": right}.get(choice)
        first, second = sorted((left, right), key=lambda m: (rank.get(m, len(rank)), m))
        control_preferred = None
        if control:
            degraded = "left" if left_control else "right"
            control_preferred = "same" if choice == "same" else ("degraded" if choice == degraded else "real")
        out.append(
            {
                "judge": judge,
                "pair": pair,
                "left": left,
                "right": right,
                "control": control,
                "choice": choice,
                "seconds": seconds,
                "preferred": preferred,
                "comparison": (pair, first, second),
                "control_preferred": control_preferred,
            }
        )
    return out


def mos_reference(*, round: EvaluationRound) -> EvaluationRound | None:
    """The MOS round whose ranking the Bradley–Terry ranking is compared with (module docstring)."""
    n_pairs = round.pairs.count()
    candidates = (
        EvaluationRound.objects.exclude(pk=round.pk)
        .exclude(design=EvaluationRound.Design.PAIRWISE)
        .filter(status__in=[EvaluationRound.Status.RATING, EvaluationRound.Status.CLOSED])
        .annotate(
            n_pairs=Count("pairs", distinct=True),
            shared=Count("pairs", filter=Q(pairs__in=round.pairs.values("id")), distinct=True),
        )
        .filter(n_pairs=n_pairs, shared=n_pairs)
        .order_by(F("closed_at").desc(nulls_last=True), "-id")
    )
    for candidate in candidates:
        if set(round.methods) <= set(candidate.methods) and Rating.objects.filter(judge__round=candidate).exists():
            return candidate
    return None


def _kendall(rows: list[dict[str, Any]], reference: EvaluationRound | None) -> dict[str, Any] | None:
    """The MOS round compared with, its MOS and rank per method, and Kendall's tau (or None)."""
    if reference is None:
        return None
    from bti_eval.results.selectors import round_results

    table = round_results(round=reference)
    means = {row["method"]: row["mean"] for row in table["methods"] if row["mean"] is not None}
    strengths = {row["method"]: row["strength"] for row in rows if row["comparisons"]}
    ranked = sorted(means, key=lambda m: -means[m])
    return {
        "round_id": reference.pk,
        "round_name": reference.name,
        "round_status": reference.status,
        "mos": {m: means[m] for m in means if m in strengths},
        "mos_rank": {m: ranked.index(m) + 1 for m in ranked if m in strengths},
        "tau": kendall_tau(strengths, means),
    }


AGREEMENT_CODING = (
    "each choice coded 1 (the comparison's first method, in the round's order, preferred), 2 (about the same) or "
    "3 (the second preferred), whichever side each was on"
)


def _agreement(real: list[dict[str, Any]], options: dict[str, Any]) -> dict[str, Any]:
    """Krippendorff's alpha (ordinal and interval) over the comparisons judged twice or more, the
    choices coded on the ordered scale of ``AGREEMENT_CODING``, with bootstrap CIs over comparisons
    (``statistics.alpha_with_ci``, as the rating rounds' agreement)."""
    import numpy as np

    from bti_eval.results import statistics

    judges = sorted({j["judge"] for j in real})
    units = sorted({j["comparison"] for j in real}, key=repr)
    row_of, column_of = {j: i for i, j in enumerate(judges)}, {u: i for i, u in enumerate(units)}
    matrix = np.full((len(judges), len(units)), np.nan)
    for j in real:
        first = j["comparison"][1]
        code = 2 if j["preferred"] is None else (1 if j["preferred"] == first else 3)
        matrix[row_of[j["judge"]], column_of[j["comparison"]]] = code
    resamples = options["alpha_resamples"]
    return {
        **statistics.alpha_levels(
            matrix, resamples=resamples, seed=options["seed"], label="pairwise", confidence=options["confidence"]
        ),
        "coding": AGREEMENT_CODING,
        "judges": len(judges),
        "resamples": resamples,
    }


def _sides(judgements: list[dict[str, Any]]) -> dict[str, Any]:
    """How often each side was chosen on real items: position bias (sides are random)."""
    counts = Counter(j["choice"] for j in judgements)
    decided = counts["left"] + counts["right"]
    return {
        "left": counts["left"],
        "right": counts["right"],
        "same": counts["same"],
        "left_share": counts["left"] / decided if decided else None,
    }


def pairwise_round_report(
    round: EvaluationRound, *, exclude_flagged: bool, options: dict[str, Any], reference: EvaluationRound | None
) -> dict[str, Any]:
    """The report of a pairwise round (JSON-safe): ``round_report``'s for design "pairwise".

    ``{"kind": "pairwise", "round_id", "status", "final", "n_ratings", "n_judges", "methods": [
    {"method", "label", "rank", "strength", "ci", "ci_low", "ci_high", "ci_resamples", "wins",
    "losses", "ties", "comparisons", "win_rate"}, ...] (best first), "pairwise": {"model", "ties",
    "order", "labels", "win_rates", "judgements", "pairs", "resamples", "sides", "kendall",
    "agreement"},
    "options", "judges", "controls", "design"}``. ``exclude_flagged`` leaves the flagged judges
    (``quality.pairwise_judge_quality``) out of every statistic; the judge table still lists them.
    ``reference``: the MOS round of ``mos_reference`` (None: no tau).
    """
    judgements = pairwise_judgements(round=round)
    judges = round_judges(round=round)
    quality = pairwise_judge_quality(judgements, judges, too_fast_seconds=options["too_fast_seconds"])
    excluded = mark_excluded(quality, exclude_flagged=exclude_flagged)
    kept = [j for j in judgements if j["judge"] not in excluded]
    real = [j for j in kept if not j["control"]]
    bt = pairwise_report(
        (Judgement(j["pair"], j["left"], j["right"], j["choice"]) for j in real),
        list(round.methods),
        seed=options["seed"],
        resamples=options["resamples"],
    )
    rows = []
    for row in bt["methods"]:
        low, high = row["ci"] if row["ci"] else (None, None)
        rows.append(
            {
                **row,
                "label": method_title(row["method"]),
                "ci_low": low,
                "ci_high": high,
                "ci_resamples": bt["resamples"],
                "win_rate": (row["wins"] + row["ties"] / 2) / row["comparisons"] if row["comparisons"] else None,
            }
        )
    control = [j for j in kept if j["control"]]
    return {
        "kind": "pairwise",
        "round_id": round.pk,
        "status": round.status,
        "final": round.status == EvaluationRound.Status.CLOSED,
        "n_ratings": len(real),
        "n_judges": len({j["judge"] for j in real}),
        "methods": rows,
        "pairwise": {
            "model": bt["model"],
            "ties": TIES,
            "order": bt["order"],
            "labels": [method_title(m) for m in bt["order"]],
            "win_rates": bt["win_rates"],
            "judgements": bt["judgements"],
            "pairs": bt["pairs"],
            "resamples": bt["resamples"],
            "sides": _sides(real),
            "kendall": _kendall(rows, reference),
            "agreement": _agreement(real, options),
        },
        "options": {
            "exclude_flagged": exclude_flagged,
            "excluded_judges": excluded,
            **options,
            "bootstrap": BOOTSTRAP,
        },
        "judges": quality,
        "controls": {
            "items": round.explanations.filter(is_control=True).count(),
            "requested": round.control_items,
            "n_ratings": len(control),
            "real_preferred": sum(1 for j in control if j["control_preferred"] == "real"),
            "degraded_preferred": sum(1 for j in control if j["control_preferred"] == "degraded"),
            "same": sum(1 for j in control if j["control_preferred"] == "same"),
        },
        "design": _design(round, judges),
    }


def _design(round: EvaluationRound, judges: list[dict[str, Any]]) -> dict[str, Any]:
    k = round.judges_per_explanation
    return {
        "design": round.design,
        "judges_per_explanation": k,
        "assignment": (
            f"every method pair of every pair, each (pair, method pair) to {k} judge(s), dealt round-robin so that "
            "loads and method pairs are balanced over judges to within one"
            if k
            else "every judge compares every method pair of every pair"
        ),
        "control_items": round.control_items,
        "round_seed": round.seed,
        "order": ORDER,
        "judges": judge_loads(round=round, judges=judges),
    }
