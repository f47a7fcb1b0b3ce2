"""Exports: CSV long form (formula injection neutralised), JSON, Markdown and LaTeX tables; export_results."""

from __future__ import annotations

import csv
import io
import json
import os

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from bti_eval.judging.models import Rating
from bti_eval.results import exports, tables
from bti_eval.rounds.models import EvaluationRound
from tests.embedded_sqlite import run_on_embedded_sqlite
from tests.factories import AssignmentFactory, EvaluationRoundFactory, JudgeFactory, RatingFactory, rating_table
from tests.results.helpers import manage_py

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_round() -> EvaluationRound:
    """Two judges, methods bti (5, 4 → 4.5 ± 0.71) and tfidf-w2v (2, 3 → 2.5 ± 0.71)."""
    round = EvaluationRoundFactory(name="pilot_1 & co", methods=["bti", "tfidf-w2v"], status="rating")
    scores = {"bti": (5, 4), "tfidf-w2v": (2, 3)}
    for j in range(2):
        judge = JudgeFactory(round=round, name=f"judge {j}")
        for position, method in enumerate(scores):
            assignment = AssignmentFactory(judge=judge, position=position, explanation__method=method)
            RatingFactory(assignment=assignment, score=scores[method][j], seconds=10.0 + j)
    return round


def read_csv(round) -> list[dict]:
    return list(csv.DictReader(io.StringIO("".join(exports.export_csv(round)))))


def test_csv_is_long_form_one_row_per_rating(small_round):
    rows = read_csv(small_round)
    assert list(rows[0]) == exports.CSV_COLUMNS
    assert len(rows) == 4 == Rating.objects.count()
    first = rows[0]
    rating = (
        Rating.objects.select_related("assignment__explanation__pair", "assignment__judge")
        .order_by("assignment__judge_id", "assignment__position")
        .first()
    )
    assert first["judge"] == "judge 0" and first["method"] == "bti" and first["score"] == "5"
    assert first["pair"] == rating.assignment.explanation.pair.external_id
    assert (first["seconds"], first["position"], first["round"]) == ("10.0", "0", "pilot_1 & co")


def test_csv_rated_at_is_iso_utc_with_microseconds(small_round):
    """The database's formatting (PostgreSQL) and Python's agree, whole seconds included."""
    from datetime import UTC, datetime

    stamps = [datetime(2026, 11, 26, 15, 30, 56, 123456, tzinfo=UTC), datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)]
    first_two = Rating.objects.order_by("assignment__judge_id", "assignment__position")[:2]
    for rating, stamp in zip(first_two, stamps, strict=True):
        Rating.objects.filter(pk=rating.pk).update(updated_at=stamp)
    rows = read_csv(small_round)
    assert [row["rated_at"] for row in rows[:2]] == [
        "2026-11-26T15:30:56.123456+00:00",
        "2026-01-02T03:04:05.000000+00:00",
    ]
    assert [row["rated_at"] for row in rows[:2]] == [exports._iso_utc(stamp) for stamp in stamps]
    assert all(datetime.fromisoformat(row["rated_at"]).tzinfo is not None for row in rows)


@pytest.mark.parametrize("evil", ['=HYPERLINK("http://x")', "+1+1", "-2", "@SUM(A1)", "\tcmd", "\rcmd"])
def test_csv_neutralises_formula_injection(evil):
    rating = RatingFactory(assignment__judge__name=evil, assignment__explanation__pair__external_id=evil)
    row = read_csv(rating.assignment.judge.round)[0]
    assert row["judge"] == "'" + evil and row["pair"] == "'" + evil
    assert row["score"] == "4"  # numbers stay numbers


def test_json_has_round_table_and_ratings(small_round):
    document = json.loads(exports.export_json(small_round))
    assert document["round"]["name"] == "pilot_1 & co" and document["round"]["methods"] == ["bti", "tfidf-w2v"]
    assert [r["mean"] for r in document["results"]["methods"]] == [4.5, 2.5]
    assert len(document["ratings"]) == 4 and {"judge", "pair", "method", "score"} <= set(document["ratings"][0])


def test_markdown_table_in_the_papers_format(small_round):
    text = "".join(exports.export(small_round, "markdown"))
    assert "| Method | n | Judges | MOS |" in text
    assert "| BTI | 2 | 2 | **4.50 ± 0.71** |" in text
    assert "| TF-IDF-W2V | 2 | 2 | 2.50 ± 0.71 |" in text
    assert "partial" in text


def test_latex_table_escapes_and_uses_pm(small_round):
    text = "".join(exports.export(small_round, "latex", decimals=1))
    # Method & MOS & 95% CI (bootstrap over the two pairs of each method) & letters (no pair is shared: no test)
    assert r"BTI & \textbf{4.5 $\pm$ 0.7} & [4.0, 5.0] & a \\" in text
    assert r"TF-IDF-W2V & 2.5 $\pm$ 0.7 & [2.0, 3.0] & a \\" in text
    assert r"pilot\_1 \& co" in text and "pilot_1 &" not in text
    # Table 1, then the paired-comparison matrix
    assert text.count(r"\begin{tabular}") == 2 == text.count(r"\bottomrule")


def test_latex_escape_covers_every_special_character():
    assert tables.latex_escape(r"a\b&c%d$e#f_g{h}i~j^k") == (
        r"a\textbackslash{}b\&c\%d\$e\#f\_g\{h\}i\textasciitilde{}j\textasciicircum{}k"
    )


def test_export_results_command_by_id_and_by_name(small_round, tmp_path, capsys):
    call_command("export_results", str(small_round.pk), "--format", "markdown")
    assert "**4.50 ± 0.71**" in capsys.readouterr().out
    out = tmp_path / "r.csv"
    call_command("export_results", "pilot_1 & co", "--format", "csv", "--output", str(out))
    assert len(list(csv.DictReader(out.open(encoding="utf-8")))) == 4


def test_export_results_command_unknown_or_ambiguous_round(small_round):
    with pytest.raises(CommandError, match="No round with id or name 'nope'") as info:
        call_command("export_results", "nope", "--format", "csv")
    assert info.value.returncode == 2
    EvaluationRoundFactory(name="twin")
    EvaluationRoundFactory(name="twin")
    with pytest.raises(CommandError, match="Several rounds are named 'twin'"):
        call_command("export_results", "twin")


@pytest.mark.slow
def test_export_results_exit_code_without_traceback():
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bti_eval.settings.test",
        "TEST_DB_NAME_OVERRIDE": connection.settings_dict["NAME"],
    }
    proc = manage_py("export_results", "no-such-round", "--format", "latex", env=env)
    assert proc.returncode == 2
    assert "No round with id or name 'no-such-round'" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.slow
def test_csv_export_streams_a_big_round():
    round = EvaluationRoundFactory(
        methods=["bti", "tfidf-w2v"], explained_pairs=1000, judges=5, status=EvaluationRound.Status.RATING
    )
    table = rating_table(round)
    pieces = list(exports.export_csv(round))
    assert pieces[0].startswith("round,judge_id,judge")
    assert len(pieces) == 10_000 // exports.CSV_CHUNK_ROWS  # streamed in pieces (the header with the first)
    rows = list(csv.DictReader(io.StringIO("".join(pieces))))
    assert len(rows) == len(table) == 10_000
    order = [(int(row["judge_id"]), int(row["position"])) for row in rows]
    assert order == sorted(order)  # by judge, then the judge's own order, across batches


def test_csv_export_reads_ratings_in_bounded_batches(monkeypatch):
    round = EvaluationRoundFactory(
        methods=["bti", "tfidf-w2v"], explained_pairs=30, judges=4, status=EvaluationRound.Status.RATING
    )
    table = rating_table(round)
    whole = "".join(exports.export_csv(round))
    monkeypatch.setattr(exports, "EXPORT_BATCH_ROWS", 25)  # fewer ratings than any one judge has
    monkeypatch.setattr(exports, "CSV_CHUNK_ROWS", 7)
    assert "".join(exports.export_csv(round)) == whole
    assert len(list(csv.DictReader(io.StringIO(whole)))) == len(table)


def test_csv_export_flags_judges_without_building_the_report(small_round, monkeypatch):
    def no_report(**kwargs):
        raise AssertionError("the CSV export needs only the judge flags, not the whole report")

    monkeypatch.setattr(exports, "round_report", no_report)
    rows = list(csv.DictReader(io.StringIO("".join(exports.export(small_round, "csv")))))
    assert len(rows) == 4 and {r["judge_flagged"] for r in rows} == {"0"}


TRICKY_TEXTS = [
    "",
    "=SUM(A1)",
    "+1",
    "-2",
    "@x",
    "\tTab",
    "\rCR",
    'say "hi", then\nleave',
    "crlf\r\nline",
    "plain",
    "ü ok",
]
TRICKY_SECONDS = [None, 0.0, 12.0, 0.1, 1e-05, 3.25, 3600.0, 1 / 3]


def tricky_round() -> tuple[EvaluationRound, list]:
    """A round whose ratings hold every kind of cell: formula starts, quotes, commas, newlines inside
    a cell, empty and missing names and ids, whole, tiny and repeating seconds, control items,
    flags; rated at fixed times, some on a whole second. Returns (round, judges)."""
    from datetime import UTC, datetime, timedelta

    round = EvaluationRoundFactory(name='=round, "quoted"', methods=["bti", "tfidf-w2v"], status="rating")
    judges = [JudgeFactory(round=round, name=name) for name in ("", "=judge", 'Ann, "B"', "\tJ")]
    # Crowd participants' ids, one that a spreadsheet would run (none comes through a study link).
    for judge, participant_id in zip(judges[1:3], ("=HYPERLINK(1)", "5f3c0000000000000000abcd"), strict=True):
        judge.platform, judge.participant_id = "generic", participant_id
        judge.save()
    for j, judge in enumerate(judges):
        for k in range(len(TRICKY_TEXTS)):
            text = TRICKY_TEXTS[(k + j) % len(TRICKY_TEXTS)]
            assignment = AssignmentFactory(
                judge=judge,
                position=k,
                explanation__method=["bti", "tfidf-w2v"][k % 2],
                explanation__is_control=k % 5 == 0,
                explanation__pair__source=f"tricky-{j}",
                explanation__pair__external_id=text if k % 3 else "",
            )
            RatingFactory(
                assignment=assignment,
                score=1 + k % 5,
                seconds=TRICKY_SECONDS[k % len(TRICKY_SECONDS)],
                comment=text,
                flagged=k % 4 == 0,
            )
    start = datetime(2026, 11, 26, 15, 30, 56, tzinfo=UTC)
    for n, pk in enumerate(Rating.objects.filter(assignment__judge__round=round).order_by("pk").values_list("pk")):
        Rating.objects.filter(pk=pk[0]).update(updated_at=start + timedelta(microseconds=250_000 * n))
    return round, judges


@pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY is PostgreSQL's")
@pytest.mark.parametrize("drop_flagged", [False, True])
def test_postgresql_copy_writes_the_bytes_csv_writer_writes(drop_flagged):
    """The PostgreSQL CSV (COPY) and the Python writer give the same bytes on every kind of cell."""
    round, judges = tricky_round()
    flagged = {judges[1].pk, judges[3].pk}
    python = "".join(
        exports._csv_pieces(
            exports.CSV_COLUMNS,
            exports.rating_tuples(round, flagged=flagged, drop_flagged=drop_flagged),
            text_cells=exports._TEXT_CELLS,
        )
    )
    copy = "".join(exports._copy_csv(round, flagged=flagged, drop_flagged=drop_flagged))
    assert copy == python
    rows = list(csv.DictReader(io.StringIO(copy)))
    assert len(rows) == (2 if drop_flagged else 4) * len(TRICKY_TEXTS)
    assert {row["comment"] for row in rows} >= {"'=SUM(A1)", "'\tTab", 'say "hi", then\nleave', ""}


def export_exercise() -> dict:
    """The tricky round's CSV and JSON-export ratings as a user reads them, with the database's ids
    replaced by their order (the two databases number rows differently)."""
    round, judges = tricky_round()
    judge_ids = {str(judge.pk): f"J{n}" for n, judge in enumerate(judges)}
    pairs = round.explanations.order_by("pair_id").values_list("pair_id", flat=True)
    pair_ids = {str(pk): f"P{n}" for n, pk in enumerate(pairs)}

    def plain(rows: list[dict]) -> list[dict]:
        for row in rows:
            judge = judge_ids[str(row["judge_id"])]
            row["judge"] = row["judge"].replace(f"judge {row['judge_id']}", f"judge {judge}")
            row["judge_id"], row["pair"] = judge, pair_ids.get(str(row["pair"]), row["pair"])
        return rows

    return {
        "vendor": connection.vendor,
        "csv": plain(list(csv.DictReader(io.StringIO("".join(exports.export_csv(round)))))),
        "json": plain(json.loads("".join(exports.export(round, "json")))["ratings"]),
    }


EXPORT_SCRIPT = """
import json
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from tests.results.test_exports import export_exercise
print(json.dumps(export_exercise()))
"""


def test_the_csv_and_json_exports_are_the_same_on_both_databases(tmp_path):
    """The export's database-specific paths (PostgreSQL: cells and timestamps formatted in SQL, COPY;
    the embedded SQLite: formatted in Python) give a user the same rows, on a round with every kind
    of cell; timestamps are ISO 8601 in UTC with microseconds, a whole second included."""
    here = json.loads(json.dumps(export_exercise()))
    sqlite = run_on_embedded_sqlite(EXPORT_SCRIPT, tmp_path, timeout=300)
    assert sqlite.pop("vendor") == "sqlite" and here.pop("vendor") == connection.vendor
    assert sqlite == here
    stamps = [row["rated_at"] for row in here["csv"]]
    assert "2026-11-26T15:30:56.000000+00:00" in stamps and "2026-11-26T15:30:56.250000+00:00" in stamps
    assert [row["rated_at"] for row in here["json"]] == stamps
    assert {row["judge"] for row in here["csv"]} >= {"'=judge", 'Ann, "B"', "'\tJ"}
    assert {row["participant_id"] for row in here["csv"]} == {"", "'=HYPERLINK(1)", "5f3c0000000000000000abcd"}
    assert {row["participant_id"] for row in here["json"]} == {"", "=HYPERLINK(1)", "5f3c0000000000000000abcd"}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY is PostgreSQL's")
def test_postgresql_copy_of_a_round_without_ratings_is_the_header():
    round = EvaluationRoundFactory(methods=["bti"], status="rating")
    assert "".join(exports.export_csv(round)) == ",".join(exports.CSV_COLUMNS) + "\r\n"


def test_the_json_export_lists_the_crowd_participants(rating_round_with_participant):
    round, judge = rating_round_with_participant
    document = json.loads("".join(exports.export(round, "json")))
    (participant,) = document["participants"]
    assert participant["participant_id"] == judge.participant_id and participant["platform"] == "prolific"
    assert participant["outcome"] == "completed" and participant["code"] == "JSON1"
    assert participant["finished_at"] and participant["minutes"] is not None
    assert {row["participant_id"] for row in document["ratings"]} == {judge.participant_id}


@pytest.fixture
def rating_round_with_participant():
    from bti_eval.judging.services.ratings import rating_submit
    from bti_eval.judging.services.studies import participant_arrive, participant_finish, study_link_create

    round = EvaluationRoundFactory(explained_pairs=2, methods=["bti", "tfidf-w2v"], status="rating")
    link = study_link_create(round=round, platform="prolific", completion_code="JSON1")
    ids = {"PROLIFIC_PID": ["d" * 24], "STUDY_ID": ["e" * 24], "SESSION_ID": ["f" * 24]}
    judge = participant_arrive(token=link.token, params=ids).judge
    for assignment in judge.assignments.all():
        rating_submit(judge=judge, public_id=assignment.public_id, score=4, seconds=3)
    participant_finish(judge=judge)
    return round, judge
