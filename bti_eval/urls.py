"""URL map. Each app owns its ``urls.py`` (HTML pages) and ``api_urls.py`` (REST API under /api/).

Judge-facing URLs carry only random public ids, never a method or a sequential id.
"""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/", include("bti_eval.pairs.api_urls")),
    path("api/", include("bti_eval.rounds.api_urls")),
    path("api/", include("bti_eval.results.api_urls")),
    path("api/", include("bti_eval.judging.api_urls")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("bti_eval.core.urls")),
    path("", include("bti_eval.pairs.urls")),
    path("", include("bti_eval.rounds.urls")),
    path("", include("bti_eval.results.urls")),
    path("", include("bti_eval.judging.urls")),
]
