"""Cases on SQLite and PostgreSQL, from real-format exports: open → refresh → clear, dismissed
stays dismissed until the facts change, incremental runs touch only changed or due orders, and
the exceptions export in CSV, JSON and XLSX."""
from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import openpyxl
import pytest
from click.testing import CliRunner
from sqlalchemy import insert, select, update

from exportfiles import taobao_order_row, taobao_refund_row, write_taobao_orders_csv, write_taobao_refunds_csv
from tracker import cli, config
from tracker import policy as policies
from tracker.cases import classify_orders, history
from tracker.events import fingerprint
from tracker.exceptions_export import COLUMNS, TEXT_WRITERS, case_rows, write_xlsx
from tracker.ingest import import_file
from tracker.models import Action, ExceptionCase, Order, Shipment, TrackingEvent
from classify_helpers import NOW

H = timedelta(hours=1)
P = policies.DEFAULT
SHIPPED = "2026-11-23 12:00:00"  # China time: NOW − 48 h


def load_orders(engine, tmp_path):
    """Six Taobao orders (GBK CSV, as downloaded) and a refund export."""
    rows = [
        taobao_order_row(订单编号="3900000000000000001", 发货时间=SHIPPED, 物流单号="73100000000001"),  # A stalls
        taobao_order_row(订单编号="3900000000000000002", 订单状态="买家已付款，等待卖家发货", 物流单号="", 物流公司="",
                         发货时间="", 订单付款时间="2026-11-20 10:00:00"),  # B never shipped
        taobao_order_row(订单编号="3900000000000000003", 发货时间=SHIPPED, 物流单号="73100000000003",
                         买家留言="加钱发顺丰"),  # C wrong carrier
        taobao_order_row(订单编号="3900000000000000004", 发货时间=SHIPPED, 物流单号="73100000000004"),  # D stalls
        taobao_order_row(订单编号="3900000000000000005", 发货时间=SHIPPED, 物流单号="73100000000005"),  # E damaged
        taobao_order_row(订单编号="3900000000000000006", 发货时间=SHIPPED, 物流单号="73100000000006"),  # F fine
    ]
    orders = write_taobao_orders_csv(tmp_path / "ExportOrderList202611250900.csv", rows)
    refunds = write_taobao_refunds_csv(tmp_path / "refunds.csv", [taobao_refund_row(
        订单编号="3900000000000000005", 买家退款原因="商品破损/少件", 货物状态="买家已收到货")])
    for path in (orders, refunds):
        import_file(engine, path, max_bytes=10**9, reports_dir=tmp_path / "reports")


def track(engine, waybill, status, scans, *, delivered=False):
    """What the poller would store: the events and the shipment's state."""
    with engine.begin() as conn:
        sid = conn.execute(select(Shipment.id).where(Shipment.waybill == waybill)).scalar_one()
        conn.execute(insert(TrackingEvent), [
            {"shipment_id": sid, "time": t, "location": loc, "text": text, "raw_code": None, "status": st,
             "fingerprint": fingerprint(t, text), "received_at": datetime.now(UTC)} for t, loc, text, st in scans])
        first, last = scans[0], scans[-1]
        conn.execute(update(Shipment).where(Shipment.id == sid).values(
            status=status, first_scan_at=first[0], last_event_at=last[0], last_event_text=last[2],
            last_location=last[1], delivered_at=last[0] if delivered else None, updated_at=datetime.now(UTC)))


def scans(*ages_and_places):
    return [(NOW - age, place, f"快件已到达【{place}】", st) for age, place, st in ages_and_places]


def cases(engine):
    with engine.connect() as conn:
        rows = conn.execute(select(Order.platform_order_id, ExceptionCase.kind, ExceptionCase.status,
                                   ExceptionCase.id).join(Order)).all()
    return {(r[0][-1], r[1]): (r[2], r[3]) for r in rows}


@pytest.fixture
def shop(engine, tmp_path):
    load_orders(engine, tmp_path)
    track(engine, "73100000000001", "in_transit", scans((50 * H, "杭州转运中心", "picked_up"),
                                                        (49 * H, "南京转运中心", "in_transit")))
    track(engine, "73100000000003", "in_transit", scans((40 * H, "杭州转运中心", "picked_up"),
                                                        (3 * H, "杭州转运中心", "in_transit")))
    track(engine, "73100000000004", "in_transit", scans((62 * H, "杭州转运中心", "picked_up"),
                                                        (60 * H, "金华转运中心", "in_transit")))
    track(engine, "73100000000005", "delivered", scans((40 * H, "杭州转运中心", "picked_up"),
                                                       (5 * H, "杭州市西湖区", "delivered")), delivered=True)
    track(engine, "73100000000006", "delivered", scans((40 * H, "杭州转运中心", "picked_up"),
                                                       (5 * H, "杭州市西湖区", "delivered")), delivered=True)
    return engine


def counts(report):
    return (dict(report.opened), dict(report.refreshed), dict(report.reopened), dict(report.cleared))


def test_lifecycle_open_refresh_clear_and_dismissed_stays_dismissed(shop):
    first = classify_orders(shop, P, NOW)
    assert first.full and first.orders_seen == 6
    assert cases(shop).keys() == {("1", "stalled"), ("2", "not_shipped"), ("3", "wrong_carrier"), ("4", "stalled"),
                                  ("5", "damaged")}
    assert all(status == "open" for status, _id in cases(shop).values())
    with shop.begin() as conn:  # an agent dismisses D's stall
        conn.execute(update(ExceptionCase).where(ExceptionCase.id == cases(shop)[("4", "stalled")][1])
                     .values(status="dismissed"))

    # Time passes, no new facts: orders with findings are due again; F has none and no deadline.
    again = classify_orders(shop, P, NOW + 7 * H)
    assert not again.full and again.orders_seen == 5
    assert again.refreshed == {"stalled": 1, "not_shipped": 1} and not again.opened and not again.reopened
    assert cases(shop)[("4", "stalled")][0] == "dismissed"

    # A moves on (the stall clears); D gets a new scan but is still stuck (new facts: reopened).
    track(shop, "73100000000001", "out_for_delivery", scans((2 * H, "北京市朝阳区", "out_for_delivery")))
    track(shop, "73100000000004", "in_transit", scans((52 * H, "衢州转运中心", "in_transit")))
    third = classify_orders(shop, P, NOW + 7.5 * H)  # C is due at + 8 h (far beyond the same-city norm)
    assert third.orders_seen == 2  # only the orders whose facts changed
    assert counts(third) == ({}, {}, {"stalled": 1}, {"stalled": 1})
    state = cases(shop)
    assert state[("1", "stalled")][0] == "cleared" and state[("4", "stalled")][0] == "open"
    with shop.connect() as conn:
        assert [e for _at, e, _d in history(conn, state[("1", "stalled")][1])] == ["opened", "cleared"]
        assert [e for _at, e, _d in history(conn, state[("4", "stalled")][1])] == ["opened", "reopened"]


def test_a_deadline_passing_opens_a_case_without_any_new_fact(shop):
    classify_orders(shop, P, NOW - 30 * H)  # B paid 11-20 02:00 UTC: due 11-22 02:00 is past, the others young
    before = cases(shop)
    assert ("1", "stalled") not in before
    report = classify_orders(shop, P, NOW)
    assert report.opened["stalled"] == 2 and not report.full


def test_cleared_case_reopens_when_the_condition_returns(shop):
    classify_orders(shop, P, NOW)
    track(shop, "73100000000001", "in_transit", scans((H, "济南转运中心", "in_transit")))
    assert classify_orders(shop, P, NOW).cleared == {"stalled": 1}
    later = classify_orders(shop, P, NOW + 50 * H)
    assert later.reopened["stalled"] >= 1 and cases(shop)[("1", "stalled")][0] == "open"


def test_an_agents_damage_report_is_a_fact(shop):
    classify_orders(shop, P, NOW)
    with shop.begin() as conn:
        oid = conn.execute(select(Order.id).where(Order.platform_order_id == "3900000000000000003")).scalar_one()
        conn.execute(insert(Action), [{"order_id": oid, "code": "damage_reported", "note": "买家发来照片：瓶子碎了",
                                       "at": datetime.now(UTC)}])
    report = classify_orders(shop, P, NOW + H)
    assert report.orders_seen == 1 and report.opened == {"damaged": 1}


def test_exceptions_export_in_three_formats(shop, tmp_path):
    classify_orders(shop, P, NOW)
    with shop.connect() as conn:
        rows = case_rows(conn, P)
        stalled = case_rows(conn, P, kind="stalled", status="open")
    assert len(rows) == 5 and {r["kind"] for r in stalled} == {"stalled"} and len(stalled) == 2
    out = io.StringIO()
    TEXT_WRITERS["json"](rows, out)
    parsed = json.loads(out.getvalue())
    assert all(tuple(r) == COLUMNS for r in parsed)
    a = next(r for r in parsed if r["order_id"] == "3900000000000000001")
    assert a["waybills"] == ["73100000000001"] and a["carrier"] == "zto" and a["shop"] == "示例旗舰店"
    assert a["detected_at"] == "2026-11-25T12:00:00+08:00" and "最后一条轨迹 49 小时前" in a["evidence"]
    assert a["actions"][0] == "urge_courier"
    out = io.StringIO()
    TEXT_WRITERS["csv"](rows, out)
    table = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert tuple(table[0]) == COLUMNS and len(table) == 5
    assert {r["order_id"] for r in table} == {f"390000000000000000{i}" for i in range(1, 6)}  # not F
    write_xlsx(rows, tmp_path / "cases.xlsx")
    sheet = openpyxl.load_workbook(tmp_path / "cases.xlsx").active
    values = list(sheet.values)
    assert values[0] == COLUMNS and len(values) == 6
    assert all(isinstance(v[0], str) for v in values[1:])


def test_cli_classify_and_exceptions(shop, tmp_path, monkeypatch):
    url = shop.url.render_as_string(hide_password=False)
    config.override(config.Settings(instance_dir=tmp_path / "instance", database_url=url))
    runner = CliRunner()
    result = runner.invoke(cli.main, ["classify", "--now", "2026-11-25 12:00"])
    assert result.exit_code == 0, result.output
    assert "stalled" in result.output and "全量 full" in result.output
    for fmt in ("csv", "json", "xlsx"):
        out = tmp_path / f"cases.{fmt}"
        result = runner.invoke(cli.main, ["exceptions", "--format", fmt, "-o", str(out), "--kind", "stalled"])
        assert result.exit_code == 0, result.output
        assert out.stat().st_size > 0
    data = json.loads((tmp_path / "cases.json").read_text(encoding="utf-8"))
    assert [r["kind"] for r in data] == ["stalled", "stalled"]
    bad = runner.invoke(cli.main, ["exceptions", "--format", "json", "--kind", "nope"])
    assert bad.exit_code != 0 and "unknown kind" in bad.output


def test_a_quiet_order_is_not_evaluated_but_its_open_case_still_clears(shop):
    first = classify_orders(shop, P, NOW)
    assert first.orders_seen == 6 and first.orders_evaluated == 5  # F: delivered, nothing to find
    with shop.begin() as conn:
        oid = conn.execute(select(Order.id).where(Order.platform_order_id == "3900000000000000006")).scalar_one()
        conn.execute(insert(ExceptionCase).values(order_id=oid, kind="stalled", status="in_progress", severity=2,
                                                  evidence={}, evidence_text="旧的证据", detected_at=NOW - H,
                                                  updated_at=NOW - H))
        conn.execute(update(Order).where(Order.id == oid).values(facts_changed_at=datetime.now(UTC)))
    report = classify_orders(shop, P, NOW + H)
    assert report.orders_seen == 1 and report.orders_evaluated == 0
    assert report.cleared == {"stalled": 1} and cases(shop)[("6", "stalled")][0] == "cleared"


def test_a_full_run_in_two_processes_finds_what_one_finds(shop):
    classify_orders(shop, P, NOW, chunk=2, processes=2)
    assert cases(shop).keys() == {("1", "stalled"), ("2", "not_shipped"), ("3", "wrong_carrier"), ("4", "stalled"),
                                  ("5", "damaged")}
