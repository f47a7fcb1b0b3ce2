"""``python manage.py import_ists FILE --source NAME [--limit N]``: pairs with gold alignments from an iSTS .wa file."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.template.defaultfilters import pluralize

from bti_eval.core.exceptions import ApplicationError
from bti_eval.pairs.alignments import pairs_import_ists


class Command(BaseCommand):
    help = (
        "Import the sentence pairs of a SemEval-2016 task 2 (interpretable STS) .wa file as paragraph pairs, "
        "with their gold word alignments (used by evaluate_auto's plausibility metric)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", help="A .wa file, e.g. STSint.input.headlines.wa.")
        parser.add_argument("--source", required=True, help="The source name the pairs are filed under.")
        parser.add_argument("--limit", type=int, help="Import only the first N sentence pairs.")

    def handle(self, *args, **options) -> None:
        try:
            with open(options["file"], "rb") as handle:
                content = handle.read()
        except OSError as exc:
            raise CommandError(f"Cannot read {options['file']}: {exc.strerror}.", returncode=2) from exc
        try:
            created = pairs_import_ists(
                content=content, filename=options["file"], source=options["source"], limit=options["limit"]
            )
        except ApplicationError as exc:
            raise CommandError(exc.message, returncode=2) from exc
        self.stdout.write(
            f"Imported {created} pair{pluralize(created)} with gold alignments into source {options['source']!r}."
        )
