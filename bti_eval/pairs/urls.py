from django.urls import path

from bti_eval.pairs import views

app_name = "pairs"

urlpatterns = [
    path("pairs/", views.pair_list_view, name="list"),
    path("pairs/delete/", views.pair_delete_view, name="delete"),
    path("pairs/import/", views.pair_import_view, name="import"),
    path("pairs/import/preview/", views.pair_import_preview_view, name="import-preview"),
]
