"""Scale-out: the wall time of one round computed by one Celery worker, then by two, on one machine.

Production's set-up on loopback: a scratch PostgreSQL database (``bti_scale``, created, migrated with
the production settings, and dropped at the end) and Redis (``--redis``; its ``explain`` and
``default`` queues are purged first). The same round (``--pairs`` pairs × ``--methods``, the
paper's seven by default, with the default model unless ``--model``) is launched once per worker
count in ``--workers``. Each time that many workers (``celery -A workers worker -Q explain,default``,
concurrency 1, distinct ``-n`` node names) are started, and warmed by a first chunk each (torch and
the model loaded, as in long-running workers; printed apart); the time runs from the launch until
the round opens for rating. Prints, per worker count: the wall time, explanations/s, the speed-up over one worker,
each worker's share of the explanations, and any explanation computed more than once (must be 0).

Each worker stands for a machine of its own: it gets ``--threads`` torch threads (default: the
CPUs divided by the largest worker count, so 1 on a 2-core machine), so the ratio measures how
Celery spreads a round, not torch's threads inside one process (``--workers 1 --threads 2`` gives
one worker the whole machine, for comparison). Chunks are small (``--chunk-size``, default 2 pairs)
so that the last chunks do not leave a worker idle; integrated gradients (50 steps) is most of the
work on a CPU. About 3-4 minutes on a 2-core CPU with the defaults; ``--quick`` (4 pairs, three
fast methods, chunks of one pair) checks that it works in about a minute.

    python benchmarks/scale_out.py [--pairs 8] [--workers 1,2] [--chunk-size 2] [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from judges_load import add_database_arguments, cpu_used, drop_scratch_database, recreate_database  # noqa: E402
from worker_rounds import (  # noqa: E402
    ROOT,
    RoundFailed,
    default_data,
    paragraph_pairs,
    start_workers,
    stop_workers,
    time_round,
    warm_up,
    worker_shares,
    workers_cpu,
)

QUICK_METHODS = ("bti", "vanilla-gradients", "tfidf-w2v")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=8, help="pairs in the round (default 8)")
    parser.add_argument("--methods", help="comma-separated (default: the paper's seven)")
    parser.add_argument("--workers", default="1,2", help="worker counts to time, in order (default 1,2)")
    parser.add_argument("--threads", type=int, help="torch threads per worker (default: CPUs / largest count)")
    parser.add_argument("--chunk-size", type=int, default=2, help="pairs per chunk (BTI_CHUNK_SIZE; default 2)")
    parser.add_argument("--repeat", type=int, default=1, help="rounds per worker count, interleaved; the best counts")
    parser.add_argument("--model", default="", help="a local model directory (default: the packaged model)")
    parser.add_argument("--device", default="cpu", help="the workers' BTI_EXPLAIN_DEVICE (default cpu)")
    parser.add_argument("--pool", default="prefork", choices=["prefork", "solo"], help="worker pool (default prefork)")
    parser.add_argument("--data", type=Path, default=default_data(), help="the shared data dir (fashion/, wine/)")
    add_database_arguments(parser, name="bti_scale")
    parser.add_argument("--redis", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/13"))
    parser.add_argument("--timeout", type=float, default=3600, help="seconds a round may take")
    parser.add_argument("--quick", action="store_true", help="4 pairs, three fast methods, chunks of one pair")
    args = parser.parse_args(argv)
    if args.quick:
        args.pairs, args.chunk_size, args.methods = 4, 1, args.methods or ",".join(QUICK_METHODS)
    try:
        args.counts = [int(c) for c in args.workers.split(",")]
    except ValueError:
        parser.error("--workers is a comma-separated list of worker counts, e.g. 1,2")
    if not args.counts or min(args.counts) < 1 or max(args.counts) > 16:
        parser.error("worker counts are between 1 and 16")
    if args.pairs < 1 or args.chunk_size < 1 or args.repeat < 1:
        parser.error("--pairs, --chunk-size and --repeat must be positive")
    args.threads = args.threads or max(1, (os.cpu_count() or 1) // max(args.counts))
    args.sqlite = False  # what judges_load's database helpers read: PostgreSQL only here
    return args


def settings_env(args: argparse.Namespace) -> dict[str, str]:
    """Production settings on the scratch database and ``--redis``, for this process and the workers."""
    threads = str(args.threads)
    return {
        **{k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "LOG_LEVEL")},
        "DJANGO_SETTINGS_MODULE": "bti_eval.settings.production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DATABASE_URL": f"{args.postgres.rstrip('/')}/{args.database}",
        "REDIS_URL": args.redis,
        "SECURE_SSL_REDIRECT": "false",
        "BTI_CHUNK_SIZE": str(args.chunk_size),
        "BTI_EXPLAIN_DEVICE": args.device,
        "OMP_NUM_THREADS": threads,
        "MKL_NUM_THREADS": threads,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    env = settings_env(args)
    os.environ.update(env, LOG_LEVEL="WARNING")  # this process: the launcher, quiet
    recreate_database(args)
    logs = Path(tempfile.mkdtemp(prefix="bti-scale-"))
    try:
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
        import django

        django.setup()
        from bti_eval.pairs.models import ParagraphPair
        from bti_eval.rounds import services
        from bti_eval.rounds.models import Explanation, default_methods
        from tests.e2e.test_celery_worker import purge_queues

        purge_queues()
        methods = args.methods.split(",") if args.methods else default_methods()
        texts, where = paragraph_pairs(args.pairs, data=args.data)
        pairs = ParagraphPair.objects.bulk_create(
            [
                ParagraphPair(source="scale-out", external_id=str(i), text_a=a, text_b=b)
                for i, (a, b) in enumerate(texts)
            ]
        )
        n = len(pairs) * len(methods)
        chunks = sum(-(-len(pairs) // args.chunk_size) for _ in methods)
        print(
            f"scale_out: {len(pairs)} pairs x {len(methods)} methods = {n} explanations in {chunks} chunks of "
            f"<= {args.chunk_size} pairs; pairs from {where}\n"
            f"model {args.model or 'the packaged all-MiniLM-L6-v2'} on {args.device}, {args.threads} torch thread(s) "
            f"per worker, {args.pool} pool; PostgreSQL + Redis ({args.redis}); {os.cpu_count()} CPUs\n",
            flush=True,
        )
        best: dict[int, float] = {}
        rows_out = []
        for run in range(args.repeat):
            for count in args.counts:
                round = services.round_create(
                    name=f"scale-out {count} worker(s), run {run + 1}", pairs=pairs, methods=methods, model=args.model
                )
                nodes = [f"scale-{count}w{run}-{i + 1}-{secrets.token_hex(3)}" for i in range(count)]
                started = time.perf_counter()
                workers = start_workers(nodes, env=env, logs=logs, pool=args.pool)
                try:
                    warm, cold = warm_up(workers, pairs, model=args.model, timeout=args.timeout)
                    if cold:
                        print(f"  (no warm-up chunk for {', '.join(cold)}: it loads the model in the round)")
                    ready = time.perf_counter() - started
                    load = os.getloadavg()[0]
                    before = workers_cpu(workers)
                    seconds = time_round(round, workers=workers, timeout=args.timeout)
                    cpu = cpu_used(before, workers_cpu(workers))
                finally:
                    stop_workers(workers)
                again = Explanation.objects.filter(round=round, attempts__gt=1).count()
                shares = worker_shares(round)
                best[count] = min(seconds, best.get(count, float("inf")))
                rows_out.append((count, run + 1, seconds, cpu, load, [shares.get(node, 0) for node in nodes], again))
                print(
                    f"  {count} worker(s), run {run + 1}: {seconds:.1f} s (workers started and warm in {ready:.1f} s, "
                    f"not counted)",
                    flush=True,
                )

        base = best.get(1) or best[args.counts[0]]
        header = (
            f"{'workers':>7} {'run':>3} {'wall s':>8} {'expl/s':>7} {'speed-up':>8} {'CPU s':>7} {'cores':>5} "
            f"{'load':>5}  per worker  twice"
        )
        print("\n" + header + "\n" + "-" * len(header))
        for count, run, seconds, cpu, load, shares, again in rows_out:
            share = " / ".join(map(str, shares))
            print(
                f"{count:>7} {run:>3} {seconds:>8.1f} {n / seconds:>7.2f} {base / seconds:>7.2f}x {cpu:>7.1f} "
                f"{cpu / seconds:>5.2f} {load:>5.1f}  {share:<10}  {again:>5}"
            )
        if 1 in best and len(best) > 1:
            ups = ", ".join(f"{c} workers {best[1] / best[c]:.2f}x" for c in sorted(best) if c != 1)
            print(f"\nspeed-up over one worker (best of {args.repeat}): {ups}")
        print(
            "CPU s: the workers' CPU time during the round; cores: CPU s / wall s (what the machine gave them: on a "
            "machine that other work keeps busy, a second worker may get no more CPU than one); load: the 1-minute "
            "load average at the launch; twice: explanations computed more than once (must be 0)"
        )
        return 0 if all(again == 0 for *_, again in rows_out) else 1
    except RoundFailed as exc:
        print(f"scale_out: {exc}", file=sys.stderr)
        return 1
    finally:
        drop_scratch_database(args)


if __name__ == "__main__":
    sys.exit(main())
