"""Order rows as columns (the bulk writer's form) hold exactly what the records hold."""
from dataclasses import fields

from imports import OrderColumns, OrderRecord, RowError, open_export
from imports.formats import BATCH_ROWS
from exportfiles import taobao_order_row, write_taobao_orders_csv, write_taobao_orders_xlsx


def varied_rows() -> list[dict]:
    rows = [taobao_order_row(订单编号=str(3900000000000000000 + i), 联系手机=f"1390000{i:04d}",
                             买家留言=["", "发顺丰", "不要中通"][i % 3], 物流单号=f"YT{i:013d}" if i % 4 else "",
                             订单状态=["交易成功", "卖家已发货，等待买家确认", "买家已付款，等待卖家发货"][i % 3])
            for i in range(400)]
    rows[5] = dict(rows[5], 订单付款时间="昨天")  # a bad cell: its batch goes row by row
    rows[140] = dict(rows[140], 订单编号="")  # a missing id
    rows[141] = dict(rows[141], 物流单号="SF1000000000001,SF1000000000002", 物流公司="顺丰速运")
    return rows


def as_records(items: list) -> list:
    out = []
    for item in items:
        if isinstance(item, OrderColumns):
            names = [f.name for f in fields(OrderRecord)]
            for i, row in enumerate(item.rows):
                values = {name: item.column(name)[i] for name in names}
                out.append(OrderRecord(**dict(values, row=row)))
        else:
            out.append(item)
    return out


def test_columns_and_records_agree_row_for_row(tmp_path):
    for path in (write_taobao_orders_csv(tmp_path / "a.csv", varied_rows()),
                 write_taobao_orders_xlsx(tmp_path / "a.xlsx", varied_rows())):
        with open_export(path) as export:
            records = list(export.records())
        with open_export(path) as export:
            items = list(export.records(as_columns=True))

        assert any(isinstance(i, OrderColumns) and len(i.rows) == BATCH_ROWS for i in items)
        assert sum(isinstance(i, RowError) for i in items) == 2
        assert as_records(items) == records


def test_columns_of_records_take_the_records_values():
    records = [OrderRecord(row=2, platform="taobao", platform_order_id="1", status="shipped", status_raw="x"),
               OrderRecord(row=3, platform="taobao", platform_order_id="2", status="closed", status_raw="y",
                           requested_carriers=("sf",))]
    batch = OrderColumns.of(records)
    assert batch.rows == [2, 3]
    assert batch.column("requested_carriers") == [(), ("sf",)]
    assert as_records([batch]) == records
