"""Automatic metrics of a round against the round's own explanation time, before and after chunking.

A round of ``--pairs`` real paragraph pairs (fashion + wine, as explainers_bench.py) × the paper's
seven methods, with the default model. Prints, in seconds:

1. **explanations**: the round's compute, one ``explain_pairs`` call per method (as a chunk does);
2. **metrics before**: what one ``evaluate_auto`` task did (faithfulness AOPC per method with the
   old batching of 32 texts × the model's length, then ``explainers.sanity_check`` per method, which
   loads the trained and the random model and explains the sample with both);
3. **metrics after**: the chunks of a job (faithfulness per method, token-budgeted like the
   explanation pipeline; sanity per method: one random-weights run against the stored explanations,
   the random model loaded once);
4. **AOPC one text per forward** (``token_budget=1``): faithfulness without batching, for scale;

and the ratios of metrics time to explanation time. Database time is left out (milliseconds here):
the chunks call exactly these explainers functions. The faithfulness and sanity samples are the
whole round (the defaults, 100 and 10 pairs, cover 8 pairs).

    python benchmarks/auto_metrics_bench.py [--pairs 8] [--device cpu] [--data ../shared/data] [--skip-unbatched]

About 3-4 minutes on a 2-core CPU, most of it integrated gradients (50 steps), which the sanity
test explains again with random weights.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import torch  # noqa: E402
from explainers_bench import DEFAULT_DATA, load_pairs  # noqa: E402

import explainers  # noqa: E402
from explainers.faithfulness import faithfulness  # noqa: E402
from explainers.registry import default_methods  # noqa: E402
from explainers.sanity import sanity_check, sanity_compare  # noqa: E402

# The paper's seven (a round's default; integrated Jacobians, minutes per pair on a CPU, is not one).
METHODS = tuple(default_methods())
SEED, TOP_K = 0, 2
KS = [1, 2, 3, 4, 5]


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=8)
    parser.add_argument("--device", default=None, help="default: CUDA when available, else CPU")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--skip-unbatched", action="store_true", help="skip AOPC with one text per forward")
    args = parser.parse_args(argv)
    if args.pairs < 1:
        parser.error("--pairs must be positive")
    pairs = load_pairs(args.data, args.pairs)
    corpus = [text for pair in pairs for text in pair]
    encoder, load_seconds = timed(lambda: explainers.load_encoder(device=args.device))
    print(f"{len(pairs)} pairs x {len(METHODS)} methods, {encoder.name} on {encoder.device}")
    print(f"model loaded in {load_seconds:.1f} s")

    stored: dict[str, list[dict]] = {}
    explain_seconds = 0.0
    for method in METHODS:
        extra = {"corpus": corpus} if "corpus" in explainers.get_method(method).options else {}
        torch.manual_seed(SEED)
        explained, seconds = timed(lambda: explainers.explain_pairs(encoder, pairs, method, top_k=TOP_K, **extra))  # noqa: B023
        stored[method] = [e.to_dict() for e in explained]
        explain_seconds += seconds
        print(f"  explain {method:<22} {seconds:7.2f} s")
    print(f"explanations (the round's compute): {explain_seconds:.2f} s")

    def items(method: str) -> list[tuple[str, str, dict]]:
        return [(a, b, e) for (a, b), e in zip(pairs, stored[method], strict=True)]

    # Before: one task, faithfulness with 32 texts x max length per forward, then sanity_check per method.
    before_faith = before_sanity = 0.0
    before_scores: dict[str, list[dict]] = {}
    for method in METHODS:
        budget = 32 * encoder.max_length
        before_scores[method], seconds = timed(lambda: faithfulness(encoder, items(method), ks=KS, token_budget=budget))  # noqa: B023
        before_faith += seconds
    for method in METHODS:
        _, seconds = timed(lambda: sanity_check(pairs, method, device=args.device, seed=SEED, top_k=TOP_K))  # noqa: B023
        before_sanity += seconds
    before = before_faith + before_sanity
    print(f"metrics before: {before:.2f} s (faithfulness {before_faith:.2f} s, sanity {before_sanity:.2f} s)")

    # After: the job's chunks.
    after_faith = after_sanity = 0.0
    after_scores: dict[str, list[dict]] = {}
    for method in METHODS:
        after_scores[method], seconds = timed(lambda: faithfulness(encoder, items(method), ks=KS))  # noqa: B023
        after_faith += seconds
    random_encoder, seconds = timed(lambda: explainers.load_encoder(device=args.device, random_init=True, seed=SEED))
    after_sanity += seconds
    for method in METHODS:
        extra = {"corpus": corpus} if "corpus" in explainers.get_method(method).options else {}

        def sanity_chunk() -> dict:
            torch.manual_seed(SEED)
            randomized = explainers.explain_pairs(random_encoder, pairs, method, top_k=TOP_K, **extra)  # noqa: B023
            return sanity_compare(stored[method], randomized, method=method, model=encoder.name, seed=SEED)  # noqa: B023

        _, seconds = timed(sanity_chunk)
        after_sanity += seconds
    after = after_faith + after_sanity
    print(f"metrics after:  {after:.2f} s (faithfulness {after_faith:.2f} s, sanity {after_sanity:.2f} s)")
    worst = max(
        abs(x - y)
        for m in METHODS
        for old, new in zip(before_scores[m], after_scores[m], strict=True)
        for key in ("comprehensiveness", "sufficiency")
        for x, y in zip(old[key], new[key], strict=True)
    )
    print(f"  AOPC curves, after vs before: max |difference| {worst:.2e}")

    if not args.skip_unbatched:
        unbatched = 0.0
        for method in METHODS:
            _, seconds = timed(lambda: faithfulness(encoder, items(method), ks=KS, token_budget=1))  # noqa: B023
            unbatched += seconds
        ratio = unbatched / after_faith
        print(f"AOPC with one text per forward: {unbatched:.2f} s (batched: {after_faith:.2f} s, {ratio:.1f}x)")
    print(f"ratio metrics / explanations: before {before / explain_seconds:.2f}x, after {after / explain_seconds:.2f}x")
    print(f"speed-up of the metrics: {before / after:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
