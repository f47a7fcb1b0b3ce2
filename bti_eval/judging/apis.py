"""REST API for judging: researchers invite and revoke judges; judges read their assignments and rate.

The judge endpoints (``/api/judge/...``) are the only ones a judge may call. They carry random
public ids only and never serialise an explanation's payload: the explanation goes out as the
renderer's HTML fragment built from the blind payload.
"""

from __future__ import annotations

from django.core.validators import ProhibitNullCharactersValidator, RegexValidator
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from bti_eval.core.exceptions import ApplicationError
from bti_eval.core.permissions import IsResearcher
from bti_eval.core.serializers import error_responses
from bti_eval.judging import selectors
from bti_eval.judging.invite_views import invite_url
from bti_eval.judging.models import COMMENT_MAX_LENGTH, Judge
from bti_eval.judging.permissions import IsJudge
from bti_eval.judging.services import invites, judge_html, ratings
from bti_eval.rounds.models import EvaluationRound


class ProgressSerializer(serializers.Serializer):
    rated = serializers.IntegerField()
    total = serializers.IntegerField()


def _validated(serializer: serializers.Serializer) -> dict:
    """The serializer's data, or a 400 whose message names the first bad field and says what is wrong
    (e.g. "name: Null characters are not allowed.")."""
    if not serializer.is_valid():
        fields = serializer.errors
        field, errors = next(iter(fields.items()))
        first = errors[0] if isinstance(errors, list) else next(iter(errors.values()))[0]
        message = str(first) if field == api_settings.NON_FIELD_ERRORS_KEY else f"{field}: {first}"
        raise ApplicationError(message, extra={"fields": fields})
    return serializer.validated_data


NAME_HELP = "The judge's name (researchers only see it). Empty: “Judge N”, N counting the round's judges."
EXPIRY_HELP = "Hours the link stays valid (1 hour to 1 year); null: it never expires."


def _name_field(**kwargs) -> serializers.CharField:
    # DRF's CharField refuses NUL characters ("Null characters are not allowed.").
    return serializers.CharField(max_length=invites.MAX_NAME_LENGTH, allow_blank=True, help_text=NAME_HELP, **kwargs)


def _expiry_field() -> serializers.IntegerField:
    return serializers.IntegerField(
        min_value=1, max_value=24 * 365, allow_null=True, required=False, default=72, help_text=EXPIRY_HELP
    )


class InvitedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    invite_url = serializers.URLField(help_text="Shown once: only a hash of its token is stored.")
    expires_at = serializers.DateTimeField(allow_null=True)


def _invited(request, judge: Judge, token: str) -> dict:
    return {
        "id": judge.id,
        "name": judge.name,
        "invite_url": invite_url(request, token),
        "expires_at": judge.invite.expires_at,
    }


# --- researchers -----------------------------------------------------------------------------


class RoundJudgesApi(APIView):
    """GET: a round's judges with progress. POST: invite a judge (the invite link is returned once)."""

    permission_classes = [IsResearcher]

    class InputSerializer(serializers.Serializer):
        name = _name_field(required=False, default="")
        expires_in_hours = _expiry_field()

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        name = serializers.CharField()
        invite = serializers.CharField(help_text="pending, used, expired, revoked or none")
        platform = serializers.CharField(help_text="A crowd participant's platform (prolific, mturk, generic); ''.")
        participant_id = serializers.CharField(help_text="The participant's id on that platform ('' invited).")
        outcome = serializers.CharField(help_text="A crowd participant's end: completed, screened-out, timed-out; ''.")
        rated = serializers.IntegerField()
        total = serializers.IntegerField()
        last_activity = serializers.DateTimeField(allow_null=True)
        created_at = serializers.DateTimeField()

    @extend_schema(operation_id="round_judges_list", responses={200: OutputSerializer(many=True)}, tags=["judging"])
    def get(self, request, round_id: int):
        round = get_object_or_404(EvaluationRound, pk=round_id)
        judges = selectors.round_judges_with_progress(round=round)
        rows = [
            {
                "id": judge.id,
                "name": judge.name,
                "invite": selectors.judge_invite_status(judge=judge),
                "platform": judge.platform,
                "participant_id": judge.participant_id,
                "outcome": judge.participation.outcome if judge.platform else "",
                "rated": judge.rated,
                "total": judge.total,
                "last_activity": judge.last_activity,
                "created_at": judge.created_at,
            }
            for judge in judges
        ]
        return Response(self.OutputSerializer(rows, many=True).data)

    @extend_schema(
        operation_id="round_judges_invite",
        request=InputSerializer,
        responses={201: InvitedSerializer, **error_responses(400, described={409: "The round is closed."})},
        tags=["judging"],
    )
    def post(self, request, round_id: int):
        round = get_object_or_404(EvaluationRound, pk=round_id)
        judge, token = invites.judge_invite(round=round, **_validated(self.InputSerializer(data=request.data)))
        return Response(InvitedSerializer(_invited(request, judge, token)).data, status=status.HTTP_201_CREATED)


class RoundJudgesBulkApi(APIView):
    """Invite several judges at once: all or none. The invite links are returned once, in order."""

    permission_classes = [IsResearcher]

    class InputSerializer(serializers.Serializer):
        names = serializers.ListField(
            child=_name_field(),
            min_length=1,
            max_length=invites.MAX_BULK_INVITES,
            help_text=f"One entry per judge (at most {invites.MAX_BULK_INVITES}); an empty name becomes “Judge N”.",
        )
        expires_in_hours = _expiry_field()

    @extend_schema(
        operation_id="round_judges_bulk_invite",
        request=InputSerializer,
        responses={201: InvitedSerializer(many=True), **error_responses(400, described={409: "The round is closed."})},
        tags=["judging"],
    )
    def post(self, request, round_id: int):
        round = get_object_or_404(EvaluationRound, pk=round_id)
        issued = invites.judges_invite(round=round, **_validated(self.InputSerializer(data=request.data)))
        rows = [_invited(request, judge, token) for judge, token in issued]
        return Response(InvitedSerializer(rows, many=True).data, status=status.HTTP_201_CREATED)


class JudgeReissueApi(APIView):
    """A new invite link for the same judge (returned once). The old link, and every session it
    opened, stop working; the judge's assignments, order and ratings stay, so the judge continues from
    the new link where they left off, e.g. on a second device. 409 for a revoked judge (invite
    them again) or a closed round."""

    permission_classes = [IsResearcher]

    class InputSerializer(serializers.Serializer):
        expires_in_hours = _expiry_field()

    @extend_schema(
        operation_id="judge_reissue",
        request=InputSerializer,
        responses={
            200: InvitedSerializer,
            **error_responses(400, described={409: "The judge was revoked, or the round is closed."}),
        },
        tags=["judging"],
    )
    def post(self, request, judge_id: int):
        judge = get_object_or_404(Judge, pk=judge_id)
        judge, token = invites.invite_reissue(judge=judge, **_validated(self.InputSerializer(data=request.data)))
        return Response(InvitedSerializer(_invited(request, judge, token)).data)


class JudgeRevokeApi(APIView):
    """Revoke a judge: the invite link stops working and the judge is signed out; ratings stay. In a
    k-per-item round open for rating, the judge's unrated explanations go to other judges."""

    permission_classes = [IsResearcher]

    @extend_schema(
        operation_id="judge_revoke",
        request=None,
        responses={
            200: inline_serializer(
                "JudgeRevoked",
                {
                    "id": serializers.IntegerField(),
                    "revoked": serializers.BooleanField(),
                    "reassigned": serializers.IntegerField(
                        help_text="Assignments given to other judges (k-per-item rounds open for rating)."
                    ),
                },
            )
        },
        tags=["judging"],
    )
    def post(self, request, judge_id: int):
        judge = get_object_or_404(Judge, pk=judge_id)
        revoked = invites.invite_revoke(judge=judge)
        return Response({"id": judge.id, "revoked": True, "reassigned": revoked.reassigned})


# --- judges ----------------------------------------------------------------------------------


class AssignmentItemSerializer(serializers.Serializer):
    public_id = serializers.CharField()
    position = serializers.IntegerField()
    score = serializers.IntegerField(allow_null=True)
    choice = serializers.CharField(allow_null=True, help_text="A pairwise item's choice: left, right or same.")


class JudgeAssignmentsApi(APIView):
    """The signed-in judge's own assignments, in their own shuffled order, with their scores so far."""

    permission_classes = [IsJudge]

    class OutputSerializer(serializers.Serializer):
        progress = ProgressSerializer()
        round_status = serializers.CharField()
        items = AssignmentItemSerializer(many=True)

    @extend_schema(operation_id="judge_assignments", responses={200: OutputSerializer}, tags=["judge"])
    def get(self, request):
        judge = request.judge  # set by IsJudge
        body = {
            "progress": selectors.judge_progress(judge=judge).as_dict(),
            "round_status": judge.round.status,
            "items": selectors.judge_assignments(judge=judge),
        }
        return Response(self.OutputSerializer(body).data)


class JudgeAssignmentApi(APIView):
    """One of the judge's assignments: the explanation as blind HTML, the two texts, the judge's score.
    A pairwise item has two explanations: ``html`` is the one on the left, ``right_html`` the one on
    the right, and the judge's answer is ``choice``."""

    permission_classes = [IsJudge]

    class OutputSerializer(serializers.Serializer):
        public_id = serializers.CharField()
        position = serializers.IntegerField()
        kind = serializers.ChoiceField(
            choices=["rating", "pairwise"],
            help_text="rating: one explanation, scored 1-5; pairwise: two side by side, answered with a choice.",
        )
        text_a = serializers.CharField()
        text_b = serializers.CharField()
        html = serializers.CharField(
            help_text="The explanation (on a pairwise item: the left one), rendered; the same structure for every item."
        )
        right_html = serializers.CharField(
            allow_null=True, help_text="A pairwise item's right explanation, rendered; null on a rating item."
        )
        score = serializers.IntegerField(allow_null=True)
        choice = serializers.CharField(allow_null=True, help_text="A pairwise item's choice: left, right or same.")
        round_status = serializers.CharField()
        previous = serializers.CharField(allow_null=True)
        next = serializers.CharField(allow_null=True)
        progress = ProgressSerializer()

    @extend_schema(
        operation_id="judge_assignment",
        responses={200: OutputSerializer, **error_responses(described={404: "Not one of your assignments."})},
        tags=["judge"],
    )
    def get(self, request, public_id: str):
        judge = request.judge  # set by IsJudge
        item = judge_html.judge_item_rendered(judge=judge, public_id=public_id)
        if item is None:
            raise ApplicationError(ratings.ASSIGNMENT_NOT_FOUND, status=404)
        body = {
            "public_id": item.public_id,
            "position": item.position,
            "kind": "pairwise" if item.pairwise else "rating",
            "text_a": item.text_a,
            "text_b": item.text_b,
            "html": item.html,
            "right_html": item.right_html,
            "score": item.score,
            "choice": item.choice,
            "round_status": judge.round.status,
            "previous": item.previous,
            "next": item.next,
            "progress": item.progress.as_dict(),
        }
        return Response(self.OutputSerializer(body).data)


class SecondsField(serializers.FloatField):
    """A number of seconds; unlike FloatField, ``true``/``false`` are refused (not 1 and 0 seconds)."""

    def to_internal_value(self, data):
        if isinstance(data, bool):
            self.fail("invalid")
        return super().to_internal_value(data)


class CommentField(serializers.CharField):
    """Free text only (no numbers); a NUL character is refused with the service's message (PostgreSQL
    cannot store it), and the schema states it as a pattern."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.validators = [v for v in self.validators if not isinstance(v, ProhibitNullCharactersValidator)]
        # "+", not "*": a blank comment never reaches validators (allow_blank), and the schema's
        # oneOf (this pattern, or the empty string) then has exactly one branch for every value.
        self.validators.append(RegexValidator(r"^[^\x00]+$", message=ratings.COMMENT_NUL))

    def to_internal_value(self, data):
        if not isinstance(data, str):  # CharField would take 5 as "5"
            self.fail("invalid")
        return super().to_internal_value(data)


class JudgeRatingApi(APIView):
    """Rate one of your assignments 1-5 (PUT or POST): 201 the first time, 200 after (a repeat is no change).
    A pairwise item is answered with ``choice`` (left, right or same) instead of ``score``.

    The body may carry the judge's optional ``comment`` and ``flagged`` ("this item is broken"):
    saved with the score in the same write; left out, they stay as they are. ``item`` is the
    public id of the item the judge's page displayed: when sent, it must be the URL's (409
    otherwise). The judge page always sends it; it is optional for API clients, since the URL
    names the item.
    """

    permission_classes = [IsJudge]

    class InputSerializer(serializers.Serializer):
        item = serializers.CharField(
            required=False,
            help_text=(
                "Public id of the item the judge's page displayed when the judge rated. When sent, it must "
                "equal the URL's public id, else the rating is refused with 409 and nothing is saved. The "
                "judge page always sends it; optional for API clients."
            ),
        )
        score = serializers.IntegerField(
            required=False,
            min_value=ratings.MIN_SCORE,
            max_value=ratings.MAX_SCORE,
            help_text="1-5, on a rating item (required there).",
            error_messages={
                key: ratings.SCORE_ERROR
                for key in ("invalid", "required", "null", "min_value", "max_value", "max_string_length")
            },
        )
        choice = serializers.ChoiceField(
            required=False,
            choices=list(ratings.CHOICES),
            help_text="On a pairwise item (required there): left or right (that explanation is better), or same "
            "(about the same).",
            error_messages={key: ratings.CHOICE_ERROR for key in ("invalid_choice", "null", "invalid")},
        )
        seconds = SecondsField(
            required=False,
            allow_null=True,
            default=None,
            help_text="Seconds on task: from when the item was on the judge's screen to the rating. Not a boolean.",
            error_messages={"invalid": "seconds must be a number of seconds, 0 or more."},
        )
        comment = CommentField(
            required=False,
            allow_blank=True,
            max_length=COMMENT_MAX_LENGTH,
            help_text=(
                f"The judge's optional remark on the item, at most {COMMENT_MAX_LENGTH} characters, no NUL. "
                "Left out: the stored comment stays; an empty string clears it."
            ),
            error_messages={"max_length": ratings.COMMENT_TOO_LONG, "invalid": "The comment must be text."},
        )
        flagged = serializers.BooleanField(
            required=False,
            help_text='"This item is broken", set by the judge. Left out: the stored flag stays.',
            error_messages={"invalid": "flagged must be true or false."},
        )

    class OutputSerializer(serializers.Serializer):
        public_id = serializers.CharField()
        score = serializers.IntegerField(allow_null=True, help_text="null on a pairwise item.")
        choice = serializers.CharField(allow_null=True, help_text="A pairwise item's choice; null on a rating item.")
        comment = serializers.CharField()
        flagged = serializers.BooleanField()
        created = serializers.BooleanField()
        changed = serializers.BooleanField()
        progress = ProgressSerializer()
        next_url = serializers.CharField(help_text="The judge's page for the next unrated item, or the all-done page.")

    # What PUT and POST both answer besides a 400: 200 a changed rating, 201 a new one.
    ANSWERS = {200: OutputSerializer, 201: OutputSerializer}
    REFUSALS = {404: "Not one of your assignments.", 409: "The round is not open for rating, or is closed."}

    @extend_schema(
        operation_id="judge_rating_put",
        request=InputSerializer,
        responses={
            **ANSWERS,
            **error_responses(described={400: "Bad score, choice or seconds.", **REFUSALS}),
        },
        tags=["judge"],
        description=(
            "Rate one of your assignments 1-5 (a pairwise item: choose left, right or same) with an optional "
            "comment and flag. 409 also when `item` names another item than the URL (the rating is refused: "
            "nothing is saved)."
        ),
    )
    def put(self, request, public_id: str):
        judge = request.judge  # set by IsJudge
        data = self.InputSerializer(data=request.data)
        if not data.is_valid():
            fields = data.errors
            message = fields["score"][0] if "score" in fields else next(iter(fields.values()))[0]
            raise ApplicationError(str(message), extra={"fields": fields})
        answer = {"score": None, **data.validated_data}  # a pairwise item's body has a choice instead
        result = ratings.rating_submit(judge=judge, public_id=public_id, **answer)
        body = {
            "public_id": public_id,
            "score": result.rating.score,
            "choice": result.rating.choice,
            "comment": result.rating.comment,
            "flagged": result.rating.flagged,
            "created": result.created,
            "changed": result.changed,
            "progress": result.progress.as_dict(),
            "next_url": reverse("judging:rate-item", kwargs={"public_id": result.next_public_id})
            if result.next_public_id
            else reverse("judging:rate-done"),
        }
        # The body is built in OutputSerializer's shape already (plain types): serialising it again
        # would only cost CPU on the busiest request judges make.
        return Response(body, status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)

    @extend_schema(
        operation_id="judge_rating_post",
        request=InputSerializer,
        responses={**ANSWERS, **error_responses(described={400: "Bad score, seconds, comment or flag.", **REFUSALS})},
        tags=["judge"],
    )
    def post(self, request, public_id: str):
        return self.put(request, public_id)
