"""Judging pages: the researcher's judges page, the invite link, and the judge's rating pages.

Judge URLs carry only the invite token or an assignment's random public id.
"""

from django.urls import path

from bti_eval.judging import views

app_name = "judging"

urlpatterns = [
    path("rounds/<int:round_id>/judges/", views.round_judges, name="round-judges"),
    path("rounds/<int:round_id>/judges/<int:judge_id>/revoke/", views.judge_revoke, name="judge-revoke"),
    path("j/<str:token>/", views.invite_accept, name="invite-accept"),
    path("rate/", views.rate_start, name="rate"),
    path("rate/rubric/", views.rate_rubric, name="rate-rubric"),
    path("rate/next/", views.rate_next, name="rate-next"),
    path("rate/done/", views.rate_done, name="rate-done"),
    path("rate/<str:public_id>/", views.rate_item, name="rate-item"),
]
