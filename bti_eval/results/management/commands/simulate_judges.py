"""``python manage.py simulate_judges ROUND --judges 5 --seed 0 [--sloppy 1]``: a dry run of a round's analysis."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.template.defaultfilters import pluralize

from bti_eval.core.exceptions import ApplicationError
from bti_eval.results.management.commands.export_results import find_round
from bti_eval.results.simulation import ratings_simulate


class Command(BaseCommand):
    help = (
        "Fill a round that is open for rating with simulated judges and ratings (per-method score distributions "
        "near the paper's Table 1, careful judges rating control items low, and sloppy judges rating at random)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("round", help="The round's id or exact name.")
        parser.add_argument("--judges", type=int, default=5, help="How many judges to simulate (default 5).")
        parser.add_argument("--seed", type=int, default=0, help="Seed of the simulation (default 0).")
        parser.add_argument("--sloppy", type=int, default=1, help="How many of them rate at random (default 1).")

    def handle(self, *args, **options) -> None:
        round = find_round(options["round"])
        try:
            result = ratings_simulate(
                round=round, judges=options["judges"], seed=options["seed"], sloppy=options["sloppy"]
            )
        except ApplicationError as exc:
            raise CommandError(exc.message, returncode=2) from exc
        sloppy = ", ".join(j.name for j in result.sloppy) or "none"
        self.stdout.write(
            f"Simulated {len(result.judges)} judge{pluralize(len(result.judges))} and {result.ratings} "
            f"rating{pluralize(result.ratings)} in round {round.name!r} "
            f"(sloppy: {sloppy}). See /rounds/{round.pk}/results/."
        )
