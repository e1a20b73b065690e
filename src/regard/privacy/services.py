"""Writes of the privacy app: audit entries and API tokens."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import AnonymousUser, Group, User
from django.db import connection, transaction
from django.utils import timezone

from regard.errors import InvalidInput, NotFound
from regard.privacy.models import ApiToken, AuditEntry
from regard.privacy.roles import Role

TOKEN_PREFIX = "rg_"


def _actor_fields(actor: User | AnonymousUser | None) -> dict[str, object]:
    if actor is None or not actor.is_authenticated:
        return {"actor": None, "actor_label": "system"}
    return {"actor": actor, "actor_label": actor.get_username()}


def audit_record(
    *,
    actor: User | AnonymousUser | None,
    action: str,
    object_type: str,
    object_id: object = "",
    customer_id: int | None = None,
    via: str = "api",
    detail: dict[str, object] | None = None,
    now: datetime | None = None,
) -> AuditEntry:
    return AuditEntry.objects.create(
        **_actor_fields(actor),
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        customer_id=customer_id,
        via=via,
        detail=detail or {},
        occurred_at=now or timezone.now(),
    )


def audit_record_reads(
    *,
    actor: User | AnonymousUser | None,
    customer_ids: Iterable[int],
    object_type: str,
    via: str,
    detail: dict[str, object] | None = None,
) -> None:
    """One audit row per customer whose personal data was shown (invariant 6).

    Reads are the hot path of every page and API call, so on PostgreSQL a read's audit rows
    commit without waiting for the WAL flush (``synchronous_commit = off``): the rows are
    written and ordered like any other, but a crash of the database server itself may lose
    the last fraction of a second of read entries. Writes keep full durability: inside a
    caller's transaction nothing is relaxed, and services audit through ``audit_record``.
    """
    now = timezone.now()
    actor_fields = _actor_fields(actor)
    entries = [
        AuditEntry(
            **actor_fields,
            action=AuditEntry.Action.READ,
            object_type=object_type,
            object_id=str(customer_id),
            customer_id=customer_id,
            via=via,
            detail=detail or {},
            occurred_at=now,
        )
        for customer_id in customer_ids
    ]
    if not entries:
        return
    relax_flush = connection.vendor == "postgresql" and not connection.in_atomic_block
    with transaction.atomic():
        if relax_flush:
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit = off")
        AuditEntry.objects.bulk_create(entries)


def _hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    secret: str  # shown once, never stored


@transaction.atomic
def token_create(*, username: str, name: str = "", actor: User | None = None) -> IssuedToken:
    try:
        user = User.objects.get(username=username)
    except User.DoesNotExist:
        raise NotFound(f"No user named '{username}'.", field="user") from None
    if not user.is_active:
        raise InvalidInput(f"User '{username}' is inactive.", field="user")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name,
        prefix=secret[:10],
        key_hash=_hash_token(secret),
        created_at=timezone.now(),
    )
    audit_record(
        actor=actor,
        action=AuditEntry.Action.TOKEN,
        object_type="api_token",
        object_id=token.pk,
        via="cli",
        detail={"user": username, "event": "created"},
    )
    return IssuedToken(token=token, secret=secret)


@transaction.atomic
def token_revoke(*, token: ApiToken, actor: User | None = None) -> ApiToken:
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    audit_record(
        actor=actor,
        action=AuditEntry.Action.TOKEN,
        object_type="api_token",
        object_id=token.pk,
        via="cli",
        detail={"event": "revoked"},
    )
    return token


def token_authenticate(*, secret: str) -> User | None:
    """The user behind a bearer token, or None. Touches ``last_used_at`` at most once a minute."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=_hash_token(secret), revoked_at__isnull=True)
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


@transaction.atomic
def user_create(*, username: str, password: str | None, roles: Iterable[Role], email: str = "") -> User:
    if User.objects.filter(username=username).exists():
        raise InvalidInput(f"A user named '{username}' already exists.", field="username")
    user = User.objects.create_user(username=username, email=email, password=password)
    for role in roles:
        # get_or_create: a database flush (tests) empties the groups the migration made.
        user.groups.add(Group.objects.get_or_create(name=role.value)[0])
    if Role.ADMIN in set(roles):
        user.is_staff = True
        user.is_superuser = True
        user.save(update_fields=["is_staff", "is_superuser"])
    return user
