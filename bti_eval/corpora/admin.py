from django.contrib import admin

from bti_eval.accounts.admin import ResearcherViewMixin
from bti_eval.corpora.models import Corpus, CorpusJob


@admin.register(Corpus)
class CorpusAdmin(ResearcherViewMixin, admin.ModelAdmin):
    list_display = ["name", "rows", "skipped_empty", "skipped_duplicate", "created_at"]


@admin.register(CorpusJob)
class CorpusJobAdmin(ResearcherViewMixin, admin.ModelAdmin):
    list_display = ["id", "corpus", "kind", "status", "done", "total", "created_at"]
