"""Imported explanations (explainers.imported): every rejection names its line, the whole file is
refused at once, ``explain`` output imports as it is; the model's reading of a pair
(explainers.similarity) equals what every computed method reports; the CLI's ``validate``."""

from __future__ import annotations

import json

import pytest

from explainers import available_methods
from explainers.cli import main
from explainers.errors import InputError
from explainers.imported import (
    MAX_DEPTH,
    MAX_ERRORS,
    ImportFileError,
    check_name,
    check_pairs,
    read_file,
    word_mismatch,
)
from explainers.words import split_words

TEXT_A = "Soft wool gloves, touchscreen-compatible."
TEXT_B = "Knitted gloves in wool."
TEXTS = {"p1": (TEXT_A, TEXT_B), "p2": ("Maxi dress in viscose.", "A long viscose dress.")}


def words_of(text: str, saliency: float = 0.5) -> list[dict]:
    w = split_words(text)
    return [
        {"text": t, "start": int(s), "end": int(e), "saliency": saliency}
        for t, s, e in zip(w.texts, w.starts, w.ends, strict=True)
    ]


def line(pair_id="p1", texts=(TEXT_A, TEXT_B), **changes) -> dict:
    record = {
        "id": pair_id,
        "words": [words_of(texts[0]), words_of(texts[1])],
        "pairs": [{"a": 1, "b": 3, "word_similarity": 0.9, "score": 0.8}],
    }
    record.update(changes)
    return record


def jsonl(*records) -> bytes:
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records).encode()


def refused(data: bytes | str) -> list[tuple[int | None, str]]:
    with pytest.raises(ImportFileError) as caught:
        read_file(data)
    return [(e.line, e.message) for e in caught.value.errors]


def test_a_valid_file_gives_the_contracts_payloads_without_what_the_model_decides():
    good = line(
        similarity=0.7,
        model="xsbert",
        model_info={"pooling": "cls"},
        diagnostics={"steps": 10},
        method="x",
        truncated=False,
    )
    [first, second] = read_file(jsonl(good, "", line("p2", TEXTS["p2"], id=7)))
    assert (first.line, first.id, first.similarity, second.line, second.id, second.similarity) == (
        1,
        "p1",
        0.7,
        3,
        "7",
        None,
    )
    payload = first.payload("shap")
    assert payload["method"] == "shap" and payload["model"] == "xsbert" and payload["similarity"] == 0.7
    assert payload["words"] == good["words"] and payload["pairs"] == good["pairs"]
    assert payload["model_info"] == {"pooling": "cls"} and "model_info" not in second.payload("shap")
    assert payload["diagnostics"] == {"steps": 10} and "truncated" not in payload and "words_read" not in payload
    assert "similarity" not in second.payload("shap") and "model" not in second.payload("shap")


@pytest.mark.parametrize(
    ("bad_line", "fragment"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"id": "p1", "words": [[], []]}', "missing 'pairs'"),
        (line(extra=1), "unknown key(s) 'extra'"),
        (line(id=True), "'id' must be the pair's id"),
        (line(id=1.5), "'id' must be the pair's id"),
        (line(id=" "), "not blank"),
        (line(words=[[]]), "'words' must be two lists"),
        (line(words=[["gloves"], []]), "paragraph a word 0 must be an object"),
        (line(words=[[{"text": "Soft", "start": 0, "end": 4}], []]), "exactly the keys"),
        (line(words=[[{"text": "", "start": 0, "end": 0, "saliency": 0}], []]), "'text' must be non-empty"),
        (line(words=[[{"text": "Soft", "start": 0, "end": 5, "saliency": 0}], []]), "end - start = 4"),
        (line(words=[[{"text": "Soft", "start": -1, "end": 3, "saliency": 0}], []]), "0 <= start"),
        (line(words=[[{"text": "Soft", "start": 0.0, "end": 4, "saliency": 0}], []]), "'start' must be an integer"),
        (
            line(
                words=[
                    [],
                    [
                        {"text": "wool", "start": 18, "end": 22, "saliency": 0},
                        {"text": "in", "start": 15, "end": 17, "saliency": 0},
                    ],
                ]
            ),
            "before the previous word ends",
        ),
        (line(words=[[{"text": "Soft", "start": 0, "end": 4, "saliency": 1.5}], []]), "saliency lies in [0, 1]"),
        (line(words=[[{"text": "Soft", "start": 0, "end": 4, "saliency": -0.1}], []]), "saliency lies in [0, 1]"),
        (line(words=[[{"text": "Soft", "start": 0, "end": 4, "saliency": "high"}], []]), "must be a number"),
        (line(pairs=[{"a": 99, "b": 0, "word_similarity": 0.5, "score": 0.5}]), "'a' = 99 is out of range"),
        (line(pairs=[{"a": 0, "b": -1, "word_similarity": 0.5, "score": 0.5}]), "'b' = -1 is out of range"),
        (line(pairs=[{"a": True, "b": 0, "word_similarity": 0.5, "score": 0.5}]), "'a' must be an integer"),
        (line(pairs=[{"a": 0, "b": 0, "word_similarity": 0.5, "score": 0.5}] * 2), "repeats pair 0"),
        (line(pairs=[{"a": 0, "b": 0, "score": 0.5}]), "exactly the keys"),
        (line(pairs={"a": 0}), "'pairs' must be a list"),
        (line(similarity=1.5), "lies in [-1, 1]"),
        (line(similarity="0.5"), "'similarity' must be a number"),
        (line(model=3), "'model' must be text"),
        (line(diagnostics=[1]), "'diagnostics' must be a JSON object"),
        (line(model_info="cls"), "'model_info' must be a JSON object"),
        (line(truncated="no"), "'truncated' must be true or false"),
        (line(diagnostics={"x": "a\u0000b"}), "NUL character"),
        (line(model="\ud800"), "lone surrogate"),
        # JSON has no NaN or infinity; Python's decoder reads them, and 1e999 overflows to infinity.
        (json.dumps(line(similarity=0.5)).replace("0.5", "NaN", 1), "numbers must be finite"),
        (json.dumps(line(similarity=0.5)).replace("0.5", "1e999", 1), "numbers must be finite"),
        (json.dumps(line(similarity=0.5)).replace("0.5", "-Infinity", 1), "numbers must be finite"),
        (line(diagnostics={"deep": [1.5, float("inf")]}), "numbers must be finite"),
        (line(similarity=10**400), "too large"),
        ('{"d": ' + "[" * MAX_DEPTH + "]" * MAX_DEPTH + "}", "nested deeper than 8 levels"),
    ],
)
def test_every_rejection_names_its_line(bad_line, fragment):
    errors = refused(jsonl(line("p0"), "", bad_line if isinstance(bad_line, str) else bad_line))
    assert len(errors) == 1
    assert errors[0][0] == 3, errors  # line 1 is good, line 2 blank
    assert fragment in errors[0][1], errors


def test_every_bad_line_is_reported_at_once_and_duplicates_name_the_first_line():
    data = jsonl(line("p1"), line("p1"), "[]", line("p3", similarity=2))
    with pytest.raises(ImportFileError) as caught:
        read_file(data, what="File 'x.jsonl'")
    error = caught.value
    assert [e.line for e in error.errors] == [2, 3, 4]
    assert "first on line 1" in error.errors[0].message
    assert str(error).startswith("File 'x.jsonl' was refused (3 errors; nothing was imported):")
    assert "\n  line 2: id 'p1' appears again" in str(error)


def test_errors_are_capped_and_counted():
    data = jsonl(*["[]"] * (MAX_ERRORS + 7))
    with pytest.raises(ImportFileError) as caught:
        read_file(data)
    assert len(caught.value.errors) == MAX_ERRORS and caught.value.more == 7
    assert str(caught.value).endswith("… and 7 more")


def test_file_level_limits_nul_bytes_encoding_and_emptiness():
    assert "at most 10 may be imported" in refused_with(jsonl(line()), max_bytes=10)[0][1]
    assert refused(b"") == [
        (None, 'the file holds no explanations; expected one JSON object a line: {"id", "words", "pairs"}')
    ]
    assert refused(b"\n\n")[0][0] is None
    [(where, message)] = refused(jsonl(line()) + b'{"id": "p2\x00"}\n')
    assert where == 2 and "NUL character" in message
    [(where, message)] = refused(jsonl(line()) + b"\xff\n")
    assert where is None and "not UTF-8" in message and "line 2" in message


def test_an_overlong_line_is_refused_without_being_parsed(monkeypatch):
    monkeypatch.setattr("explainers.imported.MAX_LINE_CHARS", 100)
    errors = refused(jsonl(line(), "{" + " " * 200 + "}"))
    assert errors[0][0] == 1 and "at most 100" in errors[0][1]  # line 1 (a real explanation) is long too
    assert errors[1][0] == 2 and len(errors) == 2


def refused_with(data: bytes, **options) -> list[tuple[int | None, str]]:
    with pytest.raises(ImportFileError) as caught:
        read_file(data, **options)
    return [(e.line, e.message) for e in caught.value.errors]


def test_explain_output_validates_against_its_pairs(tiny_encoder):
    import explainers

    pairs = [TEXTS["p1"], TEXTS["p2"]]
    explained = explainers.explain_pairs(tiny_encoder, pairs, "bti")
    data = jsonl(*({"id": pid, **e.to_dict()} for pid, e in zip(TEXTS, explained, strict=True)))
    parsed = read_file(data)
    check_pairs(parsed, TEXTS)
    assert [e.payload("x")["words"] for e in parsed] == [e.to_dict()["words"] for e in explained]


def test_offsets_must_point_at_the_word_in_the_text():
    shifted = line()
    shifted["words"][0][1] = {"text": "wool", "start": 4, "end": 8, "saliency": 0.5}
    bytes_offsets = line("p2", ("Caf\u00e9 au lait.", "Caf\u00e9."), pairs=[])
    bytes_offsets["words"][0] = [
        {"text": "Caf\u00e9", "start": 0, "end": 4, "saliency": 1.0},
        {"text": "au", "start": 6, "end": 8, "saliency": 0.0},
    ]  # UTF-8 byte offsets
    past = line("p3", words=[words_of(TEXT_A), [{"text": "wool.", "start": 40, "end": 45, "saliency": 0.1}]], pairs=[])
    texts = {"p1": TEXTS["p1"], "p2": ("Caf\u00e9 au lait.", "Caf\u00e9."), "p3": TEXTS["p1"]}
    with pytest.raises(ImportFileError) as caught:
        check_pairs(read_file(jsonl(shifted, bytes_offsets, past)), texts)
    messages = {e.line: e.message for e in caught.value.errors}
    assert "paragraph a word 1 'wool' at [4, 8) does not match the pair's text there (' woo')" in messages[1]
    assert "paragraph a word 1 'au' at [6, 8) does not match" in messages[2] and "not bytes" in messages[2]
    assert "paragraph b word 0 'wool.' ends at 45, past the paragraph's 23 characters" in messages[3]


def test_every_word_of_each_paragraph_is_required_as_the_split_gives_it():
    missing = line()
    del missing["words"][1][2]  # "in"
    merged = line("p2", TEXTS["p2"])
    merged["words"][0][2:4] = [{"text": "in viscose", "start": 11, "end": 21, "saliency": 0.1}]
    assert word_mismatch(TEXT_A, line()["words"][0]) == ""
    problem = word_mismatch(TEXT_B, missing["words"][1], "b")
    assert "paragraph b word 2 is 'wool' at [18, 22), but the paragraph's word 2 is 'in' at [15, 17)" in problem
    assert "split_words" in problem
    glued = line()["words"][0]
    glued[2:4] = [{"text": "gloves,", "start": 10, "end": 17, "saliency": 0.2}]  # the comma is a word of its own
    assert "paragraph a word 2 is 'gloves,' at [10, 17), but the paragraph's word 2 is 'gloves' at [10, 16)" in (
        word_mismatch(TEXT_A, glued)
    )
    short = line()["words"][0][:-1]
    assert "word 5 '.' at [40, 41) is missing; give every word" in word_mismatch(TEXT_A, short)
    with pytest.raises(ImportFileError) as caught:
        check_pairs(read_file(jsonl(missing, merged)), TEXTS)
    assert [e.line for e in caught.value.errors] == [1, 2]


def test_every_pair_exactly_once_unknown_ids_and_missing_pairs():
    with pytest.raises(ImportFileError) as caught:
        check_pairs(read_file(jsonl(line("p1"), line("nope"))), TEXTS, pairs_name="round 'r'")
    errors = caught.value.errors
    assert errors[0].line is None and "1 pair of round 'r' has no explanation in the file: 'p2'" in errors[0].message
    assert (errors[1].line, errors[1].message) == (2, "round 'r' has no pair with id 'nope'")
    many = {f"q{i}": TEXTS["p1"] for i in range(15)}
    with pytest.raises(ImportFileError) as caught:
        check_pairs(read_file(jsonl(line("q0"))), many)
    assert "14 pairs of the round have no explanation in the file: 'q1', " in str(caught.value)
    assert "and 4 more" in str(caught.value)


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("", "give the imported method a name"),
        (None, "give the imported method a name"),
        ("SHAP", "use lower case ('shap')"),
        ("my shap", "is not allowed"),
        ("-shap", "is not allowed"),
        ("shap--x", "is not allowed"),
        ("shap_x", "is not allowed"),
        ("2shap", "is not allowed"),
        ("s", "is not allowed"),
        ("x" * 65, "is not allowed"),
        ("<script>", "is not allowed"),
        ("bti", "the name of a method the platform computes"),
        ("integrated-gradients", "the name of a method the platform computes"),
    ],
)
def test_method_names_are_safe_and_never_a_computed_methods(name, fragment):
    with pytest.raises(InputError) as caught:
        check_name(name, taken=available_methods())
    assert fragment in str(caught.value)


def test_a_good_name_passes():
    assert check_name(" shap-partition-v2 ", taken=available_methods()) == "shap-partition-v2"


def test_the_models_reading_equals_what_every_computed_method_reports(tiny_encoder):
    import explainers
    from explainers.similarity import pair_readings

    long = " ".join(["wool gloves"] * 400)  # over the tiny model's 512-token limit
    pairs = [TEXTS["p1"], (long, TEXT_B), TEXTS["p2"]]
    with pytest.warns(UserWarning, match="truncated"):
        readings = pair_readings(tiny_encoder, pairs)
    with pytest.warns(UserWarning, match="truncated"):
        explained = explainers.explain_pairs(tiny_encoder, pairs, "bti")
    assert len(readings) == 3
    for reading, explanation in zip(readings, explained, strict=True):
        assert reading.similarity == pytest.approx(explanation.similarity, abs=1e-6)
        assert reading.truncated == explanation.truncated and reading.words_read == explanation.words_read
    assert readings[1].truncated and readings[1].words_read[0] < len(split_words(long))
    with pytest.warns(UserWarning, match="truncated"):
        one_by_one = [pair_readings(tiny_encoder, [pair])[0] for pair in pairs]
    assert [r.similarity for r in one_by_one] == pytest.approx([r.similarity for r in readings], abs=1e-6)
    with pytest.raises(InputError, match="pair 0: paragraph b is empty"):
        pair_readings(tiny_encoder, [("text", " ")])


# --- python -m explainers validate (in process: it loads no model) --------------------------------


def write(path, data: bytes):
    path.write_bytes(data)
    return path


def test_validate_accepts_a_good_file_and_checks_it_against_the_pairs(tmp_path, capsys):
    good = write(tmp_path / "shap.jsonl", jsonl(line("p1", similarity=0.5), line("p2", TEXTS["p2"])))
    pairs = write(tmp_path / "pairs.jsonl", jsonl(*({"id": k, "a": a, "b": b} for k, (a, b) in TEXTS.items())))
    assert main(["validate", str(good)]) == 0
    assert "2 explanations valid (structure); 1 with their own similarity" in capsys.readouterr().out
    assert main(["validate", str(good), "--pairs", str(pairs), "--name", "shap"]) == 0
    assert "valid (structure, offsets and coverage of the 2 pairs)" in capsys.readouterr().out


def test_validate_exits_2_with_every_error_by_line_and_no_traceback(tmp_path, capsys):
    bad = write(tmp_path / "bad.jsonl", jsonl(line("p1"), line("p1", similarity=3)))
    assert main(["validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: import file {str(bad)!r} was refused (1 error; nothing was imported):")
    assert "line 2: 'similarity' is 3.0" in err and "Traceback" not in err

    pairs = write(
        tmp_path / "pairs.jsonl", jsonl({"id": "p1", "a": TEXT_A, "b": TEXT_B}, {"id": "p9", "a": "x", "b": "y"})
    )
    assert main(["validate", str(write(tmp_path / "one.jsonl", jsonl(line("p1")))), "--pairs", str(pairs)]) == 2
    assert f"1 pair of pairs file {str(pairs)!r} has no explanation in the file: 'p9'" in capsys.readouterr().err

    twice = write(tmp_path / "twice.jsonl", jsonl({"id": "p1", "a": "x", "b": "y"}, {"id": "p1", "a": "x", "b": "y"}))
    assert main(["validate", str(tmp_path / "one.jsonl"), "--pairs", str(twice)]) == 2
    assert (
        f"error: pairs file {str(twice)!r} line 2: id 'p1' appears again (first on line 1)" in capsys.readouterr().err
    )
    assert main(["validate", str(tmp_path / "missing.jsonl")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["validate", str(tmp_path / "one.jsonl"), "--name", "bti"]) == 2
    assert "the name of a method the platform computes" in capsys.readouterr().err


def test_validate_refuses_a_file_over_the_limit_before_reading_it(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("explainers.cli_imported.MAX_FILE_BYTES", 10)
    assert main(["validate", str(write(tmp_path / "big.jsonl", jsonl(line())))]) == 2
    assert "bytes; at most 10" in capsys.readouterr().err


@pytest.mark.slow  # starts a process
def test_validate_as_a_user_runs_it(tmp_path):
    from tests.explainers.test_cli import assert_user_error, run_cli

    good = write(tmp_path / "good.jsonl", jsonl(line("p1")))
    result = run_cli("validate", good)
    assert result.returncode == 0 and "1 explanation valid" in result.stdout
    assert_user_error(run_cli("validate", write(tmp_path / "bad.jsonl", b"{]\n")), "line 1: not valid JSON")
    assert "validate" in run_cli("--help").stdout


def test_structure_and_pair_errors_come_together_and_a_refused_line_is_not_also_missing():
    shifted = line("p1")
    del shifted["words"][1][0]
    data = jsonl(shifted, line("p2", TEXTS["p2"], similarity="high"))
    with pytest.raises(ImportFileError) as caught:
        read_file(data, texts={**TEXTS, "p3": TEXTS["p1"]}, pairs_name="round 'r'")
    errors = [(e.line, e.message) for e in caught.value.errors]
    assert errors[0] == (
        None,
        "1 pair of round 'r' has no explanation in the file: 'p3'; every pair needs exactly one line",
    )
    assert errors[1][0] == 1 and "paragraph b word 0 is 'gloves'" in errors[1][1]
    assert errors[2] == (2, "'similarity' must be a number, got str") and len(errors) == 3
