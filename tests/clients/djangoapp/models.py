"""The model test_django.py migrates and queries."""

from __future__ import annotations

from django.db import models
from pgvector.django import HnswIndex, VectorField


class Item(models.Model):
    name = models.TextField(unique=True)
    embedding = VectorField(dimensions=3, null=True)

    class Meta:
        app_label = "djangoapp"
        indexes = [
            HnswIndex(
                name="item_embedding_hnsw",
                fields=["embedding"],
                m=16,
                ef_construction=64,
                opclasses=["vector_l2_ops"],
            )
        ]
