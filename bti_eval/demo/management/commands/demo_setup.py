"""``manage.py demo_setup``: the data behind ``make demo``.

Loads the demo pairs that ship with the project (product descriptions and wine notes written for
it), creates a demo researcher with a freshly generated password, a round with the paper's seven
methods, a demo judge with a one-time invite link, and a Prolific study link (printed with an example
participant's ids, so that the crowd flow can be tried without Prolific); then launches the round, so
that the worker started beside the web server computes its explanations. Running it again reuses the pairs and
makes a new round, a new password and a new invite.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from bti_eval.core.exceptions import ApplicationError

DEMO_PAIRS = Path(__file__).resolve().parents[2] / "data" / "demo_pairs.jsonl"
DEMO_SOURCE = "demo"


class Command(BaseCommand):
    help = "Load the demo pairs, create a demo researcher, judge and round, and launch the round."

    def add_arguments(self, parser):
        parser.add_argument("--base-url", default="http://127.0.0.1:8000", help="where the server will listen")
        parser.add_argument("--username", default="demo", help="the demo researcher's username")
        parser.add_argument("--methods", default="", help="comma-separated methods (default: the paper's seven)")

    def handle(self, *args, base_url: str, username: str, methods: str, **options):
        from bti_eval.judging.services.invites import judge_invite
        from bti_eval.judging.services.studies import study_link_create
        from bti_eval.pairs.models import ParagraphPair
        from bti_eval.pairs.services import pairs_import
        from bti_eval.rounds.services import round_create, round_launch

        base_url = base_url.rstrip("/")
        password = secrets.token_urlsafe(12)
        user_model = get_user_model()
        try:
            with transaction.atomic():
                researcher, _ = user_model.objects.get_or_create(username=username)
                researcher.is_staff = True
                researcher.set_password(password)
                researcher.save()
                if not ParagraphPair.objects.filter(source=DEMO_SOURCE).exists():
                    pairs_import(
                        content=DEMO_PAIRS.read_bytes(),
                        filename=DEMO_PAIRS.name,
                        fmt="jsonl",
                        mapping=None,
                        source=DEMO_SOURCE,
                        by=researcher,
                        dry_run=False,
                    )
                pairs = ParagraphPair.objects.filter(source=DEMO_SOURCE)
                chosen = [m.strip() for m in methods.split(",") if m.strip()] or None  # None: the paper's seven
                round_ = round_create(
                    name=f"Demo round {secrets.token_hex(2)}",
                    pairs=pairs,
                    methods=chosen,
                    model="",
                    top_k=2,
                    seed=0,
                    by=researcher,
                )
                _, token = judge_invite(round=round_, name="Demo judge", expires_in_hours=72)
                study = study_link_create(round=round_, platform="prolific", label="Demo study", by=researcher)
            round_launch(round=round_, by=researcher)
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc

        n_expl = round_.explanations.count()
        self.stdout.write(self.style.SUCCESS("Demo ready."))
        self.stdout.write(
            f"  Round:      {round_.name} - {pairs.count()} pairs x {len(round_.methods)} methods "
            f"= {n_expl} explanations, computed in the background by the worker"
        )
        self.stdout.write(f"  Researcher: {base_url}/accounts/login/  user {username!r}  password {password!r}")
        self.stdout.write(f"  Round page: {base_url}/rounds/{round_.pk}/")
        self.stdout.write(
            f"  Judge link: {base_url}/j/{token}/  (one-time; rating opens once the round's explanations are computed)"
        )
        # An example participant (Prolific's ids are 24 hex digits): each run prints a new one.
        example = "&".join(f"{name}={secrets.token_hex(12)}" for name in ("PROLIFIC_PID", "STUDY_ID", "SESSION_ID"))
        self.stdout.write(
            f"  Study link: {base_url}/s/{study.token}/?{example}  (Prolific-style, an example participant; "
            f"completion code {study.completion_code})"
        )
