"""Crowd platforms' study-link parameters (judging.crowd): what each platform sends, what is refused."""

from __future__ import annotations

import pytest

from bti_eval.core.exceptions import ApplicationError
from bti_eval.judging import crowd

PID, STUDY, SESSION = "5f3c" + "a" * 20, "60b1" + "b" * 20, "61c2" + "c" * 20


def _q(**params) -> dict[str, list[str]]:
    return {name: value if isinstance(value, list) else [value] for name, value in params.items()}


def test_prolific_reads_its_three_ids_and_lower_cases_them():
    visit = crowd.visit_parse("prolific", _q(PROLIFIC_PID=PID.upper(), STUDY_ID=STUDY, SESSION_ID=SESSION))
    assert (visit.participant_id, visit.study_ref, visit.study_session) == (PID, STUDY, SESSION)
    assert not visit.preview and not visit.tab


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"STUDY_ID": STUDY, "SESSION_ID": SESSION}, "has no PROLIFIC_PID"),
        ({"PROLIFIC_PID": "", "STUDY_ID": STUDY, "SESSION_ID": SESSION}, "has no PROLIFIC_PID"),
        ({"PROLIFIC_PID": PID[:-1], "STUDY_ID": STUDY, "SESSION_ID": SESSION}, "24 hexadecimal digits"),
        ({"PROLIFIC_PID": "z" * 24, "STUDY_ID": STUDY, "SESSION_ID": SESSION}, "not a valid Prolific id"),
        ({"PROLIFIC_PID": PID + "\x00", "STUDY_ID": STUDY, "SESSION_ID": SESSION}, "NUL"),
        ({"PROLIFIC_PID": [PID, PID], "STUDY_ID": STUDY, "SESSION_ID": SESSION}, "more than once"),
        ({"PROLIFIC_PID": PID, "STUDY_ID": STUDY}, "has no SESSION_ID"),
        ({"PROLIFIC_PID": "{{%PROLIFIC_PID%}}", "STUDY_ID": STUDY, "SESSION_ID": SESSION}, "not a valid"),
    ],
)
def test_prolific_refuses_a_missing_or_malformed_id_with_what_to_do(params, says):
    with pytest.raises(ApplicationError) as refused:
        crowd.visit_parse("prolific", _q(**params))
    assert refused.value.status == 400 and says in refused.value.message
    assert "open" in refused.value.message.lower()  # says what to do


MTURK = {"assignmentId": "3ABC123", "hitId": "3HIT9", "turkSubmitTo": "https://www.mturk.com", "workerId": "A1WORKER"}


def test_mturk_reads_worker_assignment_hit_and_submit_host():
    visit = crowd.visit_parse("mturk", _q(**{**MTURK, "turkSubmitTo": "https://workersandbox.mturk.com/"}))
    assert (visit.participant_id, visit.study_session, visit.study_ref) == ("A1WORKER", "3ABC123", "3HIT9")
    assert visit.submit_to == "https://workersandbox.mturk.com"
    assert crowd.mturk_submit_url(visit.submit_to) == "https://workersandbox.mturk.com/mturk/externalSubmit"


def test_mturk_preview_needs_no_worker():
    params = {**MTURK, "assignmentId": crowd.MTURK_PREVIEW}
    params.pop("workerId")
    visit = crowd.visit_parse("mturk", _q(**params))
    assert visit.preview and visit.participant_id == ""


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"turkSubmitTo": "https://evil.example"}, "MTurk's hosts"),
        ({"turkSubmitTo": "http://www.mturk.com"}, "MTurk's hosts"),
        ({"workerId": "A1-WORKER"}, "not a valid MTurk worker id"),
        ({"workerId": "A" * 65}, "not a valid MTurk worker id"),
        ({"workerId": ""}, "has no workerId"),
        ({"assignmentId": "x y"}, "not a valid MTurk assignment id"),
    ],
)
def test_mturk_refuses_bad_values(change, says):
    with pytest.raises(ApplicationError) as refused:
        crowd.visit_parse("mturk", _q(**{**MTURK, **change}))
    assert refused.value.status == 400 and says in refused.value.message


def test_generic_reads_the_researchers_parameters():
    visit = crowd.visit_parse("generic", _q(pid="p-17.a@x", sid="S1"), participant_param="pid", session_param="sid")
    assert (visit.participant_id, visit.study_session) == ("p-17.a@x", "S1")
    assert crowd.visit_parse("generic", _q(pid="p1"), participant_param="pid").study_session == ""
    for bad in ("", "-starts-with-dash", "has space", "x" * 65, "=cmd()"):
        with pytest.raises(ApplicationError):
            crowd.visit_parse("generic", _q(pid=bad), participant_param="pid")
    with pytest.raises(ApplicationError, match="has no sid"):
        crowd.visit_parse("generic", _q(pid="p1"), participant_param="pid", session_param="sid")


def test_a_long_or_unprintable_bad_value_is_shown_short_and_escaped():
    with pytest.raises(ApplicationError) as refused:
        crowd.visit_parse("generic", _q(pid="\u202e" + "x" * 500), participant_param="pid")
    assert len(refused.value.message) < 400 and "\u202e" not in refused.value.message


def test_the_links_to_paste_and_the_ways_back():
    base = "https://bti.example/s/abc/"
    assert crowd.participant_url("prolific", base) == (
        base + "?PROLIFIC_PID={{%PROLIFIC_PID%}}&STUDY_ID={{%STUDY_ID%}}&SESSION_ID={{%SESSION_ID%}}"
    )
    assert crowd.participant_url("mturk", base) == base
    assert crowd.participant_url("generic", base, participant_param="pid", session_param="sid") == (
        base + "?pid=PARTICIPANT_ID&sid=SESSION_ID"
    )
    assert crowd.prolific_return_url("C0DE_1") == "https://app.prolific.com/submissions/complete?cc=C0DE_1"
    with pytest.raises(ValueError):
        crowd.mturk_submit_url("https://evil.example")


def test_codes_and_parameter_names_are_checked():
    assert crowd.code_clean(" AB-12_c ", what="completion code") == "AB-12_c"
    for bad in ("", "a b", "x" * 65, "a&cc=b", "é"):
        with pytest.raises(ApplicationError, match="completion code"):
            crowd.code_clean(bad, what="completion code")
    assert crowd.param_name_clean("pid_1", what="participant parameter") == "pid_1"
    for bad in ("", "1pid", "p-id", "tab", "x" * 41):
        with pytest.raises(ApplicationError):
            crowd.param_name_clean(bad, what="participant parameter")
