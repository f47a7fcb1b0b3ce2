"""A round's report as Markdown and LaTeX: the paper's table (with 95% CIs and letter groups), then
agreement, the paired tests, the judges and the automatic metrics. Text rendering only.

Every number goes through ``number``: a value that rounds to zero prints as ``0.00``, never
``-0.00`` (nor ``+0.00`` where signs are shown), and an undefined one as ``–`` (the results page's
``floatformat`` does the same).
"""

from __future__ import annotations

from typing import Any

from bti_eval.rounds.models import EvaluationRound
from bti_eval.rounds.selectors import round_truncation

_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def latex_escape(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in text)


def round_equal(a: float, b: float, decimals: int) -> bool:
    return round(a, decimals) == round(b, decimals)


def number(value: float | None, decimals: int = 2, *, signed: bool = False) -> str:
    """``value`` with ``decimals`` decimals; ``–`` when None. A value that rounds to zero prints
    unsigned (``0.00``, not ``-0.00``); ``signed`` puts a ``+`` before positive values."""
    if value is None:
        return "–"
    text = f"{value:+.{decimals}f}" if signed else f"{value:.{decimals}f}"
    if float(text) == 0:
        return f"{0:.{decimals}f}"
    return text


def mos_cell(row: dict[str, Any], *, decimals: int, pm: str) -> str:
    """``mean ± std`` (std across judges), ``mean`` alone with one judge, ``–`` with no ratings."""
    if row["mean"] is None:
        return "–"
    if row["std"] is None:
        return number(row["mean"], decimals)
    return f"{number(row['mean'], decimals)}{pm}{number(row['std'], decimals)}"


def p_text(value: float | None) -> str:
    """A p-value as text: "<0.001" rather than 0.000, "–" when undefined (tables and results page)."""
    if value is None:
        return "–"
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def ci_cell(row: dict[str, Any], decimals: int) -> str:
    if row.get("ci_low") is None:
        return "–"
    return f"[{number(row['ci_low'], decimals)}, {number(row['ci_high'], decimals)}]"


def _best(report: dict[str, Any]) -> float | None:
    means = [r["mean"] for r in report["methods"] if r["mean"] is not None]
    return max(means) if means else None


def _md(text: Any) -> str:
    return str(text).replace("|", r"\|").replace("\n", " ")


def _state(report: dict[str, Any]) -> str:
    state = "final" if report["final"] else f"partial, round {report['status']}"
    if report["options"]["exclude_flagged"]:
        excluded = ", ".join(map(str, report["options"]["excluded_judges"])) or "none flagged"
        state += f"; without flagged judges ({excluded})"
    return state


def _alpha(entry: dict[str, Any]) -> str:
    """Alpha with its CI; ``–`` when undefined (``statistics.alpha_with_ci``: fewer than two rated units)."""
    if entry["alpha"] is None:
        return "–"
    ci = f" [{number(entry['low'])}, {number(entry['high'])}]" if entry["low"] is not None else ""
    return f"{number(entry['alpha'], 3)}{ci}"


def markdown(round: EvaluationRound, report: dict[str, Any], *, decimals: int = 2) -> str:
    """The whole report as Markdown; the first table is the paper's (best MOS in bold)."""
    best = _best(report)
    options = report["options"]
    lines = [
        f"MOS per method, round “{_md(round.name)}” ({_state(report)}; std across judges' mean scores)",
        "",
        "| Method | n | Judges | MOS | 95% CI | Group | std (ratings) |",
        "|---|---:|---:|---:|---:|:---:|---:|",
    ]
    for row in report["methods"]:
        cell = mos_cell(row, decimals=decimals, pm=" ± ")
        if best is not None and row["mean"] is not None and round_equal(row["mean"], best, decimals):
            cell = f"**{cell}**"
        lines.append(
            f"| {_md(row['label'])} | {row['n']} | {row['n_judges']} | {cell} | {ci_cell(row, decimals)} | "
            f"{row.get('letters') or '–'} | {number(row['std_ratings'], decimals)} |"
        )
    lines += [
        "",
        f"95% CI: percentile bootstrap over pairs, {options['resamples']} resamples, seed {options['seed']}. "
        f"Methods sharing a letter do not differ significantly (Wilcoxon signed-rank on per-pair means, "
        f"Holm-corrected, α = {options['significance']}).",
        "",
        "## Agreement (Krippendorff's alpha, 95% bootstrap CI over explanations, "
        f"{report['agreement']['resamples']} resamples)",
        "",
        "| Ratings | ordinal | interval |",
        "|---|---:|---:|",
        f"| all methods | {_alpha(report['agreement']['overall']['ordinal'])} | "
        f"{_alpha(report['agreement']['overall']['interval'])} |",
    ]
    labels = {r["method"]: r["label"] for r in report["methods"]}
    for row in report["agreement"]["per_method"]:
        lines.append(f"| {_md(labels[row['method']])} | {_alpha(row['ordinal'])} | {_alpha(row['interval'])} |")
    lines += ["", "## Paired tests (Wilcoxon signed-rank, Holm-corrected; effect = rank-biserial r)", ""]
    lines += ["| A | B | pairs | effect (A vs B) | p | p (Holm) | significant |", "|---|---|---:|---:|---:|---:|:---:|"]
    for c in report["comparisons"]:
        lines.append(
            f"| {_md(labels[c['a']])} | {_md(labels[c['b']])} | {c['n']} | {number(c['effect'])} | {p_text(c['p'])} | "
            f"{p_text(c['p_holm'])} | {'yes' if c['significant'] else 'no'} |"
        )
    lines += ["", f"## Judges (too fast: median < {options['too_fast_seconds']:g} s per rating)", ""]
    lines += [
        "| Judge | n | mean | z | agreement | median s | controls: n | mean | p (real > control) | flagged |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for j in report["judges"]:
        flag = "; ".join(j["reasons"]) or "no"
        if j.get("excluded"):
            flag += " (excluded)"
        lines.append(
            f"| {_md(j['name'])} | {j['n']} | {number(j['mean'])} | {number(j['z'])} | {number(j['agreement'])} | "
            f"{number(j['median_seconds'], 1)} | {j['n_control']} | {number(j['control_mean'])} | "
            f"{p_text(j['control_p'])} | "
            f"{_md(flag)} |"
        )
    design = report["design"]
    k = f", k = {design['judges_per_explanation']}" if design["judges_per_explanation"] else ""
    lines += [
        "",
        f"Design: {design['design']}{k}; {report['controls']['items']} control item(s), "
        f"mean control score {number(report['controls']['mean'])}; round seed {design['round_seed']}; "
        "judges' shuffle seeds and display positions are in the JSON export.",
        "",
        _presentation(round),
    ]
    lines += _markdown_auto(report, decimals)
    return "\n".join(lines) + "\n"


def _presentation(round: EvaluationRound) -> str:
    """What judges saw of each explanation, and how many were truncated (Markdown and LaTeX)."""
    truncated = round_truncation(round=round)
    n, pairs = truncated["explanations"], truncated["pairs"]
    cut = f"{n} explanation(s) of {pairs} pair(s) truncated" if n else "no explanation truncated"
    return (
        f"Explanations: top_k = {round.top_k} score clusters kept; judges saw at most {round.pairs_shown} "
        f"word pair(s) per explanation (the same for every method, scores relative to the best pair); "
        f"{cut} (paragraphs over the model's token limit)."
    )


def _markdown_auto(report: dict[str, Any], decimals: int) -> list[str]:
    auto = report.get("auto")
    if not auto:
        return []
    if auto["status"] != "done":
        return ["", f"Automatic metrics: {auto['status']}{': ' + auto['error'] if auto['error'] else ''}"]
    columns = auto["columns"]
    lines = ["", "## Automatic metrics", "", "| Method | MOS | " + " | ".join(_md(c["label"]) for c in columns) + " |"]
    lines.append("|---|---:|" + "---:|" * len(columns))
    for row in auto["methods"]:
        values = " | ".join(number(row[f"{c['metric']}.{c['field']}"], 3) for c in columns)
        lines.append(f"| {_md(row['label'])} | {number(row['mean'], decimals)} | {values} |")
    lines += ["", "| Metric | better | Spearman rho with MOS | p | methods |", "|---|---|---:|---:|---:|"]
    for c in auto["correlations"]:
        better = "higher" if c["higher_is_better"] else "lower"
        lines.append(f"| {_md(c['label'])} | {better} | {number(c['rho'])} | {p_text(c['p'])} | {c['n']} |")
    return lines


def latex(round: EvaluationRound, report: dict[str, Any], *, decimals: int = 2) -> str:
    """The paper's Table 1 (booktabs) with the 95% CI and letter groups, then the paired-test matrix."""
    best = _best(report)
    options = report["options"]
    body = []
    for row in report["methods"]:
        cell = mos_cell(row, decimals=decimals, pm=r" $\pm$ ").replace("–", "--")
        if best is not None and row["mean"] is not None and round_equal(row["mean"], best, decimals):
            cell = rf"\textbf{{{cell}}}"
        ci = ci_cell(row, decimals).replace("–", "--")
        body.append(f"{latex_escape(row['label'])} & {cell} & {ci} & {row.get('letters') or '--'} \\\\")
    state = "" if report["final"] else " (partial)"
    if options["exclude_flagged"]:
        state += ", without flagged judges"
    overall = report["agreement"]["overall"]
    alpha = ""
    if overall["interval"]["alpha"] is not None:
        alpha = (
            rf" Krippendorff's $\alpha$: ordinal {number(overall['ordinal']['alpha']).replace('–', '--')}, "
            rf"interval {number(overall['interval']['alpha'])}."
        )
    labels = {r["method"]: r["label"] for r in report["methods"]}
    methods = [r["method"] for r in report["methods"]]
    matrix = [
        " & ".join(
            [latex_escape(labels[row["method"]])]
            + [
                "--"
                if cell is None or cell["effect"] is None
                else number(cell["effect"], signed=True) + "*" * cell["significant"]
                for cell in row["cells"]
            ]
        )
        + r" \\"
        for row in report["matrix"]
    ]
    return "\n".join(
        [
            r"% requires \usepackage{booktabs}",
            r"\begin{table}[t]",
            r"\centering",
            r"\begin{tabular}{lccc}",
            r"\toprule",
            r"Method & MOS & 95\% CI & Group \\",
            r"\midrule",
            *body,
            r"\bottomrule",
            r"\end{tabular}",
            rf"\caption{{Mean opinion score (mean $\pm$ std across judges) per method, "
            rf"round ``{latex_escape(round.name)}''{state}. 95\% CI: bootstrap over pairs "
            rf"({options['resamples']} resamples). Methods sharing a letter do not differ significantly "
            rf"(Wilcoxon signed-rank, Holm-corrected, $p < {options['significance']}$).{alpha} "
            rf"{latex_escape(_presentation(round))}}}",
            r"\end{table}",
            "",
            r"\begin{table}[t]",
            r"\centering",
            rf"\begin{{tabular}}{{l{'c' * len(methods)}}}",
            r"\toprule",
            " & ".join([""] + [latex_escape(labels[m]) for m in methods]) + r" \\",
            r"\midrule",
            *matrix,
            r"\bottomrule",
            r"\end{tabular}",
            r"\caption{Paired comparisons: rank-biserial effect of the row method against the column method "
            r"on per-pair mean scores; * significant after Holm's correction.}",
            r"\end{table}",
            "",
        ]
    )
