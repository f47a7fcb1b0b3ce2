"""Results API: the MOS table of a round, and its exports."""

from __future__ import annotations

from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bti_eval.core.exceptions import ApplicationError
from bti_eval.core.serializers import error_responses
from bti_eval.results import exports
from bti_eval.results.selectors import round_results
from bti_eval.rounds.models import EvaluationRound


class RoundResultsApi(APIView):
    class OutputSerializer(serializers.Serializer):
        class MethodSerializer(serializers.Serializer):
            method = serializers.CharField()
            label = serializers.CharField()
            n = serializers.IntegerField(help_text="Ratings of this method.")
            n_judges = serializers.IntegerField()
            mean = serializers.FloatField(allow_null=True, help_text="Mean score over all ratings.")
            std = serializers.FloatField(
                allow_null=True, help_text="Sample std (ddof=1) across judges' mean scores (Table 1); null < 2 judges."
            )
            std_ratings = serializers.FloatField(allow_null=True, help_text="Sample std over all ratings.")
            mean_of_judge_means = serializers.FloatField(allow_null=True)

            class Meta:
                ref_name = "ResultsMethodRow"

        round_id = serializers.IntegerField()
        status = serializers.CharField()
        final = serializers.BooleanField(help_text="True once the round is closed; partial before.")
        n_ratings = serializers.IntegerField()
        n_judges = serializers.IntegerField()
        methods = MethodSerializer(many=True)

        class Meta:
            ref_name = "RoundResults"

    @extend_schema(responses={200: OutputSerializer, **error_responses(404)}, summary="MOS per method (Table 1)")
    def get(self, request: Request, round_id: int) -> Response:
        round = get_object_or_404(EvaluationRound, pk=round_id)
        return Response(self.OutputSerializer(round_results(round=round)).data)


class RoundExportApi(APIView):
    def perform_content_negotiation(self, request, force=False):
        # ?format= names the export, not a DRF renderer: errors are always JSON.
        return JSONRenderer(), JSONRenderer.media_type

    @extend_schema(
        parameters=[OpenApiParameter("format", str, enum=list(exports.FORMATS), required=True)],
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="Long form, one row per rating."),
            (200, "application/json"): OpenApiResponse(OpenApiTypes.OBJECT, description="Round, table and ratings."),
            (200, "text/markdown"): OpenApiResponse(OpenApiTypes.STR, description="The MOS table."),
            (200, "application/x-latex"): OpenApiResponse(OpenApiTypes.STR, description="The MOS table."),
            **error_responses(400, 404),
        },
        summary="Export a round's results: csv | json | markdown | latex",
    )
    def get(self, request: Request, round_id: int) -> HttpResponse:
        round = get_object_or_404(EvaluationRound, pk=round_id)
        fmt = request.query_params.get("format", "")
        if fmt not in exports.FORMATS:
            raise ApplicationError(f"Choose format= one of {', '.join(exports.FORMATS)}.")
        cls = StreamingHttpResponse if fmt == "csv" else HttpResponse
        response = cls(exports.export(round, fmt), content_type=exports.CONTENT_TYPES[fmt])
        response["Content-Disposition"] = f'attachment; filename="{exports.export_filename(round, fmt)}"'
        return response
