from django.contrib import admin

from bti_eval.accounts.admin import ResearcherViewMixin
from bti_eval.catalogs.models import Catalog, CatalogJob


@admin.register(Catalog)
class CatalogAdmin(ResearcherViewMixin, admin.ModelAdmin):
    list_display = ["name", "rows", "skipped_empty", "skipped_duplicate", "created_at"]


@admin.register(CatalogJob)
class CatalogJobAdmin(ResearcherViewMixin, admin.ModelAdmin):
    list_display = ["id", "catalog", "kind", "status", "done", "total", "created_at"]
