"""Peak memory of explaining long paragraphs: memory stays bounded by the token budget.

    python benchmarks/explainers_memory.py [--pairs 16] [--budgets 4096,8192,16384] [--methods bti,integrated-gradients]

Each (method, token budget) runs in a fresh process on ``--pairs`` pairs of two paragraphs longer
than the model's 512-token limit (so both are truncated to 512 tokens) and prints the process's
peak RSS above its level after loading the model, and the time. Integrated gradients uses
``--steps`` (default 8) so that the run stays short; its memory depends on the budget, not steps.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, resource, sys, time, warnings
sys.path.insert(0, sys.argv[1])
import explainers
warnings.simplefilter("ignore")
method, pairs, budget, steps = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
encoder = explainers.load_encoder(device="cpu")
a = " ".join(f"soft wool jumper number {i} with ribbed cuffs" for i in range(80))
b = " ".join(f"warm cotton shirt number {i} with long sleeves" for i in range(80))
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
out = explainers.explain_pairs(encoder, [(a, b)] * pairs, method, token_budget=budget, steps=steps)
print(json.dumps({"seconds": time.perf_counter() - start, "truncated": out[0].truncated,
                  "peak_mib": (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=16)
    parser.add_argument("--budgets", default="4096,8192,16384")
    parser.add_argument("--methods", default="bti,integrated-gradients")
    parser.add_argument("--steps", type=int, default=8)
    args = parser.parse_args()
    print(f"{args.pairs} pairs of two 512-token (truncated) paragraphs, default model on CPU")
    print(f"{'method':<22}{'token budget':>13}{'seconds':>9}{'peak RSS above model, MiB':>28}")
    for method in args.methods.split(","):
        for budget in args.budgets.split(","):
            run = subprocess.run(
                [sys.executable, "-c", CHILD, str(ROOT), method, str(args.pairs), budget, str(args.steps)],
                capture_output=True,
                text=True,
                check=True,
            )
            result = json.loads(run.stdout.strip().splitlines()[-1])
            assert result["truncated"], "the paragraphs should exceed the model's limit"
            print(f"{method:<22}{budget:>13}{result['seconds']:>9.1f}{result['peak_mib']:>28.0f}")


if __name__ == "__main__":
    main()
