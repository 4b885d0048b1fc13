"""What agents do to cases: assign, change status (resolve, dismiss with a reason, reopen).

    case ids, the change, who, when ─► exception_cases updated
                                      ─► one case_events row per case (who and what)
                                      ─► one audit_log row for the whole change

Pure SQL on the caller's connection and transaction (a request, a CLI command), so the
change, its history and its audit record land together.  Classification respects the
result: a case an agent resolved or dismissed reopens only when its facts change
(``tracker.cases``).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from tracker import audit
from tracker.models import CaseEvent, ExceptionCase, QueueState, User

CASES = ExceptionCase.__table__
EVENTS = CaseEvent.__table__
STATE = QueueState.__table__
SETTABLE = ("open", "in_progress", "resolved", "dismissed")
CLOSING = ("resolved", "dismissed")


class TriageError(ValueError):
    pass


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    username: str


def _existing(conn: Connection, case_ids: Sequence[int]) -> list:
    ids = sorted({int(i) for i in case_ids})
    if not ids:
        raise TriageError("未选择任何异常单 · no case selected")
    rows = conn.execute(select(CASES.c.id, CASES.c.status, CASES.c.assignee_id).where(CASES.c.id.in_(ids))).all()
    if len(rows) != len(ids):
        missing = sorted(set(ids) - {r.id for r in rows})
        raise TriageError(f"异常单不存在 · no such case: {', '.join(map(str, missing))}")
    return rows


def assign(conn: Connection, case_ids: Sequence[int], assignee_id: int | None, *, by: Actor,
           now: datetime) -> int:
    """Give the cases to a user (None: unassign); returns how many changed hands."""
    name = None
    if assignee_id is not None:
        user = conn.execute(select(User.__table__.c.username, User.__table__.c.active)
                            .where(User.__table__.c.id == assignee_id)).first()
        if user is None or not user.active:
            raise TriageError(f"没有此用户 · no active user {assignee_id}")
        name = user.username
    changed = [r.id for r in _existing(conn, case_ids) if r.assignee_id != assignee_id]
    if changed:
        conn.execute(update(CASES).where(CASES.c.id.in_(changed)).values(assignee_id=assignee_id, updated_at=now))
        _history(conn, changed, "assigned", name or "-", by, now)
        bump_queue_version(conn)
        audit.record(conn, actor=by.username, user_id=by.user_id, action="case.assign", entity="exception_case",
                     entity_id=_one(changed), detail={"cases": changed, "assignee": name}, at=now)
    return len(changed)


def set_status(conn: Connection, case_ids: Sequence[int], status: str, *, by: Actor, now: datetime,
               reason: str | None = None) -> int:
    """Move the cases to ``status``; dismissing needs a reason.  Returns how many changed."""
    if status not in SETTABLE:
        raise TriageError(f"未知状态 unknown status {status!r}; known: {', '.join(SETTABLE)}")
    reason = (reason or "").strip() or None
    if status == "dismissed" and not reason:
        raise TriageError("驳回需要填写原因 · dismissing needs a reason")
    changed = [r.id for r in _existing(conn, case_ids) if r.status != status]
    if changed:
        closing = status in CLOSING
        conn.execute(update(CASES).where(CASES.c.id.in_(changed)).values(
            status=status, updated_at=now, closed_at=now if closing else None,
            close_reason=reason if closing else None))
        _history(conn, changed, status, reason, by, now)
        bump_queue_version(conn)
        audit.record(conn, actor=by.username, user_id=by.user_id, action=f"case.{status}", entity="exception_case",
                     entity_id=_one(changed), detail={"cases": changed, "reason": reason}, at=now)
    return len(changed)


def queue_version(conn: Connection) -> int | None:
    """The cases' version: it moves whenever any case changes (None: not recorded yet)."""
    return conn.execute(select(STATE.c.version).where(STATE.c.id == 1)).scalar()


def bump_queue_version(conn: Connection) -> None:
    """Mark the cases changed, in the caller's transaction (so a rolled-back change leaves
    readers' cached counts valid)."""
    if conn.execute(update(STATE).where(STATE.c.id == 1).values(version=STATE.c.version + 1)).rowcount == 0:
        conn.execute(insert(STATE).values(id=1, version=1))


def _one(case_ids: list[int]) -> int | None:
    """The audit row's entity id: the case, when one; the ids of a bulk change are in detail."""
    return case_ids[0] if len(case_ids) == 1 else None


def _history(conn: Connection, case_ids: list[int], event: str, detail: str | None, by: Actor,
             now: datetime) -> None:
    conn.execute(insert(EVENTS), [{"case_id": cid, "at": now, "event": event, "detail": detail,
                                   "user_id": by.user_id} for cid in case_ids])
