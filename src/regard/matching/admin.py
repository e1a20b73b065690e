from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from regard.matching.models import MatchCandidate, MatchModel, MatchRun, MatchSettings


@admin.register(MatchSettings)
class MatchSettingsAdmin(admin.ModelAdmin):
    list_display = ("__str__", "review_threshold", "auto_merge_threshold", "updated_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not MatchSettings.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(MatchModel)
class MatchModelAdmin(admin.ModelAdmin):
    list_display = ("version", "seed", "trained_at", "trained_by")
    readonly_fields = ("version", "parameters", "seed", "trained_at", "trained_by")


@admin.register(MatchRun)
class MatchRunAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "status",
        "created_at",
        "progress",
        "pairs_compared",
        "candidates_new",
        "auto_merged",
    )
    list_filter = ("status",)


@admin.register(MatchCandidate)
class MatchCandidateAdmin(admin.ModelAdmin):
    # Decisions go through the review queue (services), not through admin edits.
    list_display = ("id", "customer_low", "customer_high", "probability", "status", "source", "decided_at")
    list_filter = ("status", "source")
    raw_id_fields = ("customer_low", "customer_high", "merge", "model", "run", "decided_by")
    readonly_fields = ("status", "decided_by", "decided_at", "merge", "explanation")
