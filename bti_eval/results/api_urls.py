from django.urls import path

from bti_eval.results import apis

urlpatterns = [
    path("rounds/<int:round_id>/results/", apis.RoundResultsApi.as_view(), name="api-round-results"),
    path("rounds/<int:round_id>/export/", apis.RoundExportApi.as_view(), name="api-round-export"),
    path("rounds/<int:round_id>/auto-metrics/", apis.RoundAutoMetricsApi.as_view(), name="api-round-auto-metrics"),
]
