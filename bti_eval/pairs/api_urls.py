from django.urls import path

from bti_eval.pairs import apis

urlpatterns = [
    path("pairs/", apis.PairListApi.as_view(), name="api-pairs"),
    path("pairs/import/", apis.PairImportApi.as_view(), name="api-pairs-import"),
    path("pairs/delete/", apis.PairDeleteApi.as_view(), name="api-pairs-delete"),
    path("pairs/<int:pair_id>/", apis.PairDetailApi.as_view(), name="api-pair"),
]
