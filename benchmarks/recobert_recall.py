"""Evidence for train-recobert (issue 4): title→description recall@10 on a held-out 10% of the wine
sample, for the starting model and for the model trained (briefly, on the other 90%) from it.

    python benchmarks/recobert_recall.py [--catalog ../shared/data/wine/winemag_sample.csv]
        [--max-steps 150] [--batch-size 16] [--holdout 0.1] [--seed 0] [--k 10]
        [any other train-recobert training option: --epochs, --lr, --temperature, --max-length]

Prints one JSON object: recall of each model, training steps, seconds, the first/last losses.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from a checkout
WINE = ROOT.parent / "shared" / "data" / "wine" / "winemag_sample.csv"


def _mean(values: list[float]) -> float:
    """The mean of ``values`` (up to 10 losses: a run may have fewer steps), to 4 decimals."""
    return round(sum(values) / len(values), 4)


def main() -> None:
    from explainers.cli_catalog import add_training_arguments, train_from_arguments

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--catalog", default=str(WINE))
    parser.add_argument("--model", default=None, help="starting model dir (default: all-MiniLM-L6-v2)")
    parser.add_argument("--device", default=None, help="torch device (default: cuda if available)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--output", default=None, help="where to keep the trained model (default: a temp dir)")
    add_training_arguments(parser)
    parser.set_defaults(max_steps=150, holdout=0.1)
    args = parser.parse_args()

    from explainers import load_encoder
    from explainers.catalog import read_catalog
    from explainers.recobert import title_text_recall

    items, report = read_catalog(args.catalog, id_column="id", text_column="description", title_column="title")
    with tempfile.TemporaryDirectory() as tmp:
        output = Path(args.output) if args.output else Path(tmp) / "recobert-wine"
        start = time.perf_counter()
        result = train_from_arguments(items, output, args)
        seconds = time.perf_counter() - start
        held_ids = set(result["holdout_ids"])
        held = [it for it in items if it.id in held_ids]
        before = title_text_recall(load_encoder(args.model), held, k=args.k)
        after = title_text_recall(load_encoder(output), held, k=args.k)
    print(
        json.dumps(
            {
                "catalog": report.summary(),
                "held_out_items": len(held),
                "train_items": result["train_items"],
                "steps": result["steps"],
                "batch_size": args.batch_size,
                "lr": args.lr,
                "train_seconds": round(seconds, 1),
                f"recall@{args.k}_start": round(before, 4),
                f"recall@{args.k}_trained": round(after, 4),
                "loss_first10_mean": _mean(result["losses"][:10]),
                "loss_last10_mean": _mean(result["losses"][-10:]),
                "cosine_loss_first10_mean": _mean(result["cosine_losses"][:10]),
                "cosine_loss_last10_mean": _mean(result["cosine_losses"][-10:]),
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
