from django.urls import path

from bti_eval.catalogs import apis

urlpatterns = [
    path("catalogs/", apis.CatalogListApi.as_view(), name="api-catalogs"),
    path("catalogs/<int:catalog_id>/", apis.CatalogDetailApi.as_view(), name="api-catalog"),
    path("catalogs/<int:catalog_id>/embed/", apis.CatalogEmbedApi.as_view(), name="api-catalog-embed"),
    path("catalogs/<int:catalog_id>/mine/", apis.CatalogMineApi.as_view(), name="api-catalog-mine"),
    path("catalogs/<int:catalog_id>/train-recobert/", apis.CatalogTrainApi.as_view(), name="api-catalog-train"),
    path("catalog-jobs/<int:job_id>/", apis.CatalogJobApi.as_view(), name="api-catalog-job"),
]
