"""Catalogs API (researchers only): import a catalog, embed it, mine pairs, train RecoBERT, watch jobs."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bti_eval.catalogs import services
from bti_eval.catalogs.models import Catalog, CatalogJob
from bti_eval.catalogs.selectors import catalog_list, catalog_vector_counts, catalogs_vector_counts
from bti_eval.core.fields import CountField, SeedField
from bti_eval.core.parsers import JSONParser
from bti_eval.core.serializers import error_responses
from bti_eval.pairs.services import check_upload_size


class CatalogOutputSerializer(serializers.ModelSerializer):
    """A catalog with its item and vector counts. Lists pass ``item_count``-annotated catalogs
    (``catalog_list``) and ``context={"vector_counts": catalogs_vector_counts(...)}``, so that the
    counts cost no query per catalog; a single catalog without them is counted on its own."""

    items = serializers.SerializerMethodField()
    vectors = serializers.SerializerMethodField()

    class Meta:
        model = Catalog
        fields = [
            "id",
            "name",
            "filename",
            "id_column",
            "text_column",
            "title_column",
            "rows",
            "items",
            "skipped_empty",
            "skipped_duplicate",
            "vectors",
            "created_at",
        ]

    def get_items(self, catalog) -> int:
        count = getattr(catalog, "item_count", None)
        return catalog.items.count() if count is None else count

    def get_vectors(self, catalog) -> dict[str, int]:
        counts = self.context.get("vector_counts")
        return catalog_vector_counts(catalog=catalog) if counts is None else counts.get(catalog.pk, {})


class JobOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = CatalogJob
        fields = [
            "id",
            "catalog",
            "kind",
            "status",
            "model",
            "params",
            "done",
            "total",
            "progress",
            "result",
            "error",
            "created_at",
            "finished_at",
        ]


def _run_on_catalog(request: Request, catalog_id: int, input_serializer: type[serializers.Serializer], service):
    """``service(catalog=, by=, **input)``: the URL's catalog (404 when there is none), the researcher
    asking, and the request's input validated by ``input_serializer`` (400 when it does not validate)."""
    catalog = get_object_or_404(Catalog, pk=catalog_id)
    data = input_serializer(data=request.data)
    data.is_valid(raise_exception=True)
    return service(catalog=catalog, by=request.user, **data.validated_data)


class CatalogListApi(APIView):
    parser_classes = [MultiPartParser, FormParser]

    class InputSerializer(serializers.Serializer):
        file = serializers.FileField()
        name = serializers.CharField(max_length=100)
        format = serializers.ChoiceField(choices=["csv", "jsonl"], required=False, allow_blank=True)
        id_column = serializers.CharField()
        text_column = serializers.CharField()
        title_column = serializers.CharField(required=False, allow_blank=True, default="")

    @extend_schema(operation_id="catalogs_list", responses={200: CatalogOutputSerializer(many=True)})
    def get(self, request: Request) -> Response:
        catalogs = list(catalog_list())
        counts = catalogs_vector_counts(catalog_ids=[c.pk for c in catalogs])
        return Response(CatalogOutputSerializer(catalogs, many=True, context={"vector_counts": counts}).data)

    @extend_schema(
        request={"multipart/form-data": InputSerializer},
        responses={201: CatalogOutputSerializer, **error_responses(400, 409, 413)},
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        check_upload_size(upload.size)
        catalog = services.catalog_import(
            content=upload.read(),
            filename=upload.name,
            name=data.validated_data["name"],
            id_column=data.validated_data["id_column"],
            text_column=data.validated_data["text_column"],
            title_column=data.validated_data["title_column"],
            fmt=data.validated_data.get("format") or None,
            by=request.user,
        )
        return Response(CatalogOutputSerializer(catalog).data, status=status.HTTP_201_CREATED)


class CatalogDetailApi(APIView):
    @extend_schema(responses={200: CatalogOutputSerializer, **error_responses(404)})
    def get(self, request: Request, catalog_id: int) -> Response:
        return Response(CatalogOutputSerializer(get_object_or_404(Catalog, pk=catalog_id)).data)


class CatalogEmbedApi(APIView):
    parser_classes = [JSONParser, FormParser]

    class InputSerializer(serializers.Serializer):
        model = serializers.CharField(required=False, allow_blank=True, default="")

    @extend_schema(request=InputSerializer, responses={202: JobOutputSerializer, **error_responses(400, 404)})
    def post(self, request: Request, catalog_id: int) -> Response:
        job = _run_on_catalog(request, catalog_id, self.InputSerializer, services.catalog_embed)
        return Response(JobOutputSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class CatalogMineApi(APIView):
    parser_classes = [JSONParser, FormParser]

    class InputSerializer(serializers.Serializer):
        model = serializers.CharField(required=False, allow_blank=True, default="")
        seeds = CountField(required=False, min_value=1, allow_null=True)
        seed_ids = serializers.ListField(child=serializers.CharField(), required=False, allow_empty=True)
        random_seed = SeedField(required=False, default=0)
        k = CountField(required=False, default=1, min_value=1, max_value=100)
        only_rank_k = serializers.BooleanField(required=False, default=False)

        def validate(self, attrs):
            if not attrs.get("seeds") and not attrs.get("seed_ids"):
                raise serializers.ValidationError("Give seeds (a number of random seed items) or seed_ids.")
            return attrs

    class OutputSerializer(serializers.Serializer):
        created = serializers.IntegerField()
        existing = serializers.IntegerField()
        pair_ids = serializers.ListField(child=serializers.IntegerField())
        seeds = serializers.ListField(child=serializers.CharField())
        random_seed = serializers.IntegerField()
        source = serializers.CharField()

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer, **error_responses(400, 404)})
    def post(self, request: Request, catalog_id: int) -> Response:
        result = _run_on_catalog(request, catalog_id, self.InputSerializer, services.catalog_mine_pairs)
        return Response(self.OutputSerializer(result).data, status=status.HTTP_201_CREATED)


class CatalogTrainApi(APIView):
    parser_classes = [JSONParser, FormParser]

    class InputSerializer(serializers.Serializer):
        model = serializers.CharField(required=False, allow_blank=True, default="")
        epochs = CountField(required=False, default=1, min_value=1)
        max_steps = CountField(required=False, min_value=1, allow_null=True, default=None)
        batch_size = CountField(required=False, default=16, min_value=2)
        holdout = serializers.FloatField(required=False, default=0.0, min_value=0.0, max_value=0.99)
        seed = SeedField(required=False, default=0)

    @extend_schema(request=InputSerializer, responses={202: JobOutputSerializer, **error_responses(400, 404)})
    def post(self, request: Request, catalog_id: int) -> Response:
        job = _run_on_catalog(request, catalog_id, self.InputSerializer, services.catalog_train_recobert)
        return Response(JobOutputSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class CatalogJobApi(APIView):
    @extend_schema(responses={200: JobOutputSerializer, **error_responses(404)})
    def get(self, request: Request, job_id: int) -> Response:
        return Response(JobOutputSerializer(get_object_or_404(CatalogJob, pk=job_id)).data)
