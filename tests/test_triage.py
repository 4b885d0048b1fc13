"""Agents' changes to cases: assign and status, each with history and one audit record."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import insert, select

from tracker import triage, users
from tracker.models import AuditLog, CaseEvent, ExceptionCase, Order, Shop

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


@pytest.fixture
def cases(engine):
    with engine.begin() as conn:
        shop = conn.execute(insert(Shop.__table__).values(name="旗舰店", platform="tmall")).inserted_primary_key[0]
        ids = []
        for n in range(3):
            order = conn.execute(insert(Order.__table__).values(
                shop_id=shop, platform="tmall", platform_order_id=f"40000{n}", status="shipped", status_raw="卖家已发货",
                source_hash="x", facts_changed_at=NOW, created_at=NOW)).inserted_primary_key[0]
            ids.append(conn.execute(insert(ExceptionCase.__table__).values(
                order_id=order, kind="stalled", status="open", severity=2, evidence={}, detected_at=NOW,
                updated_at=NOW)).inserted_primary_key[0])
        agent = users.add(conn, "agent", "agent", "long-enough")
    return ids, triage.Actor(agent, "agent")


def test_assign_records_history_and_one_audit_row(engine, cases):
    ids, me = cases
    with engine.begin() as conn:
        assert triage.assign(conn, ids, me.user_id, by=me, now=NOW) == 3
        assert triage.assign(conn, ids, me.user_id, by=me, now=NOW) == 0  # already mine: nothing to record
    with engine.connect() as conn:
        assert set(conn.execute(select(ExceptionCase.assignee_id)).scalars()) == {me.user_id}
        events = conn.execute(select(CaseEvent.case_id, CaseEvent.event, CaseEvent.detail, CaseEvent.user_id)).all()
        audit = conn.execute(select(AuditLog.action, AuditLog.detail).where(AuditLog.action == "case.assign")).all()
    assert sorted(events) == [(i, "assigned", "agent", me.user_id) for i in ids]
    assert audit == [("case.assign", {"cases": ids, "assignee": "agent"})]


def test_resolve_and_reopen(engine, cases):
    ids, me = cases
    with engine.begin() as conn:
        assert triage.set_status(conn, ids[:1], "resolved", by=me, now=NOW, reason="已补发") == 1
    with engine.connect() as conn:
        case = conn.execute(select(ExceptionCase).where(ExceptionCase.id == ids[0])).one()
        assert (case.status, case.close_reason, case.closed_at) == ("resolved", "已补发", NOW)
    with engine.begin() as conn:
        triage.set_status(conn, ids[:1], "open", by=me, now=NOW)
    with engine.connect() as conn:
        case = conn.execute(select(ExceptionCase).where(ExceptionCase.id == ids[0])).one()
        assert (case.status, case.close_reason, case.closed_at) == ("open", None, None)


@pytest.mark.parametrize(("change", "message"), [
    (lambda conn, ids, me: triage.set_status(conn, ids, "dismissed", by=me, now=NOW, reason="  "), "needs a reason"),
    (lambda conn, ids, me: triage.set_status(conn, ids, "cleared", by=me, now=NOW), "unknown status"),
    (lambda conn, ids, me: triage.set_status(conn, [*ids, 999], "resolved", by=me, now=NOW), "no such case: 999"),
    (lambda conn, ids, me: triage.set_status(conn, [], "resolved", by=me, now=NOW), "no case selected"),
    (lambda conn, ids, me: triage.assign(conn, ids, 999, by=me, now=NOW), "no active user"),
])
def test_bad_changes_are_refused_and_write_nothing(engine, cases, change, message):
    ids, me = cases
    with engine.begin() as conn, pytest.raises(triage.TriageError, match=message):
        change(conn, ids, me)
    with engine.connect() as conn:
        assert set(conn.execute(select(ExceptionCase.status)).scalars()) == {"open"}
        assert conn.execute(select(CaseEvent.id)).first() is None
