"""Skipping quiet orders, and evaluating in a second process, change no result.

``classify.may_find`` says which orders could have a finding; ``tracker.cases`` asks the same
in SQL and neither loads nor evaluates the others.  Held together three ways: the predicate
against the rules (a quiet snapshot has no finding and no recheck time, whatever the clock),
the SQL against the predicate (on SQLite and PostgreSQL), and whole runs — full, incremental
after new facts and agents' changes, full again later — on a varied dataset, compared case by
case, event by event and next_check_at by next_check_at with the reference path that loads and
evaluates every order in one process."""
from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select, update

import varied_orders
from tracker import cases, db, triage
from tracker import policy as policies
from tracker.cases import _Loader, _Where, classify_orders
from tracker.classify import evaluate, may_find
from tracker.models import Action, CaseEvent, ExceptionCase, Order, Shipment, TrackingEvent
from tracker.queue import refresh_case_facts
from classify_helpers import NOW

H = timedelta(hours=1)
D = timedelta(days=1)
P = policies.DEFAULT


def test_a_quiet_snapshot_has_nothing_to_find_now_or_later():
    snapshots = varied_orders.snapshots(seed=3, n=6000)
    quiet = [s for s in snapshots if not may_find(s)]
    assert 0.3 * len(snapshots) < len(quiet) < 0.8 * len(snapshots)  # the test says something either way
    for s in quiet:
        for now in (NOW - 10 * D, NOW, NOW + 3 * D, NOW + 60 * D):
            ev = evaluate(s, P, now)
            assert ev.findings == [] and ev.recheck_at is None, (s, now, ev)


def test_may_find_is_not_fooled_by_boilerplate_but_sees_damage_and_text_only_deliveries():
    base = [s for s in varied_orders.snapshots(seed=5, n=400) if not may_find(s) and s.status == "finished"
            and s.parcels][0]
    p = base.parcels[0]
    boiler = next(scan for scan in p.scans if "如有破损" in scan.text)
    damage = boiler._replace(text="快件外包装破损，已联系发件人")
    coded = boiler._replace(raw_code="209")
    for scans, expected in (((boiler,), False), ((boiler, damage), True), ((coded,), True)):
        parcel = type(p)(**{**{f: getattr(p, f) for f in p.__slots__}, "scans": scans})
        assert may_find(type(base)(**{**{f: getattr(base, f) for f in base.__slots__}, "parcels": (parcel,)})) \
            is expected
    text_only = type(p)(**{**{f: getattr(p, f) for f in p.__slots__}, "status": "unknown", "delivered_at": None,
                           "last_event_text": "已签收，签收人：本人"})
    assert may_find(type(base)(**{**{f: getattr(base, f) for f in base.__slots__}, "parcels": (text_only,)}))


def _open_or_due(conn) -> set[int]:
    due = set(conn.execute(select(Order.id).where(Order.next_check_at.is_not(None))).scalars())
    return due | set(conn.execute(select(ExceptionCase.order_id)
                                  .where(ExceptionCase.status.in_(("open", "in_progress")))).scalars())


def test_the_sql_asks_what_may_find_says(engine):
    varied_orders.load(engine, seed=7, n=1200)
    with engine.connect() as conn:
        loader = _Loader(conn)
        extra = _open_or_due(conn)
        for lo in range(1, 1201, 300):
            chunk = _Where(lo, lo + 299)
            by_sql = set(loader.may_find(chunk))
            by_rules = {oid for oid, s, _checked, _shop in loader.load(chunk) if may_find(s)}
            assert by_rules <= by_sql, sorted(by_rules - by_sql)
            assert by_sql - by_rules <= extra, sorted(by_sql - by_rules - extra)
            assert len(by_sql) < 0.8 * 300


def _state(engine) -> dict:
    """Everything a run writes, keyed by (order, kind) rather than by the ids a database hands out."""
    with engine.connect() as conn:
        c = ExceptionCase.__table__.c
        rows = conn.execute(select(c.order_id, c.kind, c.status, c.severity, c.evidence, c.evidence_text,
                                   c.facts_hash, c.deadline, c.shipment_id, c.refines, c.detected_at, c.updated_at,
                                   c.closed_at, c.close_reason, c.shop_id, c.province, c.carrier, c.paid_at)).all()
        found = {(r[0], r[1]): tuple(r[2:]) for r in rows}
        events = sorted(conn.execute(select(ExceptionCase.order_id, ExceptionCase.kind, CaseEvent.event,
                                            CaseEvent.detail, CaseEvent.at).join(ExceptionCase)).all())
        checks = dict(conn.execute(select(Order.id, Order.next_check_at).where(Order.next_check_at.is_not(None))).all())
    return {"cases": found, "events": events, "next_check_at": checks}


def _summary(report) -> tuple:
    return (report.full, report.orders_seen, dict(report.found), dict(report.opened), dict(report.refreshed),
            dict(report.reopened), dict(report.cleared))


def _new_facts(engine, data) -> None:
    """What a poll, an import and the agents do between two runs."""
    later = datetime.now(UTC)
    with engine.begin() as conn:
        sids = conn.execute(select(Shipment.id, Shipment.order_id).order_by(Shipment.id)).all()
        top = conn.execute(select(TrackingEvent.id).order_by(TrackingEvent.id.desc()).limit(1)).scalar() or 0
        for sid, _oid in sids[::7]:  # a new scan: some move on, some get delivered, one in nine names damage
            text = "快件外包装破损" if sid % 9 == 0 else "快件已到达【北京转运中心】"
            conn.execute(insert(TrackingEvent).values(id=top + sid, shipment_id=sid, time=NOW + H, location="北京转运中心",
                                                      text=text, status="in_transit", fingerprint=f"new-{sid}",
                                                      received_at=later))
            delivered = sid % 3 == 0
            conn.execute(update(Shipment).where(Shipment.id == sid).values(
                status="delivered" if delivered else "in_transit", last_event_at=NOW + H, last_event_text=text,
                delivered_at=NOW + H if delivered else None, updated_at=later))
        open_ids = conn.execute(select(ExceptionCase.id).where(ExceptionCase.status == "open")
                                .order_by(ExceptionCase.order_id, ExceptionCase.kind)).scalars().all()
        conn.execute(update(ExceptionCase).where(ExceptionCase.id.in_(open_ids[::5])).values(status="dismissed"))
        conn.execute(update(ExceptionCase).where(ExceptionCase.id.in_(open_ids[1::5])).values(status="in_progress"))
        top = conn.execute(select(Action.id).order_by(Action.id.desc()).limit(1)).scalar() or 0
        conn.execute(insert(Action), [{"id": top + i + 1, "order_id": o["id"], "code": "damage_reported",
                                       "note": "买家发来照片", "at": later} for i, o in enumerate(data[3::97])])
        conn.execute(update(Order).where(Order.id.in_([o["id"] for o in data[5::41]]))
                     .values(province="海南省", facts_changed_at=later))


def _runs(engine, **mode) -> list:
    """A full run, an incremental one after new facts, a full one a day and a half later."""
    data = varied_orders.load(engine, seed=11, n=1500)
    out = []
    first = classify_orders(engine, P, NOW, only_changed=False, chunk=97, **mode)
    out += [_summary(first), _state(engine)]
    _new_facts(engine, data)
    out += [_summary(classify_orders(engine, P, NOW + 7 * H, chunk=97, **mode)), _state(engine)]
    out += [_summary(classify_orders(engine, P, NOW + 36 * H, only_changed=False, chunk=97, **mode)), _state(engine)]
    return out, first


def test_skipping_quiet_orders_and_a_second_process_change_no_result(engine):
    reference, ref_report = _runs(engine, skip_quiet=False, processes=1)
    assert ref_report.orders_evaluated == ref_report.orders_seen == 1500
    assert len(reference[1]["cases"]) > 300 and len(reference[1]["next_check_at"]) > 300
    assert {k for (_o, k) in reference[1]["cases"]} >= {"stalled", "damaged", "wrong_carrier", "not_shipped",
                                                       "no_tracking", "auto_confirmed_undelivered", "refused"}
    assert reference[2][4] and reference[2][5] and reference[2][6]  # the incremental run refreshed, reopened, cleared
    skipped, report = _runs(engine, skip_quiet=True, processes=1)
    assert report.orders_evaluated < 0.7 * report.orders_seen
    for got, want in zip(skipped, reference, strict=True):
        assert got == want
    two, report = _runs(engine, skip_quiet=True, processes=2)
    assert report.chunks_elsewhere > 0
    for got, want in zip(two, reference, strict=True):
        assert got == want


def test_new_cases_carry_the_queue_copies_that_refresh_case_facts_would_set(engine):
    varied_orders.load(engine, seed=13, n=600)
    with engine.connect() as conn:
        version = triage.queue_version(conn)
    classify_orders(engine, P, NOW, only_changed=False)
    c = ExceptionCase.__table__.c
    copies = select(c.order_id, c.kind, c.shop_id, c.province, c.carrier, c.paid_at)
    with engine.begin() as conn:
        assert triage.queue_version(conn) != version  # the web's cached counts are stale
        written = set(conn.execute(copies).all())
        refresh_case_facts(conn)
        assert set(conn.execute(copies).all()) == written
    assert {row[4] for row in written} - {None}  # carriers were copied


def test_an_error_in_the_second_process_is_raised_here(tmp_path):
    engine = db.make_engine(f"sqlite:///{tmp_path / 'no-tables.sqlite3'}")
    writer = cases._Writer(engine, NOW, cases.ClassifyReport(full=True))
    with pytest.raises(sqlite3.OperationalError, match="no such table"):
        cases._run_two(engine, [_Where(1, 10)], P, NOW, timedelta(hours=6), True, writer)
