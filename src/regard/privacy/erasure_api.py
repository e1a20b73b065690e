"""``POST /api/v1/customers/{id}/erase`` (GDPR Art. 17), admins only. Thin: the service decides."""

from __future__ import annotations

from datetime import datetime

from ninja import Field, Router, Schema

from regard.api.auth import ApiRequest, requires
from regard.customers.schemas import StrictIn
from regard.privacy.erasure import REASON_MAX, customer_erase
from regard.privacy.roles import Capability

erasure_router = Router(tags=["erasure"])


class EraseIn(StrictIn):
    reason: str = Field(
        max_length=REASON_MAX,
        description="Why the person is erased; kept in the audit log, so no name or address in it",
        examples=["Request by email, ticket 4711"],
    )


class ErasureOut(Schema):
    customer_id: int
    erased_at: datetime
    profiles: list[int] = Field(description="The customer and every profile merged into it, all erased")
    tombstones: int = Field(description="Identifiers kept as keyed hashes, so the person is never re-added")


@erasure_router.post(
    "/{customer_id}/erase",
    auth=requires(Capability.CUSTOMER_ERASE),
    response=ErasureOut,
    summary="Erase a customer (GDPR Art. 17): personal data redacted everywhere; cannot be undone",
)
def erase_customer(request: ApiRequest, customer_id: int, payload: EraseIn) -> ErasureOut:
    result = customer_erase(actor=request.auth, customer_id=customer_id, reason=payload.reason, via="api")
    return ErasureOut(
        customer_id=result.customer_id,
        erased_at=result.erased_at,
        profiles=result.profiles,
        tombstones=result.tombstones,
    )
