"""Judging API under /api/: researchers' judge management and study links; the judge's own assignments and ratings."""

from django.urls import path

from bti_eval.judging import apis, study_apis

urlpatterns = [
    path("rounds/<int:round_id>/judges/", apis.RoundJudgesApi.as_view(), name="api-round-judges"),
    path("rounds/<int:round_id>/judges/bulk/", apis.RoundJudgesBulkApi.as_view(), name="api-round-judges-bulk"),
    path("judges/<int:judge_id>/revoke/", apis.JudgeRevokeApi.as_view(), name="api-judge-revoke"),
    path("judges/<int:judge_id>/reissue/", apis.JudgeReissueApi.as_view(), name="api-judge-reissue"),
    path("rounds/<int:round_id>/study-links/", study_apis.RoundStudyLinksApi.as_view(), name="api-round-study-links"),
    path("study-links/<int:link_id>/close/", study_apis.StudyLinkCloseApi.as_view(), name="api-study-link-close"),
    path("judge/assignments/", apis.JudgeAssignmentsApi.as_view(), name="api-judge-assignments"),
    path("judge/assignments/<str:public_id>/", apis.JudgeAssignmentApi.as_view(), name="api-judge-assignment"),
    path("judge/assignments/<str:public_id>/rating/", apis.JudgeRatingApi.as_view(), name="api-judge-rating"),
]
