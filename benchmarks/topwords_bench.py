"""TopWords' MeanShift against scikit-learn's: same clusters, and the time of each.

    python benchmarks/topwords_bench.py [--scores 60] [--sets 200] [--seed 0]

For ``--sets`` random sets of ``--scores`` one-dimensional pair scores it checks that
``explainers.matching.mean_shift`` gives exactly scikit-learn's ``MeanShift()`` cluster centers
and labels, then prints the time per fit of each (scikit-learn with its default threads and with
one thread) and the speed-up. Run on demand; it is not part of the test suite.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.cluster import MeanShift
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from a checkout
from explainers.matching import mean_shift, top_words  # noqa: E402


def _per_call(fn, sets, repeat: int) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        for scores in sets:
            fn(scores)
    return (time.perf_counter() - start) / (repeat * len(sets))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scores", type=int, default=60, help="scores per set (default 60)")
    parser.add_argument("--sets", type=int, default=200, help="random score sets (default 200)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    sets = [rng.random(args.scores) for _ in range(args.sets)]

    mismatches = 0
    for scores in sets:
        centres, labels = mean_shift(scores)
        theirs = MeanShift().fit(scores[:, None])
        same = np.allclose(centres, theirs.cluster_centers_[:, 0]) and np.array_equal(labels, theirs.labels_)
        mismatches += not same
    print(f"{args.sets} sets of {args.scores} scores: clusters differ from scikit-learn's in {mismatches}")

    sk = _per_call(lambda s: MeanShift().fit(s[:, None]), sets[:20], 1)
    with threadpool_limits(1):
        sk1 = _per_call(lambda s: MeanShift().fit(s[:, None]), sets[:20], 1)
    ours = _per_call(mean_shift, sets, 5)
    tw = _per_call(top_words, sets, 5)
    print(f"scikit-learn MeanShift().fit: {sk * 1e3:.2f} ms (one thread: {sk1 * 1e3:.2f} ms)")
    print(f"explainers mean_shift: {ours * 1e3:.3f} ms; top_words (rank clusters, keep top 2): {tw * 1e3:.3f} ms")
    print(f"speed-up: {sk / ours:.0f}x ({sk1 / ours:.0f}x against one thread)")


if __name__ == "__main__":
    main()
