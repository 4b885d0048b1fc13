"""PDD, Douyin and JD exports from real-shaped files."""
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from imports import OrderRecord, RowError, ShipmentRef, open_export
from exportfiles import (douyin_order_row, jd_order_row, pdd_order_row, write_douyin_orders_csv,
                               write_douyin_orders_xlsx, write_jd_orders_csv, write_jd_orders_xlsx,
                               write_pdd_orders_csv, write_pdd_orders_xlsx)

UTC = timezone.utc


def read(path, **kw):
    with open_export(path, **kw) as export:
        return export.info, list(export.records())


@pytest.mark.parametrize("writer", [write_pdd_orders_csv, write_pdd_orders_xlsx])
def test_pdd_orders(tmp_path, writer):
    rows = [pdd_order_row(订单号="261111-300000000000001", 买家留言="韵达不到", 商家备注="发邮政",
                          省="内蒙古", 市="呼和浩特市", 区="新城区"),
            pdd_order_row(订单号="261111-300000000000002", 订单状态="未发货，退款成功", 快递单号="", 快递公司="")]
    info, (first, second) = read(writer(tmp_path / ("pdd" + (".csv" if "csv" in writer.__name__ else ".xlsx")), rows))
    assert info.format == "pdd_orders" and info.platform == "pdd"
    assert isinstance(first, OrderRecord) and first.platform_order_id == "261111-300000000000001"
    assert first.status == "shipped" and first.paid_at == datetime(2026, 11, 10, 16, 0, tzinfo=UTC)
    assert first.ship_deadline == datetime(2026, 11, 12, 16, 0, tzinfo=UTC)
    assert (first.province, first.city, first.district) == ("内蒙古自治区", "呼和浩特市", "新城区")
    assert first.receiver_phone == "13900139000" and first.paid_amount == Decimal("59.00")
    assert first.shipments == (ShipmentRef("YT1000000000001", "yto", "圆通快递"),)
    assert (first.requested_carriers, first.excluded_carriers) == (("chinapost",), ("yunda",))
    assert first.after_sale_status == "无售后或售后取消"
    assert second.status == "closed" and second.shipments == ()


def test_pdd_tabs_in_cells(tmp_path):
    path = write_pdd_orders_csv(tmp_path / "pdd.csv", [pdd_order_row()])
    assert b"\t261111-" in path.read_bytes()
    [record] = read(path)[1]
    assert "\t" not in record.platform_order_id and record.shipments[0].waybill == "YT1000000000001"


@pytest.mark.parametrize("writer", [write_douyin_orders_csv, write_douyin_orders_xlsx])
def test_douyin_orders(tmp_path, writer):
    rows = [douyin_order_row(主订单编号="6920000000000000010", 子订单编号="6920000000000000011",
                             快递信息="顺丰速运 SF1000000000001;圆通速递 YT1000000000001", 买家留言="发顺丰"),
            douyin_order_row(订单状态="备货中", 快递信息="", 发货时间="")]
    suffix = ".csv" if "csv" in writer.__name__ else ".xlsx"
    info, (first, second) = read(writer(tmp_path / f"douyin{suffix}", rows))
    assert info.format == "douyin_orders" and info.platform == "douyin"
    assert first.platform_order_id == "6920000000000000011" and first.parent_order_id == "6920000000000000010"
    assert first.status == "shipped" and first.shipped_at == datetime(2026, 11, 11, 10, 30, tzinfo=UTC)
    assert first.shipments == (ShipmentRef("SF1000000000001", "sf", "顺丰速运"),
                               ShipmentRef("YT1000000000001", "yto", "圆通速递"))
    assert (first.province, first.city, first.district) == ("四川省", "成都市", "武侯区")
    assert first.requested_carriers == ("sf",) and first.receiver_phone == "13700137000"
    assert first.after_sale_status is None  # "-"
    assert second.status == "awaiting_shipment" and second.shipments == ()


PDD = (write_pdd_orders_csv, pdd_order_row)
DOUYIN = (write_douyin_orders_csv, douyin_order_row)
JD = (write_jd_orders_csv, jd_order_row)


@pytest.mark.parametrize(("platform", "raw", "status"), [
    (PDD, "待支付", "awaiting_payment"), (PDD, "待发货", "awaiting_shipment"), (PDD, "已取消", "closed"),
    (PDD, "未发货，退款成功", "closed"), (PDD, "已发货，待签收", "shipped"), (PDD, "已签收", "finished"),
    (PDD, "已发货，退款成功", "closed"), (PDD, "已签收，退款成功", "closed"), (PDD, "已发货,待签收", "shipped"),
    (DOUYIN, "待支付", "awaiting_payment"), (DOUYIN, "备货中", "awaiting_shipment"),
    (DOUYIN, "待发货", "awaiting_shipment"), (DOUYIN, "已发货", "shipped"), (DOUYIN, "已完成", "finished"),
    (DOUYIN, "已关闭", "closed"), (JD, "等待出库", "awaiting_shipment"), (JD, "(删除)等待确认收货", "shipped"),
    (JD, "锁定", "awaiting_shipment"), (JD, "已取消", "closed"), (JD, "配送退货", "unknown"),
    (PDD, "交易成功", "finished"), (DOUYIN, "已支付", "awaiting_shipment"), (DOUYIN, "待确认", "awaiting_shipment"),
    (JD, "已锁定", "awaiting_shipment"), (JD, "等待发货", "awaiting_shipment"),
])
def test_statuses(tmp_path, platform, raw, status):
    writer, row = platform
    [record] = read(writer(tmp_path / "s.csv", [row(订单状态=raw)]))[1]
    assert (record.status, record.status_raw) == (status, raw)


@pytest.mark.parametrize("writer", [write_jd_orders_csv, write_jd_orders_xlsx])
def test_jd_orders(tmp_path, writer):
    rows = [jd_order_row(订单号="250000000001", 订单备注="不要发顺丰", 订单状态="(删除)等待出库"),
            jd_order_row(订单号="250000000002", 订单状态="完成", 订单完成时间="2026-11-20 10:00:00")]
    suffix = ".csv" if "csv" in writer.__name__ else ".xlsx"
    info, (first, second) = read(writer(tmp_path / f"jd{suffix}", rows))
    assert info.format == "jd_orders" and info.platform == "jd"
    assert first.status == "awaiting_shipment" and first.status_raw == "(删除)等待出库"
    assert (first.province, first.city, first.district) == ("江西省", "南昌市", "青山湖区")
    assert first.excluded_carriers == ("sf",) and first.buyer_nick == "jd_buyer01"
    assert first.shipments == (ShipmentRef("JDVA00000000001", "jd", "京东快递"),)
    assert second.status == "finished" and second.confirmed_at == datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize("writer", [write_jd_orders_csv, write_jd_orders_xlsx])
def test_jd_order_lines_make_one_order(tmp_path, writer):
    """JD exports a row per order line: an order's rows become one order with every title,
    the quantities added and each parcel once, whichever line names it."""
    lines = [jd_order_row(订单号="250000000007", 商品名称="加厚保暖羽绒服", 订购数量="1"),
             jd_order_row(订单号="250000000007", 商品名称="羊毛围巾", 订购数量="2", 运单号="", 快递公司=""),
             jd_order_row(订单号="250000000007", 商品名称="手套", 订购数量="1", 运单号="JDVA00000000009"),
             jd_order_row(订单号="250000000008", 运单号="JDVA00000000008")]
    suffix = ".csv" if "csv" in writer.__name__ else ".xlsx"
    _info, (joined, single) = read(writer(tmp_path / f"jd{suffix}", lines))
    assert (joined.row, joined.item_count, joined.item_summary) == (2, 4, "加厚保暖羽绒服；羊毛围巾；手套")
    assert joined.shipments == (ShipmentRef("JDVA00000000001", "jd", "京东快递"),
                                ShipmentRef("JDVA00000000009", "jd", "京东快递"))
    assert joined.paid_amount == Decimal("59.00")  # the order's amount, on each of its lines
    assert (single.row, single.item_count, single.shipments[0].waybill) == (5, 1, "JDVA00000000008")


def test_jd_order_lines_exported_twice_count_once_and_xlsx_quantities_add_up(tmp_path):
    line = jd_order_row(订单号="250000000031", 商品名称="羽绒服", 订购数量="1")
    other = jd_order_row(订单号="250000000031", 商品名称="围巾", 订购数量="2", 运单号="", 快递公司="")
    _info, (csv_order,) = read(write_jd_orders_csv(tmp_path / "jd.csv", [line, line, other]))
    _info, (xlsx_order,) = read(write_jd_orders_xlsx(tmp_path / "jd.xlsx", [line, other], cell_types=True))
    assert csv_order.item_count == 3 and csv_order.item_summary == "羽绒服；围巾"
    assert xlsx_order.item_count == 3


def test_jd_order_lines_with_their_own_carriers_keep_each_its_own(tmp_path):
    lines = [jd_order_row(订单号="250000000041", 运单号="JDVA00000000041", 快递公司="京东快递"),
             jd_order_row(订单号="250000000041", 运单号="462598779470531", 快递公司="韵达快递"),
             jd_order_row(订单号="250000000041", 运单号="73100000000041", 快递公司="")]
    _info, (order,) = read(write_jd_orders_csv(tmp_path / "jd.csv", lines))
    assert [(s.waybill, s.carrier) for s in order.shipments] == [
        ("JDVA00000000041", "jd"), ("462598779470531", "yunda"), ("73100000000041", None)]  # not another's


def test_jd_2015_layout_without_waybill_columns(tmp_path):
    path = write_jd_orders_csv(tmp_path / "jd_old.csv", [jd_order_row(订单状态="等待确认收货")], waybill_columns=False)
    info, [record] = read(path)
    assert info.encoding == "gb18030" and record.shipments == () and record.status == "shipped"


def test_jd_bad_amount(tmp_path):
    [error] = read(write_jd_orders_csv(tmp_path / "jd.csv", [jd_order_row(应付金额="约59")]))[1]
    assert isinstance(error, RowError) and (error.row, error.column, error.value) == (2, "应付金额", "约59")
