from django.contrib import admin

from bti_eval.accounts.admin import ResearcherViewMixin
from bti_eval.pairs.models import ParagraphPair


@admin.register(ParagraphPair)
class ParagraphPairAdmin(ResearcherViewMixin, admin.ModelAdmin):
    list_display = ("id", "source", "external_id", "title_a", "title_b", "created_at")
    list_filter = ("source",)
    search_fields = ("external_id", "title_a", "title_b", "text_a", "text_b")
    readonly_fields = ("created_by", "created_at")
