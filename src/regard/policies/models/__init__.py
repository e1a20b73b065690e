"""Policies' data, one module per concept: remedies, promises, exceptions (C5)."""

from regard.policies.models.exceptions import ExceptionEntry, ExceptionGroup
from regard.policies.models.promises import Promise
from regard.policies.models.remedies import (
    RemedyGrant,
    RemedyKind,
    RemedyPolicy,
    RemedyPolicyVersion,
    StatutoryGuarantee,
)

__all__ = [
    "ExceptionEntry",
    "ExceptionGroup",
    "Promise",
    "RemedyGrant",
    "RemedyKind",
    "RemedyPolicy",
    "RemedyPolicyVersion",
    "StatutoryGuarantee",
]
