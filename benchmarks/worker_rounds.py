"""Rounds computed end to end by real Celery worker processes, for the benchmarks that time them
(``scale_out.py``, ``gpu_round.py``): the pairs to explain, worker processes started and stopped, a
launched round waited for until it opens, and what its rows say (per method: pairs/s; per worker:
its share).

The caller sets up Django (``django.setup()``) with the same settings that it passes to the workers
in ``env``. A round's time runs from its launch (which enqueues the chunks) until it opens for
rating. The workers are started, ready and warm before (``warm_up``: each has loaded torch and the
model in a first chunk), as long-running workers are; the scripts print that start-up apart.
"""

from __future__ import annotations

import random
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from explainers_bench import SOURCES, load_pairs  # noqa: E402
from judges_load import cpu_seconds, server_pids  # noqa: E402

from tests.worker_process import stop, wait_ready, worker_command  # noqa: E402

# Where the shared data may be: beside the checkout (../shared/data, as in this project's CI), or
# inside it (shared/data, as a device machine receives a working tree).
DATA_CANDIDATES = (ROOT.parent / "shared" / "data", ROOT / "shared" / "data")
POLL_SECONDS = 0.1
WORDS = (
    "soft wool gloves touchscreen fingertips ribbed cuffs knitted blend slim jeans washed stretch denim pockets "
    "zip fly viscose dress neckline long sleeves cotton jersey top relaxed fit organic linen shirt collar buttons "
    "ripe cherry plum aromas oak vanilla spice tannins acidity finish dry red blend vineyard palate fruit bright "
    "black pepper smoky notes citrus peel mineral crisp white lingering elegant structured"
).split()


def default_data() -> Path | None:
    """The first of DATA_CANDIDATES that holds the fashion and wine files, else None."""
    return next((d for d in DATA_CANDIDATES if all((d / name).is_file() for name, _ in SOURCES)), None)


def paragraph_pairs(n: int, *, data: Path | None, seed: int = 0) -> tuple[list[tuple[str, str]], str]:
    """``n`` pairs and where they come from: half fashion and half wine from ``data`` (as
    explainers_bench.load_pairs) when it holds both files, else generated text (35-60 words from a
    small fashion and wine vocabulary, the second paragraph sharing about half the first's words;
    seeded), so that a machine without the data still runs the benchmark."""
    if data is not None and all((data / name).is_file() for name, _ in SOURCES):
        return load_pairs(data, n, seed), f"{data} (fashion detail_desc + wine description)"
    rng = random.Random(seed)
    pairs = []
    for _ in range(n):
        a = [rng.choice(WORDS) for _ in range(rng.randint(35, 60))]
        b = [w if rng.random() < 0.5 else rng.choice(WORDS) for w in a[: rng.randint(30, len(a))]]
        pairs.append((" ".join(a).capitalize() + ".", " ".join(b).capitalize() + "."))
    where = "no fashion/wine data found" if data is None else f"no fashion/wine data in {data}"
    return pairs, f"generated text ({where})"


@dataclass
class Worker:
    """A Celery worker process and its log; ``node`` is its name before ``@<host>``."""

    node: str
    process: subprocess.Popen
    log: Path


def start_workers(
    nodes: list[str], *, env: dict[str, str], logs: Path, queues: str = "explain,default", pool: str = "prefork"
) -> list[Worker]:
    """Start one worker per node name (concurrency 1, ``pool``) with ``env``, logging to
    ``logs/NODE.log``, and wait until every one consumes its queues."""
    workers = []
    for node in nodes:
        log = logs / f"{node}.log"
        command = worker_command(queues=queues, node=node, pool=pool)
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
        workers.append(Worker(node, process, log))
    try:
        wait_ready([(w.process, w.log, w.node) for w in workers])
    except BaseException as exc:
        stop_workers(workers)
        if isinstance(exc, RuntimeError):  # one exited, or was not ready in time: its log says why
            raise RoundFailed(str(exc)) from exc
        raise
    return workers


def workers_cpu(workers: list[Worker]) -> dict[int, float]:
    """CPU seconds used so far by each worker's processes (a prefork worker's main process and its
    child); ``judges_load.cpu_used`` takes the difference of two readings."""
    return cpu_seconds([pid for w in workers for pid in server_pids(w.process)])


def stop_workers(workers: list[Worker]) -> None:
    for worker in workers:
        stop(worker.process)


class RoundFailed(RuntimeError):
    """A round that did not open: failed explanations, a worker that exited, or the time ran out."""


def time_round(round, *, workers: list[Worker], timeout: float) -> float:
    """Launch ``round`` (a draft) and return the seconds until it opens for rating."""
    from bti_eval.rounds import services
    from bti_eval.rounds.models import EvaluationRound, Explanation

    start = time.perf_counter()
    services.round_launch(round=round)
    while True:
        round.refresh_from_db(fields=["status"])
        if round.status != EvaluationRound.Status.COMPUTING:
            return time.perf_counter() - start
        rows = Explanation.objects.filter(round=round)
        failed = rows.filter(status=Explanation.Status.FAILED)
        # Failed rows and nothing left to compute: the round waits for a retry or a drop.
        if (
            failed.exists()
            and not rows.filter(status__in=[Explanation.Status.PENDING, Explanation.Status.RUNNING]).exists()
        ):
            errors = Counter(failed.values_list("error", flat=True))
            raise RoundFailed(f"{failed.count()} explanation(s) failed: {dict(errors.most_common(3))}")
        for worker in workers:
            if worker.process.poll() is not None:
                raise RoundFailed(f"worker {worker.node} exited:\n{worker.log.read_text(errors='replace')[-3000:]}")
        if time.perf_counter() - start > timeout:
            raise RoundFailed(f"the round did not open within {timeout:.0f} s")
        time.sleep(POLL_SECONDS)


def warm_up(workers: list[Worker], pairs: list, *, model: str, timeout: float) -> tuple[float, list[str]]:
    """Have every worker load the model (and torch) before a timed round, as a long-running worker
    has: a round of one ``bti`` chunk of one pair per worker. Returns its seconds and the workers
    that took no chunk (none, normally: a worker holds one chunk at a time, and its first takes
    seconds, so each idle worker is handed the next chunk)."""
    from django.test import override_settings

    from bti_eval.rounds import services

    with override_settings(BTI_CHUNK_SIZE=1):
        round = services.round_create(name="warm-up", pairs=pairs[: len(workers)], methods=["bti"], model=model)
        seconds = time_round(round, workers=workers, timeout=timeout)
    shares = worker_shares(round)
    return seconds, [w.node for w in workers if not shares.get(w.node)]


@dataclass(frozen=True)
class MethodFigures:
    """One method's explanations in a round: ``compute_seconds`` is the workers' own time in the
    explainers (rows' compute_seconds), ``wall_seconds`` from its first chunk's start to its last
    chunk's end (model loading, database writes and other methods' chunks in between included)."""

    method: str
    pairs: int
    compute_seconds: float
    wall_seconds: float

    @property
    def pairs_per_second(self) -> float:
        return self.pairs / self.compute_seconds if self.compute_seconds else float("nan")


def method_figures(round) -> list[MethodFigures]:
    """Per method of ``round`` (in its order), from its DONE rows."""
    from django.db.models import Count, Max, Min, Sum

    from bti_eval.rounds.models import Explanation

    rows = Explanation.objects.filter(round=round, status=Explanation.Status.DONE)
    by_method = {
        r["method"]: r
        for r in rows.values("method").annotate(
            n=Count("id"), compute=Sum("compute_seconds"), first=Min("started_at"), last=Max("finished_at")
        )
    }
    return [
        MethodFigures(m, r["n"], r["compute"] or 0.0, (r["last"] - r["first"]).total_seconds())
        for m in round.methods
        if (r := by_method.get(m))
    ]


def worker_shares(round) -> dict[str, int]:
    """Explanations of ``round`` per worker node name (the part of ``worker`` before ``@``)."""
    from bti_eval.rounds.models import Explanation

    recorded = Explanation.objects.filter(round=round).values_list("worker", flat=True)
    return dict(sorted(Counter(w.rpartition(" ")[0].partition("@")[0] for w in recorded).items()))
