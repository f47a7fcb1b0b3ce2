from django.urls import path

from bti_eval.accounts import apis

urlpatterns = [
    path("auth/token/", apis.ApiTokenObtainApi.as_view(), name="api-auth-token"),
]
