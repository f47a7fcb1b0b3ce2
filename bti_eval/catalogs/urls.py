from django.urls import path

from bti_eval.catalogs import views

app_name = "catalogs"

urlpatterns = [
    path("catalogs/", views.catalog_list_view, name="list"),
    path("catalogs/<int:catalog_id>/", views.catalog_detail_view, name="detail"),
]
