"""The shop's one model."""

from __future__ import annotations

from django.db import models


class Item(models.Model):
    """An item of the catalogue."""

    name: models.CharField[str, str] = models.CharField(max_length=100, unique=True)
