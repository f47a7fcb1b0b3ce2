"""The blinding side channel: can a classifier tell the method from what a judge sees?

Every explanation is rendered exactly as judges see it (the blind HTML fragment), and ~27
features are read back from that HTML only. A random forest (scikit-learn) then guesses the
method, with folds grouped by pair (GroupKFold), so that it never sees the same pair in training
and test. Printed: accuracy on presentation features only (target <= 25%; chance is one in the
number of methods), on content features only, and on all features, with per-method recall.

- **Presentation** features (what the renderer adds): fragment bytes, markup bytes (the
  fragment without its text), elements, distinct classes (highlight levels aside), style
  attributes, table rows, repeated rows, emphasised words, how many numbers the renderer shows,
  their widths, decimals and negatives, the scale (max / min / mean) of the table's number columns
  (score, and word similarity where shown).
- **Content** features (what the method selects and how strongly it highlights, which is the
  explanation itself): mean, std, entropy, 90% quantile and distinct levels of the word
  saliencies, the fraction of words highlighted, highlighted punctuation and short words, the
  emphasised words' saliency (the superscripts' max, min and mean: a superscript repeats the
  saliency its word's highlight shows) and length, same-word rows, and where in the paragraph the
  highlight sits.

Usage::

    python benchmarks/blinding_side_channel.py                 # 36 fashion + wine pairs x 7 methods, default model
    python benchmarks/blinding_side_channel.py --round 12      # a round's explanations, as the platform renders them
    python benchmarks/blinding_side_channel.py --cache /tmp/x.jsonl --renderer-file old_render.py

Without ``--round`` the explanations are computed with the default model on the CPU (about two
minutes for 36 pairs; integrated gradients is the slow one) and the pair's shown similarity is
the first method's, as on the platform. ``--cache FILE`` keeps them (JSONL) so that another
renderer can be measured on the same explanations: ``--renderer-file`` loads ``render_html`` from
another copy of ``explainers/render.py`` (e.g. ``git show REV:explainers/render.py``). With
``--round``, Django is set up from ``DJANGO_SETTINGS_MODULE`` (default: the embedded settings) and
each explanation is rendered by ``bti_eval.judging.blind.explanation_judge_html`` with the
round's row budget; nothing is written. Exits 1 when the presentation accuracy misses its target.
"""

from __future__ import annotations

import argparse
import html
import importlib.util
import inspect
import json
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_DATA = ROOT.parent / "shared" / "data"
TARGET = 0.25

PRESENTATION = [
    "fragment_bytes",
    "markup_bytes",
    "elements",
    "distinct_classes",
    "style_attributes",
    "rows",
    "repeated_rows",
    "emphasised_words",
    "numbers_shown",
    "number_max_width",
    "number_max_decimals",
    "negative_numbers",
    "score_max",
    "score_min",
    "score_mean",
    "word_similarity_max",
    "word_similarity_min",
    "word_similarity_mean",
]
CONTENT = [
    "saliency_mean",
    "saliency_std",
    "saliency_entropy",
    "saliency_q90",
    "distinct_saliencies",
    "fraction_highlighted",
    "fraction_strong",
    "punctuation_highlighted",
    "short_words_highlighted",
    "emphasised_saliency_mean",
    "emphasised_word_length",
    "same_word_rows",
    "highlight_position",
    "superscript_max",
    "superscript_min",
    "superscript_mean",
]
FEATURES = PRESENTATION + CONTENT

_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_WORD = re.compile(
    r'<span class="(expl-word[^"]*)"[^>]*?title="saliency ([-0-9.]+)"[^>]*>([^<]*)(?:<sup[^>]*>[^<]*</sup>)?</span>'
)
_ROW = re.compile(r'<tr><td class="expl-pair">(.*?)</tr>', re.S)
_CELL = re.compile(r"<td[^>]*>(.*?)</td>", re.S)
_TAG = re.compile(r"<[^>]+>")


def _stats(values: list[float]) -> tuple[float, float, float]:
    return (max(values), min(values), float(np.mean(values))) if values else (0.0, 0.0, 0.0)


def features(fragment: str) -> dict[str, float]:
    """The judge-visible features of one explanation's HTML fragment (see the module docstring)."""
    # The numbers the renderer shows (not those of the paragraphs' own text, the same for every method).
    without_text = re.sub(r'<p class="expl-text">.*?</p>', "", fragment, flags=re.S)
    superscripts_text = re.findall(r'<sup class="expl-saliency">([^<]*)</sup>', fragment)
    numbers = _NUMBER.findall(html.unescape(" ".join(re.findall(r">([^<]+)<", without_text)))) + superscripts_text
    classes = {c for attr in re.findall(r'class="([^"]*)"', fragment) for c in attr.split()}
    levels = {c for c in classes if re.fullmatch(r"expl-a\d+", c)}
    rows = [[html.unescape(_TAG.sub("", c)) for c in _CELL.findall("<td>" + r)] for r in _ROW.findall(fragment)]
    pair_texts = [r[0].replace(" ", "") for r in rows]
    # Old fragments show (pair, word similarity, score); current ones (pair, importance).
    word_sim = [float(r[1]) for r in rows if len(r) == 3]
    score = [float(r[-1]) for r in rows]
    superscripts = [float(x) for x in re.findall(r'<sup class="expl-saliency">([-0-9.]+)</sup>', fragment)]
    words = [(cls, float(sal), html.unescape(text)) for cls, sal, text in _WORD.findall(fragment)]
    saliency = np.array([s for _, s, _ in words]) if words else np.zeros(1)
    emphasised = [(s, t) for cls, s, t in words if "expl-selected" in cls]
    strong = saliency >= 0.5
    punctuation = np.array([not t[:1].isalnum() for _, _, t in words]) if words else np.zeros(1, bool)
    short = np.array([len(t) <= 3 and t[:1].isalnum() for _, _, t in words]) if words else np.zeros(1, bool)
    p = saliency / saliency.sum() if saliency.sum() > 0 else np.full(saliency.size, 1 / saliency.size)
    position = np.linspace(0, 1, saliency.size)
    out = {
        "fragment_bytes": len(fragment.encode()),
        "markup_bytes": len(re.sub(r">[^<]+<", "><", fragment).encode()),
        "elements": fragment.count("<") - fragment.count("</"),
        "distinct_classes": len(classes - levels),
        "style_attributes": fragment.count("style="),
        "rows": len(rows),
        "repeated_rows": len(pair_texts) - len(set(t.casefold() for t in pair_texts)),
        "emphasised_words": len(emphasised),
        "numbers_shown": len(numbers),
        "number_max_width": max((len(n) for n in numbers), default=0),
        "number_max_decimals": max((len(n.split(".")[1]) for n in numbers if "." in n), default=0),
        "negative_numbers": sum(n.startswith("-") for n in numbers),
        "saliency_mean": float(saliency.mean()),
        "saliency_std": float(saliency.std()),
        "saliency_entropy": float(-(p[p > 0] * np.log(p[p > 0])).sum() / np.log(max(p.size, 2))),
        "saliency_q90": float(np.quantile(saliency, 0.9)),
        "distinct_saliencies": len({s for _, s, _ in words}),
        "fraction_highlighted": float((saliency > 0.05).mean()),
        "fraction_strong": float(strong.mean()),
        "punctuation_highlighted": float((strong & punctuation).sum() / max(strong.sum(), 1)),
        "short_words_highlighted": float((strong & short).sum() / max(strong.sum(), 1)),
        "emphasised_saliency_mean": float(np.mean([s for s, _ in emphasised])) if emphasised else 0.0,
        "emphasised_word_length": float(np.mean([len(t) for _, t in emphasised])) if emphasised else 0.0,
        "same_word_rows": sum(a.casefold() == b.casefold() for a, _, b in (t.partition("\u2194") for t in pair_texts)),
        "highlight_position": float((p * position).sum()),
    }
    for name, values in (("score", score), ("word_similarity", word_sim), ("superscript", superscripts)):
        out[f"{name}_max"], out[f"{name}_min"], out[f"{name}_mean"] = _stats(values)
    return out


# --- explanations -------------------------------------------------------------------------------


def computed(data: Path, n_pairs: int, methods: list[str]) -> list[dict[str, Any]]:
    """``n_pairs`` fashion + wine pairs (as ``explainers_bench.load_pairs`` builds them) explained
    by every method with the default model: ``[{"pair", "texts", "method", "payload"}]``."""
    import warnings

    import explainers
    from benchmarks.explainers_bench import load_pairs

    pairs = load_pairs(data, n_pairs)
    encoder = explainers.load_encoder(device="cpu")
    records = []
    for method in methods:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # truncation warnings: the payload says so
            results = explainers.explain_pairs(encoder, pairs, method, progress=True)
        records += [
            {"pair": i, "texts": list(pair), "method": method, "payload": e.to_dict()}
            for i, (pair, e) in enumerate(zip(pairs, results, strict=True))
        ]
    return records


def shown_similarity(records: list[dict[str, Any]]) -> None:
    """Every explanation of a pair shows the first method's similarity (``pair_similarity``)."""
    first: dict[Any, float] = {}
    for r in records:
        first.setdefault(r["pair"], r["payload"]["similarity"])
    for r in records:
        r["payload"] = {**r["payload"], "similarity": first[r["pair"]]}


def load_renderer(path: str | None) -> Callable[..., str]:
    """``render_html`` of this checkout, or of another copy of ``explainers/render.py``."""
    if path is None:
        from explainers.render import render_html

        return render_html
    spec = importlib.util.spec_from_file_location("other_render", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module.render_html


def render_all(records: list[dict[str, Any]], render_html: Callable[..., str], pairs_shown: int) -> list[str]:
    budget = {"max_pairs": pairs_shown} if "max_pairs" in inspect.signature(render_html).parameters else {}
    return [render_html(r["payload"], texts=tuple(r["texts"]), **budget) for r in records]


def from_round(round_id: int) -> tuple[list[dict[str, Any]], list[str]]:
    """A round's DONE explanations (controls left out) and their judge HTML, as the platform renders it."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bti_eval.settings.embedded")
    import django

    django.setup()
    from bti_eval.judging.blind import explanation_judge_html, round_pair_similarities
    from bti_eval.rounds.models import EvaluationRound, Explanation

    round = EvaluationRound.objects.filter(pk=round_id).first()
    if round is None:
        raise SystemExit(f"error: no round {round_id}")
    similarity = round_pair_similarities(round_id=round_id)
    rows = (
        Explanation.objects.filter(round=round, status=Explanation.Status.DONE, is_control=False)
        .select_related("pair")
        .order_by("pair_id", "method")
    )
    records, fragments = [], []
    for e in rows.iterator(chunk_size=200):
        records.append({"pair": e.pair_id, "texts": [e.pair.text_a, e.pair.text_b], "method": e.method})
        fragments.append(
            explanation_judge_html(explanation=e, similarity=similarity.get(e.pair_id), pairs_shown=round.pairs_shown)
        )
    return records, fragments


# --- the classifier -----------------------------------------------------------------------------


def classify(x: np.ndarray, y: np.ndarray, groups: np.ndarray, *, folds: int, seed: int) -> tuple[float, dict]:
    """Accuracy and per-method recall of a random forest, out of fold (GroupKFold by pair)."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.metrics import recall_score
    from sklearn.model_selection import GroupKFold, cross_val_predict

    forest = RandomForestClassifier(n_estimators=300, random_state=seed, n_jobs=1)
    cv = GroupKFold(n_splits=min(folds, len(set(groups))))
    predicted = cross_val_predict(forest, x, y, groups=groups, cv=cv)
    labels = sorted(set(y))
    recall = dict(zip(labels, recall_score(y, predicted, labels=labels, average=None, zero_division=0), strict=True))
    return float((predicted == y).mean()), recall


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--round", type=int, help="measure this round's DONE explanations (platform rendering)")
    parser.add_argument("--pairs", type=int, default=36, help="pairs to compute without --round (default 36)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared data folder")
    parser.add_argument("--cache", type=Path, help="JSONL of computed explanations: read if present, else written")
    parser.add_argument("--renderer-file", help="render with this copy of explainers/render.py instead")
    parser.add_argument("--pairs-shown", type=int, help="the row budget (default: the renderer's default)")
    parser.add_argument("--folds", type=int, default=6, help="GroupKFold splits (default 6)")
    parser.add_argument(
        "--methods",
        help="comma-separated methods to compute without --round (default: a new round's, the paper's seven; "
        "integrated-jacobians costs minutes per pair on a CPU)",
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    if args.round is not None:
        records, fragments = from_round(args.round)
        source = f"round {args.round}"
    else:
        from explainers.errors import ExplainerError
        from explainers.registry import default_methods, get_method
        from explainers.render import DEFAULT_PAIRS_SHOWN

        if args.cache and args.cache.exists():
            records = [json.loads(line) for line in args.cache.read_text(encoding="utf-8").splitlines()]
        else:
            if not args.data.is_dir():
                raise SystemExit(f"error: data folder {args.data} not found (give --data)")
            methods = args.methods.split(",") if args.methods else default_methods()
            for method in methods:  # an unknown name fails before minutes of computing
                try:
                    get_method(method)
                except ExplainerError as exc:
                    raise SystemExit(f"error: {exc}") from None
            records = computed(args.data, args.pairs, methods)
            if args.cache:
                args.cache.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
        shown_similarity(records)
        render_html = load_renderer(args.renderer_file)
        fragments = render_all(records, render_html, args.pairs_shown or DEFAULT_PAIRS_SHOWN)
        source = f"{len({r['pair'] for r in records})} pairs, renderer {args.renderer_file or 'explainers/render.py'}"
    if not records:
        raise SystemExit("error: no explanations to measure")

    rows = [features(f) for f in fragments]
    y = np.array([r["method"] for r in records])
    groups = np.array([str(r["pair"]) for r in records])
    methods = sorted(set(y))
    print(f"{len(records)} explanations ({source}), {len(methods)} methods; chance {1 / len(methods):.1%}")
    sizes = {m: np.mean([rows[i]["fragment_bytes"] for i in np.flatnonzero(y == m)]) for m in methods}
    counts = {m: sorted({rows[i]["rows"] for i in np.flatnonzero(y == m)}) for m in methods}
    for m in methods:
        print(f"  {m:22s} mean fragment {sizes[m] / 1000:6.1f} KB, table rows {counts[m][0]}-{counts[m][-1]}")
    results = {}
    for name, columns in (("presentation", PRESENTATION), ("content", CONTENT), ("all", FEATURES)):
        x = np.array([[row[c] for c in columns] for row in rows], dtype=np.float64)
        results[name] = classify(x, y, groups, folds=args.folds, seed=args.seed)
    for name, (accuracy, _) in results.items():
        n = len(PRESENTATION if name == "presentation" else CONTENT if name == "content" else FEATURES)
        flag = (
            f" (target <= {TARGET:.0%}: {'met' if accuracy <= TARGET else 'NOT met'})" if name == "presentation" else ""
        )
        print(f"accuracy on {name} features ({n}): {accuracy:.1%}{flag}")
    print("per-method recall:      presentation   content       all")
    for m in methods:
        recall = [results[name][1][m] for name in ("presentation", "content", "all")]
        print(f"  {m:22s} {recall[0]:10.0%} {recall[1]:9.0%} {recall[2]:9.0%}")
    return 0 if results["presentation"][0] <= TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
