"""The audit log: who changed what, when.  Written in the caller's transaction, so a
change and its record land together or not at all."""
from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection, insert

from tracker.models import AuditLog


def record(conn: Connection, *, actor: str, action: str, entity: str, entity_id: object = None,
           user_id: int | None = None, detail: dict | None = None, at: datetime | None = None) -> None:
    conn.execute(insert(AuditLog.__table__).values(
        at=at or datetime.now(UTC), user_id=user_id, actor=actor, action=action, entity=entity,
        entity_id=None if entity_id is None else str(entity_id), detail=detail or {}))
