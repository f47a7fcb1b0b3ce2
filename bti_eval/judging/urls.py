"""Judging pages: the researcher's judges page, the invite link, and the judge's rating pages.

Judge URLs carry only the invite token, a study link's token or an assignment's random public id.
"""

from django.urls import path

from bti_eval.judging import invite_views, preview_views, study_views, views

app_name = "judging"

urlpatterns = [
    path("rounds/<int:round_id>/judges/", invite_views.round_judges, name="round-judges"),
    path("rounds/<int:round_id>/judges/bulk/", invite_views.round_judges_bulk, name="round-judges-bulk"),
    path("rounds/<int:round_id>/judges/links.csv", invite_views.round_judges_links_csv, name="round-judges-links-csv"),
    path(
        "rounds/<int:round_id>/judges/links/dismiss/",
        invite_views.round_judges_links_dismiss,
        name="round-judges-links-dismiss",
    ),
    path("rounds/<int:round_id>/judges/<int:judge_id>/reissue/", invite_views.judge_reissue, name="judge-reissue"),
    path("rounds/<int:round_id>/judges/<int:judge_id>/revoke/", invite_views.judge_revoke, name="judge-revoke"),
    path("rounds/<int:round_id>/judges/study-links/", study_views.round_study_links, name="round-study-links"),
    path(
        "rounds/<int:round_id>/judges/study-links/<int:link_id>/close/",
        study_views.study_link_close,
        name="study-link-close",
    ),
    path(
        "rounds/<int:round_id>/judges/participants.csv",
        study_views.round_participants_csv,
        name="round-participants-csv",
    ),
    path("rounds/<int:round_id>/preview/", preview_views.round_preview, name="round-preview"),
    path(
        "rounds/<int:round_id>/preview/<int:explanation_id>/",
        preview_views.explanation_preview,
        name="explanation-preview",
    ),
    path("j/<str:token>/", views.invite_accept, name="invite-accept"),
    path("s/<str:token>/", study_views.study_arrive, name="study-arrive"),
    path("rate/", views.rate_start, name="rate"),
    path("rate/rubric/", views.rate_rubric, name="rate-rubric"),
    path("rate/next/", views.rate_next, name="rate-next"),
    path("rate/done/", views.rate_done, name="rate-done"),
    path("rate/<str:public_id>/", views.rate_item, name="rate-item"),
]
