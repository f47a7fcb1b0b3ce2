from django.urls import path

from bti_eval.rounds import apis

urlpatterns = [
    path("rounds/", apis.RoundListCreateApi.as_view(), name="api-rounds"),
    path("rounds/<int:round_id>/", apis.RoundDetailApi.as_view(), name="api-round"),
    path("rounds/<int:round_id>/launch/", apis.RoundLaunchApi.as_view(), name="api-round-launch"),
    path("rounds/<int:round_id>/progress/", apis.RoundProgressApi.as_view(), name="api-round-progress"),
    path("rounds/<int:round_id>/retry-failed/", apis.RoundRetryFailedApi.as_view(), name="api-round-retry-failed"),
    path("rounds/<int:round_id>/drop-failed/", apis.RoundDropFailedApi.as_view(), name="api-round-drop-failed"),
    path("rounds/<int:round_id>/open/", apis.RoundOpenApi.as_view(), name="api-round-open"),
    path("rounds/<int:round_id>/close/", apis.RoundCloseApi.as_view(), name="api-round-close"),
    path("rounds/<int:round_id>/archive/", apis.RoundArchiveApi.as_view(), name="api-round-archive"),
    path("rounds/<int:round_id>/restore/", apis.RoundRestoreApi.as_view(), name="api-round-restore"),
    path(
        "rounds/<int:round_id>/imported-methods/",
        apis.RoundImportedMethodsApi.as_view(),
        name="api-round-imported-methods",
    ),
    path(
        "rounds/<int:round_id>/imported-methods/<slug:name>/",
        apis.RoundImportedMethodApi.as_view(),
        name="api-round-imported-method",
    ),
]
