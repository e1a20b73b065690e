"""Policies' data, one module per concept: remedies, promises, exceptions (C5)."""

from regard.policies.models.promises import Promise

__all__ = ["Promise"]
