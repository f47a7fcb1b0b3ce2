"""Corpora API (researchers only): import a catalog, embed it, mine pairs, train RecoBERT, watch jobs."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bti_eval.core.fields import CountField, SeedField
from bti_eval.core.parsers import JSONParser
from bti_eval.core.serializers import error_responses
from bti_eval.corpora import services
from bti_eval.corpora.models import Corpus, CorpusJob
from bti_eval.corpora.selectors import corpora_vector_counts, corpus_list, corpus_vector_counts
from bti_eval.pairs.services import check_upload_size


class CorpusOutputSerializer(serializers.ModelSerializer):
    """A corpus with its item and vector counts. Lists pass ``item_count``-annotated corpora
    (``corpus_list``) and ``context={"vector_counts": corpora_vector_counts(...)}``, so that the
    counts cost no query per corpus; a single corpus without them is counted on its own."""

    items = serializers.SerializerMethodField()
    vectors = serializers.SerializerMethodField()

    class Meta:
        model = Corpus
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

    def get_items(self, corpus) -> int:
        count = getattr(corpus, "item_count", None)
        return corpus.items.count() if count is None else count

    def get_vectors(self, corpus) -> dict[str, int]:
        counts = self.context.get("vector_counts")
        return corpus_vector_counts(corpus=corpus) if counts is None else counts.get(corpus.pk, {})


class JobOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = CorpusJob
        fields = [
            "id",
            "corpus",
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


class CorpusListApi(APIView):
    parser_classes = [MultiPartParser, FormParser]

    class InputSerializer(serializers.Serializer):
        file = serializers.FileField()
        name = serializers.CharField(max_length=100)
        format = serializers.ChoiceField(choices=["csv", "jsonl"], required=False, allow_blank=True)
        id_column = serializers.CharField()
        text_column = serializers.CharField()
        title_column = serializers.CharField(required=False, allow_blank=True, default="")

    @extend_schema(operation_id="corpora_list", responses={200: CorpusOutputSerializer(many=True)})
    def get(self, request: Request) -> Response:
        corpora = list(corpus_list())
        counts = corpora_vector_counts(corpus_ids=[c.pk for c in corpora])
        return Response(CorpusOutputSerializer(corpora, many=True, context={"vector_counts": counts}).data)

    @extend_schema(
        request={"multipart/form-data": InputSerializer},
        responses={201: CorpusOutputSerializer, **error_responses(400, 409, 413)},
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        check_upload_size(upload.size)
        corpus = services.corpus_import(
            content=upload.read(),
            filename=upload.name,
            name=data.validated_data["name"],
            id_column=data.validated_data["id_column"],
            text_column=data.validated_data["text_column"],
            title_column=data.validated_data["title_column"],
            fmt=data.validated_data.get("format") or None,
            by=request.user,
        )
        return Response(CorpusOutputSerializer(corpus).data, status=status.HTTP_201_CREATED)


class CorpusDetailApi(APIView):
    @extend_schema(responses={200: CorpusOutputSerializer, **error_responses(404)})
    def get(self, request: Request, corpus_id: int) -> Response:
        return Response(CorpusOutputSerializer(get_object_or_404(Corpus, pk=corpus_id)).data)


class CorpusEmbedApi(APIView):
    parser_classes = [JSONParser, FormParser]

    class InputSerializer(serializers.Serializer):
        model = serializers.CharField(required=False, allow_blank=True, default="")

    @extend_schema(request=InputSerializer, responses={202: JobOutputSerializer, **error_responses(400, 404)})
    def post(self, request: Request, corpus_id: int) -> Response:
        corpus = get_object_or_404(Corpus, pk=corpus_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        job = services.corpus_embed(corpus=corpus, model=data.validated_data["model"], by=request.user)
        return Response(JobOutputSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class CorpusMineApi(APIView):
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
    def post(self, request: Request, corpus_id: int) -> Response:
        corpus = get_object_or_404(Corpus, pk=corpus_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = services.corpus_mine_pairs(corpus=corpus, by=request.user, **data.validated_data)
        return Response(self.OutputSerializer(result).data, status=status.HTTP_201_CREATED)


class CorpusTrainApi(APIView):
    parser_classes = [JSONParser, FormParser]

    class InputSerializer(serializers.Serializer):
        model = serializers.CharField(required=False, allow_blank=True, default="")
        epochs = CountField(required=False, default=1, min_value=1)
        max_steps = CountField(required=False, min_value=1, allow_null=True, default=None)
        batch_size = CountField(required=False, default=16, min_value=2)
        holdout = serializers.FloatField(required=False, default=0.0, min_value=0.0, max_value=0.99)
        seed = SeedField(required=False, default=0)

    @extend_schema(request=InputSerializer, responses={202: JobOutputSerializer, **error_responses(400, 404)})
    def post(self, request: Request, corpus_id: int) -> Response:
        corpus = get_object_or_404(Corpus, pk=corpus_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        job = services.corpus_train_recobert(corpus=corpus, by=request.user, **data.validated_data)
        return Response(JobOutputSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class CorpusJobApi(APIView):
    @extend_schema(responses={200: JobOutputSerializer, **error_responses(404)})
    def get(self, request: Request, job_id: int) -> Response:
        return Response(JobOutputSerializer(get_object_or_404(CorpusJob, pk=job_id)).data)
