"""Pairs API: import a file (multipart), list pairs, delete pairs or a source."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bti_eval.core.pagination import LimitOffsetPagination
from bti_eval.core.serializers import error_responses
from bti_eval.pairs import parsing
from bti_eval.pairs.selectors import pair_list
from bti_eval.pairs.services import check_upload_size, pairs_delete, pairs_import

MAX_PAIR_ID = 2**63 - 1  # the database's bigint
MAX_DELETED_IDS = 10_000


def upload_input(request: Request, serializer_class: type[serializers.Serializer]) -> dict:
    """The validated input of a file upload (multipart, the file in ``file``), the file's size checked
    first: a file over the limit is a 413 before anything reads it into memory."""
    upload = request.FILES.get("file")
    if upload is not None:
        check_upload_size(upload.size)
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class ImportWarningSerializer(serializers.Serializer):
    code = serializers.ChoiceField(choices=["identical", "column-twice", "too-long"])
    message = serializers.CharField()
    count = serializers.IntegerField(help_text="Pairs, fields or paragraphs concerned (the message says which).")
    rows = serializers.ListField(child=serializers.IntegerField(), help_text="Lines of the first pairs concerned.")
    row_count = serializers.IntegerField(help_text="Lines (pairs) concerned in all.")


class PairImportApi(APIView):
    parser_classes = [MultiPartParser, FormParser]

    class InputSerializer(serializers.Serializer):
        file = serializers.FileField()
        source = serializers.CharField(max_length=200)
        format = serializers.ChoiceField(choices=parsing.FORMATS, required=False, allow_blank=True)
        text_a = serializers.CharField(required=False, allow_blank=True, help_text="Column of paragraph A.")
        text_b = serializers.CharField(required=False, allow_blank=True, help_text="Column of paragraph B.")
        external_id = serializers.CharField(required=False, allow_blank=True)
        title_a = serializers.CharField(required=False, allow_blank=True)
        title_b = serializers.CharField(required=False, allow_blank=True)
        dry_run = serializers.BooleanField(default=False)

    class RowErrorSerializer(serializers.Serializer):
        row = serializers.IntegerField()
        column = serializers.CharField()
        message = serializers.CharField()

    class OutputSerializer(serializers.Serializer):
        format = serializers.CharField()
        columns = serializers.ListField(child=serializers.CharField())
        mapping = serializers.DictField(child=serializers.CharField(allow_null=True))
        rows = serializers.IntegerField()
        preview = serializers.ListField(child=serializers.DictField())
        created = serializers.IntegerField()
        dry_run = serializers.BooleanField()
        valid = serializers.BooleanField()
        errors = serializers.SerializerMethodField()
        warnings = ImportWarningSerializer(many=True, help_text="Worth a look; they never block the import.")

        def get_errors(self, result) -> list[dict]:
            return PairImportApi.RowErrorSerializer(result.errors_as_dicts(), many=True).data

    @extend_schema(
        request={"multipart/form-data": InputSerializer},
        responses={201: OutputSerializer, 200: OutputSerializer, **error_responses(400, 409, 413)},
        summary="Import pairs from a CSV or JSONL file (atomic; dry_run previews)",
    )
    def post(self, request: Request) -> Response:
        data = upload_input(request, self.InputSerializer)
        # Only the mapping fields the client sent; "" leaves an optional field unmapped.
        mapping = {name: data[name] or None for name in parsing.FIELDS if name in data}
        result = pairs_import(
            content=data["file"].read(),
            filename=data["file"].name,
            fmt=data.get("format") or None,
            mapping=mapping,
            source=data["source"],
            by=request.user,
            dry_run=data["dry_run"],
        )
        code = status.HTTP_200_OK if result.dry_run else status.HTTP_201_CREATED
        return Response(self.OutputSerializer(result).data, status=code)


class PairListApi(APIView):
    pagination_class = LimitOffsetPagination

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        source = serializers.CharField()
        external_id = serializers.CharField()
        title_a = serializers.CharField()
        title_b = serializers.CharField()
        text_a = serializers.CharField()
        text_b = serializers.CharField()
        created_at = serializers.DateTimeField()

    @extend_schema(
        parameters=[OpenApiParameter("source", str, description="Only the pairs of this source.")],
        responses=OutputSerializer(many=True),
        summary="List pairs (paginated with limit/offset)",
    )
    def get(self, request: Request) -> Response:
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(pair_list(source=request.query_params.get("source")), request, view=self)
        return paginator.get_paginated_response(self.OutputSerializer(page, many=True).data)


class PairsDeletedSerializer(serializers.Serializer):
    deleted = serializers.IntegerField(help_text="Pairs deleted.")
    drafts = serializers.ListField(
        child=serializers.CharField(), help_text="Draft rounds the pairs were taken out of, by name."
    )


class PairDeleteApi(APIView):
    class InputSerializer(serializers.Serializer):
        pairs = serializers.ListField(
            child=serializers.IntegerField(min_value=1, max_value=MAX_PAIR_ID),
            required=False,
            min_length=1,
            max_length=MAX_DELETED_IDS,
            help_text="Pair ids to delete (or give source).",
        )
        source = serializers.CharField(
            required=False, allow_blank=True, max_length=200, help_text="Delete every pair of this source."
        )

        def validate(self, data):
            if ("pairs" in data) == ("source" in data):
                raise serializers.ValidationError("Give exactly one of: pairs (ids), source.")
            return data

    @extend_schema(
        request=InputSerializer,
        responses={200: PairsDeletedSerializer, **error_responses(400, 404, 409)},
        summary="Delete pairs, or a whole source, that no launched round uses (409 names the rounds)",
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        result = pairs_delete(pair_ids=data.get("pairs"), source=data.get("source"))
        return Response(PairsDeletedSerializer(result).data)


class PairDetailApi(APIView):
    @extend_schema(
        request=None,
        responses={200: PairsDeletedSerializer, **error_responses(404, 409)},
        summary="Delete one pair that no launched round uses (a draft round loses it)",
    )
    def delete(self, request: Request, pair_id: int) -> Response:
        if pair_id > MAX_PAIR_ID:
            raise NotFound()
        return Response(PairsDeletedSerializer(pairs_delete(pair_ids=[pair_id])).data)
