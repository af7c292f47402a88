"""Ingested identify / stage / billing events applied to the customers and users the tools serve.

Outlit resolves an ingested event's identity and updates the customer's billing status, the contact's
journey stage and traits; the sandbox does the same on its dataset, so a reverse-load followed by an
extract shows the round trip. Events naming nobody the dataset knows are stored but change nothing.
"""

from __future__ import annotations

import hashlib
from typing import Any

from .dataset import Dataset

_IDENTITY_KEYS = ("email", "userId", "fingerprint")


def event_identity(event: dict[str, Any]) -> dict[str, str | None]:
    """The user identity an event names: its own fields, else ``properties.__email`` / ``__userId`` /
    ``__fingerprint``, where Outlit's Rust crate (and the Node SDK for stage events) put it."""
    props = event.get("properties")
    props = props if isinstance(props, dict) else {}
    out: dict[str, str | None] = {}
    for key in _IDENTITY_KEYS:
        value = event.get(key)
        if not (isinstance(value, str) and value):
            value = props.get(f"__{key}")
        out[key] = value if isinstance(value, str) and value else None
    return out


_BILLING = {"trialing": "TRIALING", "paid": "PAYING", "churned": "CHURNED"}
_STAGES = {"activated": "ACTIVATED", "engaged": "ENGAGED", "inactive": "INACTIVE"}


def _customer(ds: Dataset, record: dict[str, Any], email: str | None) -> dict[str, Any] | None:
    event = record["event"]
    batch = record.get("customerIdentity") or {}
    for key in (event.get("customerId"), event.get("domain"), batch.get("customerId")):
        if isinstance(key, str) and key and (found := ds.find_customer(key)) is not None:
            return found
    if email:  # a contact's email names its company by domain
        return ds.find_customer(email.rsplit("@", 1)[-1])
    return None


def _user(ds: Dataset, email: str | None, user_id: str | None) -> dict[str, Any] | None:
    for user in ds.users:
        if email and (user["email"] or "").lower() == email.lower():
            return user
        if user_id and user_id in (user["id"], user.get("_externalId")):
            return user
    return None


def apply(ds: Dataset, record: dict[str, Any]) -> bool:
    """Apply one stored ingest record; returns whether the dataset changed."""
    event = record["event"]
    etype = event["type"]
    if etype not in ("billing", "identify", "stage"):
        return False
    batch_user = record.get("userIdentity") or {}
    identity = event_identity(event)
    email = identity["email"] or batch_user.get("email")
    user_id = identity["userId"] or batch_user.get("userId")
    if etype == "billing":
        customer = _customer(ds, record, None)
        if customer is None:
            return False
        customer["billingStatus"] = _BILLING[event["status"]]
        customer["_activeSubscriptions"] = 0 if event["status"] == "churned" else 1
        return True
    user = _user(ds, email, user_id)
    if etype == "stage":
        if user is None:
            return False
        user["journeyStage"] = _STAGES[event["stage"]]
        return True
    customer = _customer(ds, record, email)
    if user is None:
        if not email or customer is None:
            return False
        user = _new_user(ds, email, customer)
    if user_id and user_id != user["id"]:
        user["_externalId"] = user_id
    user["_traits"].update(event.get("traits") or {})
    if user["journeyStage"] == "DISCOVERED":
        user["journeyStage"] = "SIGNED_UP"  # identify is how Outlit infers a sign-up
    if customer is not None and event.get("customerTraits"):
        customer["_traits"].update(event["customerTraits"])
    return True


def _new_user(ds: Dataset, email: str, customer: dict[str, Any]) -> dict[str, Any]:
    digest = hashlib.sha256(email.lower().encode()).hexdigest()[:12]
    user = {
        "id": f"usr_{digest}",
        "email": email,
        "name": email.split("@", 1)[0],
        "customerId": customer["id"],
        "customerName": customer["name"],
        "customerDomain": customer["domain"],
        "journeyStage": "SIGNED_UP",
        "lastActivityAt": None,
        "daysSinceActivity": None,
        "_firstSeen": customer["firstSeenAt"],
        "_lastTs": None,
        "_traits": {},
    }
    ds.users.append(user)
    customer["contactCount"] += 1
    return user
