"""Taobao/Tmall 订单报表, 宝贝报表 and 退款报表 from real-shaped files."""
from dataclasses import replace
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from imports import ItemRecord, OrderRecord, RefundRecord, RowError, ShipmentRef, open_export
from exportfiles import (taobao_item_row, taobao_order_row, taobao_refund_row, write_taobao_items_csv,
                               write_taobao_orders_csv, write_taobao_orders_xlsx, write_taobao_refunds_csv,
                               write_taobao_refunds_xlsx)

UTC = timezone.utc


def read(path, **kw):
    with open_export(path, **kw) as export:
        return export.info, list(export.records())


def quirky_rows():
    return [
        taobao_order_row(订单编号="3900000000000000001", 买家留言='不要发中通，发顺丰, "急用"', 收货人姓名="张三",
                         收货地址='北京 北京市 朝阳区 望京街道, "某小区"\n3号楼(100000)',
                         买家实际支付金额="128.50元", 物流单号="SF1000000000001,SF1000000000002", 物流公司="顺丰速运"),
        taobao_order_row(订单编号="3900000000000000002", 订单状态="交易成功", 订单付款时间="2026/11/11 0:01",
                         确认收货时间="2026-11-21 18:30:00", 订单备注="只发邮政", 物流公司="邮政快递包裹",
                         物流单号="9800000000001", 收货地址="新疆 乌鲁木齐市 天山区 人民路1号(830000)"),
        taobao_order_row(订单编号="3900000000000000003", 订单状态="买家已付款，等待卖家发货", 物流单号="", 物流公司="",
                         发货时间="", 收货地址="广西壮族自治区 南宁市 青秀区 民族大道(530000)"),
    ]


def check_quirky(records):
    first, second, third = records
    assert isinstance(first, OrderRecord) and first.row == 2
    assert first.platform == "taobao" and first.platform_order_id == "3900000000000000001"
    assert first.status == "shipped" and first.status_raw == "卖家已发货，等待买家确认"
    assert first.receiver_phone == "13800138000"
    assert first.receiver_address.endswith("3号楼(100000)") and "\n" in first.receiver_address
    assert (first.province, first.city, first.district) == ("北京市", "北京市", "朝阳区")
    assert first.buyer_message == '不要发中通，发顺丰, "急用"'
    assert (first.requested_carriers, first.excluded_carriers) == (("sf",), ("zto",))
    assert first.paid_amount == Decimal("128.50") and first.total_amount == Decimal("59.00")
    assert first.shipments == (ShipmentRef("SF1000000000001", "sf", "顺丰速运"),
                               ShipmentRef("SF1000000000002", "sf", "顺丰速运"))
    assert first.paid_at == datetime(2026, 11, 10, 16, 0, 9, tzinfo=UTC)
    assert first.shipped_at == datetime(2026, 11, 11, 10, 30, tzinfo=UTC)
    assert first.shop_name == "示例旗舰店" and first.parent_order_id == "3900000000000000001"
    assert first.closed_reason is None  # "订单未关闭"
    assert first.delay_compensation == Decimal("0.00") and first.item_count == 1
    # a quoted newline is one spreadsheet row: the next record is row 3
    assert second.row == 3 and second.status == "finished"
    assert second.paid_at == datetime(2026, 11, 10, 16, 1, tzinfo=UTC)
    assert second.confirmed_at == datetime(2026, 11, 21, 10, 30, tzinfo=UTC)
    assert second.requested_carriers == ("chinapost",) and second.province == "新疆维吾尔自治区"
    assert third.status == "awaiting_shipment" and third.shipments == () and third.shipped_at is None
    assert third.province == "广西壮族自治区"


@pytest.mark.parametrize("encoding", ["gbk", "utf-8-sig", "gb18030"])
def test_orders_csv_with_every_quirk(tmp_path, encoding):
    path = write_taobao_orders_csv(tmp_path / "ExportOrderList202611120930.csv", quirky_rows(), encoding=encoding)
    assert b"\r\n" in path.read_bytes() and '="3900000000000000001"'.encode() in path.read_bytes()
    info, records = read(path)
    assert info.format == "taobao_orders" and info.platform == "taobao" and info.kind == "orders"
    assert info.encoding == {"gbk": "gb18030", "gb18030": "gb18030", "utf-8-sig": "utf-8-sig"}[encoding]
    assert info.header_row == 1 and "收货地址" in info.columns  # trailing space stripped
    check_quirky(records)


def facts_only(records: list) -> list:
    """Records without the digest of their raw cells (which differ by file type and reader)."""
    return [replace(r, source_digest=None) for r in records]


def test_orders_xlsx_match_the_csv(tmp_path):
    csv_records = read(write_taobao_orders_csv(tmp_path / "a.csv", quirky_rows()))[1]
    info, xlsx_records = read(write_taobao_orders_xlsx(tmp_path / "a.xlsx", quirky_rows()))
    assert info.encoding is None and info.engine == "calamine" and info.sheet == "Sheet1"
    # The same facts; only the digest of the raw cells differs (="…" wrappers vs typed cells).
    assert facts_only(xlsx_records) == facts_only(csv_records)


def test_xlsx_with_title_row_typed_cells_and_the_streaming_engine(tmp_path, monkeypatch):
    path = write_taobao_orders_xlsx(tmp_path / "b.xlsx", quirky_rows(), title="订单报表 2026-11-12 09:30",
                                    cell_types=True)
    info, records = read(path)
    assert info.header_row == 2 and [r.row for r in records] == [3, 4, 5]
    assert records[1].paid_at == datetime(2026, 11, 10, 16, 1, tzinfo=UTC)  # a datetime cell
    assert records[1].total_amount == Decimal("59.0")  # a number cell
    from imports import reader

    monkeypatch.setattr(reader, "CALAMINE_XML_BUDGET", 0)
    info2, streamed = read(path)
    assert info2.engine == "openpyxl" and facts_only(streamed) == facts_only(records)


def test_older_export_without_the_newer_columns(tmp_path):
    path = write_taobao_orders_csv(tmp_path / "old.csv", [taobao_order_row()], extra_columns=False)
    info, [record] = read(path)
    assert "发货时间" not in info.columns
    assert record.shipped_at is None and record.shop_name is None and record.item_count is None
    assert record.shipments[0].carrier == "zto"


def test_alternate_header_names(tmp_path):
    columns = ["订单编号", "买家会员名", "买家实付金额", "订单状态", "收货人", "收货地址", "手机", "买家下单时间",
               "买家付款时间", "发货时间", "确认收货时间", "运单号", "物流公司", "宝贝总数量"]
    row = taobao_order_row(买家实付金额="10.00", 收货人="李四", 手机="13900000000", 买家下单时间="2026-11-11 00:00:00",
                           买家付款时间="2026-11-11 00:00:01", 运单号="YT1000000000001", 物流公司="圆通速递")
    info, [record] = read(write_taobao_orders_xlsx(tmp_path / "alt.xlsx", [row], columns=columns))
    assert info.format == "taobao_orders"
    assert record.paid_amount == Decimal("10.00") and record.receiver_name == "李四"
    assert record.receiver_phone == "13900000000" and record.shipments[0].carrier == "yto"
    assert record.created_at == datetime(2026, 11, 10, 16, 0, tzinfo=UTC)


def test_columns_feeding_one_field_fill_each_other_s_empty_cells(tmp_path):
    """The newest layout holds both 订单备注 and 商家备忘 (and 联系手机 beside 联系电话): the
    first listed wins where it holds a value, the other fills it where it is empty."""
    from exportfiles import TAOBAO_ORDER_HEADER

    columns = [*TAOBAO_ORDER_HEADER, "商家备忘"]
    rows = [taobao_order_row(订单备注="", 商家备忘="发顺丰，不要中通", 联系手机="", 联系电话="0571-88880000"),
            taobao_order_row(订单备注="老客户", 商家备忘="加急", 联系手机="13900000000", 联系电话="0571-88880000")]
    _info, [spare, first] = read(write_taobao_orders_csv(tmp_path / "o.csv", rows, columns=columns))
    assert spare.seller_memo == "发顺丰，不要中通" and spare.requested_carriers == ("sf",)
    assert spare.excluded_carriers == ("zto",) and spare.receiver_phone == "0571-88880000"
    assert first.seller_memo == "老客户" and first.receiver_phone == "13900000000"


@pytest.mark.parametrize(("raw", "status"), [
    ("等待买家付款", "awaiting_payment"), ("买家已付款，等待卖家发货", "awaiting_shipment"),
    ("卖家已发货，等待买家确认", "shipped"), ("买家已签收", "shipped"), ("交易成功", "finished"),
    ("交易关闭", "closed"), ("交易被淘宝关闭", "closed"), ("没有创建支付宝交易", "awaiting_payment"),
    ("卖家已发货，等待买家确认收货", "shipped"), ("TRADE_FINISHED", "finished"), ("WAIT_SELLER_SEND_GOODS", "awaiting_shipment"),
    ("等待买家确认货到付款订单信息", "awaiting_payment"), ("卖家已发货，等待买家确认收货并付款", "shipped"),
    ("卖家已发货,等待买家确认", "shipped"),  # half-width comma after a re-save
    ("火星状态", "unknown"), ("", "unknown"),
])
def test_order_statuses(tmp_path, raw, status):
    [record] = read(write_taobao_orders_csv(tmp_path / "s.csv", [taobao_order_row(订单状态=raw)]))[1]
    assert (record.status, record.status_raw) == (status, raw)


def test_bad_rows_become_row_errors_with_spreadsheet_row_numbers(tmp_path):
    rows = [
        taobao_order_row(),
        taobao_order_row(订单编号="", 买家会员名="no_id"),
        taobao_order_row(订单付款时间="昨天下午"),
        taobao_order_row(买家实际支付金额="五十九"),
        taobao_order_row(订单编号="3.90000000000001E+18"),  # an Excel re-save
        taobao_order_row(宝贝总数量="2.5"),
        taobao_order_row(),
    ]
    records = read(write_taobao_orders_csv(tmp_path / "bad.csv", rows))[1]
    assert [type(r).__name__ for r in records] == ["OrderRecord"] + ["RowError"] * 5 + ["OrderRecord"]
    errors = records[1:6]
    assert [(e.row, e.column) for e in errors] == [
        (3, "订单编号"), (4, "订单付款时间"), (5, "买家实际支付金额"), (6, "订单编号"), (7, "宝贝总数量")]
    assert errors[0].reason == "订单编号为空 (missing order id)"
    assert errors[1].value == "昨天下午" and "时间" in errors[1].reason
    assert errors[3].value == "3.90000000000001E+18" and "科学计数法" in errors[3].reason
    assert records[-1].row == 8


def test_xlsx_ids_stored_as_numbers(tmp_path):
    import openpyxl

    path = write_taobao_orders_xlsx(tmp_path / "n.xlsx", [taobao_order_row(), taobao_order_row()])
    book = openpyxl.load_workbook(path)
    book.active["A2"] = 3900000000000000001  # Excel keeps ~15 digits: a float in the file
    book.active["A3"] = 250000000007
    book.save(path)
    first, second = read(path)[1]
    assert isinstance(first, RowError) and first.row == 2 and first.column == "订单编号"
    assert second.platform_order_id == "250000000007"


def test_blank_rows_are_skipped_and_header_only_is_empty(tmp_path):
    path = write_taobao_orders_csv(tmp_path / "h.csv", [])
    assert read(path)[1] == []
    path = tmp_path / "gaps.csv"
    write_taobao_orders_csv(path, [taobao_order_row()])
    path.write_bytes(path.read_bytes() + b",,,,\r\n\r\n")
    assert len(read(path)[1]) == 1


def test_items_export(tmp_path):
    rows = [taobao_item_row(订单编号="3900000000000000001", 购买数量="2", 价格="29.50"),
            taobao_item_row(订单编号="3900000000000000001", 标题="围巾", 商家编码="WJ-01")]
    info, records = read(write_taobao_items_csv(tmp_path / "ExportOrderDetailList202611120930.csv", rows))
    assert info.format == "taobao_items" and info.kind == "items"
    first, second = records
    assert isinstance(first, ItemRecord) and first.platform_order_id == "3900000000000000001"
    assert (first.title, first.quantity, first.price) == ("加厚保暖羽绒服", 2, Decimal("29.50"))
    assert first.status_raw == "卖家已发货，等待买家确认" and first.sku == "颜色分类：黑色;尺码：XL"
    assert second.outer_id == "WJ-01" and second.row == 3


def test_newer_items_export(tmp_path):
    info, [item] = read(write_taobao_items_csv(tmp_path / "i.csv", [taobao_item_row(退款状态="退款成功")],
                                               extra_columns=True))
    assert item.sub_order_id and item.refund_status == "退款成功" and item.paid_amount == Decimal("59.00")


@pytest.mark.parametrize(("raw", "status"), [
    ("买家已经申请退款，等待卖家同意", "requested"), ("卖家已经同意退款，等待买家退货", "awaiting_return"),
    ("买家已经退货，等待卖家确认收货", "returning"), ("卖家拒绝退款", "refused"), ("退款成功", "succeeded"),
    ("退款关闭", "closed"), ("新的状态", "unknown"),
])
def test_refund_statuses(tmp_path, raw, status):
    [refund] = read(write_taobao_refunds_csv(tmp_path / "r.csv", [taobao_refund_row(退款状态=raw)]))[1]
    assert (refund.status, refund.status_raw) == (status, raw)


def test_refund_export(tmp_path):
    rows = [taobao_refund_row(退款编号="200000000000001", 订单编号="3900000000000000001", 是否需要退货="是",
                              退款状态="买家已经退货，等待卖家确认收货", 退货物流单号="YT1000000000009",
                              退货物流公司="圆通速递", 买家退货时间="2026-11-21 09:00:00", 货物状态="已退货",
                              买家退款原因="收到商品破损", 责任方="快递", 售中或售后="售后")]
    for path in (write_taobao_refunds_csv(tmp_path / "refunds.csv", rows),
                 write_taobao_refunds_xlsx(tmp_path / "refunds.xlsx", rows)):
        info, [refund] = read(path)
        assert info.format == "taobao_refunds" and info.kind == "refunds"
        assert isinstance(refund, RefundRecord)
        assert (refund.refund_id, refund.platform_order_id) == ("200000000000001", "3900000000000000001")
        assert refund.status == "returning" and refund.needs_return is True
        assert refund.return_shipment == ShipmentRef("YT1000000000009", "yto", "圆通速递")
        assert refund.amount == Decimal("59.00") and refund.reason == "收到商品破损"
        assert refund.returned_at == datetime(2026, 11, 21, 1, 0, tzinfo=UTC)
        assert (refund.goods_status, refund.responsible_party, refund.after_sale_phase) == ("已退货", "快递", "售后")
        assert refund.item_title == "加厚保暖羽绒服"


def test_refund_without_refund_id_is_a_row_error(tmp_path):
    [error] = read(write_taobao_refunds_csv(tmp_path / "r.csv", [taobao_refund_row(退款编号="")]))[1]
    assert error == RowError(2, "退款编号为空 (missing refund id)", "退款编号", None)
