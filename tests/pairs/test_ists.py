"""iSTS .wa files: the parser (hand-written snippet and the real SemEval files), the import and its command."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from bti_eval.core.exceptions import ApplicationError
from bti_eval.pairs.alignments import gold_alignments_for, ists_dataset_name, pairs_import_ists
from bti_eval.pairs.ists import WaFormatError, parse_wa, token_spans
from bti_eval.pairs.models import GoldAlignment, ParagraphPair

SNIPPET = """\
<sentence id="7" status="">
// Hollande ` threatens legal action
// François Hollande warns over claims:
<source>
1 Hollande :
2 ` :
3 threatens :\x20
4 legal :
5 action :
</source>
<translation>
1 François :
2 Hollande :
3 warns :\x20
4 over :
5 claims:
6 : :\x20
</translation>
<alignment>
1 <==> 1 2 // EQUI // 5 // Hollande <==> François Hollande
3 <==> 3 // SIMI // 4 // threatens <==> warns
2 <==> 0 // NOALI // NIL // ` <==> -not aligned-
4 5 <==> 5 // REL // 3 // legal action <==> claims
0 <==> 6 // NOALI // NIL // -not aligned- <==> :
0 <==> 4 // ALIC // NIL // -not aligned- <==> over
</alignment>
</sentence>
"""


def test_parse_a_hand_written_block():
    [sentence] = parse_wa(SNIPPET)
    assert sentence.id == "7"
    assert sentence.tokens_a == ["Hollande", "`", "threatens", "legal", "action"]
    assert sentence.tokens_b == ["François", "Hollande", "warns", "over", "claims", ":"]
    assert sentence.text_b == "François Hollande warns over claims :"
    assert [c.type for c in sentence.chunks] == ["EQUI", "SIMI", "NOALI", "REL", "NOALI", "ALIC"]
    assert sentence.chunks[0].a == (0,) and sentence.chunks[0].b == (0, 1) and sentence.chunks[0].score == 5.0
    assert sentence.chunks[2].score is None and sentence.chunks[2].b == ()
    assert sentence.token_pairs() == {(0, 0), (0, 1), (2, 2), (3, 4), (4, 4)}
    assert token_spans(["ab", "c", "def"]) == [[0, 2], [3, 4], [5, 8]]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1 Former :\n", "outside a <sentence>"),
        ('<sentence id="1">\n<source>\n2 x :\n</source>\n', "out of order"),
        ('<sentence id="1">\n<source>\n1 x :\n</source>\n<translation>\n1 y :\n</translation>\n', "not closed"),
        (
            '<sentence id="1">\n<source>\n1 x :\n</source>\n<translation>\n1 y :\n</translation>\n'
            "<alignment>\n1 <==> 3 // EQUI // 5 // x <==> y\n</alignment>\n</sentence>\n",
            "outside 0..1",
        ),
        (
            '<sentence id="1">\n<source>\n1 x :\n</source>\n<translation>\n1 y :\n</translation>\n'
            "<alignment>\n1 <==> 1 // EQUI // five // x <==> y\n</alignment>\n</sentence>\n",
            "neither a number nor NIL",
        ),
    ],
)
def test_malformed_files_name_the_line(text, message):
    with pytest.raises(WaFormatError, match=message) as err:
        parse_wa(text)
    assert err.value.line >= 1


def test_the_real_semeval_files_parse(shared_data):
    folder = shared_data / "ists-train"
    counts = {}
    for name in ("headlines", "images", "answers-students"):
        sentences = parse_wa((folder / f"STSint.input.{name}.wa").read_text(encoding="utf-8"))
        counts[name] = len(sentences)
        for s in sentences:
            assert all(0 <= i < len(s.tokens_a) and 0 <= j < len(s.tokens_b) for i, j in s.token_pairs())
    assert counts == {"headlines": 756, "images": 750, "answers-students": 330}
    first = parse_wa((folder / "STSint.input.headlines.wa").read_text(encoding="utf-8"))[0]
    assert first.text_a == "Former Nazi death camp guard Demjanjuk dead at 91"
    assert (6, 9) in first.token_pairs() and (8, 11) in first.token_pairs()  # dead~dies, 91~91


@pytest.mark.django_db
def test_import_creates_pairs_with_gold_alignments():
    created = pairs_import_ists(content=SNIPPET.encode(), filename="STSint.input.headlines.wa", source="ists")
    assert created == 1
    pair = ParagraphPair.objects.get(source="ists")
    assert pair.external_id == "headlines-7" and pair.text_a == "Hollande ` threatens legal action"
    gold = gold_alignments_for(pair_ids=[pair.pk])[pair.pk]
    assert gold["token_pairs"] == {(0, 0), (0, 1), (2, 2), (3, 4), (4, 4)}
    assert pair.text_b[slice(*gold["tokens_b"][4])] == "claims"
    assert [c["type"] for c in pair.gold_alignment.chunks] == ["EQUI", "SIMI", "REL"]  # unaligned not stored
    with pytest.raises(ApplicationError, match="already exist") as err:
        pairs_import_ists(content=SNIPPET.encode(), filename="STSint.input.headlines.wa", source="ists")
    assert err.value.status == 409 and ParagraphPair.objects.count() == 1


@pytest.mark.django_db
def test_import_is_atomic_on_a_bad_file():
    bad = SNIPPET + '<sentence id="8">\n<source>\n1 x :\n'
    with pytest.raises(ApplicationError, match="not a valid iSTS .wa file"):
        pairs_import_ists(content=bad.encode(), filename="x.wa", source="ists")
    assert not ParagraphPair.objects.exists() and not GoldAlignment.objects.exists()


def test_dataset_names():
    assert ists_dataset_name("/data/STSint.input.answers-students.wa") == "answers-students"
    assert ists_dataset_name("mine.wa") == "mine"


@pytest.mark.django_db
def test_import_ists_command(shared_data, capsys):
    path = shared_data / "ists-train" / "STSint.input.images.wa"
    call_command("import_ists", str(path), "--source", "ists-images", "--limit", "20")
    assert "Imported 20 pairs" in capsys.readouterr().out
    assert GoldAlignment.objects.filter(pair__source="ists-images").count() == 20
    with pytest.raises(CommandError, match="already exist") as err:
        call_command("import_ists", str(path), "--source", "ists-images", "--limit", "5")
    assert err.value.returncode == 2
    with pytest.raises(CommandError, match="Cannot read") as err:
        call_command("import_ists", "/no/such.wa", "--source", "x")
    assert err.value.returncode == 2
