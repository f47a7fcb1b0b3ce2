"""Rounds API: one small APIView per endpoint; services do the work, 409 on a wrong status."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bti_eval.core.fields import CountField, IdField, SeedField
from bti_eval.core.pagination import LimitOffsetPagination
from bti_eval.core.serializers import error_responses
from bti_eval.pairs.apis import upload_input
from bti_eval.pairs.selectors import pair_ids_select
from bti_eval.rounds import options, services
from bti_eval.rounds.imported import imported_method_create, imported_method_remove
from bti_eval.rounds.models import EvaluationRound, ImportedMethod
from bti_eval.rounds.selectors import round_list, round_progress
from explainers.modeldir import DTYPES, POOLING_MODES


class RoundOutputSerializer(serializers.ModelSerializer):
    pair_count = serializers.SerializerMethodField()
    # None for a round made by a command or a script (no user).
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = EvaluationRound
        fields = [
            "id",
            "name",
            "status",
            "model",
            "dtype",
            "pooling",
            "methods",
            "top_k",
            "pairs_shown",
            "seed",
            "design",
            "judges_per_explanation",
            "control_items",
            "too_fast_seconds",
            "auto_metrics",
            "pair_count",
            "created_by",
            "created_at",
            "launched_at",
            "opened_at",
            "closed_at",
            "archived_at",
        ]

    def get_pair_count(self, round: EvaluationRound) -> int:
        count = getattr(round, "pair_count", None)
        return count if count is not None else round.pairs.count()


class ProgressOutputSerializer(serializers.Serializer):
    class CountsSerializer(serializers.Serializer):
        total = serializers.IntegerField()
        done = serializers.IntegerField()
        failed = serializers.IntegerField()
        pending = serializers.IntegerField()
        running = serializers.IntegerField()

    class FailureSerializer(serializers.Serializer):
        explanation_id = serializers.IntegerField()
        pair = serializers.CharField(help_text="The pair's external id (or its id when it has none).")
        pair_id = serializers.IntegerField()
        method = serializers.CharField()
        error = serializers.CharField()
        attempts = serializers.IntegerField()

    status = serializers.CharField()
    total = serializers.IntegerField()
    done = serializers.IntegerField()
    failed = serializers.IntegerField()
    pending = serializers.IntegerField()
    running = serializers.IntegerField()
    can_open = serializers.BooleanField()
    per_method = serializers.DictField(child=CountsSerializer())
    failures = FailureSerializer(many=True)
    failures_total = serializers.IntegerField()
    eta_seconds = serializers.IntegerField(
        allow_null=True,
        help_text="Estimated seconds left while computing, from the explanations done so far (their compute "
        "seconds per method, at the pace seen since the first chunk started); null before any is done.",
    )
    eta_text = serializers.CharField(help_text='The estimate in words ("estimating…", "about 3 min"); "" when idle.')


class RoundListCreateApi(APIView):
    pagination_class = LimitOffsetPagination

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=200)
        pairs = serializers.ListField(child=IdField(), required=False, help_text="Pair ids.")
        source = serializers.CharField(required=False, help_text="Instead of ids: the pairs of this source.")
        all_pairs = serializers.BooleanField(default=False, help_text="Instead of ids: every pair.")
        limit = CountField(
            required=False, min_value=1, help_text="With source/all_pairs: a random sample of this size (seeded)."
        )
        methods = serializers.ListField(
            child=serializers.CharField(), required=False, help_text="Default: the paper's seven methods."
        )
        model = serializers.CharField(required=False, allow_blank=True, default="")
        dtype = options.DTYPE.api_field(
            serializers.ChoiceField,
            choices=DTYPES,
            error_messages={"invalid_choice": f'"{{input}}" is not a dtype: use {", ".join(DTYPES)}.'},
        )
        pooling = options.POOLING.api_field(
            serializers.ChoiceField,
            choices=["", *POOLING_MODES],
            allow_blank=True,
            error_messages={
                "invalid_choice": f'"{{input}}" is not a pooling: use {", ".join(POOLING_MODES)}, or leave it empty.'
            },
        )
        top_k = options.TOP_K.api_field(CountField)
        pairs_shown = options.PAIRS_SHOWN.api_field(serializers.IntegerField)
        seed = SeedField(required=False, default=0)
        design = options.DESIGN.api_field(serializers.ChoiceField, choices=EvaluationRound.Design.choices)
        judges_per_explanation = options.JUDGES_PER_EXPLANATION.api_field(CountField, allow_null=True)
        control_items = options.CONTROL_ITEMS.api_field(CountField)
        # The service checks the bounds (a 400 naming the field); the schema has never stated them.
        too_fast_seconds = options.TOO_FAST_SECONDS.api_field(
            serializers.FloatField, allow_null=True, min_value=None, max_value=None
        )
        auto_metrics = options.AUTO_METRICS.api_field(serializers.BooleanField)

        def validate(self, data):
            given = [k for k in ("pairs", "source") if k in data] + (["all_pairs"] if data["all_pairs"] else [])
            if len(given) != 1:
                raise serializers.ValidationError("Give exactly one of: pairs (ids), source, all_pairs=true.")
            return data

    class FilterSerializer(serializers.Serializer):
        archived = serializers.BooleanField(
            default=False, help_text="Show archived rounds too (by default they are left out)."
        )

    @extend_schema(
        parameters=[FilterSerializer],
        responses={200: RoundOutputSerializer(many=True), **error_responses(400)},
        summary="List rounds, newest first (archived rounds too with archived=true)",
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(round_list(**filters.validated_data), request, view=self)
        return paginator.get_paginated_response(RoundOutputSerializer(page, many=True).data)

    @extend_schema(
        request=InputSerializer,
        responses={201: RoundOutputSerializer, **error_responses(400)},
        summary="Create a draft round",
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if "pairs" in data:
            pair_ids = data["pairs"]
        else:
            pair_ids = pair_ids_select(source=data.get("source"), limit=data.get("limit"), seed=data["seed"])
        round = services.round_create(
            name=data["name"],
            pairs=pair_ids,
            methods=data.get("methods"),
            model=data["model"],
            dtype=data["dtype"],
            pooling=data["pooling"],
            top_k=data["top_k"],
            pairs_shown=data["pairs_shown"],
            seed=data["seed"],
            by=request.user,
            **{name: data[name] for name in services.OPTIONS},
        )
        return Response(RoundOutputSerializer(round).data, status=status.HTTP_201_CREATED)


class RoundDetailApi(APIView):
    class OptionsInputSerializer(serializers.Serializer):
        design = serializers.ChoiceField(choices=EvaluationRound.Design.choices, required=False)
        judges_per_explanation = CountField(
            required=False, allow_null=True, min_value=1, max_value=services.MAX_JUDGES_PER_EXPLANATION
        )
        control_items = CountField(required=False)
        too_fast_seconds = serializers.FloatField(required=False, allow_null=True)
        auto_metrics = serializers.BooleanField(required=False)

    @extend_schema(responses={200: RoundOutputSerializer, **error_responses(404)}, summary="One round")
    def get(self, request: Request, round_id: int) -> Response:
        return Response(RoundOutputSerializer(get_object_or_404(EvaluationRound, pk=round_id)).data)

    @extend_schema(
        request=OptionsInputSerializer,
        responses={200: RoundOutputSerializer, **error_responses(400, 404, 409)},
        summary="Change options: design, k, controls, auto metrics (before opening); too-fast threshold (any time)",
    )
    def patch(self, request: Request, round_id: int) -> Response:
        round = get_object_or_404(EvaluationRound, pk=round_id)
        data = self.OptionsInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        round = services.round_options_update(round=round, **data.validated_data)
        return Response(RoundOutputSerializer(round).data)

    @extend_schema(
        request=None,
        responses={204: None, **error_responses(404, 409)},
        summary="Delete a draft round (409 once launched, and always for a round with ratings)",
    )
    def delete(self, request: Request, round_id: int) -> Response:
        services.round_delete(round=get_object_or_404(EvaluationRound, pk=round_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class RoundArchiveApi(APIView):
    @extend_schema(
        request=None,
        responses={200: RoundOutputSerializer, **error_responses(404, 409)},
        summary="Archive a closed round: hidden from the lists, all data kept, restorable",
    )
    def post(self, request: Request, round_id: int) -> Response:
        round = services.round_archive(round=get_object_or_404(EvaluationRound, pk=round_id))
        return Response(RoundOutputSerializer(round).data)


class RoundRestoreApi(APIView):
    @extend_schema(
        request=None,
        responses={200: RoundOutputSerializer, **error_responses(404, 409)},
        summary="Restore an archived round to the lists",
    )
    def post(self, request: Request, round_id: int) -> Response:
        round = services.round_restore(round=get_object_or_404(EvaluationRound, pk=round_id))
        return Response(RoundOutputSerializer(round).data)


class RoundLaunchApi(APIView):
    @extend_schema(
        request=None,
        responses={202: RoundOutputSerializer, **error_responses(400, 404, 409, 503)},
        summary="Launch: draft → computing; explanation chunks are queued (503 when the broker is down)",
    )
    def post(self, request: Request, round_id: int) -> Response:
        round = services.round_launch(round=get_object_or_404(EvaluationRound, pk=round_id), by=request.user)
        return Response(RoundOutputSerializer(round).data, status=status.HTTP_202_ACCEPTED)


class RoundProgressApi(APIView):
    @extend_schema(
        responses={200: ProgressOutputSerializer, **error_responses(404)},
        summary="Explanation progress: counts, per method, failures",
    )
    def get(self, request: Request, round_id: int) -> Response:
        round = get_object_or_404(EvaluationRound, pk=round_id)
        return Response(ProgressOutputSerializer(round_progress(round=round)).data)


class RoundRetryFailedApi(APIView):
    class OutputSerializer(serializers.Serializer):
        retried = serializers.IntegerField()

    @extend_schema(
        request=None,
        responses={202: OutputSerializer, **error_responses(404, 409, 503)},
        summary="Re-queue the failed explanations",
    )
    def post(self, request: Request, round_id: int) -> Response:
        count = services.explanations_retry_failed(round=get_object_or_404(EvaluationRound, pk=round_id))
        return Response(self.OutputSerializer({"retried": count}).data, status=status.HTTP_202_ACCEPTED)


class RoundDropFailedApi(APIView):
    class OutputSerializer(serializers.Serializer):
        dropped = serializers.IntegerField()
        opened = serializers.BooleanField(help_text="True when the round opened for rating as a result.")

    @extend_schema(
        request=None,
        responses={200: OutputSerializer, **error_responses(404, 409)},
        summary="Drop the failed explanations from the round",
    )
    def post(self, request: Request, round_id: int) -> Response:
        result = services.explanations_drop_failed(round=get_object_or_404(EvaluationRound, pk=round_id))
        return Response(self.OutputSerializer(result).data)


class RoundOpenApi(APIView):
    @extend_schema(
        request=None,
        responses={200: RoundOutputSerializer, **error_responses(404, 409)},
        summary="Open for rating (only when every explanation is done); builds the judges' assignments",
    )
    def post(self, request: Request, round_id: int) -> Response:
        round = services.round_open(round=get_object_or_404(EvaluationRound, pk=round_id))
        return Response(RoundOutputSerializer(round).data)


class RoundCloseApi(APIView):
    @extend_schema(
        request=None,
        responses={200: RoundOutputSerializer, **error_responses(404, 409)},
        summary="Close: rating → closed, ratings frozen",
    )
    def post(self, request: Request, round_id: int) -> Response:
        round = services.round_close(round=get_object_or_404(EvaluationRound, pk=round_id))
        return Response(RoundOutputSerializer(round).data)


class ImportedMethodOutputSerializer(serializers.ModelSerializer):
    uploaded_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = ImportedMethod
        fields = ["name", *ImportedMethod.PROVENANCE]
        extra_kwargs = {
            "sha256": {"help_text": "SHA-256 of the uploaded file's bytes (hex)."},
            "lines": {"help_text": "Explanations in the file (its non-blank lines): one per pair of the round."},
            "similarities_given": {
                "help_text": "Lines that gave their own similarity (the others get the round model's)."
            },
        }


class RoundImportedMethodsApi(APIView):
    parser_classes = [MultiPartParser, FormParser]

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(
            max_length=64,
            help_text="The method's name in the round: lower-case letters and digits, words joined by hyphens, "
            "not a built-in or plugin method's name, not 'control'. Judges never see it.",
        )
        file = serializers.FileField(
            help_text='JSON Lines, one explanation per pair of the round: {"id": pair external id, "words": '
            '[[{"text", "start", "end", "saliency"}, ...], [...]], "pairs": [{"a", "b", "word_similarity", '
            '"score"}, ...]}, "similarity" optional. Each paragraph\'s words are all its words '
            "(explainers.words.split_words) with character offsets into its text."
        )

    @extend_schema(
        responses={200: ImportedMethodOutputSerializer(many=True), **error_responses(404)},
        summary="The round's imported methods, with their provenance",
    )
    def get(self, request: Request, round_id: int) -> Response:
        round = get_object_or_404(EvaluationRound, pk=round_id)
        methods = ImportedMethod.objects.filter(round=round).select_related("uploaded_by").order_by("id")
        return Response(ImportedMethodOutputSerializer(methods, many=True).data)

    @extend_schema(
        request={"multipart/form-data": InputSerializer},
        responses={
            201: ImportedMethodOutputSerializer,
            **error_responses(
                404,
                413,
                described={
                    400: "A bad name or file: nothing was imported; extra.errors lists {line, message} for every "
                    "line at fault (line null: the file as a whole), extra.more_errors how many more there are.",
                    409: "The round is not a draft, or already has a method of that name.",
                },
            ),
        },
        summary="Import explanations computed elsewhere into a draft round, as a method (atomic)",
    )
    def post(self, request: Request, round_id: int) -> Response:
        round = get_object_or_404(EvaluationRound, pk=round_id)
        data = upload_input(request, self.InputSerializer)
        method = imported_method_create(
            round=round, name=data["name"], content=data["file"].read(), file_name=data["file"].name, by=request.user
        )
        return Response(ImportedMethodOutputSerializer(method).data, status=status.HTTP_201_CREATED)


class RoundImportedMethodApi(APIView):
    @extend_schema(
        request=None,
        responses={204: None, **error_responses(404, described={409: "Only a draft round can remove a method."})},
        summary="Remove an imported method and its explanations from a draft round",
    )
    def delete(self, request: Request, round_id: int, name: str) -> Response:
        imported_method_remove(round=get_object_or_404(EvaluationRound, pk=round_id), name=name)
        return Response(status=status.HTTP_204_NO_CONTENT)
