from django.urls import path

from bti_eval.results import views

app_name = "results"

urlpatterns = [
    path("rounds/<int:round_id>/results/", views.round_results_view, name="round"),
    path("rounds/<int:round_id>/results/auto-metrics/", views.round_auto_metrics_view, name="auto-metrics"),
    path("rounds/<int:round_id>/results/plan/", views.round_plan_view, name="plan"),
]
