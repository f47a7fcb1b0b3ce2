"""Admin: read-mostly views of judges, invites, assignments and ratings (writes go through services)."""

from django.contrib import admin

from bti_eval.accounts.admin import ResearcherViewMixin
from bti_eval.judging.models import Assignment, Invite, Judge, Participation, Rating, RatingChange, StudyLink


@admin.register(Judge)
class JudgeAdmin(ResearcherViewMixin, admin.ModelAdmin):
    list_display = ("id", "name", "round", "platform", "participant_id", "created_at", "finished_at")
    list_filter = ("round", "platform")
    search_fields = ("name", "participant_id")
    readonly_fields = (
        "round",
        "user",
        "seed",
        "created_at",
        "platform",
        "participant_id",
        "deadline_at",
        "finished_at",
    )


@admin.register(StudyLink)
class StudyLinkAdmin(ResearcherViewMixin, admin.ModelAdmin):
    list_display = ("id", "round", "platform", "label", "quota", "created_at", "closed_at")
    list_filter = ("platform",)
    readonly_fields = ("round", "platform", "token", "created_by", "created_at")


@admin.register(Participation)
class ParticipationAdmin(ResearcherViewMixin, admin.ModelAdmin):
    list_display = ("judge", "study_link", "study_session", "outcome", "code")
    list_filter = ("outcome", "study_link__round")
    readonly_fields = ("judge", "study_link", "study_session", "study_ref", "submit_to", "outcome", "code")


@admin.register(Invite)
class InviteAdmin(ResearcherViewMixin, admin.ModelAdmin):
    list_display = ("id", "judge", "created_at", "expires_at", "used_at", "revoked_at")
    readonly_fields = ("judge", "token_hash", "created_at", "used_at")


@admin.register(Assignment)
class AssignmentAdmin(ResearcherViewMixin, admin.ModelAdmin):
    list_display = ("id", "judge", "position", "public_id", "explanation", "right_explanation")
    list_filter = ("judge__round",)
    readonly_fields = ("judge", "explanation", "right_explanation", "position", "public_id")


class RatingChangeInline(ResearcherViewMixin, admin.TabularInline):
    model = RatingChange
    extra = 0
    can_delete = False
    readonly_fields = ("score", "choice", "seconds", "comment", "flagged", "changed_at")


@admin.register(Rating)
class RatingAdmin(ResearcherViewMixin, admin.ModelAdmin):
    list_display = ("id", "assignment", "score", "choice", "seconds", "flagged", "updated_at")
    list_filter = ("assignment__judge__round", "flagged")
    readonly_fields = ("assignment", "score", "choice", "seconds", "comment", "flagged", "created_at", "updated_at")
    inlines = [RatingChangeInline]
