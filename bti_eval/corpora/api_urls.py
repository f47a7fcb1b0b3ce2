from django.urls import path

from bti_eval.corpora import apis

urlpatterns = [
    path("corpora/", apis.CorpusListApi.as_view(), name="api-corpora"),
    path("corpora/<int:corpus_id>/", apis.CorpusDetailApi.as_view(), name="api-corpus"),
    path("corpora/<int:corpus_id>/embed/", apis.CorpusEmbedApi.as_view(), name="api-corpus-embed"),
    path("corpora/<int:corpus_id>/mine/", apis.CorpusMineApi.as_view(), name="api-corpus-mine"),
    path("corpora/<int:corpus_id>/train-recobert/", apis.CorpusTrainApi.as_view(), name="api-corpus-train"),
    path("corpus-jobs/<int:job_id>/", apis.CorpusJobApi.as_view(), name="api-corpus-job"),
]
