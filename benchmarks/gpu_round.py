"""A 100-pair round of the paper's seven methods, end to end through a real Celery worker on the GPU.

One prepared script for a GPU machine that has nothing else: no PostgreSQL, no Redis, no network.
It runs on the embedded settings (``bti_eval/settings/embedded.py``: SQLite and kombu's filesystem
broker) in a temporary folder, migrates it, starts its own worker there
(``celery -A workers worker -Q explain``, concurrency 1, ``BTI_EXPLAIN_DEVICE=--device``), and:

1. warms the worker with one chunk (torch, CUDA and the model loaded, as in a long-running
   worker; its time is printed, not counted);
2. launches a round of ``--pairs`` pairs × ``--methods`` (default: the paper's seven) in chunks of
   ``--chunk-size`` pairs (production's default, 16) and prints the time from the launch until the
   round opens for rating (target: under 30 s on one H100/H200), and each method's pairs/s (the
   worker's own time in the explainers, from the rows' ``compute_seconds``) and wall time (its first
   chunk's start to its last chunk's end: database writes included);
3. times each method of ``--extra`` in a round of its own over the same pairs (default:
   ``integrated-jacobians`` when the registry has it; ``--extra ""`` for none);
4. stops the worker and measures BTI against a bare forward+backward of the same batches with the
   same loss (``explainers_bench.bare_forward_backward``, best of ``--repeat``), on the round's BTI
   chunks: the ratio in this process, and with the worker's BTI time in the round.

The worker's pool is solo by default. On the filesystem broker, a prefork worker's main process
polls the folder once a second (kombu's ``polling_interval``) while its child computes, so every
chunk would wait up to a second for the next (measured on a CPU: 12 chunks took 11.4 s with prefork
and 4.4 s with solo, for 1.8-2.4 s of compute). On Redis, production's broker, a prefork worker
hears of the next message at once (``scale_out.py`` uses prefork there). ``--pool prefork`` shows it.

Pairs: half fashion, half wine from ``--data`` (default ``../shared/data`` beside the checkout, or
``shared/data`` inside it); where neither exists, as on a device machine that received only the
working tree, generated text of similar length (the output says which).

    python benchmarks/gpu_round.py                                  # on the GPU machine
    python benchmarks/gpu_round.py --device cpu --pairs 4 --methods bti,tfidf-w2v   # a check on a CPU

Exit code 1 when an explanation failed, the worker exited or a round did not open in ``--timeout``.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from worker_rounds import (  # noqa: E402
    RoundFailed,
    default_data,
    method_figures,
    paragraph_pairs,
    start_workers,
    stop_workers,
    time_round,
    warm_up,
)

import explainers  # noqa: E402
from explainers.registry import default_methods  # noqa: E402

TARGET_SECONDS = 30.0
DEFAULT_CHUNK_SIZE = 16  # settings.BTI_CHUNK_SIZE's default
EXTRA_METHODS = ("integrated-jacobians",)
CLEARED_ENV = ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL", "CACHE_URL", "SECRET_KEY", "LOG_LEVEL")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda", help="the worker's torch device (default cuda; cpu for a check)")
    parser.add_argument("--pairs", type=int, default=100, help="pairs in the round (default 100)")
    parser.add_argument("--methods", help="comma-separated (default: the paper's seven)")
    parser.add_argument(
        "--extra",
        default=",".join(m for m in EXTRA_METHODS if m in explainers.available_methods()),
        help="methods timed in a round of their own each (default: integrated-jacobians when registered)",
    )
    parser.add_argument("--model", default="", help="a local model directory (default: the packaged model)")
    parser.add_argument("--data", type=Path, default=default_data(), help="the shared data dir (fashion/, wine/)")
    parser.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK_SIZE, help="pairs per chunk (default 16)")
    parser.add_argument("--pool", default="solo", choices=["solo", "prefork"], help="worker pool (default solo)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of the BTI / bare ratio; the best counts")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds a round may take (default 1800)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (database, worker log)")
    args = parser.parse_args(argv)
    args.methods = [m for m in (args.methods or ",".join(default_methods())).split(",") if m]
    args.extra = [m for m in args.extra.split(",") if m and m not in args.methods]
    unknown = [m for m in args.methods + args.extra if m not in explainers.available_methods()]
    if unknown:
        parser.error(f"unknown method(s) {', '.join(unknown)}; available: {', '.join(explainers.available_methods())}")
    if args.pairs < 1 or args.chunk_size < 1 or args.repeat < 1:
        parser.error("--pairs, --chunk-size and --repeat must be positive")
    if args.model and not (Path(args.model) / "config.json").is_file():
        parser.error(f"--model {args.model!r} is not a Hugging Face model directory (no config.json)")
    import torch

    if torch.device(args.device).type == "cuda" and not torch.cuda.is_available():
        parser.error(f"no CUDA device here (torch {torch.__version__}); run with --device cpu for a check")
    return args


def embedded_env(args: argparse.Namespace, work: Path) -> dict[str, str]:
    """The embedded settings in ``work``: SQLite and the filesystem broker, for this process and the worker."""
    return {
        **{k: v for k, v in os.environ.items() if k not in CLEARED_ENV},
        "DJANGO_SETTINGS_MODULE": "bti_eval.settings.embedded",
        "BTI_VAR_DIR": str(work / "var"),
        "DATABASE_URL": f"sqlite:///{work / 'bti_eval.sqlite3'}",
        "BTI_EXPLAIN_DEVICE": args.device,
        "BTI_CHUNK_SIZE": str(args.chunk_size),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    }


def print_figures(figures) -> None:
    header = f"{'method':<24} {'pairs':>5} {'compute s':>9} {'pairs/s':>8} {'wall s':>7}"
    print(header + "\n" + "-" * len(header))
    for f in figures:
        print(
            f"{f.method:<24} {f.pairs:>5} {f.compute_seconds:>9.2f} {f.pairs_per_second:>8.1f} {f.wall_seconds:>7.2f}"
        )


def bti_against_bare(args: argparse.Namespace, round, worker_bti_seconds: float) -> str:
    """BTI / a bare forward+backward of the round's BTI chunks, in this process (best of --repeat,
    interleaved) and with the worker's own BTI time in the round."""
    from explainers_bench import Measure, bare_forward_backward, ratio

    from bti_eval.core.encoders import model_path
    from bti_eval.rounds.models import Explanation
    from bti_eval.rounds.services import chunk_ids

    rows = Explanation.objects.filter(round=round, method="bti").select_related("pair").order_by("pair_id", "id")
    texts = {r.pk: (r.pair.text_a, r.pair.text_b) for r in rows}
    chunks = [[texts[pk] for pk in chunk] for chunk in chunk_ids({"bti": list(texts)}, size=args.chunk_size)]
    encoder = explainers.load_encoder(model_path(args.model), device=args.device)
    bare_runs = [bare_forward_backward(encoder, chunk, None) for chunk in chunks]

    def bare() -> None:
        for run in bare_runs:
            run()

    def bti() -> None:
        for chunk in chunks:
            explainers.explain_pairs(encoder, chunk, "bti", top_k=round.top_k)

    bare()  # warm-up
    bti()
    bare_result, bti_result = Measure(encoder.device, args.repeat)(
        ("bare forward+backward", len(texts), bare), ("bti", len(texts), bti)
    )
    return (
        f"BTI / bare forward+backward of the same {len(chunks)} chunk(s) of <= {args.chunk_size} pairs: "
        f"{ratio(bti_result, bare_result, cuda=encoder.device.type == 'cuda')} in this process (best of "
        f"{args.repeat}: {bti_result.seconds:.3f} s / {bare_result.seconds:.3f} s); "
        f"{worker_bti_seconds / bare_result.seconds:.2f}x with the worker's BTI time in the round "
        f"({worker_bti_seconds:.3f} s)"
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bti-gpu-round-"))
    env = embedded_env(args, work)
    os.environ.update(env, LOG_LEVEL="WARNING")  # this process launches and reads; the worker logs to a file
    workers = []
    try:
        import django
        import torch

        django.setup()
        # kombu warns "No hostname was supplied" on every connection: the filesystem broker has none.
        logging.getLogger("kombu.connection").setLevel(logging.ERROR)
        from django.core.management import call_command

        from bti_eval.pairs.models import ParagraphPair
        from bti_eval.rounds import services

        call_command("migrate", interactive=False, verbosity=0)
        texts, where = paragraph_pairs(args.pairs, data=args.data)
        pairs = ParagraphPair.objects.bulk_create(
            [
                ParagraphPair(source="gpu-round", external_id=str(i), text_a=a, text_b=b)
                for i, (a, b) in enumerate(texts)
            ]
        )
        device = torch.device(args.device)
        card = f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else ""
        print(
            f"gpu_round: {len(pairs)} pairs from {where}\n"
            f"device {args.device}{card}, torch {torch.__version__}, {os.cpu_count()} CPUs; one Celery worker "
            f"({args.pool}, concurrency 1, -Q explain) on the embedded settings (SQLite + filesystem broker) in "
            f"{work}; chunks of <= {args.chunk_size} pairs",
            flush=True,
        )
        started = time.perf_counter()
        workers = start_workers(["gpu-round"], env=env, logs=work, queues="explain", pool=args.pool)
        ready = time.perf_counter() - started
        warm, _ = warm_up(workers, pairs, model=args.model, timeout=args.timeout)
        print(f"worker ready in {ready:.1f} s; warm-up chunk (torch, the device and the model loaded) {warm:.1f} s")

        rounds = []
        for methods in [args.methods, *([m] for m in args.extra)]:
            round = services.round_create(
                name=f"gpu round: {', '.join(methods)}", pairs=pairs, methods=methods, model=args.model
            )
            seconds = time_round(round, workers=workers, timeout=args.timeout)
            rounds.append((round, seconds))
        stop_workers(workers)

        for number, (round, seconds) in enumerate(rounds, 1):
            figures = method_figures(round)
            model = round.explanations.values_list("payload__model", flat=True).first()
            n = sum(f.pairs for f in figures)
            target = ""
            if number == 1:
                verdict = "met" if seconds < TARGET_SECONDS else "missed"
                target = f" (target < {TARGET_SECONDS:.0f} s on one H100/H200" + (
                    f": {verdict})" if device.type == "cuda" else ", for a GPU)"
                )
            print(
                f"\nround {number}: {len(round.methods)} method(s) x {len(pairs)} pairs = {n} explanations, "
                f"model {model}, launch to open: {seconds:.2f} s{target}"
            )
            print_figures(figures)
        if "bti" in args.methods:
            worker_bti = next(f.compute_seconds for f in method_figures(rounds[0][0]) if f.method == "bti")
            print("\n" + bti_against_bare(args, rounds[0][0], worker_bti))
        return 0
    except RoundFailed as exc:
        print(f"gpu_round: {exc}", file=sys.stderr)
        return 1
    finally:
        stop_workers(workers)
        try:
            from django.db import connections

            connections.close_all()
        except Exception:  # Django may not be set up yet
            pass
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
