"""URL map. Each app owns its ``urls.py`` (HTML pages) and ``api_urls.py`` (REST API under /api/).

Judge-facing URLs carry only random public ids, never a method or a sequential id.
"""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from bti_eval.core.views import login_rate_limited

urlpatterns = [
    path("admin/login/", login_rate_limited(admin.site.login), name="admin-login"),  # the admin's own log-in, limited
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # Swagger UI from drf-spectacular-sidecar's static files (no CDN), its init script a file of its
    # own (/api/docs/?script=), so that the page needs no inline script.
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api-schema", template_name="api/swagger_ui.html"),
        name="api-docs",
    ),
    path("api/", include("bti_eval.accounts.api_urls")),
    # Judging first in each group: the resolver tries patterns in order, and judges' requests are
    # most of the traffic (their paths are their own, so the order changes no match).
    path("api/", include("bti_eval.judging.api_urls")),
    path("api/", include("bti_eval.pairs.api_urls")),
    path("api/", include("bti_eval.rounds.api_urls")),
    path("api/", include("bti_eval.results.api_urls")),
    path("api/", include("bti_eval.catalogs.api_urls")),
    # Log in (rate-limited), log out and change a password. No password reset by e-mail: no mail is
    # configured, and judges have no password at all (their invite link signs them in).
    path("accounts/login/", login_rate_limited(auth_views.LoginView.as_view()), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password_change/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/password_change/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("", include("bti_eval.judging.urls")),
    path("", include("bti_eval.accounts.urls")),
    path("", include("bti_eval.core.urls")),
    path("", include("bti_eval.pairs.urls")),
    path("", include("bti_eval.rounds.urls")),
    path("", include("bti_eval.results.urls")),
    path("", include("bti_eval.catalogs.urls")),
]

# Friendly pages (JSON under /api/), never a traceback; a lost database connection is a 503.
handler400 = "bti_eval.core.views.bad_request"
handler403 = "bti_eval.core.views.permission_denied"
handler404 = "bti_eval.core.views.page_not_found"
handler500 = "bti_eval.core.views.server_error"
