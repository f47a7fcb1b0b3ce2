"""Sample-size planning (``manage.py plan_study`` and the results page's plan): how many judges ×
pairs give power 0.8 to tell two methods apart by a given MOS difference.

The analysis simulated is the one the results run: per pair, each method's mean score; a
two-sided Wilcoxon signed-rank test between every two methods on those per-pair means
(``statistics.wilcoxon_pvalues``, equal row by row to the results' ``paired_wilcoxon``); Holm over
all M(M−1)/2 method pairs (``statistics.holm``); a difference is detected when the two methods'
Holm-adjusted p is below α (0.05, ``statistics.SIGNIFICANCE``).

**Rating model.** One rating of method m's explanation of pair p by judge j is
``round(clip(μ + δ_m + b_j + u_p + v_pm + e))`` on the 1–5 scale, with independent normal judge
bias b (SD ``judge``), pair effect u (``pair``: shared by the pair's methods, so it cancels in a
paired test), explanation effect v (``item``: pair × method, which no number of judges averages
away) and residual e (``residual``). In a simulated study the two methods compared sit at
μ ± δ/2 and the round's other methods at μ (halfway: each differs from them by δ/2, so they take
part in the Holm family as in a real round). Under the design ``all`` every judge rates every
explanation (a judge's bias then cancels in the paired test); under ``k-per-item`` the grid's
"judges" are the judges per explanation, each rating with a bias of its own (a judge pool much
larger than k). The effect δ is a difference of means before rounding and clipping, which shrink
it a little near the ends of the scale.

**Pilot estimates** (``variance_components``, moments of a two-way additive fit): the ratings
minus their method's mean are fitted as judge bias + explanation effect by alternating means
(backfitting, exact for the additive least-squares fit). Residual variance = RSS / (N − J − X + 1)
(N ratings, J judges, X explanations), less 1/12 for the rounding to whole scores that the
simulation adds again (Sheppard). Judge variance = variance of the fitted biases − residual ×
mean(1/ratings per judge). Explanation effects split into pair and pair × method parts: the
pooled variance across methods within a pair, less residual × mean(1/ratings per explanation),
is the item variance; the variance of the pairs' mean effects, less that pooled variance ×
mean(1/methods per pair), is the pair variance. Negative estimates are set to 0. The pilot must
have explanations rated twice or more (else item and residual variance cannot be told apart).

**Simulation.** Every cell of the grid reuses the same draws (common random numbers: the first J
judges and the first P pairs of the largest study), so power differences between cells are not
noise of their own; each effect adds its offsets to the same draws. Seeded
(``statistics.rng_for(seed, "plan")``); the Monte-Carlo standard error of a power p is
√(p(1−p)/simulations).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from itertools import combinations
from typing import Any

import numpy as np

from bti_eval.core.exceptions import ApplicationError
from bti_eval.results import statistics

TARGET_POWER = 0.8
DEFAULT_JUDGES = (2, 3, 5, 10)
DEFAULT_PAIRS = (20, 50, 100, 200)
DEFAULT_SIMULATIONS = 1000
DEFAULT_MEAN = 3.0  # the scale's middle: the base mean when no pilot gives one
MAX_SIMULATIONS = 100_000
MAX_JUDGES, MAX_PAIRS, MAX_METHODS, MAX_EFFECTS = 100, 5000, 20, 10
MAX_CELLS_PER_SIMULATION = 2_000_000  # judges × pairs × methods of the largest study
_DRAWS_PER_CHUNK = 4_000_000  # ratings drawn at once (about 32 MB per array)
DESIGNS = ("all", "k-per-item")
SCALE_LOW, SCALE_HIGH = 1, 5
ROUNDING_VARIANCE = 1 / 12  # variance a rounding to whole scores adds (Sheppard's correction)


@dataclass(frozen=True)
class Variance:
    """Standard deviations of the rating model's parts (see the module docstring)."""

    judge: float
    pair: float
    item: float
    residual: float

    @property
    def total(self) -> float:
        """The SD of one rating around its method's mean."""
        return math.sqrt(self.judge**2 + self.pair**2 + self.item**2 + self.residual**2)


@dataclass(frozen=True)
class Pilot:
    """What a rated round tells the plan: its variance, mean, methods and size."""

    variance: Variance
    mean: float
    means: dict[str, float]  # per method, best first
    judges: int
    pairs: int
    ratings: int
    design: str
    notes: list[str] = field(default_factory=list)

    def observed_differences(self) -> list[tuple[float, str]]:
        """The differences between neighbours in the pilot's MOS order (rounded to 0.05, distinct,
        zero left out), each with the first two methods it separates: the default effects."""
        from explainers.registry import method_title

        ordered = list(self.means.items())
        out: dict[float, str] = {}
        for (a, mean_a), (b, mean_b) in zip(ordered, ordered[1:], strict=False):
            effect = round(round((mean_a - mean_b) / 0.05) * 0.05, 2)
            if effect > 0 and effect not in out:
                out[effect] = f"{method_title(a)} vs {method_title(b)} in the pilot"
        return sorted(out.items())


# --- the pilot --------------------------------------------------------------------------------


def _group_mean(values: np.ndarray, index: np.ndarray, size: int) -> np.ndarray:
    return np.bincount(index, weights=values, minlength=size) / np.bincount(index, minlength=size)


def variance_components(
    *, judge: np.ndarray, pair: np.ndarray, method: np.ndarray, score: np.ndarray
) -> tuple[Variance, list[str]]:
    """Moment estimates of the rating model's SDs from real ratings (n,) each (module docstring).

    Raises ApplicationError (409) when the ratings cannot separate the parts: fewer than two
    judges, methods or three pairs, or no explanation rated twice.
    """
    score = np.asarray(score, dtype=float)
    judges, j = np.unique(np.asarray(judge), return_inverse=True)
    pairs, p = np.unique(np.asarray(pair), return_inverse=True)
    methods, m = np.unique(np.asarray(method).astype(str), return_inverse=True)
    explanations, x = np.unique(p * methods.size + m, return_inverse=True)
    n, n_j, n_x = score.size, judges.size, explanations.size
    dof = n - n_j - n_x + 1
    if n_j < 2 or methods.size < 2 or pairs.size < 3 or dof < 1 or np.bincount(x).max() < 2:
        raise ApplicationError(
            "The pilot needs ratings of at least two methods on three pairs or more, by two judges or more, "
            "with explanations rated by two judges or more (design 'all', or 'k-per-item' with k ≥ 2); "
            f"this round has {n} rating(s) by {n_j} judge(s) of {methods.size} method(s) on {pairs.size} pair(s). "
            "Rate more, or plan from assumed effects (--effect and --sd without a round).",
            status=409,
        )
    r = score - _group_mean(score, m, methods.size)[m]
    bias, effect = np.zeros(n_j), np.zeros(n_x)
    for _ in range(1000):  # backfitting; converges geometrically on a connected design
        effect = _group_mean(r - bias[j], x, n_x)
        new = _group_mean(r - effect[x], j, n_j)
        new -= new.mean()
        change = np.abs(new - bias).max()
        bias = new
        if change < 1e-10:
            break
    effect = _group_mean(r - bias[j], x, n_x)
    residual_var = float(((r - bias[j] - effect[x]) ** 2).sum() / dof)
    notes = []
    residual_sim = max(residual_var - ROUNDING_VARIANCE, 0.0)
    judge_var = max(float(bias.var(ddof=1)) - residual_var * float(np.mean(1 / np.bincount(j))), 0.0)

    x_pair = (explanations // methods.size).astype(np.int64)  # each explanation's pair index
    per_pair = np.bincount(x_pair, minlength=pairs.size)
    pair_mean = _group_mean(effect, x_pair, pairs.size)
    several = per_pair[x_pair] >= 2
    within = float(((effect - pair_mean[x_pair])[several] ** 2).sum() / (per_pair[per_pair >= 2] - 1).sum())
    item_var = max(within - residual_var * float(np.mean(1 / np.bincount(x))), 0.0)
    pair_var = max(float(pair_mean.var(ddof=1)) - within * float(np.mean(1 / per_pair)), 0.0)
    if n_j < 5:
        notes.append(f"Only {n_j} judges: the judge variance is a rough estimate.")
    return Variance(*(math.sqrt(v) for v in (judge_var, pair_var, item_var, residual_sim))), notes


def pilot_from_round(*, round, exclude_flagged: bool = False) -> Pilot:
    """The pilot of a rated ``round`` (EvaluationRound): its real ratings (control items left out),
    without the judges the results flag (results.quality) when ``exclude_flagged``."""
    from bti_eval.results.report import flagged_judges
    from bti_eval.results.selectors import rating_frame

    if round.design == "pairwise":  # choices, not 1-5 scores: nothing to estimate MOS variance from
        raise ApplicationError(
            f"Round {round.name!r} is a pairwise round: its judges chose between two explanations, so it gives no "
            "1-5 ratings to plan a MOS study from. Use a rating round as the pilot, or assumed effects "
            "(--effect 0.3 --sd 1.0).",
            status=409,
        )
    frame = rating_frame(round=round)
    keep = ~frame.control
    flagged = sorted(flagged_judges(round=round)) if exclude_flagged else []
    if flagged:
        keep &= ~np.isin(frame.judge, flagged)
    real = frame.where(keep)
    variance, notes = variance_components(judge=real.judge, pair=real.pair, method=real.method, score=real.score)
    names = real.method.astype(str)
    means = {name: float(real.score[names == name].mean()) for name in np.unique(names)}
    means = dict(sorted(means.items(), key=lambda item: (-item[1], item[0])))
    return Pilot(
        variance=variance,
        mean=float(real.score.mean()),
        means=means,
        judges=int(np.unique(real.judge).size),
        pairs=int(np.unique(real.pair).size),
        ratings=len(real),
        design=round.design,
        notes=[f"Without the {len(flagged)} flagged judge(s)."] * bool(flagged) + notes,
    )


# --- the simulation ---------------------------------------------------------------------------


def power_grid(
    *,
    variance: Variance,
    effects: Sequence[float],
    judges: Sequence[int],
    pairs: Sequence[int],
    methods: int,
    design: str,
    simulations: int,
    seed: int,
    mean: float = DEFAULT_MEAN,
    alpha: float = statistics.SIGNIFICANCE,
    progress: Callable[[int], None] | None = None,
) -> np.ndarray:
    """Power (effects, judges, pairs): the share of ``simulations`` studies in which the two
    methods δ apart are found different (Holm-adjusted Wilcoxon p < ``alpha``). ``progress`` is
    called with the number of simulations done after each chunk (for a progress bar)."""
    judges, pairs = sorted(judges), sorted(pairs)
    j_max, p_max = judges[-1], pairs[-1]
    comparisons = list(combinations(range(methods), 2))  # the target (0, 1) comes first
    first, second = (np.array(side) for side in zip(*comparisons, strict=True))
    rng = statistics.rng_for(seed, "plan")
    detected = np.zeros((len(effects), len(judges), len(pairs)))
    chunk = max(1, _DRAWS_PER_CHUNK // (j_max * p_max * methods))
    done = 0
    while done < simulations:
        size = min(chunk, simulations - done)
        latent = _draw(rng, variance, design, size, j_max, p_max, methods) + mean  # (size, J, P, M)
        for e, effect in enumerate(effects):
            offsets = np.zeros(methods)
            offsets[:2] = (effect / 2, -effect / 2)
            scores = np.clip(np.rint(latent + offsets), SCALE_LOW, SCALE_HIGH)
            sums = np.cumsum(scores, axis=1)  # (size, J, P, M): sums over the first J judges
            for a, n_judges in enumerate(judges):
                for b, n_pairs in enumerate(pairs):
                    means = sums[:, n_judges - 1, :n_pairs, :] / n_judges  # (size, P, M) per-pair means
                    differences = means[:, :, first] - means[:, :, second]  # (size, P, K)
                    p = statistics.wilcoxon_pvalues(differences.transpose(0, 2, 1).reshape(-1, n_pairs))
                    p = p.reshape(size, len(comparisons))
                    detected[e, a, b] += sum(statistics.holm(row.tolist())[0] < alpha for row in p)
        done += size
        if progress is not None:
            progress(size)
    return detected / simulations


def _draw(
    rng: np.random.Generator, variance: Variance, design: str, size: int, judges: int, pairs: int, methods: int
) -> np.ndarray:
    """(size, judges, pairs, methods) zero-mean draws of bias + pair + explanation + residual."""
    shape = (size, judges, pairs, methods)
    bias_shape = (size, judges, 1, 1) if design == "all" else shape  # k-per-item: a judge of its own per rating
    out = rng.normal(0.0, variance.residual, shape) if variance.residual else np.zeros(shape)
    for sd, part in (
        (variance.judge, bias_shape),
        (variance.pair, (size, 1, pairs, 1)),
        (variance.item, (size, 1, pairs, methods)),
    ):
        if sd:
            out += rng.normal(0.0, sd, part)
    return out


def smallest_design(power: np.ndarray, judges: Sequence[int], pairs: Sequence[int], target: float = TARGET_POWER):
    """The cell of a (judges, pairs) power table with power ≥ ``target`` and the fewest ratings
    per method (judges × pairs; ties: fewer judges), as ``(judges, pairs, power)``; None if none."""
    cells = [
        (j * p, j, p, float(power[a, b]))
        for a, j in enumerate(sorted(judges))
        for b, p in enumerate(sorted(pairs))
        if power[a, b] >= target
    ]
    return min(cells)[1:] if cells else None


# --- a plan -----------------------------------------------------------------------------------


@dataclass
class Plan:
    effects: list[float]
    effect_notes: list[str]
    judges: list[int]
    pairs: list[int]
    methods: int
    design: str
    variance: Variance
    mean: float
    simulations: int
    seed: int
    alpha: float
    power: list[list[list[float]]]  # (effects, judges, pairs)
    pilot: Pilot | None = None

    @property
    def comparisons(self) -> int:
        return self.methods * (self.methods - 1) // 2

    def smallest(self) -> list[tuple[int, int, float] | None]:
        return [smallest_design(np.array(table), self.judges, self.pairs) for table in self.power]

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: the settings, the pilot, and per effect its power table and smallest design."""
        return {
            "design": self.design,
            "methods": self.methods,
            "comparisons": self.comparisons,
            "alpha": self.alpha,
            "target": TARGET_POWER,
            "simulations": self.simulations,
            "seed": self.seed,
            "mean": self.mean,
            "variance": {**asdict(self.variance), "total": self.variance.total},
            "judges": self.judges,
            "pairs": self.pairs,
            "pilot": None if self.pilot is None else {**asdict(self.pilot), "variance": asdict(self.pilot.variance)},
            "effects": [
                {
                    "effect": effect,
                    "note": note,
                    "power": table,
                    "rows": [{"judges": j, "power": row} for j, row in zip(self.judges, table, strict=True)],
                    "smallest": None if best is None else {"judges": best[0], "pairs": best[1], "power": best[2]},
                }
                for effect, note, table, best in zip(
                    self.effects, self.effect_notes, self.power, self.smallest(), strict=True
                )
            ],
        }


def plan_study(
    *,
    pilot: Pilot | None = None,
    effects: Sequence[float] | None = None,
    sd: float | None = None,
    judge_sd: float | None = None,
    pair_sd: float | None = None,
    item_sd: float | None = None,
    mean: float | None = None,
    methods: int | None = None,
    design: str | None = None,
    judges: Sequence[int] = DEFAULT_JUDGES,
    pairs: Sequence[int] = DEFAULT_PAIRS,
    simulations: int = DEFAULT_SIMULATIONS,
    seed: int = 0,
    progress: Callable[[int], None] | None = None,
    max_work: int | None = None,
) -> Plan:
    """Check the settings (ApplicationError with a message saying what to change) and simulate.

    From a ``pilot``: its variance, mean, number of methods and design, and by default as effects
    the differences between neighbours in its MOS order. Without one: ``effects`` and ``sd`` are
    needed. ``sd`` is the SD of one rating around its method's mean; ``judge_sd``, ``pair_sd``
    and ``item_sd`` set parts of it (default: the pilot's, else 0) and the residual is the rest.
    """
    if pilot is None and (not effects or sd is None):
        raise ApplicationError("Give a pilot round, or assumed effects and their SD (--effect 0.3 --sd 1.0).")
    base = pilot.variance if pilot is not None else Variance(0.0, 0.0, 0.0, 0.0)
    parts = {
        "judge": base.judge if judge_sd is None else judge_sd,
        "pair": base.pair if pair_sd is None else pair_sd,
        "item": base.item if item_sd is None else item_sd,
    }
    for name, value in parts.items():
        _check(value >= 0 and math.isfinite(value), f"The {name} SD must be 0 or more.")
    residual = base.residual
    if sd is not None:
        _check(0 < sd <= 4 and math.isfinite(sd), "--sd must be more than 0 and at most 4 (the 1-5 scale's range).")
        rest = sd**2 - sum(v**2 for v in parts.values())
        _check(rest >= 0, f"--sd {sd:g} is smaller than its parts (judge, pair, item SDs) together; raise --sd.")
        residual = math.sqrt(rest)
    variance = Variance(**parts, residual=residual)
    _check(variance.total > 0, "The rating SD is 0: give --sd (the SD of one rating around its method's mean).")

    if effects:
        effect_list = [float(e) for e in effects]
        notes = ["assumed"] * len(effect_list)
    else:
        observed = pilot.observed_differences()
        _check(bool(observed), "The pilot's methods have the same MOS; give the differences to plan for (--effect).")
        effect_list, notes = [e for e, _ in observed], [n for _, n in observed]
    _check(len(effect_list) <= MAX_EFFECTS, f"Give at most {MAX_EFFECTS} effects.")
    for effect in effect_list:
        _check(0 <= effect <= 4 and math.isfinite(effect), "Each --effect must be between 0 and 4 (MOS points).")

    n_methods = methods if methods is not None else (len(pilot.means) if pilot is not None else 2)
    _check(2 <= n_methods <= MAX_METHODS, f"--methods must be between 2 and {MAX_METHODS}.")
    design = design or (pilot.design if pilot is not None else "all")
    _check(design in DESIGNS, f"--design must be one of {', '.join(DESIGNS)}.")
    mean = mean if mean is not None else (pilot.mean if pilot is not None else DEFAULT_MEAN)
    _check(SCALE_LOW <= mean <= SCALE_HIGH, "--mean must be on the 1-5 scale.")
    judges, pairs = sorted(set(judges)), sorted(set(pairs))
    _check(bool(judges) and 1 <= judges[0] and judges[-1] <= MAX_JUDGES, f"--judges must be 1 to {MAX_JUDGES}.")
    _check(bool(pairs) and 2 <= pairs[0] and pairs[-1] <= MAX_PAIRS, f"--pairs must be 2 to {MAX_PAIRS}.")
    _check(
        judges[-1] * pairs[-1] * n_methods <= MAX_CELLS_PER_SIMULATION,
        f"The largest study (judges × pairs × methods = {judges[-1] * pairs[-1] * n_methods:,}) is over "
        f"{MAX_CELLS_PER_SIMULATION:,} ratings; plan with fewer judges or pairs.",
    )
    _check(1 <= simulations <= MAX_SIMULATIONS, f"--simulations must be between 1 and {MAX_SIMULATIONS:,}.")
    if max_work is not None:
        work = simulation_work(
            simulations=simulations, effects=len(effect_list), methods=n_methods, judges=judges, pairs=pairs
        )
        _check(
            work <= max_work,
            f"This plan is too large to compute here ({work / max_work:.1f}× the limit): use fewer simulations, "
            "effects, judges or pairs, or run `manage.py plan_study`, which has no limit.",
        )
    power = power_grid(
        variance=variance,
        effects=effect_list,
        judges=judges,
        pairs=pairs,
        methods=n_methods,
        design=design,
        simulations=simulations,
        seed=seed,
        mean=mean,
        progress=progress,
    )
    return Plan(
        effects=effect_list,
        effect_notes=notes,
        judges=judges,
        pairs=pairs,
        methods=n_methods,
        design=design,
        variance=variance,
        mean=mean,
        simulations=simulations,
        seed=seed,
        alpha=statistics.SIGNIFICANCE,
        power=power.tolist(),
        pilot=pilot,
    )


def simulation_work(
    *, simulations: int, effects: int, methods: int, judges: Sequence[int], pairs: Sequence[int]
) -> int:
    """Differences ranked by the Wilcoxon tests of a plan, the bulk of its time (about 5 million a
    second on one core): simulations × effects × comparisons × Σ over the grid of its pairs."""
    return simulations * effects * (methods * (methods - 1) // 2) * len(judges) * sum(pairs)


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ApplicationError(message)


def format_plan(plan: Plan, *, title: str = "") -> str:
    """The plan as plain text: settings, then per effect the judges × pairs power table and the
    smallest design reaching the target power."""
    v = plan.variance
    unit = "judges per explanation" if plan.design == "k-per-item" else "judges, each rating every explanation"
    se = 0.5 / math.sqrt(plan.simulations)
    lines = [title] if title else []
    if plan.pilot is not None:
        p = plan.pilot
        lines.append(
            f"Pilot: {p.ratings} ratings by {p.judges} judges of {len(p.means)} methods on {p.pairs} pairs "
            f"(design {p.design}), mean {p.mean:.2f}."
        )
        lines += [f"  {note}" for note in p.notes]
    lines += [
        f"Rating SD {v.total:.2f} = judge bias {v.judge:.2f}, pair {v.pair:.2f}, explanation {v.item:.2f}, "
        f"residual {v.residual:.2f} (combined as squares){'; from the pilot' if plan.pilot else ''}.",
        f"Design: {plan.design}; {plan.methods} methods → {plan.comparisons} comparison(s); Wilcoxon signed-rank "
        f"on per-pair means, Holm, α = {plan.alpha:g}; base mean {plan.mean:.2f}.",
        f"{plan.simulations:,} simulations per cell, seed {plan.seed} (Monte-Carlo standard error ≤ {se:.3f}).",
    ]
    width = max(6, *(len(str(p)) + 1 for p in plan.pairs))
    for effect, note, table, best in zip(plan.effects, plan.effect_notes, plan.power, plan.smallest(), strict=True):
        lines += ["", f"Difference {effect:.2f} ({note}): power (rows: {unit}; columns: pairs)"]
        lines.append(f"{'judges':>8} " + "".join(f"{p:>{width}}" for p in plan.pairs))
        for j, row in zip(plan.judges, table, strict=True):
            lines.append(f"{j:>8} " + "".join(f"{value:>{width}.2f}" for value in row))
        if best is None:
            lines.append(f"No design in this grid reaches power {TARGET_POWER:g}: try more judges or pairs.")
        else:
            j, p, power = best
            ratings = j * p * plan.methods
            lines.append(
                f"Smallest design with power ≥ {TARGET_POWER:g}: {j} judges × {p} pairs (power {power:.2f}, "
                f"{ratings:,} ratings of {plan.methods} methods)."
            )
    return "\n".join(lines) + "\n"


def round_plan(*, round, exclude_flagged: bool = False, use_cache: bool = True, **settings: Any) -> dict[str, Any]:
    """``plan_study`` with ``round`` as the pilot, as ``Plan.to_dict()`` plus ``seconds`` (the time
    it took) and ``text`` (``format_plan``); cached in the results cache under the round's ratings
    fingerprint and the settings, so that showing it again costs nothing until a rating changes."""
    import hashlib
    import time

    from bti_eval.results.report import CACHE_SECONDS, results_cache
    from bti_eval.results.selectors import ratings_fingerprint

    parts = (ratings_fingerprint(round=round), exclude_flagged, sorted((k, repr(v)) for k, v in settings.items()))
    key = f"bti-plan:{round.pk}:{hashlib.sha256(repr(parts).encode()).hexdigest()}"
    if use_cache and (cached := results_cache().get(key)) is not None:
        return {**cached, "cached": True}
    started = time.perf_counter()
    plan = plan_study(pilot=pilot_from_round(round=round, exclude_flagged=exclude_flagged), **settings)
    out = {**plan.to_dict(), "text": format_plan(plan), "seconds": time.perf_counter() - started}
    if use_cache:
        results_cache().set(key, out, CACHE_SECONDS)
    return {**out, "cached": False}
