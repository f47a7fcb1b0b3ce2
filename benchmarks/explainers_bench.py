"""Speed and memory of the explainers on real paragraphs (fashion + wine), with the default model.

Prints, in one run: pairs/s of every method (batched), peak memory, and four ratios:
(a) BTI end to end vs a bare forward+backward of the same batches with the same loss (target <= 1.3x),
(b) BTI batched vs one pair at a time, (c) BTI vs integrated-gradients, (d) the cost of
integrated-jacobians relative to BTI and to integrated-gradients, all three on the first --ij-pairs
pairs (its JVP per token per step makes it the slowest method by far; on CPU keep that subset small).

    python benchmarks/explainers_bench.py [--pairs 64] [--repeat 3] [--device cpu] [--data ../shared/data]
        [--ig-pairs 4] [--ij-pairs 1] [--steps 50]

Times are the best of --repeat runs after a warm-up; the runs compared in a ratio are interleaved.
Peak memory: the process's RSS above its level when a measurement starts, sampled from /proc
(tracemalloc cannot see torch's CPU allocations), plus the process's ru_maxrss; on CUDA also
torch.cuda.max_memory_allocated.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import resource
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

import explainers  # noqa: E402
from explainers.pipeline import DEFAULT_TOKEN_BUDGET, explain_pairs, make_batches  # noqa: E402
from explainers.saliency import objective  # noqa: E402

SUBSET_METHODS = ("bti", "integrated-gradients", "integrated-jacobians")  # measured on their own subsets
DEFAULT_DATA = ROOT.parent / "shared" / "data"
SOURCES = (("fashion/hm_articles_sample.csv", "detail_desc"), ("wine/winemag_sample.csv", "description"))


def load_pairs(data: Path, n: int, seed: int = 0) -> list[tuple[str, str]]:
    """n pairs, half fashion and half wine: distinct non-empty texts, seeded shuffle, consecutive
    items paired."""
    pairs: list[tuple[str, str]] = []
    limit = csv.field_size_limit(10**7)  # the catalogs' long cells; restored: the limit is process-wide
    try:
        for index, (name, column) in enumerate(SOURCES):
            with open(data / name, encoding="utf-8", newline="") as f:
                texts = list(dict.fromkeys(row[column].strip() for row in csv.DictReader(f) if row[column].strip()))
            random.Random(seed).shuffle(texts)
            want = n // 2 + (n % 2 if index == 0 else 0)
            pairs += [(texts[2 * i], texts[2 * i + 1]) for i in range(want)]
    finally:
        csv.field_size_limit(limit)
    return pairs


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def maxrss_mib() -> float:
    """The process's peak RSS so far (MiB); it never goes down."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def rss_mib() -> float | None:
    """The process's current RSS (MiB), where /proc tells it."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError):
        return None


class PeakRSS:
    """Peak RSS above the starting RSS while the block runs, sampled every 2 ms from /proc (torch
    releases the GIL in its kernels, so the sampler keeps up); where /proc is missing, the growth
    of ru_maxrss instead, which shows +0 for a block that stays under an earlier peak."""

    def __enter__(self) -> PeakRSS:
        self.start, self.maxrss, self.peak = rss_mib(), maxrss_mib(), 0.0
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)
        if self.start is not None:
            self.thread.start()
        return self

    def _sample(self) -> None:
        while not self.done.wait(0.002):
            self.peak = max(self.peak, (rss_mib() or 0.0) - self.start)

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        if self.start is None:
            self.peak = maxrss_mib() - self.maxrss
        else:
            self.thread.join()
            self.peak = max(self.peak, (rss_mib() or 0.0) - self.start)


@dataclass(frozen=True)
class Result:
    """One measurement: best wall and process-CPU seconds, peak RSS above the start, CUDA peak (MiB)."""

    label: str
    pairs: int
    seconds: float
    cpu_seconds: float
    rss_mib: float
    cuda_mib: float | None


class Measure:
    """Best of ``repeat`` runs per function; the runs of functions compared in a ratio are
    interleaved so that a busy machine slows them alike. Process CPU time is kept beside wall time:
    on a shared CPU it is the steadier measure of work (on CUDA only wall time means anything)."""

    def __init__(self, device: torch.device, repeat: int):
        self.device, self.repeat = device, repeat

    def _once(self, fn: Callable[[], object]) -> tuple[float, float, float, float | None]:
        cuda = self.device.type == "cuda"
        if cuda:
            torch.cuda.reset_peak_memory_stats(self.device)
        with PeakRSS() as memory:
            sync(self.device)
            wall, cpu = time.perf_counter(), time.process_time()
            fn()
            sync(self.device)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        return wall, cpu, memory.peak, torch.cuda.max_memory_allocated(self.device) / 2**20 if cuda else None

    def __call__(self, *jobs: tuple[str, int, Callable[[], object]]) -> list[Result]:
        runs = [[self._once(fn) for _, _, fn in jobs] for _ in range(self.repeat)]
        results = []
        for k, (label, n, _) in enumerate(jobs):
            wall, cpu, rss, cuda = zip(*(run[k] for run in runs), strict=True)
            peak_cuda = max(cuda) if cuda[0] is not None else None
            results.append(Result(label, n, min(wall), min(cpu), max(rss), peak_cuda))
        return results


def ratio(slow: Result, fast: Result, *, cuda: bool) -> str:
    text = f"{slow.seconds / fast.seconds:.2f}x"
    return text if cuda else f"{text} wall time, {slow.cpu_seconds / fast.cpu_seconds:.2f}x CPU time"


def bare_forward_backward(encoder: explainers.Encoder, pairs: Sequence[tuple[str, str]], batch_size: int | None):
    """The least work BTI can do: one forward and one backward of the same batches (same length
    sorting and token budget as explain_pairs) with the same loss. Tokenizing and padding happen
    here, outside the timed function."""
    texts = [t for pair in pairs for t in pair]
    paragraphs = encoder.tokenize(texts)
    lengths = [max(paragraphs[2 * i].ids.size, paragraphs[2 * i + 1].ids.size) for i in range(len(pairs))]
    batches = [
        encoder.batch([paragraphs[2 * i + s] for i in chunk for s in (0, 1)])
        for chunk in make_batches(lengths, token_budget=DEFAULT_TOKEN_BUDGET, batch_size=batch_size)
    ]

    def run() -> None:
        for batch in batches:
            with torch.enable_grad():
                tokens = encoder.token_embeddings(batch.ids).clone().requires_grad_(True)
                pooled = encoder.pool(encoder.hidden_states(tokens, batch.attention_mask), batch)
                torch.autograd.grad(objective(pooled), inputs=[tokens])

    return run


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=64, help="pairs for the batched measurements (default 64)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per measurement; the best counts")
    parser.add_argument("--device", help="torch device (default: cuda if available, else cpu)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared data dir (fashion/, wine/)")
    parser.add_argument("--batch-size", type=int, help="pairs per batch (default: token budget only)")
    parser.add_argument("--single-pairs", type=int, default=16, help="pairs for the one-at-a-time measurement")
    parser.add_argument("--ig-pairs", type=int, default=4, help="pairs for the integrated-gradients measurement")
    parser.add_argument("--ij-pairs", type=int, default=1, help="pairs for the integrated-jacobians measurement")
    parser.add_argument("--steps", type=int, default=50, help="integrated gradients / Jacobians steps (default 50)")
    args = parser.parse_args(argv)
    if min(args.pairs, args.single_pairs, args.ig_pairs, args.ij_pairs, args.repeat, args.steps) < 1:
        parser.error("--pairs, --single-pairs, --ig-pairs, --ij-pairs, --repeat and --steps must be >= 1")

    if not (args.data / SOURCES[0][0]).is_file():
        parser.error(f"no data under {args.data}; pass --data DIR holding fashion/ and wine/")
    pairs = load_pairs(args.data, args.pairs)
    single, ig_pairs, ij_pairs = pairs[: args.single_pairs], pairs[: args.ig_pairs], pairs[: args.ij_pairs]
    rss_start = maxrss_mib()
    encoder = explainers.load_encoder(device=args.device)
    device = encoder.device
    n_tokens = sum(len(p.ids) for p in encoder.tokenize([t for pair in pairs for t in pair]))
    print(
        f"model {encoder.name} on {device} ({torch.get_num_threads()} torch threads, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f}), torch {torch.__version__}"
    )
    print(
        f"{len(pairs)} pairs from {args.data} (fashion detail_desc + wine description), "
        f"{n_tokens / (2 * len(pairs)):.0f} tokens per paragraph on average; best of {args.repeat} after a warm-up"
    )
    print(f"process RSS after loading the model: {maxrss_mib():.0f} MiB (+{maxrss_mib() - rss_start:.0f} MiB)\n")

    last: dict[str, list[explainers.Explanation]] = {}  # each method's latest explanations

    def job(method: str, subset: Sequence[tuple[str, str]]) -> Callable[[], object]:
        def run() -> None:
            last[method] = explain_pairs(encoder, subset, method, batch_size=args.batch_size, steps=args.steps)

        return run

    # Warm-up: every code path once, and BTI on every batch shape.
    for method in explainers.available_methods():
        explain_pairs(encoder, pairs[:2], method, steps=2)
    explain_pairs(encoder, pairs, "bti", batch_size=args.batch_size)
    bare_run = bare_forward_backward(encoder, pairs, args.batch_size)
    bare_run()

    def one_at_a_time() -> None:
        for pair in single:
            explain_pairs(encoder, [pair], "bti")

    measure = Measure(device, args.repeat)
    n, n_single, n_ig, n_ij = len(pairs), len(single), len(ig_pairs), len(ij_pairs)
    bare, bti = measure(
        ("bare forward+backward (same batches)", n, bare_run),
        ("bti", n, job("bti", pairs)),
    )
    others = [*measure(*((m, n, job(m, pairs)) for m in explainers.available_methods() if m not in SUBSET_METHODS))]
    bti_batched, bti_single = measure(
        (f"bti, batched, first {n_single} pairs", n_single, job("bti", single)),
        (f"bti, one pair at a time, first {n_single}", n_single, one_at_a_time),
    )
    bti_small, ig = measure(
        (f"bti, batched, first {n_ig} pairs", n_ig, job("bti", ig_pairs)),
        (f"integrated-gradients ({args.steps} steps), first {n_ig}", n_ig, job("integrated-gradients", ig_pairs)),
    )
    bti_ij, ig_ij, ij = measure(
        (f"bti, batched, first {n_ij} pairs", n_ij, job("bti", ij_pairs)),
        (f"integrated-gradients ({args.steps} steps), first {n_ij}", n_ij, job("integrated-gradients", ij_pairs)),
        (f"integrated-jacobians ({args.steps} steps), first {n_ij}", n_ij, job("integrated-jacobians", ij_pairs)),
    )
    completeness = max(e.diagnostics["completeness_error_relative"] for e in last["integrated-jacobians"])

    cuda = device.type == "cuda"
    header = f"{'measurement':<46} {'pairs':>5} {'wall s':>7} {'pairs/s':>7} {'CPU s':>7} {'RSS peak +MiB':>13}"
    header += f" {'CUDA peak MiB':>13}" if cuda else ""
    print(header + "\n" + "-" * len(header))
    for r in (bare, bti, *others, bti_batched, bti_single, bti_small, ig, bti_ij, ig_ij, ij):
        line = f"{r.label:<46} {r.pairs:>5} {r.seconds:>7.2f} {r.pairs / r.seconds:>7.3g} {r.cpu_seconds:>7.2f}"
        print(line + f" {r.rss_mib:>13.0f}" + (f" {r.cuda_mib:>13.0f}" if cuda else ""))
    print(f"\nprocess peak RSS (ru_maxrss): {maxrss_mib():.0f} MiB; load average now: {os.getloadavg()[0]:.1f}")
    print("\nratios")
    print(f"(a) bti end to end / bare forward+backward, {n} pairs: {ratio(bti, bare, cuda=cuda)} (target <= 1.3x)")
    speed_up = ratio(bti_single, bti_batched, cuda=cuda)
    print(f"(b) batched speed-up over one pair at a time, bti, {n_single} pairs: {speed_up}")
    print(f"(c) bti speed-up over integrated-gradients, {n_ig} pairs: {ratio(ig, bti_small, cuda=cuda)}")
    print(
        f"(d) integrated-jacobians cost, {n_ij} pairs: against bti {ratio(ij, bti_ij, cuda=cuda)}; against "
        f"integrated-gradients {ratio(ij, ig_ij, cuda=cuda)}; completeness error <= {completeness:.1e} of |s|"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
