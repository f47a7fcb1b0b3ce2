"""REST API for crowd study links (researchers only): list, create and close a round's links.

A link's ``participant_url`` is what to paste into the platform; see ``services.studies`` for what
a participant's visit does and ``judging.crowd`` for each platform's parameters.
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from bti_eval.core.permissions import IsResearcher
from bti_eval.core.serializers import error_responses
from bti_eval.judging import crowd, selectors
from bti_eval.judging.apis import _validated
from bti_eval.judging.invite_views import study_link_url, study_participant_url
from bti_eval.judging.models import StudyLink
from bti_eval.judging.services import studies
from bti_eval.rounds.models import EvaluationRound


class CodeField(serializers.RegexField):
    """A completion or screen-out code: 1 to 64 letters, digits, _ or - (it goes into a URL)."""

    def __init__(self, **kwargs):
        super().__init__(
            rf"^{crowd.CODE.pattern}$",
            max_length=64,
            error_messages={"invalid": "A code is 1 to 64 letters, digits, _ or -."},
            **kwargs,
        )


class ParamField(serializers.RegexField):
    """A generic link's query parameter name."""

    def __init__(self, **kwargs):
        super().__init__(
            rf"^{crowd.PARAM_NAME.pattern}$",
            max_length=40,
            error_messages={"invalid": "A parameter name is a letter, then up to 39 letters, digits or _."},
            **kwargs,
        )


class StudyLinkSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    platform = serializers.ChoiceField(choices=StudyLink.Platform.choices)
    label = serializers.CharField()
    url = serializers.URLField(help_text="The link itself, without the platform's parameters.")
    participant_url = serializers.CharField(
        help_text=(
            "What to paste into the platform: Prolific's with its {{%PROLIFIC_PID%}} placeholders, MTurk's bare "
            "(ExternalQuestion adds its parameters), another site's with PARTICIPANT_ID (and SESSION_ID) to replace."
        )
    )
    participant_param = serializers.CharField()
    session_param = serializers.CharField()
    quota = serializers.IntegerField(allow_null=True)
    items_per_participant = serializers.IntegerField(allow_null=True)
    completion_code = serializers.CharField()
    screen_out_failed_controls = serializers.BooleanField()
    screen_out_code = serializers.CharField()
    time_limit_minutes = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()
    closed_at = serializers.DateTimeField(allow_null=True)
    arrivals = serializers.IntegerField()
    completed = serializers.IntegerField()
    screened_out = serializers.IntegerField()
    timed_out = serializers.IntegerField()


def _link_body(request, link: StudyLink) -> dict:
    counted = {name: getattr(link, name, 0) for name in ("arrivals", "completed", "screened_out", "timed_out")}
    fields = (
        "id",
        "platform",
        "label",
        "participant_param",
        "session_param",
        "quota",
        "items_per_participant",
        "completion_code",
        "screen_out_failed_controls",
        "screen_out_code",
        "time_limit_minutes",
        "created_at",
        "closed_at",
    )
    return {
        **{name: getattr(link, name) for name in fields},
        "url": study_link_url(request, link),
        "participant_url": study_participant_url(request, link),
        **counted,
    }


class RoundStudyLinksApi(APIView):
    """GET: a round's study links with their participants counted. POST: a new study link."""

    permission_classes = [IsResearcher]

    class InputSerializer(serializers.Serializer):
        platform = serializers.ChoiceField(choices=StudyLink.Platform.choices)
        label = serializers.CharField(max_length=studies.MAX_LABEL_LENGTH, required=False, default="", allow_blank=True)
        completion_code = CodeField(
            required=False, default="", allow_blank=True, help_text="Prolific: the study's code. Empty: a random one."
        )
        quota = serializers.IntegerField(
            min_value=1, max_value=studies.MAX_QUOTA, required=False, allow_null=True, default=None
        )
        items_per_participant = serializers.IntegerField(
            min_value=1,
            max_value=studies.MAX_ITEMS_PER_PARTICIPANT,
            required=False,
            allow_null=True,
            default=None,
            help_text="k-per-item rounds: real explanations per participant, least-held first. Null: all.",
        )
        screen_out_failed_controls = serializers.BooleanField(
            required=False, default=False, help_text="Give participants who fail the control items the screen-out code."
        )
        screen_out_code = CodeField(required=False, default="", allow_blank=True)
        time_limit_minutes = serializers.IntegerField(
            min_value=1, max_value=studies.MAX_TIME_LIMIT_MINUTES, required=False, allow_null=True, default=None
        )
        participant_param = ParamField(
            required=False, default="", allow_blank=True, help_text="generic: the participant id's query parameter."
        )
        session_param = ParamField(
            required=False, default="", allow_blank=True, help_text="generic, optional: the session's parameter."
        )

    @extend_schema(
        operation_id="round_study_links_list", responses={200: StudyLinkSerializer(many=True)}, tags=["crowd"]
    )
    def get(self, request, round_id: int):
        round = get_object_or_404(EvaluationRound, pk=round_id)
        links = [_link_body(request, link) for link in selectors.round_study_links(round=round)]
        return Response(StudyLinkSerializer(links, many=True).data)

    @extend_schema(
        operation_id="round_study_links_create",
        request=InputSerializer,
        responses={201: StudyLinkSerializer, **error_responses(400, described={409: "The round is closed."})},
        tags=["crowd"],
    )
    def post(self, request, round_id: int):
        round = get_object_or_404(EvaluationRound, pk=round_id)
        data = _validated(self.InputSerializer(data=request.data))
        link = studies.study_link_create(round=round, by=request.user, **data)
        return Response(StudyLinkSerializer(_link_body(request, link)).data, status=status.HTTP_201_CREATED)


class StudyLinkCloseApi(APIView):
    """Close a study link: new participants get a "closed" page, those who arrived finish. Idempotent."""

    permission_classes = [IsResearcher]

    @extend_schema(operation_id="study_link_close", request=None, responses={200: StudyLinkSerializer}, tags=["crowd"])
    def post(self, request, link_id: int):
        link = studies.study_link_close(link=get_object_or_404(StudyLink, pk=link_id))
        link = selectors.round_study_links(round=link.round).get(pk=link.pk)
        return Response(StudyLinkSerializer(_link_body(request, link)).data)
