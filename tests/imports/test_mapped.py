"""Column-mapping files (TOML) for exports without a module of their own."""
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from imports import MappingError, OrderRecord, RefundRecord, RowError, ShipmentRef, open_export

UTC = timezone.utc

KUAISHOU = """
platform = "kuaishou"
kind = "orders"
date_format = "%Y年%m月%d日 %H:%M"

[columns]
"订单ID" = "platform_order_id"
"状态" = "status"
"收货地址" = "receiver_address"
"实付款" = "paid_amount"
"付款时间" = "paid_at"
"物流" = "express"
"买家备注" = "buyer_message"

[statuses]
"已发货" = "shipped"
"待发货" = "awaiting_shipment"
"""


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_mapped_export(tmp_path):
    mapping = write(tmp_path, "kuaishou.toml", KUAISHOU)
    data = write(tmp_path, "ks.csv", "订单ID,状态,收货地址,实付款,付款时间,物流,买家备注,其他\n"
                                     "2411110001,已发货,浙江省 杭州市 西湖区 x,¥12.00,2026年11月11日 08:00,中通快递 73100000000001,不要韵达,\n"
                                     "2411110002,新状态,,,,,,\n"
                                     "2411110003,待发货,,,11/11/2026,,,\n")
    with open_export(data, mapping=mapping) as export:
        assert (export.info.format, export.info.platform, export.info.kind) == ("mapped", "kuaishou", "orders")
        assert export.info.unmapped_columns == ["其他"]
        first, second, third = export.records()
    assert isinstance(first, OrderRecord) and first.platform == "kuaishou"
    assert first.status == "shipped" and first.paid_amount == Decimal("12.00")
    assert first.paid_at == datetime(2026, 11, 11, 0, 0, tzinfo=UTC) and first.province == "浙江省"
    assert first.shipments == (ShipmentRef("73100000000001", "zto", "中通快递"),)
    assert first.excluded_carriers == ("yunda",)
    assert second.status == "unknown" and second.status_raw == "新状态"
    assert isinstance(third, RowError) and third.column == "付款时间" and "%Y年%m月%d日" in third.reason


def test_a_mapped_refund_export(tmp_path):
    mapping = write(tmp_path, "r.toml", 'platform = "erp"\nkind = "refunds"\n[columns]\n'
                                        '"售后单号" = "refund_id"\n"订单号" = "platform_order_id"\n"金额" = "amount"\n'
                                        '"退回单号" = "return_waybill"\n"退回快递" = "return_carrier"\n')
    data = write(tmp_path, "r.csv", "售后单号,订单号,金额,退回单号,退回快递\nR1,O1,5.5,SF1000000000001,顺丰\n")
    with open_export(data, mapping=mapping) as export:
        [refund] = export.records()
    assert isinstance(refund, RefundRecord) and refund.amount == Decimal("5.5")
    assert refund.return_shipment == ShipmentRef("SF1000000000001", "sf", "顺丰") and refund.status == "unknown"


@pytest.mark.parametrize(("text", "message"), [
    ('kind = "orders"\n[columns]\n"a" = "platform_order_id"\n', "'platform'"),
    ('platform = "ks"\nkind = "parcels"\n[columns]\n"a" = "platform_order_id"\n', "'kind' must be one of"),
    ('platform = "ks"\nkind = "orders"\n', "[columns]"),
    ('platform = "ks"\nkind = "orders"\n[columns]\n"a" = "order_id"\n', "unknown field 'order_id'"),
    ('platform = "ks"\nkind = "orders"\n[columns]\n"a" = "paid_at"\n', "platform_order_id"),
    ('platform = "ks"\nkind = "orders"\n[columns]\n"a" = "platform_order_id"\n[statuses]\n"x" = "sent"\n',
     "allowed: awaiting_payment"),
    ('platform = "ks"\nkind = "orders"\ncolour = 1\n[columns]\n"a" = "platform_order_id"\n', "unknown keys"),
    ('platform = "ks"\nkind = "orders"\ndate_format = "yyyy"\n[columns]\n"a" = "platform_order_id"\n',
     "strptime"),
    ('platform = "ks"\nkind = "items"\n[columns]\n"a" = "platform_order_id"\n[statuses]\n"x" = "shipped"\n',
     "not used for items"),
    ("platform = ", "not valid TOML"),
])
def test_mapping_mistakes_are_named(tmp_path, text, message):
    mapping = write(tmp_path, "bad.toml", text)
    data = write(tmp_path, "d.csv", "a\n1\n")
    with pytest.raises(MappingError) as err:
        open_export(data, mapping=mapping)
    assert message in str(err.value) and "bad.toml" in str(err.value)


def test_missing_mapping_file(tmp_path):
    with pytest.raises(MappingError, match="cannot read"):
        open_export(write(tmp_path, "d.csv", "a\n1\n"), mapping=tmp_path / "nope.toml")


def test_file_without_the_mapped_header(tmp_path):
    from imports import RejectedFile

    mapping = write(tmp_path, "kuaishou.toml", KUAISHOU)
    with pytest.raises(RejectedFile):
        open_export(write(tmp_path, "d.csv", "订单号,状态\n1,已发货\n"), mapping=mapping)


def test_a_mapped_header_the_file_lacks_is_named_and_alternatives_are_allowed(tmp_path):
    from imports import RejectedFile

    mapping = write(tmp_path, "kuaishou.toml", KUAISHOU)
    misspelt = "订单ID,状态,收货地址,实付金额,付款时间,物流,买家备注\n2411110001,已发货,,¥12.00,,,\n"  # 实付款 → 实付金额
    with pytest.raises(RejectedFile, match="lacks 实付款"):
        open_export(write(tmp_path, "ks.csv", misspelt), mapping=mapping)
    either = write(tmp_path, "either.toml", 'platform = "erp"\nkind = "orders"\n[columns]\n'
                                            '"订单号" = "platform_order_id"\n"运单号" = "waybill"\n"快递单号" = "waybill"\n')
    with open_export(write(tmp_path, "e.csv", "订单号,快递单号\nO1,SF1000000000001\n"), mapping=either) as export:
        [order] = export.records()
    assert order.shipments[0].waybill == "SF1000000000001"


def test_the_row_digest_is_not_a_field_a_mapping_may_fill(tmp_path):
    text = 'platform = "ks"\nkind = "orders"\n[columns]\n"a" = "platform_order_id"\n"b" = "source_digest"\n'
    with pytest.raises(MappingError, match="unknown field 'source_digest'"):
        open_export(write(tmp_path, "d.csv", "a,b\n1,x\n"), mapping=write(tmp_path, "m.toml", text))
