"""Results API: the full report of a round, its exports, and the automatic metrics."""

from __future__ import annotations

from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, PolymorphicProxySerializer, extend_schema
from rest_framework import serializers, status
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bti_eval.core.exceptions import ApplicationError
from bti_eval.core.serializers import error_responses
from bti_eval.core.streaming import batched_text
from bti_eval.results import auto_metrics, exports, services
from bti_eval.results.models import AutoEvaluation
from bti_eval.results.report import parse_exclude_flagged, round_report
from bti_eval.rounds.models import EvaluationRound

EXCLUDE_FLAGGED = OpenApiParameter(
    "exclude_flagged",
    bool,
    required=False,
    description="1: recompute every statistic without the flagged judges (recorded in the output).",
)


def exclude_flagged_param(request: Request) -> bool:
    """``?exclude_flagged=1|true|yes`` → True; ``0|false|no``/absent → False; anything else is a 400."""
    return parse_exclude_flagged(request.query_params.get("exclude_flagged"))


class AlphaSerializer(serializers.Serializer):
    alpha = serializers.FloatField(allow_null=True)
    low = serializers.FloatField(allow_null=True, help_text="95% bootstrap CI over explanations.")
    high = serializers.FloatField(allow_null=True)
    units = serializers.IntegerField(help_text="Explanations rated at least twice.")
    values = serializers.IntegerField(help_text="Ratings in those explanations.")
    undefined_resamples = serializers.IntegerField(
        help_text="Bootstrap resamples where alpha was undefined (left out)."
    )


class AgreementPairSerializer(serializers.Serializer):
    ordinal = AlphaSerializer()
    interval = AlphaSerializer()


class MethodAgreementSerializer(AgreementPairSerializer):
    method = serializers.CharField()


class AgreementSerializer(serializers.Serializer):
    overall = AgreementPairSerializer()
    per_method = MethodAgreementSerializer(many=True)
    judges = serializers.IntegerField()
    resamples = serializers.IntegerField(help_text="Bootstrap resamples behind each alpha CI.")


class MethodSerializer(serializers.Serializer):
    method = serializers.CharField()
    label = serializers.CharField()
    n = serializers.IntegerField(help_text="Ratings of this method (control items never count).")
    n_pairs = serializers.IntegerField(help_text="Pairs with at least one rating of this method.")
    n_judges = serializers.IntegerField()
    mean = serializers.FloatField(allow_null=True, help_text="Mean score over all ratings.")
    std = serializers.FloatField(
        allow_null=True, help_text="Sample std (ddof=1) across judges' mean scores (Table 1); null < 2 judges."
    )
    std_ratings = serializers.FloatField(allow_null=True, help_text="Sample std over all ratings.")
    mean_of_judge_means = serializers.FloatField(allow_null=True)
    ci_low = serializers.FloatField(allow_null=True, help_text="95% percentile bootstrap CI, pairs resampled.")
    ci_high = serializers.FloatField(allow_null=True)
    ci_resamples = serializers.IntegerField()
    letters = serializers.CharField(help_text="Compact letter display: sharing a letter = not significantly different.")


class ComparisonSerializer(serializers.Serializer):
    a = serializers.CharField()
    b = serializers.CharField()
    n = serializers.IntegerField(help_text="Pairs rated in both methods.")
    statistic = serializers.FloatField(allow_null=True)
    p = serializers.FloatField(allow_null=True)
    p_holm = serializers.FloatField(allow_null=True)
    effect = serializers.FloatField(allow_null=True, help_text="Matched-pairs rank-biserial r; > 0: a scores higher.")
    significant = serializers.BooleanField()


class JudgeQualitySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    seed = serializers.IntegerField()
    active = serializers.BooleanField()
    n = serializers.IntegerField()
    mean = serializers.FloatField(allow_null=True)
    z = serializers.FloatField(allow_null=True, help_text="The judge's mean vs the other judges' means.")
    agreement = serializers.FloatField(allow_null=True, help_text="Spearman rho with the other judges' mean.")
    median_seconds = serializers.FloatField(allow_null=True)
    too_fast = serializers.BooleanField(allow_null=True)
    n_control = serializers.IntegerField()
    control_mean = serializers.FloatField(allow_null=True)
    control_u = serializers.FloatField(allow_null=True)
    control_p = serializers.FloatField(allow_null=True, help_text="One-sided Mann-Whitney, real > control.")
    control_flag = serializers.BooleanField(allow_null=True)
    flagged = serializers.BooleanField()
    reasons = serializers.ListField(child=serializers.CharField())
    excluded = serializers.BooleanField()


class ReportSerializer(serializers.Serializer):
    round_id = serializers.IntegerField()
    status = serializers.CharField()
    final = serializers.BooleanField(help_text="True once the round is closed; partial before.")
    n_ratings = serializers.IntegerField()
    n_judges = serializers.IntegerField()
    methods = MethodSerializer(many=True)
    options = serializers.DictField(help_text="exclude_flagged, excluded_judges, resamples, seed, ...")
    agreement = AgreementSerializer()
    comparisons = ComparisonSerializer(many=True)
    matrix = serializers.ListField(child=serializers.DictField(), help_text="Rows {method, cells[]} of the matrix.")
    judges = JudgeQualitySerializer(many=True)
    controls = serializers.DictField()
    design = serializers.DictField()
    auto = serializers.DictField(allow_null=True, help_text="Automatic metrics and their correlation with MOS.")


class PairwiseMethodSerializer(serializers.Serializer):
    method = serializers.CharField()
    label = serializers.CharField()
    rank = serializers.IntegerField(help_text="1 = the highest Bradley-Terry strength.")
    strength = serializers.FloatField(help_text="Bradley-Terry log-strength, centred on the methods' mean.")
    ci_low = serializers.FloatField(allow_null=True, help_text="95% percentile bootstrap CI, pairs resampled.")
    ci_high = serializers.FloatField(allow_null=True)
    ci_resamples = serializers.IntegerField()
    wins = serializers.IntegerField()
    losses = serializers.IntegerField()
    ties = serializers.IntegerField(help_text="'About the same' choices: half a win each.")
    comparisons = serializers.IntegerField()
    win_rate = serializers.FloatField(allow_null=True, help_text="(wins + ties / 2) / comparisons.")


class PairwiseJudgeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    seed = serializers.IntegerField()
    active = serializers.BooleanField()
    n = serializers.IntegerField(help_text="Choices on real items.")
    agreement = serializers.FloatField(allow_null=True, help_text="Share matching the others' most frequent choice.")
    left_share = serializers.FloatField(allow_null=True, help_text="Left chosen, of the decided choices.")
    median_seconds = serializers.FloatField(allow_null=True)
    too_fast = serializers.BooleanField(allow_null=True)
    n_control = serializers.IntegerField()
    control_real = serializers.IntegerField()
    control_degraded = serializers.IntegerField()
    control_same = serializers.IntegerField()
    control_p = serializers.FloatField(allow_null=True, help_text="One-sided sign test: the real one is preferred.")
    control_flag = serializers.BooleanField(allow_null=True)
    flagged = serializers.BooleanField()
    reasons = serializers.ListField(child=serializers.CharField())
    excluded = serializers.BooleanField()


class PairwiseBlockSerializer(serializers.Serializer):
    model = serializers.CharField()
    ties = serializers.CharField()
    order = serializers.ListField(child=serializers.CharField(), help_text="Methods in the win-rate matrix's order.")
    labels = serializers.ListField(child=serializers.CharField())
    win_rates = serializers.ListField(
        child=serializers.ListField(child=serializers.FloatField(allow_null=True)),
        help_text="Row method preferred to column method (ties half); null where never compared.",
    )
    judgements = serializers.IntegerField()
    pairs = serializers.IntegerField()
    resamples = serializers.IntegerField()
    sides = serializers.DictField(help_text="left, right, same counts and left_share: position bias.")
    kendall = serializers.DictField(
        allow_null=True, help_text="The MOS round over the same pairs and methods, and Kendall's tau with it."
    )
    agreement = serializers.DictField(
        help_text="Krippendorff's alpha (ordinal, interval) over comparisons judged twice or more, with CIs."
    )


class PairwiseReportSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["pairwise"])
    round_id = serializers.IntegerField()
    status = serializers.CharField()
    final = serializers.BooleanField(help_text="True once the round is closed; partial before.")
    n_ratings = serializers.IntegerField(help_text="Choices on real items.")
    n_judges = serializers.IntegerField()
    methods = PairwiseMethodSerializer(many=True)
    pairwise = PairwiseBlockSerializer()
    options = serializers.DictField(help_text="exclude_flagged, excluded_judges, resamples, seed, ...")
    judges = PairwiseJudgeSerializer(many=True)
    controls = serializers.DictField()
    design = serializers.DictField()


ROUND_REPORT = PolymorphicProxySerializer(
    component_name="RoundReport",
    serializers=[ReportSerializer, PairwiseReportSerializer],
    resource_type_field_name=None,
)


class RoundResultsApi(APIView):
    @extend_schema(
        parameters=[EXCLUDE_FLAGGED],
        responses={200: ROUND_REPORT, **error_responses(400, 404)},
        summary="Results: MOS with CIs and letters, agreement, paired tests, judges, controls, automatic metrics; "
        "for a pairwise round, Bradley-Terry strengths with CIs, win rates, ranking and Kendall's tau",
    )
    def get(self, request: Request, round_id: int) -> Response:
        round = get_object_or_404(EvaluationRound, pk=round_id)
        report = round_report(round=round, exclude_flagged=exclude_flagged_param(request))
        serializer = PairwiseReportSerializer if report.get("kind") == "pairwise" else ReportSerializer
        return Response(serializer(report).data)


class RoundExportApi(APIView):
    def perform_content_negotiation(self, request, force=False):
        # ?format= names the export, not a DRF renderer: errors are always JSON.
        return JSONRenderer(), JSONRenderer.media_type

    @extend_schema(
        parameters=[OpenApiParameter("format", str, enum=list(exports.FORMATS), required=True), EXCLUDE_FLAGGED],
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="Ratings, methods or judges as CSV."),
            (200, "application/json"): OpenApiResponse(
                OpenApiTypes.OBJECT, description="Round, report, ratings; or (heds) the HEDS 3.0 datasheet."
            ),
            (200, "text/markdown"): OpenApiResponse(OpenApiTypes.STR, description="The report's tables."),
            (200, "application/x-latex"): OpenApiResponse(OpenApiTypes.STR, description="The tables."),
            (200, "image/svg+xml"): OpenApiResponse(
                OpenApiTypes.STR, description="Means (pairwise: Bradley-Terry strengths) with 95% CI bars."
            ),
            (200, "application/x-ndjson"): OpenApiResponse(
                OpenApiTypes.STR,
                description="(explanations) One JSON object per line: each explanation with its pair, method, "
                "status and stored explanation (raw saliencies and pair scores, the whole selection).",
            ),
            **error_responses(400, 404),
        },
        summary=f"Export a round's results: {' | '.join(exports.FORMATS)}",
    )
    def get(self, request: Request, round_id: int) -> HttpResponse:
        round = get_object_or_404(EvaluationRound, pk=round_id)
        fmt = request.query_params.get("format", "")
        if fmt not in exports.FORMATS:
            raise ApplicationError(f"Choose format= one of {', '.join(exports.FORMATS)}.")
        exclude = exclude_flagged_param(request)
        cls = StreamingHttpResponse if fmt in exports.STREAMED else HttpResponse
        content = batched_text(exports.export(round, fmt, exclude_flagged=exclude))  # 64 KB writes, not per line
        response = cls(content, content_type=exports.CONTENT_TYPES[fmt])
        filename = exports.export_filename(round, fmt, exclude_flagged=exclude)
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response


class RoundAutoMetricsApi(APIView):
    class InputSerializer(serializers.Serializer):
        metrics = serializers.ListField(
            child=serializers.ChoiceField(choices=auto_metrics.METRICS), required=False, help_text="Default: all."
        )
        faithfulness_pairs = serializers.IntegerField(min_value=1, max_value=100_000, required=False)
        sanity_pairs = serializers.IntegerField(min_value=1, max_value=100_000, required=False)

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        status = serializers.CharField()
        metrics = serializers.ListField(child=serializers.CharField())
        options = serializers.DictField()
        chunks_done = serializers.IntegerField(help_text="Chunks computed so far (one metric of one method each).")
        chunks_total = serializers.IntegerField(help_text="Chunks of the job.")
        error = serializers.CharField(allow_blank=True)
        requested_at = serializers.DateTimeField()
        finished_at = serializers.DateTimeField(allow_null=True)
        results = serializers.DictField(allow_null=True)

    @extend_schema(
        responses={200: OutputSerializer, **error_responses(404)},
        summary="The round's newest automatic-metrics job, with its progress",
    )
    def get(self, request: Request, round_id: int) -> Response:
        round = get_object_or_404(EvaluationRound, pk=round_id)
        row = AutoEvaluation.objects.filter(round=round).order_by("-requested_at", "-id").first()
        if row is None:
            raise ApplicationError("No automatic metrics yet: POST here or run `manage.py evaluate_auto`.", status=404)
        return Response(self.OutputSerializer(row).data)

    @extend_schema(
        request=InputSerializer,
        responses={
            202: OpenApiResponse(OutputSerializer, description="A new job, queued on the metrics queue."),
            200: OpenApiResponse(
                OutputSerializer,
                description="A job of this round is already pending or running (one per round at a time): "
                "that job, unchanged; nothing new was queued and the request's options were not used.",
            ),
            **error_responses(400, 404, 409, 503),
        },
        summary="Queue the automatic metrics (plausibility, faithfulness, sanity) on the metrics queue",
        description="One job per round at a time: while one is pending or running, this answers 200 with it. "
        "409 while the round is still computing its explanations, or before it has any.",
    )
    def post(self, request: Request, round_id: int) -> Response:
        round = get_object_or_404(EvaluationRound, pk=round_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        options = {k: v for k, v in data.validated_data.items() if k != "metrics"}
        row, created = services.auto_evaluation_request(
            round=round, metrics=data.validated_data.get("metrics"), options=options
        )
        code = status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK
        return Response(self.OutputSerializer(row).data, status=code)
