"""``python manage.py evaluate_auto ROUND [--metrics plausibility,faithfulness,sanity] [--sanity-pairs N]``."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from bti_eval.core.exceptions import ApplicationError
from bti_eval.results import auto_metrics
from bti_eval.results.auto_metrics import auto_report
from bti_eval.results.management.commands.export_results import find_round
from bti_eval.results.selectors import round_results
from bti_eval.results.services import auto_evaluation_run


def metric_list(value: str) -> list[str]:
    return [m.strip() for m in value.split(",") if m.strip()]


class Command(BaseCommand):
    help = (
        "Compute a round's automatic metrics now (plausibility against gold alignments, faithfulness AOPC, "
        "parameter-randomization sanity), store them, and print them beside the MOS."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("round", help="The round's id or exact name.")
        parser.add_argument(
            "--metrics", type=metric_list, default=list(auto_metrics.METRICS), help="Comma-separated; default all."
        )
        defaults = auto_metrics.DEFAULT_OPTIONS
        parser.add_argument("--faithfulness-pairs", type=int, default=defaults["faithfulness_pairs"])
        parser.add_argument("--sanity-pairs", type=int, default=defaults["sanity_pairs"])

    def handle(self, *args, **options) -> None:
        round = find_round(options["round"])
        try:
            row = auto_evaluation_run(
                round=round,
                metrics=options["metrics"],
                options={
                    "faithfulness_pairs": options["faithfulness_pairs"],
                    "sanity_pairs": options["sanity_pairs"],
                },
            )
        except ApplicationError as exc:
            raise CommandError(exc.message, returncode=2) from exc
        auto = auto_report(round=round, table=round_results(round=round)["methods"])
        self.stdout.write(f"Automatic metrics of round {round.name!r}: {row.status} in {row.results['seconds']:.1f}s")
        for note in auto["notes"].values():
            self.stdout.write(f"  note: {note}")
        columns = auto["columns"]
        header = ["method", "MOS", *(f"{c['metric']}.{c['field']}" for c in columns)]
        self.stdout.write("  ".join(header))
        for method in auto["methods"]:
            cells = [method["method"], _fmt(method["mean"])]
            cells += [_fmt(method[f"{c['metric']}.{c['field']}"]) for c in columns]
            self.stdout.write("  ".join(cells))
        for c in auto["correlations"]:
            self.stdout.write(f"Spearman rho with MOS, {c['label']}: {_fmt(c['rho'])} (n={c['n']})")


def _fmt(value) -> str:
    return "-" if value is None else f"{value:.3f}"
