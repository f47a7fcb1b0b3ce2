from django.contrib import admin

from bti_eval.accounts.models import ApiToken
from bti_eval.core.permissions import is_researcher


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Superusers only (the default permissions): a token's user, name and prefix; never a key."""

    list_display = ("id", "user", "name", "prefix", "created_at", "last_used_at")
    readonly_fields = ("user", "prefix", "key_hash", "created_at", "last_used_at")


class ResearcherViewMixin:
    """ModelAdmin/InlineModelAdmin mixin: every researcher (a staff user) may view the platform's rows
    in the admin, read-only. Without it the admin greets a researcher who is not a superuser with
    "You don't have permission to view or edit anything". Changing, adding and deleting stay with
    the model permissions (superusers): the platform's writes go through its services, which keep
    ratings atomic and judges blind, and the researcher pages offer them."""

    def has_view_permission(self, request, obj=None) -> bool:
        return is_researcher(request.user) or super().has_view_permission(request, obj)

    def has_module_permission(self, request) -> bool:
        return is_researcher(request.user) or super().has_module_permission(request)
