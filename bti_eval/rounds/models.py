from django.conf import settings
from django.db import models

from explainers import registry
from explainers.modeldir import DTYPES, POOLING_MODES
from explainers.render import DEFAULT_PAIRS_SHOWN

# Rows of matched words a judge sees at most per explanation; the default (3) is the middle of the
# paper's Fig. 3 (2-4 rows), see explainers.render. A light import: no torch.
MAX_PAIRS_SHOWN = 50


def default_methods() -> list[str]:
    """The methods a new round explains unless told otherwise: ``explainers.registry.default_methods()``
    (the seven of the paper's Table 1). A function, so that migrations keep referring to it."""
    return registry.default_methods()


class EvaluationRound(models.Model):
    """One blind rating campaign: pairs × methods explained by one model, rated by judges.

    Assignment design: ``all`` (every judge rates every explanation, the paper's design),
    ``k-per-item`` (``judges_per_explanation`` judges per explanation, balanced loads) or
    ``pairwise`` (judges choose the better of two methods' explanations of a pair, shown side by
    side; ``judges_per_explanation`` is then the judges per (pair, method pair), None: every judge
    gets every one; see ``judging.pairwise``). The ``control_items`` degraded explanations are
    added when the round opens and go to every judge.
    A closed round can be archived (``archived_at``) and restored; only a draft can be deleted.

    ``dtype`` is the precision of the encoder's forward pass (fp32, or bf16 / fp16 autocast) and
    ``pooling`` how a paragraph's vector F is pooled ("" = the model's own: a sentence-transformers
    dir's Pooling module, else Eq. 1's mean over content tokens); both go to ``load_encoder``.

    ``top_k`` is TopWords' number of MeanShift clusters of pair scores kept (the paper's top_k = 2),
    not a number of pairs. ``pairs_shown`` is the row budget of the judges' matched-words table,
    applied the same way to every method when the explanation is shown (same-word pairs merged
    first, best rows first); the stored explanation keeps the method's full selection.
    """

    class Status(models.TextChoices):
        DRAFT = "draft"
        COMPUTING = "computing"
        RATING = "rating"
        CLOSED = "closed"

    class Design(models.TextChoices):
        ALL = "all", "every judge rates everything"
        K_PER_ITEM = "k-per-item", "k judges per explanation"
        PAIRWISE = "pairwise", "pairwise preference: two methods side by side"

    name = models.CharField(max_length=200)
    model = models.CharField(max_length=500, blank=True, default="")  # "" = the packaged default
    dtype = models.CharField(max_length=8, choices=[(d, d) for d in DTYPES], default="fp32")
    pooling = models.CharField(  # "" = the model's own
        max_length=16, blank=True, default="", choices=[("", "the model's own"), *((m, m) for m in POOLING_MODES)]
    )
    methods = models.JSONField(default=default_methods)
    top_k = models.PositiveSmallIntegerField(default=2)  # MeanShift clusters kept (TopWords)
    pairs_shown = models.PositiveSmallIntegerField(default=DEFAULT_PAIRS_SHOWN)  # judges' table rows at most
    seed = models.BigIntegerField(default=0)
    pairs = models.ManyToManyField("pairs.ParagraphPair", related_name="rounds", blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="rounds"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    launched_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    design = models.CharField(max_length=16, choices=Design.choices, default=Design.ALL)
    # k: judges per explanation (k-per-item) or per (pair, method pair) (pairwise; None: every judge)
    judges_per_explanation = models.PositiveSmallIntegerField(null=True, blank=True)
    control_items = models.PositiveIntegerField(default=0)
    too_fast_seconds = models.FloatField(null=True, blank=True)  # None: settings.BTI_TOO_FAST_SECONDS
    auto_metrics = models.BooleanField(default=False)  # run evaluate_auto once the explanations are done
    # A closed round put away: hidden from the round lists, every row kept, restorable (None: not archived).
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name


class Explanation(models.Model):
    """The explainers' JSON for one (round, pair, method); a chunk task fills ``payload``."""

    class Status(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    round = models.ForeignKey(EvaluationRound, on_delete=models.CASCADE, related_name="explanations")
    pair = models.ForeignKey("pairs.ParagraphPair", on_delete=models.PROTECT, related_name="explanations")
    method = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    payload = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    compute_seconds = models.FloatField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The worker computing a RUNNING row: "<celery node name> <worker instance>" (core.jobs.worker_identity),
    # so that a worker starting later can tell a chunk lost with its worker from one still running.
    worker = models.CharField(max_length=255, blank=True, default="", editable=False)
    # A control item: a degraded copy of a real explanation of ``pair`` (method judging.controls.CONTROL_METHOD). It
    # goes blind into the judges' assignments and never counts toward a method's MOS.
    is_control = models.BooleanField(default=False)
    # The blind HTML judges see (the same for every judge), stored the first time a judge opens it,
    # with the version of the renderer that made it (judging.blind.JUDGE_HTML_VERSION; 0:
    # not rendered yet). A DONE explanation never changes, so neither does its HTML.
    judge_html = models.TextField(blank=True, default="", editable=False)
    judge_html_version = models.BigIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["round", "pair", "method"], name="explanation_unique_per_round_pair_method")
        ]
        indexes = [models.Index(fields=["round", "status"])]

    def __str__(self) -> str:
        return f"{self.round_id}/{self.pair_id}/{self.method}"


class ImportedMethod(models.Model):
    """A method of a round whose explanations were computed elsewhere and uploaded as a file
    (``explainers.imported``), with its provenance: the file's name, SHA-256, size and number of
    explanations (``lines``), how many of them gave their own similarity, who uploaded it and when.

    ``name`` is one of the round's ``methods``: from launch on it is rendered, blinded, shuffled,
    analysed and exported like any computed method. The explanations as uploaded are kept in
    :class:`ImportedExplanation`; launching copies them into the round's :class:`Explanation` rows,
    and a worker completes them from the round's model (similarity when missing, truncation cut).
    """

    round = models.ForeignKey(EvaluationRound, on_delete=models.CASCADE, related_name="imported_methods")
    name = models.CharField(max_length=64)
    file_name = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64)
    size_bytes = models.PositiveBigIntegerField()
    lines = models.PositiveIntegerField()  # explanations in the file (its non-blank lines)
    similarities_given = models.PositiveIntegerField(default=0)  # lines with their own similarity
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)

    # What the API and the JSON export record of an upload beside its method's name, in their order
    # (``uploaded_by`` as a username).
    PROVENANCE = ["file_name", "sha256", "size_bytes", "lines", "similarities_given", "uploaded_by", "uploaded_at"]

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["round", "name"], name="imported_method_unique_per_round")]

    def __str__(self) -> str:
        return f"{self.round_id}/{self.name} ({self.file_name})"


class ImportedExplanation(models.Model):
    """One line of an imported method's file: the explanation of ``pair`` as uploaded (the
    contract's dict; ``similarity`` only when the line gave it) and the file's ``line`` number.
    Deleting a pair (which takes it out of a draft round) deletes its imported explanations, so an
    import keeps covering exactly the round's pairs."""

    method = models.ForeignKey(ImportedMethod, on_delete=models.CASCADE, related_name="explanations")
    pair = models.ForeignKey("pairs.ParagraphPair", on_delete=models.CASCADE, related_name="+")
    line = models.PositiveIntegerField()
    payload = models.JSONField()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["method", "pair"], name="imported_explanation_unique_per_method_pair")
        ]

    def __str__(self) -> str:
        return f"{self.method_id}/{self.pair_id}"
