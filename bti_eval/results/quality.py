"""Judge quality control: per-judge numbers, the too-fast flag and the control-item test.

Per judge (real items unless said otherwise):
- ``n``, ``mean``; ``z``: the judge's mean against the other judges' means (leave-one-out z);
- ``agreement``: Spearman's rho between the judge's scores and the mean of the other judges'
  scores on the same explanations (consensus; a random judge sits near 0);
- ``median_seconds`` over all the judge's ratings, and ``too_fast`` when it is below the round's
  threshold (``EvaluationRound.too_fast_seconds``, else settings.BTI_TOO_FAST_SECONDS);
- control items: ``n_control``, ``control_mean``, the one-sided Mann-Whitney test real > control
  (``control_u``, ``control_p``) and ``control_flag`` when controls are not rated lower;
- ``flagged`` (control_flag or too_fast) with its ``reasons``. Results "without flagged judges"
  leave exactly these judges out.

A pairwise round's judges get ``pairwise_judge_quality`` instead: their control items compare a real
explanation with a degraded one, and a judge who prefers the degraded one at least as often as the
real one is flagged (see there).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from bti_eval.judging.controls import control_test, pairwise_control_flag
from bti_eval.results import statistics
from bti_eval.results.selectors import RatingFrame

CONTROL_REASON = "does not rate control items lower"
PAIRWISE_CONTROL_REASON = "prefers degraded control items at least as often as the real explanations"


def mark_excluded(quality: list[dict[str, Any]], *, exclude_flagged: bool) -> list[int]:
    """The ids of the judges a report leaves out (the flagged ones, sorted, when ``exclude_flagged``;
    else none), each row of ``quality`` marked ``excluded`` accordingly."""
    excluded = sorted(row["id"] for row in quality if row["flagged"]) if exclude_flagged else []
    for row in quality:
        row["excluded"] = row["id"] in excluded
    return excluded


def _timing(seconds: np.ndarray, too_fast_seconds: float) -> dict[str, Any]:
    """``median_seconds`` of a judge's (finite) seconds per item, None without any, and ``too_fast``
    when it is below ``too_fast_seconds``."""
    median_seconds = float(np.median(seconds)) if seconds.size else None
    return {
        "median_seconds": median_seconds,
        "too_fast": None if median_seconds is None else bool(median_seconds < too_fast_seconds),
    }


def _judge_row(
    judge: dict[str, Any], stats: dict[str, Any], *, control_reason: str, too_fast_seconds: float, per: str
) -> dict[str, Any]:
    """A judge's row: who (``id``, ``name``, ``seed``, ``active``), its ``stats`` (with ``control_flag``,
    ``median_seconds`` and ``too_fast``), ``flagged`` and the ``reasons``: ``control_reason`` and a
    median under ``too_fast_seconds`` per ``per`` (rating or choice)."""
    reasons = []
    if stats["control_flag"]:
        reasons.append(control_reason)
    if stats["too_fast"]:
        reasons.append(f"median {stats['median_seconds']:.1f} s per {per} < {too_fast_seconds:g} s")
    return {
        "id": judge["id"],
        "name": judge["name"] or f"judge {judge['id']}",
        "seed": judge["seed"],
        "active": judge["active"],
        **stats,
        "flagged": bool(reasons),
        "reasons": reasons,
    }


class _Consensus:
    """Per explanation, the sum and count of real scores, so that "the other judges' mean" of any
    rating is (sum − own score) / (count − 1): one pass over the ratings for every judge."""

    def __init__(self, frame: RatingFrame):
        self.real = frame.where(~frame.control)
        ids, self.index = np.unique(self.real.explanation, return_inverse=True)
        self.sums = np.bincount(self.index, weights=self.real.score, minlength=ids.size)
        self.counts = np.bincount(self.index, minlength=ids.size)

    def rho(self, judge: int) -> float | None:
        """Spearman of the judge's scores vs the other judges' mean on the same explanations."""
        mine = self.real.judge == judge
        index, score = self.index[mine], self.real.score[mine]
        others = self.counts[index] - 1
        shared = others > 0
        if shared.sum() < 3:
            return None
        other_mean = (self.sums[index][shared] - score[shared]) / others[shared]
        return statistics.spearman(score[shared], other_mean)["rho"]


def judge_quality(
    frame: RatingFrame, judges: Sequence[dict[str, Any]], *, too_fast_seconds: float, agreement: bool = True
) -> list[dict[str, Any]]:
    """One row per judge of ``judges`` (dicts with ``id``, ``name``, ``seed``, ``active``), in that order.

    In: every rating of the round (controls included). Out: the judge's row (see module docstring);
    with ``agreement=False`` its ``agreement`` is None (not computed: no flag depends on it).
    """
    consensus = _Consensus(frame) if agreement else None
    rows = []
    for judge in judges:
        mine = frame.judge == judge["id"]
        real = frame.score[mine & ~frame.control]
        control = frame.score[mine & frame.control]
        seconds = frame.seconds[mine]
        test = control_test(real, control)
        stats = {
            "n": int(real.size),
            "mean": float(real.mean()) if real.size else None,
            "z": None,
            "agreement": consensus.rho(judge["id"]) if consensus is not None and real.size else None,
            **_timing(seconds[np.isfinite(seconds)], too_fast_seconds),
            "n_control": int(control.size),
            "control_mean": float(control.mean()) if control.size else None,
            "control_u": test["u"],
            "control_p": test["p"],
            "control_flag": test["flag"],
        }
        rows.append(
            _judge_row(judge, stats, control_reason=CONTROL_REASON, too_fast_seconds=too_fast_seconds, per="rating")
        )
    rated = [row for row in rows if row["mean"] is not None]
    for row, z in zip(rated, statistics.leave_one_out_z([row["mean"] for row in rated]), strict=True):
        row["z"] = z
    return rows


# --- pairwise rounds --------------------------------------------------------------------------


def pairwise_judge_quality(
    judgements: Sequence[dict[str, Any]], judges: Sequence[dict[str, Any]], *, too_fast_seconds: float
) -> list[dict[str, Any]]:
    """One row per judge of a pairwise round (``judges`` as in ``judge_quality``), in that order.

    In: every judgement of the round as dicts with ``judge``, ``comparison`` (a hashable key of
    the pair and its two methods, the same whichever side each was on), ``preferred`` (the key's
    first method, second method, or None for "about the same"), ``control`` (a control item),
    ``control_preferred`` (on a control item: "real", "degraded" or "same"), ``choice`` and
    ``seconds``.

    Out per judge: ``n`` real judgements; ``agreement``: the share of them that match the other
    judges' most frequent answer on the same comparison (comparisons with no other judge, or a tied
    most frequent answer, left out; None without any); ``left_share``: how often the judge chose
    the left side when not "about the same" (position bias; 0.5 is none); ``median_seconds`` and
    ``too_fast`` as in rating rounds; control items: ``n_control``, ``control_real``,
    ``control_degraded``, ``control_same`` (which side the judge preferred), ``control_p`` (one-
    sided sign test, scipy's binomtest, that the judge prefers the real explanation, ties left
    out) and ``control_flag``: True when the judge preferred the degraded explanation at least as
    often as the real one (a judge who always answers "about the same" is flagged too); None
    without control items. ``flagged`` (control_flag or too_fast) with its ``reasons``.
    """
    from scipy.stats import binomtest

    answers: dict[Any, list[tuple[int, Any]]] = {}
    for j in judgements:
        if not j["control"]:
            answers.setdefault(j["comparison"], []).append((j["judge"], j["preferred"]))
    rows = []
    for judge in judges:
        mine = [j for j in judgements if j["judge"] == judge["id"]]
        real = [j for j in mine if not j["control"]]
        control = [j for j in mine if j["control"]]
        seconds = np.array([j["seconds"] for j in mine if j["seconds"] is not None], dtype=float)
        sided = [j["choice"] for j in mine if j["choice"] != "same"]
        tally = {
            kind: sum(1 for j in control if j["control_preferred"] == kind) for kind in ("real", "degraded", "same")
        }
        decided = tally["real"] + tally["degraded"]
        control_p = float(binomtest(tally["real"], decided, 0.5, alternative="greater").pvalue) if decided else None
        stats = {
            "n": len(real),
            "agreement": _majority_agreement(judge["id"], real, answers),
            "left_share": sided.count("left") / len(sided) if sided else None,
            **_timing(seconds, too_fast_seconds),
            "n_control": len(control),
            "control_real": tally["real"],
            "control_degraded": tally["degraded"],
            "control_same": tally["same"],
            "control_p": control_p,
            "control_flag": pairwise_control_flag(**tally),
        }
        rows.append(
            _judge_row(
                judge, stats, control_reason=PAIRWISE_CONTROL_REASON, too_fast_seconds=too_fast_seconds, per="choice"
            )
        )
    return rows


def _majority_agreement(judge: int, real: Sequence[dict[str, Any]], answers: dict[Any, list]) -> float | None:
    """Share of a judge's judgements equal to the other judges' most frequent answer (see above)."""
    matched = counted = 0
    for j in real:
        others = [preferred for who, preferred in answers.get(j["comparison"], []) if who != judge]
        if not others:
            continue
        counts = sorted(((others.count(a), str(a)) for a in set(others)), reverse=True)
        if len(counts) > 1 and counts[0][0] == counts[1][0]:
            continue
        top = next(a for a in set(others) if str(a) == counts[0][1])
        counted += 1
        matched += int(j["preferred"] == top)
    return matched / counted if counted else None
