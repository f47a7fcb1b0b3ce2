from django.db import models
from django.db.models import Q


class AutoEvaluation(models.Model):
    """One automatic-metrics job of a round (``evaluate_auto``), computed in chunks; a round keeps its
    past jobs, and its newest DONE job is the one its results show.

    One job per round at a time: at most one PENDING or RUNNING job per round (a partial unique
    constraint, ``auto_evaluation_one_active_per_round``); asking again while one is active returns
    that job (``bti_eval.results.services.auto_evaluation_request``).

    ``plan`` lists the chunks, ``[metric, method or None]`` (plausibility is one chunk for every
    method; faithfulness and sanity one chunk per method); ``chunks_done`` of them are computed, in
    order. ``results``: ``{"methods": {method: {"plausibility": {...}, "faithfulness": {...},
    "sanity": {...}}}, "notes": {...}, "seconds": float}``, filled chunk by chunk; see
    ``bti_eval.results.auto_metrics``.
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    ACTIVE = (Status.PENDING, Status.RUNNING)

    round = models.ForeignKey("rounds.EvaluationRound", on_delete=models.CASCADE, related_name="auto_evaluations")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    metrics = models.JSONField(default=list)  # the metrics asked for
    options = models.JSONField(default=dict)  # e.g. {"sanity_pairs": 10, "ks": [1, 2, 3, 4, 5]}
    plan = models.JSONField(default=list)  # [[metric, method or None], ...]: the chunks, in order
    chunks_done = models.PositiveIntegerField(default=0)
    worker = models.CharField(max_length=255, blank=True, default="")  # the worker of the running chunk
    results = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    requested_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["round"],
                condition=Q(status__in=["pending", "running"]),
                name="auto_evaluation_one_active_per_round",
            )
        ]

    def __str__(self) -> str:
        return f"automatic metrics of round {self.round_id} ({self.status})"

    @property
    def chunks_total(self) -> int:
        return len(self.plan or [])
