from django.urls import path

from bti_eval.core import views

app_name = "core"

urlpatterns = [
    path("", views.home, name="home"),
]
