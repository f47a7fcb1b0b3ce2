from django.urls import path

from bti_eval.rounds import views

app_name = "rounds"

urlpatterns = [
    path("rounds/", views.round_list_view, name="list"),
    path("rounds/new/", views.round_create_view, name="new"),
    path("rounds/<int:round_id>/", views.round_detail_view, name="detail"),
    path("rounds/<int:round_id>/launch/", views.round_launch_view, name="launch"),
    path("rounds/<int:round_id>/retry-failed/", views.round_retry_failed_view, name="retry-failed"),
    path("rounds/<int:round_id>/drop-failed/", views.round_drop_failed_view, name="drop-failed"),
    path("rounds/<int:round_id>/open/", views.round_open_view, name="open"),
    path("rounds/<int:round_id>/close/", views.round_close_view, name="close"),
    path("rounds/<int:round_id>/delete/", views.round_delete_view, name="delete"),
    path("rounds/<int:round_id>/archive/", views.round_archive_view, name="archive"),
    path("rounds/<int:round_id>/restore/", views.round_restore_view, name="restore"),
    path("rounds/<int:round_id>/pairs.jsonl", views.round_pairs_download_view, name="pairs-download"),
    path("rounds/<int:round_id>/imported/", views.round_import_view, name="import"),
    path(
        "rounds/<int:round_id>/imported/<slug:name>/remove/", views.round_imported_remove_view, name="imported-remove"
    ),
]
