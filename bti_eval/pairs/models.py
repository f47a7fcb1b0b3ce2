from django.conf import settings
from django.db import models


class ParagraphPair(models.Model):
    """Two paragraphs whose similarity a round explains (``text_a`` is the seed, ``text_b`` the other).

    ``source`` names where the pair came from (an import's name, a catalog); ``external_id`` is
    the id it had there, unique within its source when given.
    """

    source = models.CharField(max_length=200, blank=True, default="")
    external_id = models.CharField(max_length=200, blank=True, default="")
    text_a = models.TextField()
    text_b = models.TextField()
    title_a = models.CharField(max_length=500, blank=True, default="")
    title_b = models.CharField(max_length=500, blank=True, default="")
    similarity = models.FloatField(null=True, blank=True)  # set when the pair was mined by retrieval
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"],
                condition=~models.Q(external_id=""),
                name="pair_unique_external_id_per_source",
            )
        ]

    def __str__(self) -> str:
        return f"{self.source or 'pair'}:{self.external_id or self.pk}"


class GoldAlignment(models.Model):
    """A human word alignment of a pair (e.g. SemEval-2016 task 2 iSTS ``.wa``), for plausibility metrics.

    ``tokens_a`` / ``tokens_b``: the gold tokens' [start, end) char spans in ``text_a`` / ``text_b``.
    ``chunks``: the aligned chunk pairs, ``{"a": [i, ...], "b": [j, ...], "type": "EQUI", "score": 5}``
    with 0-based token indices; every (i, j) they cover is a gold aligned token pair
    (``bti_eval.pairs.ists.gold_token_pairs``). Unaligned (NOALI/ALIC) chunks are not stored.
    """

    pair = models.OneToOneField(ParagraphPair, on_delete=models.CASCADE, related_name="gold_alignment")
    format = models.CharField(max_length=32, default="ists-wa")
    tokens_a = models.JSONField()
    tokens_b = models.JSONField()
    chunks = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"gold alignment of {self.pair}"
