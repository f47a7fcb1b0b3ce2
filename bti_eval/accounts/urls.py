from django.urls import path

from bti_eval.accounts import views

app_name = "accounts"

urlpatterns = [
    path("accounts/tokens/", views.api_tokens, name="tokens"),
    path("accounts/tokens/<int:token_id>/revoke/", views.api_token_revoke, name="token-revoke"),
    path("accounts/tokens/legacy/revoke/", views.legacy_token_revoke, name="legacy-token-revoke"),
]
