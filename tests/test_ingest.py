"""Ingest of real-format export files into SQLite and PostgreSQL."""
from __future__ import annotations

import csv
from datetime import datetime, timezone
from decimal import Decimal

import pytest
from sqlalchemy import func, select

import imports
from exportfiles import (
    TAOBAO_ORDER_HEADER,
    jd_order_row,
    pdd_order_row,
    taobao_item_row,
    taobao_order_row,
    taobao_refund_row,
    write_taobao_items_csv,
    write_taobao_orders_csv,
    write_taobao_orders_xlsx,
    write_taobao_refunds_csv,
    write_jd_orders_csv,
    write_pdd_orders_csv,
)
from imports.records import OrderColumns, OrderRecord
from tracker import ingest
from tracker.ingest import ORDER_FACTS, _order_binder, fact_columns, import_file, merge_order, prepare_orders
from tracker.models import ImportBatch, Order, OrderItem, Refund, Shipment, Shop

NOW = datetime(2026, 11, 12, 2, 0, tzinfo=timezone.utc)


@pytest.fixture(autouse=True, params=["parse_here", "parse_in_child"])
def parse_mode(request, monkeypatch):
    """Every ingest test runs with parsing in this process and in a second one."""
    monkeypatch.setattr(ingest, "PARSE_IN_CHILD_BYTES", 0 if request.param == "parse_in_child" else 10**12)
    return request.param


def run(engine, path, tmp_path, **kw):
    return import_file(engine, path, max_bytes=10**9, reports_dir=tmp_path / "reports", now=NOW, **kw)


def count(engine, model) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(model)).scalar_one()


def orders_by_id(engine) -> dict[str, Order]:
    with engine.connect() as conn:
        return {o.platform_order_id: o for o in conn.execute(select(Order))}


def test_taobao_csv_lands_with_exact_money_utc_times_and_shipments(engine, tmp_path):
    rows = [
        taobao_order_row(订单编号="3912345678901234567", 买家实际支付金额="1288.50", 收货地址="新疆 乌鲁木齐市 天山区 解放南路1号(830000)"),
        taobao_order_row(订单编号="3912345678901234568", 物流单号="YT1234567890123，YT1234567890124",
                         物流公司="圆通速递", 买家留言="麻烦发顺丰，不要中通", 联系手机="13912345678"),
        taobao_order_row(订单编号="3912345678901234569", 订单状态="买家已付款，等待卖家发货", 物流单号="", 物流公司="", 发货时间=""),
    ]
    path = write_taobao_orders_csv(tmp_path / "ExportOrderList202611120930.csv", rows)
    summary = run(engine, path, tmp_path)

    assert (summary.rows_read, summary.created, summary.updated, summary.unchanged, summary.rejected) == (3, 3, 0, 0, 0)
    orders = orders_by_id(engine)
    first = orders["3912345678901234567"]
    assert first.paid_amount == Decimal("1288.50")
    assert first.province == "新疆维吾尔自治区" and first.city == "乌鲁木齐市"
    assert first.paid_at == datetime(2026, 11, 10, 16, 0, 9, tzinfo=timezone.utc)  # 00:00:09 in Shanghai
    assert first.status == "shipped" and first.status_raw == "卖家已发货，等待买家确认"
    second = orders["3912345678901234568"]
    assert second.requested_carriers == "sf" and second.excluded_carriers == "zto"
    assert second.phone_tail == "5678"
    assert orders["3912345678901234569"].status == "awaiting_shipment"

    with engine.connect() as conn:
        ships = conn.execute(select(Shipment).order_by(Shipment.waybill)).all()
        shop = conn.execute(select(Shop)).one()
    assert [(s.waybill, s.carrier, s.kind) for s in ships] == [
        ("73100000000001", "zto", "original"),
        ("YT1234567890123", "yto", "original"),
        ("YT1234567890124", "yto", "original"),
    ]
    assert all(s.next_poll_at == NOW and not s.done for s in ships)  # due for polling at once
    assert shop.name == "示例旗舰店"


def test_reimport_same_file_changes_nothing_and_newer_export_updates(engine, tmp_path):
    rows = [taobao_order_row(订单编号=str(3900000000000000000 + i)) for i in range(5)]
    path = write_taobao_orders_csv(tmp_path / "a.csv", rows)
    run(engine, path, tmp_path)
    again = run(engine, path, tmp_path)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 5)
    assert count(engine, Order) == 5 and count(engine, Shipment) == 5

    rows[0].update(订单状态="交易成功", 确认收货时间="2026-11-21 18:30:00")
    newer = run(engine, write_taobao_orders_csv(tmp_path / "b.csv", rows), tmp_path)
    assert (newer.created, newer.updated, newer.unchanged) == (0, 1, 4)
    done = orders_by_id(engine)["3900000000000000000"]
    assert done.status == "finished"
    assert done.confirmed_at == datetime(2026, 11, 21, 10, 30, tzinfo=timezone.utc)

    # The older export again: nothing moves backwards.
    stale = run(engine, path, tmp_path)
    assert (stale.updated, stale.unchanged) == (0, 5)
    done = orders_by_id(engine)["3900000000000000000"]
    assert done.status == "finished" and done.confirmed_at is not None
    assert count(engine, Order) == 5 and count(engine, ImportBatch) == 4


def test_an_older_export_after_a_newer_one_only_fills_what_is_not_known(engine, tmp_path):
    """A row whose status is behind the stored one is from an older export: the waybill,
    amounts and times the newer export corrected stay, and no superseded waybill comes back."""
    old = taobao_order_row(订单编号="3900000000000000077", 物流单号="73100000000077", 物流公司="中通快递",
                           退款金额="0", 延迟发货自动赔付金额="0")
    old_path = write_taobao_orders_csv(tmp_path / "ExportOrderList202611120930.csv", [old])
    run(engine, old_path, tmp_path)
    newer = dict(old, 订单状态="交易成功", 确认收货时间="2026-11-21 18:30:00", 物流单号="YT9000000000077",
                 物流公司="圆通速递", 退款金额="20.00", 延迟发货自动赔付金额="5.00")
    run(engine, write_taobao_orders_csv(tmp_path / "ExportOrderList202612010930.csv", [newer]), tmp_path)
    stale = run(engine, old_path, tmp_path)
    assert (stale.updated, stale.unchanged) == (0, 1)
    order = orders_by_id(engine)["3900000000000000077"]
    assert (order.status, order.refund_amount, order.delay_compensation) == ("finished", Decimal("20.00"),
                                                                             Decimal("5.00"))
    with engine.connect() as conn:
        live = [s.waybill for s in conn.execute(select(Shipment).where(Shipment.superseded_at.is_(None)))]
    assert live == ["YT9000000000077"]


def test_a_file_exported_before_the_order_s_last_one_only_fills_gaps_whatever_the_status(engine, tmp_path):
    """Both exports say 已发货; the file names say which is older (ExportOrderList<yyyyMMddHHmm>)."""
    row = taobao_order_row(订单编号="3900000000000000078", 物流单号="73100000000078", 物流公司="中通快递", 订单备注="")
    older = write_taobao_orders_csv(tmp_path / "ExportOrderList202611121100.csv", [row])
    reshipped = dict(row, 物流单号="YT9000000000078", 物流公司="圆通速递", 订单备注="补发")
    newer = write_taobao_orders_csv(tmp_path / "ExportOrderList202611121200.csv", [reshipped])
    run(engine, newer, tmp_path)
    stale = run(engine, older, tmp_path)
    assert (stale.updated, stale.unchanged) == (0, 1)
    order = orders_by_id(engine)["3900000000000000078"]
    assert order.seller_memo == "补发"
    with engine.connect() as conn:
        live = [s.waybill for s in conn.execute(select(Shipment).where(Shipment.superseded_at.is_(None)))]
        assert live == ["YT9000000000078"]
        assert conn.execute(select(ImportBatch.exported_at).order_by(ImportBatch.id)).scalars().all() == [
            datetime(2026, 11, 12, 4, 0, tzinfo=timezone.utc), datetime(2026, 11, 12, 3, 0, tzinfo=timezone.utc)]
    # a file exported in between is still compared with the newest, not with the older one just read
    between = dict(row, 订单备注="中间")
    run(engine, write_taobao_orders_csv(tmp_path / "ExportOrderList202611121130.csv", [between]), tmp_path)
    assert orders_by_id(engine)["3900000000000000078"].seller_memo == "补发"
    later = dict(reshipped, 订单状态="交易成功")
    assert run(engine, write_taobao_orders_csv(tmp_path / "ExportOrderList202611130900.csv", [later]),
               tmp_path).updated == 1


def test_a_refund_after_receipt_closes_a_finished_order_and_the_older_export_does_not_reopen_it(engine, tmp_path):
    row = pdd_order_row(订单状态="已签收", 确认收货时间="2026-11-16 10:00")
    first = write_pdd_orders_csv(tmp_path / "pdd_1116.csv", [row])
    run(engine, first, tmp_path)
    run(engine, write_pdd_orders_csv(tmp_path / "pdd_1120.csv", [dict(row, 订单状态="已签收，退款成功")]), tmp_path)
    run(engine, first, tmp_path)
    order = orders_by_id(engine)[row["订单号"]]
    assert (order.status, order.status_raw) == ("closed", "已签收，退款成功")


def test_pdd_trade_success_is_finished(engine, tmp_path):
    row = pdd_order_row()
    run(engine, write_pdd_orders_csv(tmp_path / "a.csv", [row]), tmp_path)
    newer = run(engine, write_pdd_orders_csv(tmp_path / "b.csv", [dict(row, 订单状态="交易成功")]), tmp_path)
    assert newer.updated == 1 and orders_by_id(engine)[row["订单号"]].status == "finished"


def test_an_unrecognised_status_keeps_the_known_one_and_takes_the_rest(engine, tmp_path):
    row = pdd_order_row(订单状态="已签收")
    run(engine, write_pdd_orders_csv(tmp_path / "a.csv", [row]), tmp_path)
    later = dict(row, 订单状态="已签收，待评价", 商家备注="已补发赠品")
    run(engine, write_pdd_orders_csv(tmp_path / "b.csv", [later]), tmp_path)
    order = orders_by_id(engine)[row["订单号"]]
    assert (order.status, order.status_raw, order.seller_memo) == ("finished", "已签收", "已补发赠品")


def test_a_file_naming_no_shop_reaches_the_platform_s_only_shop(engine, tmp_path):
    row = taobao_order_row(订单编号="3900000000000000088", 店铺名称="示例旗舰店")
    run(engine, write_taobao_orders_csv(tmp_path / "a.csv", [row]), tmp_path)
    no_shop = [c for c in TAOBAO_ORDER_HEADER if c != "店铺名称"]
    newer = dict(row, 订单状态="交易成功", 确认收货时间="2026-11-21 18:30:00")
    summary = run(engine, write_taobao_orders_xlsx(tmp_path / "b.xlsx", [newer], columns=no_shop), tmp_path)
    assert (summary.created, summary.updated) == (0, 1)
    assert count(engine, Order) == 1 and count(engine, Shop) == 1 and count(engine, Shipment) == 1
    assert orders_by_id(engine)["3900000000000000088"].status == "finished"


def test_a_row_with_its_shop_cell_empty_belongs_to_the_one_shop_its_file_names(engine, tmp_path):
    rows = [taobao_order_row(店铺名称="店铺A"), taobao_order_row(店铺名称=""), taobao_order_row(店铺名称="店铺A")]
    summary = run(engine, write_taobao_orders_csv(tmp_path / "a.csv", rows), tmp_path)
    assert summary.created == 3
    with engine.connect() as conn:
        assert conn.execute(select(Shop.name)).scalars().all() == ["店铺A"]


def test_a_file_naming_no_shop_among_several_of_its_platform_is_refused(engine, tmp_path):
    for shop in ("甲店", "乙店"):
        run(engine, write_taobao_orders_csv(tmp_path / f"{shop}.csv", [taobao_order_row(店铺名称=shop)]), tmp_path)
    no_shop = [c for c in TAOBAO_ORDER_HEADER if c != "店铺名称"]
    path = write_taobao_orders_csv(tmp_path / "c.csv", [taobao_order_row()], columns=no_shop)
    with pytest.raises(imports.RejectedFile, match="--shop"):
        run(engine, path, tmp_path)
    assert count(engine, Order) == 2 and count(engine, Shop) == 2
    assert run(engine, path, tmp_path, shop="乙店").created == 1


def test_jd_order_lines_import_as_one_order_and_again_unchanged(engine, tmp_path):
    lines = [jd_order_row(订单号="250000000017", 商品名称="羽绒服", 订购数量="1"),
             jd_order_row(订单号="250000000017", 商品名称="围巾", 订购数量="2", 运单号="JDVA00000000019")]
    path = write_jd_orders_csv(tmp_path / "jd.csv", lines)
    first = run(engine, path, tmp_path)
    again = run(engine, path, tmp_path)
    assert (first.rows_read, first.created, again.unchanged) == (1, 1, 1)
    order = orders_by_id(engine)["250000000017"]
    assert (order.item_count, order.item_summary) == (3, "羽绒服；围巾")
    assert count(engine, Order) == 1 and count(engine, Shipment) == 2


def test_changed_waybill_supersedes_the_old_shipment(engine, tmp_path):
    row = taobao_order_row(订单编号="3900000000000000042", 物流单号="73100000000042")
    run(engine, write_taobao_orders_csv(tmp_path / "a.csv", [row]), tmp_path)
    row.update(物流单号="YT9000000000042", 物流公司="圆通速递")
    run(engine, write_taobao_orders_csv(tmp_path / "b.csv", [row]), tmp_path)
    with engine.connect() as conn:
        ships = {s.waybill: s for s in conn.execute(select(Shipment))}
    assert ships["73100000000042"].superseded_at == NOW
    assert ships["YT9000000000042"].superseded_at is None and ships["YT9000000000042"].carrier == "yto"


def test_bad_rows_are_reported_with_row_numbers_and_the_rest_goes_in(engine, tmp_path):
    rows = [
        taobao_order_row(),
        taobao_order_row(订单编号=""),  # row 3: no order id
        taobao_order_row(订单付款时间="昨天下午"),  # row 4: bad date
        taobao_order_row(买家实际支付金额="五十九"),  # row 5: bad amount
        taobao_order_row(),
    ]
    summary = run(engine, write_taobao_orders_csv(tmp_path / "ExportOrderList1.csv", rows), tmp_path)
    assert (summary.created, summary.rejected) == (2, 3)
    assert count(engine, Order) == 2
    with open(summary.error_report, encoding="utf-8-sig", newline="") as f:
        report = list(csv.reader(f))
    assert [r[0] for r in report[1:]] == ["3", "4", "5"]
    assert all(r[1] for r in report[1:])  # every row says why
    with engine.connect() as conn:
        batch = conn.execute(select(ImportBatch)).one()
    assert (batch.rejected, batch.created, batch.error_report) == (3, 2, summary.error_report)


def test_xlsx_export_imports_like_the_csv(engine, tmp_path):
    rows = [taobao_order_row(订单编号=str(3900000000000001000 + i)) for i in range(3)]
    summary = run(engine, write_taobao_orders_xlsx(tmp_path / "ExportOrderList.xlsx", rows), tmp_path)
    assert (summary.created, summary.rejected) == (3, 0)
    assert orders_by_id(engine)["3900000000000001001"].paid_amount == Decimal("59.00")


def test_items_attach_to_imported_orders_and_unknown_orders_are_row_errors(engine, tmp_path):
    order = taobao_order_row(订单编号="3900000000000000777")
    run(engine, write_taobao_orders_csv(tmp_path / "o.csv", [order]), tmp_path)
    items = [
        taobao_item_row(订单编号="3900000000000000777", 标题="羽绒服", 购买数量="2", 价格="59.00"),
        taobao_item_row(订单编号="3900000000000000777", 标题="围巾", 价格="19.90"),
        taobao_item_row(订单编号="3900000000000000999", 标题="手套"),
    ]
    path = write_taobao_items_csv(tmp_path / "ExportOrderDetailList.csv", items)
    summary = run(engine, path, tmp_path)
    assert (summary.created, summary.rejected) == (2, 1)
    again = run(engine, path, tmp_path)
    assert (again.created, again.unchanged) == (0, 2)
    with engine.connect() as conn:
        lines = conn.execute(select(OrderItem).order_by(OrderItem.line_no)).all()
    assert [(i.title, i.quantity, i.price) for i in lines] == [("羽绒服", 2, Decimal("59.00")), ("围巾", 1, Decimal("19.90"))]


def test_refunds_link_to_orders_and_return_waybills_become_return_shipments(engine, tmp_path):
    order = taobao_order_row(订单编号="3900000000000000555")
    run(engine, write_taobao_orders_csv(tmp_path / "o.csv", [order]), tmp_path)
    refund = taobao_refund_row(订单编号="3900000000000000555", 退款状态="卖家已经同意退款，等待买家退货",
                               买家退款原因="商品破损/少件", 退货物流单号="SF1234567890123", 退货物流公司="顺丰速运")
    summary = run(engine, write_taobao_refunds_csv(tmp_path / "ExportRefundList.csv", [refund]), tmp_path)
    assert summary.created == 1
    with engine.connect() as conn:
        stored = conn.execute(select(Refund)).one()
        ret = conn.execute(select(Shipment).where(Shipment.kind == "return")).one()
        order_id = conn.execute(select(Order.id)).scalar_one()
    assert stored.order_id == order_id and stored.reason == "商品破损/少件" and stored.status == "awaiting_return"
    assert (ret.waybill, ret.carrier, ret.source, ret.order_id) == ("SF1234567890123", "sf", "refund", order_id)


def test_a_refund_of_an_order_not_imported_is_a_row_error_and_creates_no_shop(engine, tmp_path):
    order = taobao_order_row(订单编号="3900000000000000556", 店铺名称="店铺A")
    refunds = [taobao_refund_row(订单编号="3900000000000000556"), taobao_refund_row(订单编号="3900000000000000999")]
    path = write_taobao_refunds_csv(tmp_path / "ExportRefundList.csv", refunds)
    early = run(engine, path, tmp_path)
    assert (early.created, early.rejected) == (0, 2) and count(engine, Shop) == 0
    run(engine, write_taobao_orders_csv(tmp_path / "o.csv", [order]), tmp_path)
    later = run(engine, path, tmp_path)
    assert (later.created, later.rejected) == (1, 1) and count(engine, Shop) == 1
    with engine.connect() as conn:
        assert conn.execute(select(Refund.order_id)).scalar_one() == orders_by_id(engine)[order["订单编号"]].id


def test_an_older_refund_export_does_not_reopen_a_refund_that_has_ended(engine, tmp_path):
    run(engine, write_taobao_orders_csv(tmp_path / "o.csv", [taobao_order_row(订单编号="3900000000000000557")]),
        tmp_path)
    asked = taobao_refund_row(订单编号="3900000000000000557")
    older = write_taobao_refunds_csv(tmp_path / "ExportRefundList1.csv", [asked])
    run(engine, older, tmp_path)
    done = dict(asked, 退款状态="退款成功", 退款完结时间="2026-11-18 10:00:00")
    run(engine, write_taobao_refunds_csv(tmp_path / "ExportRefundList2.csv", [done]), tmp_path)
    again = run(engine, older, tmp_path)
    assert (again.updated, again.unchanged) == (0, 1)
    with engine.connect() as conn:
        assert conn.execute(select(Refund.status)).scalar_one() == "succeeded"


def test_an_interrupted_import_leaves_the_database_as_it_was(engine, tmp_path):
    before = [taobao_order_row(订单编号="3900000000000000001")]
    run(engine, write_taobao_orders_csv(tmp_path / "a.csv", before), tmp_path)
    many = [taobao_order_row(订单编号=str(3900000000000100000 + i)) for i in range(5000)]
    path = write_taobao_orders_csv(tmp_path / "big.csv", many)

    def crash(_fraction):
        raise KeyboardInterrupt  # as if the user hit Ctrl-C after the first chunk was written

    with pytest.raises(KeyboardInterrupt):
        run(engine, path, tmp_path, progress=crash)
    assert count(engine, Order) == 1 and count(engine, Shipment) == 1 and count(engine, ImportBatch) == 1
    assert not list((tmp_path / "reports").glob("*.csv"))


def _foreign_keys_on_and_held(engine) -> None:
    """SQLite: the pooled connection checks foreign keys again, and every stored row has its parent."""
    if engine.dialect.name != "sqlite":
        return
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
        assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []


def test_an_import_writes_no_row_without_its_parent_and_hands_the_connection_back_checking(engine, tmp_path):
    orders = [taobao_order_row(订单编号=str(3900000000000200000 + i), 物流单号=f"SF{1234567890000 + i}")
              for i in range(2500)]
    run(engine, write_taobao_orders_csv(tmp_path / "o.csv", orders), tmp_path)
    orders[0] = taobao_order_row(订单编号="3900000000000200000", 物流单号="YT1234567890123")  # moved waybill
    run(engine, write_taobao_orders_csv(tmp_path / "o2.csv", orders), tmp_path)
    items = [taobao_item_row(订单编号="3900000000000200001"), taobao_item_row(订单编号="3900000000000999999")]
    run(engine, write_taobao_items_csv(tmp_path / "ExportOrderDetailList.csv", items), tmp_path)
    refunds = [taobao_refund_row(订单编号="3900000000000200002", 退货物流单号="SF1234567890123", 退货物流公司="顺丰速运"),
               taobao_refund_row(订单编号="3900000000000999998", 退款编号="88001")]
    assert run(engine, write_taobao_refunds_csv(tmp_path / "ExportRefundList.csv", refunds), tmp_path).rejected == 1
    # the refund of an order not imported is a row error, as its item is
    assert count(engine, Shipment) == 2500 + 1 + 1 and count(engine, OrderItem) == 1 and count(engine, Refund) == 1
    _foreign_keys_on_and_held(engine)

    def crash(_fraction):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(engine, write_taobao_orders_csv(tmp_path / "o3.csv", [taobao_order_row(订单编号="3900000000000300001")]),
            tmp_path, progress=crash)
    _foreign_keys_on_and_held(engine)


def test_a_rejected_file_writes_nothing(engine, tmp_path):
    junk = tmp_path / "ExportOrderList.csv"
    junk.write_text("name,age\nalice,3\n", encoding="utf-8")
    with pytest.raises(imports.RejectedFile):
        run(engine, junk, tmp_path)
    assert count(engine, ImportBatch) == 0 and count(engine, Order) == 0


def _facts(status: str, status_raw: str, confirmed_at=None) -> tuple:
    record = OrderRecord(row=2, platform="taobao", platform_order_id="1", status=status,
                         status_raw=status_raw, confirmed_at=confirmed_at, province="浙江省")
    (facts,) = zip(*fact_columns(OrderColumns.of([record])))  # one row, in ORDER_FACTS order
    return facts


def test_merge_keeps_known_facts_and_never_moves_status_backwards():
    finished = _facts("finished", "交易成功", confirmed_at=NOW)
    assert merge_order(finished, _facts("shipped", "卖家已发货，等待买家确认")) == finished
    closed = merge_order(_facts("awaiting_shipment", "买家已付款，等待卖家发货"), _facts("closed", "交易关闭"))
    assert closed[ORDER_FACTS.index("status")] == "closed"
    assert closed[ORDER_FACTS.index("status_raw")] == "交易关闭"


def test_a_file_found_corrupt_midway_is_refused_and_rolled_back(engine, tmp_path):
    rows = [taobao_order_row(订单编号=str(3900000000000300000 + i)) for i in range(3000)]
    path = write_taobao_orders_csv(tmp_path / "ExportOrderList.csv", rows)
    data = bytearray(path.read_bytes())
    cut = data.index("\r\n".encode(), len(data) * 2 // 3) + 2
    path.write_bytes(bytes(data[:cut]) + b"\x81\x20\xff\xfe" + bytes(data[cut:]))  # not GB18030
    with pytest.raises(imports.RejectedFile) as refused:
        run(engine, path, tmp_path)
    assert "2001" in str(refused.value) or refused.value.row  # says where
    assert count(engine, Order) == 0 and count(engine, ImportBatch) == 0


def test_an_order_repeated_in_a_file_takes_its_last_row_even_after_an_unchanged_first(engine, tmp_path):
    first = taobao_order_row(订单编号="3900000000000000321")
    run(engine, write_taobao_orders_csv(tmp_path / "a.csv", [first]), tmp_path)
    later = dict(first, 订单状态="交易成功", 确认收货时间="2026-11-21 18:30:00")
    filler = [taobao_order_row(订单编号=str(3900000000000400000 + i)) for i in range(2500)]  # later chunk
    summary = run(engine, write_taobao_orders_csv(tmp_path / "b.csv", [first, *filler, later]), tmp_path)
    assert (summary.updated, summary.created) == (1, 2500)
    assert orders_by_id(engine)["3900000000000000321"].status == "finished"


def test_a_first_import_repeating_orders_within_and_across_chunks_keeps_each_last_row(engine, tmp_path):
    """A chunk of new orders each named once is written column-wise; any repeat takes the row path."""
    rows = [taobao_order_row(订单编号=str(3900000000000500000 + i), 物流单号=f"YT{7000000000000 + i}",
                             物流公司="圆通速递") for i in range(4300)]  # chunks of 2,000: the middle one all new
    again_in_chunk = dict(rows[5], 订单状态="交易成功", 确认收货时间="2026-11-21 18:30:00")
    again_later = dict(rows[7], 物流单号="YT7999999999999", 物流公司="圆通速递")
    path = write_taobao_orders_csv(tmp_path / "a.csv", [*rows[:100], again_in_chunk, *rows[100:], again_later])
    summary = run(engine, path, tmp_path)
    assert (summary.created, summary.updated, summary.unchanged, summary.rows_read) == (4300, 1, 1, 4302)
    orders = orders_by_id(engine)
    assert len(orders) == 4300 and orders[rows[5]["订单编号"]].status == "finished"
    assert orders[rows[0]["订单编号"]].paid_amount == Decimal(rows[0]["买家实际支付金额"])
    with engine.connect() as conn:
        bills = {(o, w, s is None) for o, w, s in conn.execute(
            select(Order.platform_order_id, Shipment.waybill, Shipment.superseded_at).join(Shipment))}
    assert (rows[7]["订单编号"], "YT7999999999999", True) in bills
    assert (rows[7]["订单编号"], rows[7]["物流单号"], False) in bills
    assert (rows[2999]["订单编号"], rows[2999]["物流单号"], True) in bills and len(bills) == 4301


def test_a_row_repeated_later_in_a_file_with_an_older_status_only_fills_gaps(engine, tmp_path):
    """Exports appended into one file: the row behind in status is the older one, wherever it is."""
    shipped = pdd_order_row(订单状态="已发货，待签收", 快递单号="YT1000000000777", 商家备注="")
    older = dict(shipped, 订单状态="待发货", 快递单号="", 快递公司="", 发货时间="", 商家备注="加急")
    run(engine, write_pdd_orders_csv(tmp_path / "a.csv", [shipped, older]), tmp_path)
    order = orders_by_id(engine)[shipped["订单号"]]
    assert (order.status, order.seller_memo) == ("shipped", "加急")
    assert count(engine, Shipment) == 1


def test_control_characters_deep_in_a_csv_land_without_nul(engine, tmp_path):
    """A NUL after the sniffed first chunk (PostgreSQL takes no NUL in text) is dropped, and a
    unit separator (which the parsing process packs columns with) is kept."""
    filler = [taobao_order_row() for _ in range(400)]  # past the 64 KB the encoding is decided from
    odd = taobao_order_row(买家留言="快点\x00发货", 订单备注="a\x1fb")
    path = write_taobao_orders_csv(tmp_path / "a.csv", [*filler, odd])
    assert path.stat().st_size > 64 * 1024
    summary = run(engine, path, tmp_path)
    assert (summary.created, summary.rejected) == (401, 0)
    order = orders_by_id(engine)[odd["订单编号"]]
    assert (order.buyer_message, order.seller_memo) == ("快点发货", "a\x1fb")


def test_a_stray_nul_near_the_top_is_dropped_not_taken_for_binary(engine, tmp_path):
    rows = [taobao_order_row() for _ in range(5)]
    rows[2]["买家留言"] = "快点\x00发货"
    summary = run(engine, write_taobao_orders_csv(tmp_path / "a.csv", rows), tmp_path, shop=" 店铺A ")
    assert (summary.created, summary.rejected) == (5, 0)
    assert orders_by_id(engine)[rows[2]["订单编号"]].buyer_message == "快点发货"
    with engine.connect() as conn:
        assert conn.execute(select(Shop.name)).scalar_one() == "店铺A"  # --shop as meant, not " 店铺A "


def test_a_marker_for_an_order_another_import_changed_refuses_the_file(engine, tmp_path):
    """The parsing process marks rows it saw stored unchanged; the writer re-checks each."""
    from tracker.ingest import ConcurrentImport, ImportSummary, _ErrorReport, _Ingest

    marker = ("示例旗舰店", "3900000000000000999", "taobao", "0123456789abcdef", None, None)
    with pytest.raises(ConcurrentImport, match="3900000000000000999"), engine.begin() as conn:
        ingest_ = _Ingest(conn, ImportSummary("f", "taobao_orders", "taobao", 1), "taobao", None,
                          _ErrorReport(tmp_path / "r"), NOW)
        ingest_.add_orders([marker])


def _indexes(engine) -> list[tuple]:
    with engine.connect() as conn:
        return conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name IN ('orders', 'shipments')"
            " ORDER BY name").all()


@pytest.fixture
def dropped(engine, monkeypatch) -> list:
    """Every load defers its indexes; the list collects the indexes each one dropped."""
    seen = []
    monkeypatch.setattr(ingest, "DEFER_INDEXES_ROWS", 1)
    monkeypatch.setattr(ingest.DeferredIndexes, "drop",
                        lambda self, real=ingest.DeferredIndexes.drop: (real(self), seen.append(self._dropped)))
    return seen


# SQLite only: PostgreSQL loads with COPY into its indexed tables (dropping an index there
# would lock readers out for the whole import).
@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_a_big_load_into_an_empty_table_builds_its_indexes_at_the_end(engine, tmp_path, dropped):
    before = _indexes(engine)
    rows = [taobao_order_row(订单编号=str(3900000000000500000 + i), 联系手机=f"1380000{i:04d}") for i in range(50)]
    summary = run(engine, write_taobao_orders_csv(tmp_path / "big.csv", rows), tmp_path)

    assert summary.created == 50
    # deferred: the indexes over columns the load writes row by row; the ones whose key
    # every new row shares (the import's time, an empty column) stayed in step
    assert sorted(name for name, _sql in dropped[0]) == [
        "ix_orders_buyer_nick", "ix_orders_phone_tail", "ix_orders_platform_order_id", "ix_shipments_waybill"]
    assert _indexes(engine) == before
    with engine.connect() as conn:  # the rebuilt index answers, and the planner takes it
        plan = conn.exec_driver_sql("EXPLAIN QUERY PLAN SELECT id FROM orders WHERE phone_tail = '0007'").all()
        assert "ix_orders_phone_tail" in str(plan)
        assert conn.exec_driver_sql("SELECT platform_order_id FROM orders WHERE phone_tail = '0007'").all() == [
            ("3900000000000500007",)]
        kept = "SELECT count(*) FROM orders INDEXED BY ix_orders_facts_changed_at WHERE facts_changed_at IS NOT NULL"
        assert conn.exec_driver_sql(kept).scalar_one() == 50
    # a second, smaller load into the now full table keeps its indexes in step row by row
    dropped.clear()
    run(engine, write_taobao_orders_csv(tmp_path / "more.csv", rows[:10]), tmp_path)
    assert dropped == [] and _indexes(engine) == before


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_a_refused_big_load_leaves_the_indexes_in_place(engine, tmp_path, dropped):
    before = _indexes(engine)
    rows = [taobao_order_row(订单编号=str(3900000000000600000 + i)) for i in range(4500)]
    path = write_taobao_orders_csv(tmp_path / "ExportOrderList.csv", rows)
    data = path.read_bytes()
    cut = data.index(b"\r\n", len(data) * 3 // 4) + 2  # after the first chunk
    path.write_bytes(data[:cut] + b"\x81\x20\xff\xfe" + data[cut:])
    with pytest.raises(imports.RejectedFile):
        run(engine, path, tmp_path)
    assert dropped and _indexes(engine) == before and count(engine, Order) == 0


def _replication_roles_of_writes(monkeypatch) -> list[tuple[str, str]]:
    """(table, ``session_replication_role`` in force) at each write of order or shipment rows."""
    from tracker import bulk

    seen: list[tuple[str, str]] = []
    write = bulk.BulkTable.write

    def recording(self, rows):
        if self.table.name in ("orders", "shipments") and rows:
            seen.append((self.table.name, self.conn.exec_driver_sql("SHOW session_replication_role").scalar()))
        return write(self, rows)

    monkeypatch.setattr(bulk.BulkTable, "write", recording)
    return seen


def _three_orders_with_waybills() -> list[dict]:
    return [taobao_order_row(订单编号=str(3900000000000600000 + i), 物流单号=f"YT{7100000000000 + i}",
                             物流公司="圆通速递") for i in range(3)]


def test_postgres_skips_foreign_key_triggers_only_for_new_orders_and_their_shipments(pg_engine, tmp_path,
                                                                                    monkeypatch):
    """Their parents are this transaction's own uncommitted rows or its shop, locked FOR KEY
    SHARE, which nobody else can delete meanwhile; a shipment of an order stored before keeps
    its check."""
    from sqlalchemy.exc import OperationalError

    seen = _replication_roles_of_writes(monkeypatch)
    first = _three_orders_with_waybills()
    run(pg_engine, write_taobao_orders_csv(tmp_path / "a.csv", first), tmp_path)
    assert seen == [("orders", "replica"), ("shipments", "replica")]
    seen.clear()
    deleting_the_shop = []

    def try_to_delete_the_shop(_fraction):
        with pg_engine.connect() as other:
            other.exec_driver_sql("SET lock_timeout = '200ms'")
            with pytest.raises(OperationalError, match="lock timeout"):
                other.exec_driver_sql("DELETE FROM shops")
            deleting_the_shop.append("refused")

    more = [taobao_order_row(订单编号="3900000000000600009", 物流单号="YT7100000000009", 物流公司="圆通速递")]
    run(pg_engine, write_taobao_orders_csv(tmp_path / "b.csv", [dict(first[0], 物流单号="YT7199999999999"), *more]),
        tmp_path, progress=try_to_delete_the_shop)
    # the new order and its shipment unchecked; the moved waybill of an order imported before, checked
    assert sorted(seen) == [("orders", "replica"), ("shipments", "origin"), ("shipments", "replica")]
    assert deleting_the_shop and set(deleting_the_shop) == {"refused"}
    with pg_engine.connect() as conn:
        assert conn.exec_driver_sql("SHOW session_replication_role").scalar() == "origin"
        orphans = conn.execute(select(func.count()).select_from(Shipment).outerjoin(Order, Shipment.order_id == Order.id)
                               .where(Order.id.is_(None))).scalar_one()
    assert orphans == 0 and count(pg_engine, Shipment) == 5


def test_postgres_without_the_right_to_turn_triggers_off_imports_with_them(pg_engine, tmp_path, monkeypatch):
    from tracker import db

    with pg_engine.begin() as conn:
        conn.exec_driver_sql("DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'tracker_plain') "
                             "THEN CREATE ROLE tracker_plain LOGIN; END IF; END $$")
        conn.exec_driver_sql("GRANT USAGE ON SCHEMA public TO tracker_plain")
        conn.exec_driver_sql("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO tracker_plain")
        conn.exec_driver_sql("GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO tracker_plain")
    plain = db.make_engine(pg_engine.url.set(username="tracker_plain").render_as_string(hide_password=False))
    seen = _replication_roles_of_writes(monkeypatch)
    try:
        summary = run(plain, write_taobao_orders_csv(tmp_path / "a.csv", _three_orders_with_waybills()), tmp_path)
    finally:
        plain.dispose()
        with pg_engine.begin() as conn:
            conn.exec_driver_sql("DROP OWNED BY tracker_plain")
            conn.exec_driver_sql("DROP ROLE tracker_plain")
    assert (summary.created, summary.shipments_added) == (3, 3)
    assert seen == [("orders", "origin"), ("shipments", "origin")]


DERIVED_FACTS = ("province", "city", "district", "phone_tail", "requested_carriers", "excluded_carriers")


def _derivation_files(tmp_path) -> dict[str, object]:
    messages = ["", "发顺丰", "不要中通", "只发邮政，韵达不到"]
    taobao = [taobao_order_row(订单编号=str(3900000000000500000 + i), 买家留言=messages[i % 4],
                               订单备注=["", "别发极兔"][i % 2], 联系手机=["13912345678", "", "12"][i % 3],
                               收货地址=["新疆 乌鲁木齐市 天山区 解放南路1号(830000)", "北京 北京市 朝阳区 建国路1号",
                                     "上海上海市浦东新区世纪大道1号", ""][i % 4])
              for i in range(300)]
    pdd = [pdd_order_row(买家留言=messages[i % 4], 省=["广东省", "浙江", ""][i % 3], 市=["", "深圳市"][i % 2],
                         区=["南山区", ""][i % 2]) for i in range(300)]
    jd = [jd_order_row(订单备注=messages[i % 4], 客户地址=["江西南昌市青山湖区昌东大道1号", "北京北京市朝阳区建国路1号"][i % 2])
          for i in range(300)]
    return {"taobao": write_taobao_orders_csv(tmp_path / "ExportOrderList.csv", taobao),
            "pdd": write_pdd_orders_csv(tmp_path / "pdd_orders.csv", pdd),
            "jd": write_jd_orders_csv(tmp_path / "jd_orders.csv", jd)}


@pytest.mark.parametrize("platform", ["taobao", "pdd", "jd"])
def test_facts_the_parser_leaves_underived_are_stored_as_the_parser_would_derive_them(engine, tmp_path, platform):
    """Places from the address (or a province column), phone tails and carrier wishes cannot
    fail a row, so column batches leave them to the writing process: what it stores equals
    what the records the same file parses into hold."""
    path = _derivation_files(tmp_path)[platform]
    with imports.open_export(path) as export:
        batches = [b for b in export.records(as_columns=True) if isinstance(b, OrderColumns)]
        prepared = [prepare_orders(b, export.info.platform, _order_binder("sqlite://")) for b in batches]
    assert batches and all(b.underived is not None for b in batches)  # the parsing side derived nothing
    assert all(p.pending and p.places == (platform != "pdd") for p in prepared)
    with imports.open_export(path) as export:
        records = [r for r in export.records() if isinstance(r, OrderRecord)]
    expected = {o_id: facts for o_id, facts in zip(
        [r.platform_order_id for r in records], zip(*fact_columns(OrderColumns.of(records))))}

    assert run(engine, path, tmp_path).created == 300
    names = [ORDER_FACTS.index(name) for name in DERIVED_FACTS]
    stored = {o.platform_order_id: tuple(getattr(o, name) for name in DERIVED_FACTS)
              for o in orders_by_id(engine).values()}
    assert stored == {o_id: tuple(facts[i] for i in names) for o_id, facts in expected.items()}
    values = set(stored.values())
    assert len({v[0] for v in values}) >= 2 and any(v[4] for v in values) and any(v[5] for v in values)


def test_a_waybill_of_digits_gets_the_note_its_shape_gets():
    """``carrier_note`` takes a number whose tail is all ASCII digits by its head and length:
    the same note the shape (digits as 9) gets, for every carrier and kind of number."""
    from tracker.ingest import _DIGITS_AS_9, _pattern_note, carrier_note

    numbers = ["YT1234567890123", "73100000000001", "SF1234567890", "JT00012345", "9876543210", "1234567890123",
               "JDVA00000000001", "YT12345678901-1", "75١٢٣٤٥٦٧٨٩", "DPK123456789012", "12"]
    for carrier in ("yto", "zto", "sf", "jt", "ems", "jd", "yunda"):
        for number in numbers:
            shape = number[:2] + number[2:].translate(_DIGITS_AS_9)
            assert carrier_note(number, carrier) == _pattern_note(carrier, shape), (carrier, number)
    assert any(carrier_note(number, "yto") for number in numbers)  # some numbers do not fit
    assert carrier_note("YT1234567890123", "yto") is None
