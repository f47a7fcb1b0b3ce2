"""Crowd platforms: what a study link's URL carries on each, how it is checked, and where a
participant goes back to. Pure functions, no Django models.

- **Prolific** appends ``PROLIFIC_PID``, ``STUDY_ID`` and ``SESSION_ID`` (the study's "URL
  parameters" option), each a 24-hex-digit id; a participant returns to
  ``https://app.prolific.com/submissions/complete?cc=CODE``.
- **MTurk** (ExternalQuestion) appends ``assignmentId``, ``hitId``, ``turkSubmitTo`` and, once the
  worker accepted the HIT, ``workerId``. ``assignmentId=ASSIGNMENT_ID_NOT_AVAILABLE`` is the
  preview a worker sees before accepting. The work is handed in by a form POST to
  ``turkSubmitTo + /mturk/externalSubmit`` with the ``assignmentId``; ``turkSubmitTo`` must be one
  of MTurk's two hosts, or a crafted link could send the participant's code elsewhere.
- **generic**: the participant's id in a query parameter that the researcher names, and optionally
  their session on the recruiting site in another.

Every id is bounded in length and drawn from a small alphabet (no NUL, no spaces, nothing a
spreadsheet runs), so what is stored can be shown and exported as it is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from bti_eval.core.exceptions import ApplicationError

PROLIFIC, MTURK, GENERIC = "prolific", "mturk", "generic"
PLATFORM_NAMES = {PROLIFIC: "Prolific", MTURK: "MTurk", GENERIC: "the recruiting site"}

PROLIFIC_PARAMS = ("PROLIFIC_PID", "STUDY_ID", "SESSION_ID")
PROLIFIC_ID = re.compile(r"[0-9a-fA-F]{24}")
PROLIFIC_COMPLETE = "https://app.prolific.com/submissions/complete"

MTURK_PREVIEW = "ASSIGNMENT_ID_NOT_AVAILABLE"
MTURK_ID = re.compile(r"[A-Za-z0-9]{1,64}")
MTURK_HOSTS = ("https://www.mturk.com", "https://workersandbox.mturk.com")
MTURK_SUBMIT_PATH = "/mturk/externalSubmit"

GENERIC_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@:-]{0,63}")
PARAM_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,39}")
CODE = re.compile(r"[A-Za-z0-9_-]{1,64}")
# Every study link's extra query parameter: "tab=1" marks an MTurk visit opened in its own tab.
TAB_PARAM = "tab"


@dataclass(frozen=True)
class Visit:
    """What a study link's URL said: the participant's id on the platform, their study session
    (the attempt), the study itself, MTurk's submit host, and whether it is MTurk's preview."""

    participant_id: str = ""
    study_session: str = ""
    study_ref: str = ""
    submit_to: str = ""
    preview: bool = False
    tab: bool = False


def _one(params: Mapping[str, list[str]], name: str, *, required: bool = True) -> str:
    """The single value of ``name`` (a parameter given twice is ambiguous), or "" when absent and optional."""
    values = params.get(name) or []
    if len(values) > 1:
        raise ApplicationError(f"The link gives {name} more than once; open the link exactly as the study shows it.")
    value = values[0] if values else ""
    if not value and required:
        raise ApplicationError(
            f"The link has no {name}. Open the study from the platform's page, which adds it; "
            "if you typed or copied the link, use the one the platform gives you."
        )
    if "\x00" in value:
        raise ApplicationError(f"{name} holds a NUL character; open the link exactly as the study shows it.")
    return value


def _checked(name: str, value: str, pattern: re.Pattern, what: str) -> str:
    if not pattern.fullmatch(value):
        shown = value if len(value) <= 80 and value.isprintable() else value[:80].encode("unicode_escape").decode()
        raise ApplicationError(f"{name} {shown!r} is not a valid {what}; open the link exactly as the study shows it.")
    return value


def visit_parse(
    platform: str, params: Mapping[str, list[str]], *, participant_param: str = "", session_param: str = ""
) -> Visit:
    """Read and check a study link's query (``{name: [values]}``, as ``QueryDict.lists()`` gives it).

    Out: the Visit; ApplicationError (400) for a missing, repeated or malformed value, with what to do.
    Prolific ids are lower-cased (Prolific writes them so; a link edited by hand may not).
    """
    tab = _one(params, TAB_PARAM, required=False) == "1"
    if platform == PROLIFIC:
        pid, study, session = (_one(params, name) for name in PROLIFIC_PARAMS)
        what = "Prolific id (24 hexadecimal digits)"
        return Visit(
            participant_id=_checked("PROLIFIC_PID", pid, PROLIFIC_ID, what).lower(),
            study_ref=_checked("STUDY_ID", study, PROLIFIC_ID, what).lower(),
            study_session=_checked("SESSION_ID", session, PROLIFIC_ID, what).lower(),
            tab=tab,
        )
    if platform == MTURK:
        assignment = _one(params, "assignmentId")
        hit = _checked("hitId", _one(params, "hitId"), MTURK_ID, "MTurk id")
        submit_to = _one(params, "turkSubmitTo").rstrip("/")
        if submit_to not in MTURK_HOSTS:
            raise ApplicationError(
                f"turkSubmitTo must be one of MTurk's hosts ({', '.join(MTURK_HOSTS)}); open the HIT from MTurk."
            )
        if assignment == MTURK_PREVIEW:
            return Visit(study_ref=hit, submit_to=submit_to, preview=True)
        return Visit(
            participant_id=_checked("workerId", _one(params, "workerId"), MTURK_ID, "MTurk worker id"),
            study_session=_checked("assignmentId", assignment, MTURK_ID, "MTurk assignment id"),
            study_ref=hit,
            submit_to=submit_to,
            tab=tab,
        )
    if platform == GENERIC:
        what = "participant id (1 to 64 letters, digits and . _ @ : -, starting with a letter or digit)"
        participant = _checked(participant_param, _one(params, participant_param), GENERIC_ID, what)
        session = ""
        if session_param:
            what = "session id (1 to 64 letters, digits and . _ @ : -, starting with a letter or digit)"
            session = _checked(session_param, _one(params, session_param), GENERIC_ID, what)
        return Visit(participant_id=participant, study_session=session, tab=tab)
    raise ValueError(f"unknown platform {platform!r}")


def participant_url(platform: str, base_url: str, *, participant_param: str = "", session_param: str = "") -> str:
    """The link to give the platform: Prolific's with its placeholders (Prolific fills them in),
    MTurk's bare (ExternalQuestion adds its parameters), a generic one with stand-ins to replace."""
    if platform == PROLIFIC:
        return base_url + "?" + "&".join(f"{name}={{{{%{name}%}}}}" for name in PROLIFIC_PARAMS)
    if platform == GENERIC:
        query = {participant_param: "PARTICIPANT_ID", **({session_param: "SESSION_ID"} if session_param else {})}
        return base_url + "?" + urlencode(query)
    return base_url


def prolific_return_url(code: str) -> str:
    """Where a Prolific participant hands in ``code``."""
    return f"{PROLIFIC_COMPLETE}?{urlencode({'cc': code})}"


def mturk_submit_url(submit_to: str) -> str:
    """MTurk's form target for ``submit_to`` (one of MTURK_HOSTS, checked again here)."""
    if submit_to not in MTURK_HOSTS:
        raise ValueError(f"not an MTurk host: {submit_to!r}")
    return submit_to + MTURK_SUBMIT_PATH


def code_clean(code: str | None, *, what: str) -> str:
    """A completion or screen-out code as the researcher typed it (stripped), checked: 1 to 64 letters,
    digits, _ or - (it goes into the platform's return URL)."""
    code = (code or "").strip()
    if not CODE.fullmatch(code):
        raise ApplicationError(f"The {what} must be 1 to 64 letters, digits, _ or -.")
    return code


def param_name_clean(name: str | None, *, what: str) -> str:
    """A generic link's query parameter name: a letter, then up to 39 letters, digits or _."""
    name = (name or "").strip()
    if not PARAM_NAME.fullmatch(name) or name == TAB_PARAM:
        raise ApplicationError(
            f"The {what} must be a letter followed by up to 39 letters, digits or _ (and not {TAB_PARAM!r})."
        )
    return name
