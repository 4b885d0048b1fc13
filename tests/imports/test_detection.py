"""Which format a file is: detection from the header row, ``platform=`` and the registry."""
from decimal import Decimal

import pytest

import imports
from imports import FORMATS, RejectedFile, UnknownFormat, open_export
from exportfiles import (douyin_order_row, jd_order_row, pdd_order_row, taobao_item_row, taobao_order_row,
                               taobao_refund_row, write_douyin_orders_csv, write_jd_orders_csv,
                               write_pdd_orders_csv, write_taobao_items_csv, write_taobao_orders_csv,
                               write_taobao_orders_xlsx, write_taobao_refunds_csv)

FILES = [
    ("taobao_orders", write_taobao_orders_csv, taobao_order_row),
    ("taobao_items", write_taobao_items_csv, taobao_item_row),
    ("taobao_refunds", write_taobao_refunds_csv, taobao_refund_row),
    ("pdd_orders", write_pdd_orders_csv, pdd_order_row),
    ("douyin_orders", write_douyin_orders_csv, douyin_order_row),
    ("jd_orders", write_jd_orders_csv, jd_order_row),
]


@pytest.mark.parametrize(("name", "writer", "row"), FILES)
def test_every_format_is_detected(tmp_path, name, writer, row):
    with open_export(writer(tmp_path / "export.csv", [row()])) as export:
        assert export.info.format == name
        assert export.info.platform == FORMATS[name].platform
        assert len(list(export.records())) == 1


@pytest.mark.parametrize(("platform", "expected"), [
    ("taobao", "taobao_orders"), ("tmall", "taobao_orders"), ("TMALL", "taobao_orders"),
    ("taobao_orders", "taobao_orders"),
])
def test_platform_narrows_detection(tmp_path, platform, expected):
    path = write_taobao_orders_csv(tmp_path / "o.csv", [taobao_order_row()])
    with open_export(path, platform=platform) as export:
        assert export.info.format == expected


def test_platform_that_does_not_fit_the_file_rejects_it(tmp_path):
    path = write_taobao_orders_csv(tmp_path / "o.csv", [taobao_order_row()])
    with pytest.raises(RejectedFile, match="not an order export"):
        open_export(path, platform="pdd")
    with pytest.raises(RejectedFile, match="not an order export"):
        open_export(path, platform="taobao_refunds")


def test_a_header_missing_a_signature_column_is_named(tmp_path):
    columns = ["订单编号", "买家会员名", "收货地址", "物流单号"]  # no 订单状态
    path = write_taobao_orders_csv(tmp_path / "o.csv", [taobao_order_row()], columns=columns)
    with pytest.raises(RejectedFile, match="looks like a taobao_orders header but lacks 订单状态"):
        open_export(path)


def test_unknown_platform_names_the_known_ones(tmp_path):
    path = write_taobao_orders_csv(tmp_path / "o.csv", [taobao_order_row()])
    with pytest.raises(UnknownFormat) as err:
        open_export(path, platform="kuaishou")
    message = str(err.value)
    assert "kuaishou" in message and "taobao" in message and "jd_orders" in message


def test_header_found_below_title_rows(tmp_path):
    path = tmp_path / "titled.csv"
    write_taobao_orders_csv(path, [taobao_order_row()])
    path.write_bytes("订单报表\r\n导出时间：2026-11-12 09:30\r\n\r\n".encode("gbk") + path.read_bytes())
    with open_export(path) as export:
        assert export.info.header_row == 4
        [record] = export.records()
    assert record.row == 5


def test_header_beyond_the_scan_window_is_rejected(tmp_path):
    path = tmp_path / "deep.csv"
    write_taobao_orders_csv(path, [taobao_order_row()])
    path.write_bytes(b"x\r\n" * imports.HEADER_SCAN_ROWS + path.read_bytes())
    with pytest.raises(RejectedFile):
        open_export(path)


def test_xlsx_title_row(tmp_path):
    path = write_taobao_orders_xlsx(tmp_path / "t.xlsx", [taobao_order_row()], title="订单报表")
    with open_export(path) as export:
        assert export.info.header_row == 2


def test_unmapped_columns_are_reported(tmp_path):
    path = write_taobao_orders_csv(tmp_path / "o.csv", [taobao_order_row(自定义列="x")])
    with open_export(path) as export:
        assert "自定义列" in export.info.unmapped_columns and "订单编号" not in export.info.unmapped_columns


def test_records_can_be_read_once(tmp_path):
    path = write_taobao_orders_csv(tmp_path / "o.csv", [taobao_order_row()])
    with open_export(path) as export:
        list(export.records())
        assert export.progress() == 1.0
        with pytest.raises(RuntimeError):
            export.records()


def test_registry_is_explicit_and_consistent():
    assert list(FORMATS) == ["taobao_refunds", "taobao_items", "taobao_orders", "douyin_orders", "pdd_orders",
                             "jd_orders"]
    for names in imports.PLATFORMS.values():
        assert all(n in FORMATS for n in names)


def test_a_jd_export_holding_pdd_s_signature_is_still_jd(tmp_path):
    """快递单号 and 商品名称 make a JD header hold PDD's signature too: the format that knows
    more of the columns wins."""
    from exportfiles import JD_HEADER, write_csv

    row = jd_order_row(订单号="250000000001", 应付金额="88.00")
    row["快递单号"] = row.pop("运单号")
    path = write_csv(tmp_path / "jd.csv", JD_HEADER + ["快递公司", "快递单号"], [row], "gbk", lambda _c, v: v)
    with open_export(path) as export:
        assert export.info.format == "jd_orders"
        (record,) = export.records()
        assert record.paid_amount == Decimal("88.00") and record.shipments[0].waybill == "JDVA00000000001"


@pytest.mark.parametrize("label", ["合计", "总计：", '="合计"', " 汇总 "])
def test_a_totals_row_is_not_an_order(tmp_path, label):
    rows = [taobao_order_row(订单编号="3900000000000000001"), taobao_order_row(订单编号=label, 买家会员名="")]
    with open_export(write_taobao_orders_csv(tmp_path / "o.csv", rows)) as export:
        assert [r.platform_order_id for r in export.records()] == ["3900000000000000001"]
