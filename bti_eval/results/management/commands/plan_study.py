"""``python manage.py plan_study [ROUND] [--effect 0.3 ...] [--sd 1.0] [--judges 2 3 5 10] [--pairs 20 50 100 200]
[--simulations 1000] [--seed 0]``: how many judges × pairs detect a MOS difference (see results.planning)."""

from __future__ import annotations

import sys
from contextlib import contextmanager

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from bti_eval.core.exceptions import ApplicationError
from bti_eval.results import planning
from bti_eval.results.management.commands.export_results import find_round


class Command(BaseCommand):
    help = (
        "Plan a study's size: simulate how many judges × pairs give power 0.8 to detect each MOS difference "
        "between two methods (Wilcoxon on per-pair means, Holm over all method pairs, alpha 0.05), from a pilot "
        "round's ratings or from assumed effects (--effect 0.3 --sd 1.0)."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser) -> None:
        parser.add_argument("round", nargs="?", help="A rated pilot round (id or exact name); optional with --sd.")
        parser.add_argument(
            "--effect",
            type=float,
            nargs="+",
            help="MOS differences to detect (default with a round: the differences between neighbouring methods "
            "in the pilot's ranking).",
        )
        parser.add_argument(
            "--sd", type=float, help="SD of one rating around its method's mean (needed without a round)."
        )
        parser.add_argument(
            "--judge-sd", type=float, help="Part of --sd that is a judge's bias (default: pilot's, else 0)."
        )
        parser.add_argument("--pair-sd", type=float, help="Part that is a pair's effect on all its methods.")
        parser.add_argument("--item-sd", type=float, help="Part that is an explanation's own effect (pair × method).")
        parser.add_argument("--mean", type=float, help="Base mean on the 1-5 scale (default: pilot's, else 3).")
        parser.add_argument("--methods", type=int, help="Methods in the study (Holm family; default: pilot's, else 2).")
        parser.add_argument("--design", choices=planning.DESIGNS, help="Default: the pilot round's, else 'all'.")
        parser.add_argument("--judges", type=int, nargs="+", default=list(planning.DEFAULT_JUDGES))
        parser.add_argument("--pairs", type=int, nargs="+", default=list(planning.DEFAULT_PAIRS))
        parser.add_argument("--simulations", type=int, default=planning.DEFAULT_SIMULATIONS)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument(
            "--exclude-flagged", action="store_true", help="Leave the judges the results flag out of the pilot."
        )

    def handle(self, *args, **options) -> None:
        round = find_round(options["round"]) if options["round"] else None
        try:
            pilot = None
            if round is not None:
                pilot = planning.pilot_from_round(round=round, exclude_flagged=options["exclude_flagged"])
            settings = {
                k: options[k]
                for k in ("sd", "judge_sd", "pair_sd", "item_sd", "mean", "methods", "design", "judges", "pairs")
            }
            with _progress(options["simulations"]) as progress:
                plan = planning.plan_study(
                    pilot=pilot,
                    effects=options["effect"],
                    simulations=options["simulations"],
                    seed=options["seed"],
                    progress=progress,
                    **settings,
                )
        except ApplicationError as exc:
            raise CommandError(exc.message, returncode=2) from exc
        title = f"Study plan from round {round.name!r} (id {round.pk})" if round is not None else "Study plan"
        self.stdout.write(planning.format_plan(plan, title=title), ending="")


@contextmanager
def _progress(simulations: int):
    """A tqdm bar over the simulations, on stderr, shown only on a terminal and once a run has taken 2 s."""
    with tqdm(total=simulations, unit="sim", desc="simulating", file=sys.stderr, disable=None, delay=2) as bar:
        yield bar.update
