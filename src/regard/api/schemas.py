"""Shared pieces of the API's response shapes."""

from __future__ import annotations

from typing import Any, Self

from ninja import Schema


class ModelOut(Schema):
    """A response shape read straight from a model's attributes (renamed ones via ``validation_alias``)."""

    @classmethod
    def from_model(cls, instance: Any) -> Self:
        return cls.model_validate(instance, from_attributes=True)
