"""Training: model versions, the one in use, and which backend a batch run may use."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils import timezone

from regard.matching import engine, selectors, spark_backend
from regard.matching.models import MatchModel
from regard.matching.services.actors import Actor, _user
from regard.privacy.models import AuditEntry
from regard.privacy.services import audit_record

DEFAULT_SEED = 7
SUPPORTED_BACKENDS = ("local", "spark")

_model_cache: dict[int, engine.Model] = {}


def _check_backend() -> None:
    backend = settings.REGARD_MATCH_BACKEND
    if backend not in SUPPORTED_BACKENDS:
        raise ImproperlyConfigured(
            f"REGARD_MATCH_BACKEND={backend!r} is not available; supported: "
            f"{', '.join(SUPPORTED_BACKENDS)} (see docs/matching.md for the scale-out path)."
        )
    if backend == "spark":
        reason = spark_backend.unavailable_reason()
        if reason is not None:
            raise ImproperlyConfigured(f"REGARD_MATCH_BACKEND='spark' cannot run here: {reason}.")
        try:
            spark_backend.parse_conf(settings.REGARD_SPARK_CONF)
        except ValueError as error:
            raise ImproperlyConfigured(str(error)) from error


def active_model() -> tuple[MatchModel, engine.Model] | None:
    # The parameters (with their term-frequency tables, a few hundred KB of JSON) are read
    # only when the version changed: the incremental path asks on every new customer.
    row = MatchModel.objects.order_by("-version").defer("parameters").first()
    if row is None:
        return None
    model = _model_cache.get(row.pk)
    if model is None:
        parameters = MatchModel.objects.filter(pk=row.pk).values_list("parameters", flat=True).get()
        model = engine.Model.from_json(parameters)
        _model_cache.clear()
        _model_cache[row.pk] = model
    return row, model


def match_train(
    *,
    actor: Actor,
    seed: int = DEFAULT_SEED,
    records: Sequence[dict[str, str]] | None = None,
    now: datetime | None = None,
) -> MatchModel:
    """Estimate a new model version from the stored profiles; the same data and seed give the same model."""
    _check_backend()
    now = now or timezone.now()
    if records is None:
        _, records = selectors.profiles()
    model = engine.train(records, seed=seed)
    with transaction.atomic():
        last = MatchModel.objects.select_for_update().order_by("-version").first()
        row = MatchModel.objects.create(
            version=(last.version + 1) if last else 1,
            parameters=model.to_json(),
            seed=seed,
            trained_at=now,
            trained_by=_user(actor),
        )
        audit_record(
            actor=actor,
            action=AuditEntry.Action.CREATE,
            object_type="match_model",
            object_id=row.pk,
            via="cli",
            now=now,
            detail={"version": row.version, "seed": seed},
        )
    return row
