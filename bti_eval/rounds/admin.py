from django.contrib import admin

from bti_eval.accounts.admin import ResearcherViewMixin
from bti_eval.rounds.models import EvaluationRound, Explanation


@admin.register(EvaluationRound)
class EvaluationRoundAdmin(ResearcherViewMixin, admin.ModelAdmin):
    list_display = ("id", "name", "status", "model", "top_k", "created_by", "created_at")
    list_filter = ("status",)
    search_fields = ("name",)
    readonly_fields = ("created_at", "launched_at", "opened_at", "closed_at")
    filter_horizontal = ("pairs",)


@admin.register(Explanation)
class ExplanationAdmin(ResearcherViewMixin, admin.ModelAdmin):
    list_display = ("id", "round", "pair", "method", "status", "attempts", "compute_seconds")
    list_filter = ("status", "method")
    search_fields = ("pair__external_id", "error")
    raw_id_fields = ("round", "pair")
    readonly_fields = ("started_at", "finished_at")
