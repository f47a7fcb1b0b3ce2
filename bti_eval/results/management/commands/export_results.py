"""``python manage.py export_results ROUND --format FORMAT [--exclude-flagged] [--output FILE]``.

FORMAT: csv | json | markdown | latex | svg | methods-csv | judges-csv | heds | explanations (see results.exports).
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from bti_eval.results import exports
from bti_eval.rounds.models import EvaluationRound


class Command(BaseCommand):
    help = (
        "Export a round's results (ROUND = its id or exact name): ratings CSV, JSON, Markdown, LaTeX, the means plot "
        "(SVG), the methods/judges tables as CSV, the HEDS 3.0 datasheet (JSON), or every explanation as stored "
        "(JSON Lines: raw saliencies and pair scores)."
    )
    # A read-only command: the system checks would import every URL and view (about a third of its
    # time on a small round) to check nothing it uses. ``manage.py check`` runs them.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser) -> None:
        parser.add_argument("round", help="The round's id or exact name.")
        parser.add_argument("--format", choices=exports.FORMATS, default="markdown")
        parser.add_argument("--output", "-o", help="Write to this file instead of standard output.")
        parser.add_argument("--decimals", type=int, default=2, help="Decimals in the Markdown/LaTeX table.")
        parser.add_argument(
            "--exclude-flagged", action="store_true", help="Recompute everything without the flagged judges."
        )

    def handle(self, *args, **options) -> None:
        round = find_round(options["round"])
        pieces = exports.export(
            round, options["format"], decimals=options["decimals"], exclude_flagged=options["exclude_flagged"]
        )
        if options["output"]:
            try:
                with open(options["output"], "w", encoding="utf-8", newline="") as handle:
                    handle.writelines(pieces)
            except OSError as exc:
                raise CommandError(f"Cannot write {options['output']}: {exc.strerror}.", returncode=2) from exc
            self.stderr.write(f"Wrote {options['output']}")
        else:
            for piece in pieces:
                self.stdout.write(piece, ending="")


def find_round(value: str) -> EvaluationRound:
    """The round with id ``value``, else with exactly that name; CommandError (exit 2) otherwise."""
    if value.isdigit():
        found = EvaluationRound.objects.filter(pk=int(value)).first()
        if found is not None:
            return found
    matches = list(EvaluationRound.objects.filter(name=value).order_by("id")[:5])
    if len(matches) == 1:
        return matches[0]
    if matches:
        ids = ", ".join(str(r.pk) for r in matches)
        raise CommandError(f"Several rounds are named {value!r} (ids {ids}); give the id instead.", returncode=2)
    raise CommandError(f"No round with id or name {value!r}. List rounds at /rounds/.", returncode=2)
