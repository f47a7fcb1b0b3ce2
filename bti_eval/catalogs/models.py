"""Catalogs of items, their stored vectors per model, and the jobs that embed, mine and train on them.

A vector is stored as raw little-endian float32 bytes (``BinaryField``): 4 bytes a dimension, 4× smaller
than a JSON list and read back with one ``numpy.frombuffer``, so a second retrieval does not re-embed.
"""

from __future__ import annotations

import numpy as np
from django.conf import settings
from django.db import models


class Catalog(models.Model):
    """An imported catalog: which columns were used and what was skipped (empty / duplicate texts)."""

    name = models.SlugField(max_length=100, unique=True)
    filename = models.CharField(max_length=255, blank=True, default="")
    id_column = models.CharField(max_length=200)
    text_column = models.CharField(max_length=200)
    title_column = models.CharField(max_length=200, blank=True, default="")
    rows = models.PositiveIntegerField(default=0)
    skipped_empty = models.PositiveIntegerField(default=0)
    skipped_duplicate = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "catalogs"

    def __str__(self) -> str:
        return self.name


class CatalogItem(models.Model):
    catalog = models.ForeignKey(Catalog, on_delete=models.CASCADE, related_name="items")
    external_id = models.CharField(max_length=200)
    title = models.CharField(max_length=500, blank=True, default="")
    text = models.TextField()
    row = models.PositiveIntegerField(default=0)  # line of the catalog file

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["catalog", "external_id"], name="catalog_item_unique_id")]

    def __str__(self) -> str:
        return f"{self.catalog_id}:{self.external_id}"


class CatalogVector(models.Model):
    """The Eq. 1 vector of one item under one model (``model`` = "" for the default model or a dir)."""

    item = models.ForeignKey(CatalogItem, on_delete=models.CASCADE, related_name="vectors")
    model = models.CharField(max_length=500, blank=True, default="")
    vector = models.BinaryField()  # float32 little-endian, hidden_size × 4 bytes

    class Meta:
        constraints = [models.UniqueConstraint(fields=["item", "model"], name="catalog_vector_unique_item_model")]

    @staticmethod
    def pack(values: np.ndarray) -> bytes:
        return np.asarray(values, dtype="<f4").tobytes()

    @staticmethod
    def unpack(raw: bytes | memoryview) -> np.ndarray:
        """The inverse of :meth:`pack`: stored bytes as a 1-d float32 array."""
        return np.frombuffer(bytes(raw), dtype="<f4")


class CatalogJob(models.Model):
    """A background job on a catalog: embedding it, or training a RecoBERT model on it. Progress is
    ``done`` of ``total`` (items embedded / training steps)."""

    class Kind(models.TextChoices):
        EMBED = "embed", "Embed items"
        TRAIN = "train-recobert", "Train RecoBERT"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    catalog = models.ForeignKey(Catalog, on_delete=models.CASCADE, related_name="jobs")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    model = models.CharField(max_length=500, blank=True, default="")  # the model used / started from
    params = models.JSONField(default=dict, blank=True)
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    result = models.JSONField(default=dict, blank=True)  # train: {"model_dir", "losses" summary, ...}
    error = models.TextField(blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    @property
    def progress(self) -> float:
        return self.done / self.total if self.total else 0.0
