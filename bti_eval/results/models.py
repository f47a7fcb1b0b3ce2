from django.db import models


class AutoEvaluation(models.Model):
    """Automatic metrics of a round's methods (``evaluate_auto``): one row per round, rerun = overwrite.

    ``results`` (when DONE): ``{"methods": {method: {"plausibility": {...}, "faithfulness": {...},
    "sanity": {...}}}, "metrics": [...], "model": str, "options": {...}, "seconds": float}``;
    see ``bti_eval.results.auto_metrics``.
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    round = models.OneToOneField("rounds.EvaluationRound", on_delete=models.CASCADE, related_name="auto_evaluation")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    metrics = models.JSONField(default=list)  # the metrics asked for
    options = models.JSONField(default=dict)  # e.g. {"sanity_pairs": 10, "ks": [1, 2, 3, 4, 5]}
    results = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    requested_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"automatic metrics of round {self.round_id} ({self.status})"
