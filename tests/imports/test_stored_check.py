"""Rows already stored exactly so pass through unconverted (the re-import fast path)."""
from imports import OrderRecord, RowError, UnchangedRows, open_export
from imports.formats import CHECK_ROWS
from exportfiles import taobao_order_row, taobao_refund_row, write_taobao_orders_csv, write_taobao_refunds_csv


def records_and_asked(path, stored_digests: dict[str, str]):
    """Parse with a check that answers from ``stored_digests`` (order id → digest)."""
    asked = []

    def stored(rows):
        asked.append(rows)
        return {i for i, (order_id, _shop, digest) in enumerate(rows) if stored_digests.get(order_id) == digest}

    with open_export(path) as export:
        return list(export.records(stored)), asked


def test_unchanged_rows_come_as_markers_in_file_order_and_the_rest_converted(tmp_path):
    rows = [taobao_order_row(订单编号=str(3900000000000000000 + i), 店铺名称="示例旗舰店") for i in range(5)]
    path = write_taobao_orders_csv(tmp_path / "a.csv", rows)
    with open_export(path) as export:
        first = list(export.records())
    digests = {r.platform_order_id: r.source_digest for r in first}
    digests[first[1].platform_order_id] = "0" * 16  # stored differently: converted again

    again, asked = records_and_asked(path, digests)

    assert [type(r) for r in again] == [UnchangedRows, OrderRecord, UnchangedRows]
    assert [again[0].rows, again[1].row, again[2].rows] == [[2], 3, [4, 5, 6]]
    assert again[0] == UnchangedRows([2], [(first[0].platform_order_id, "示例旗舰店", first[0].source_digest)])
    assert again[2].keys == [(r.platform_order_id, "示例旗舰店", r.source_digest) for r in first[2:]]
    assert again[1] == first[1]
    assert asked == [[(r.platform_order_id, "示例旗舰店", r.source_digest) for r in first]]


def test_a_bad_row_among_unchanged_ones_is_still_reported(tmp_path):
    rows = [taobao_order_row(订单编号="3900000000000000001"), taobao_order_row(订单编号="3.9E+18"),
            taobao_order_row(订单编号="", 买家会员名="no id"), taobao_order_row(订单编号="3900000000000000004",
                                                                      订单付款时间="昨天")]
    path = write_taobao_orders_csv(tmp_path / "b.csv", rows)
    with open_export(path) as export:
        plain = list(export.records())
    digests = {"3900000000000000001": plain[0].source_digest}

    again, asked = records_and_asked(path, digests)

    assert [type(r) for r in again] == [UnchangedRows, RowError, RowError, RowError]
    assert again[0].rows == [2]
    assert again[1:] == plain[1:]
    assert [key[0] for key in asked[0]] == ["3900000000000000001", None, None, "3900000000000000004"]


def test_the_check_is_asked_once_per_window_of_rows(tmp_path):
    rows = [taobao_order_row(订单编号=str(3900000000000000000 + i)) for i in range(CHECK_ROWS + 10)]
    path = write_taobao_orders_csv(tmp_path / "c.csv", rows)
    again, asked = records_and_asked(path, {})
    assert [len(a) for a in asked] == [CHECK_ROWS, 10]
    assert all(type(r) is OrderRecord for r in again) and len(again) == CHECK_ROWS + 10


def test_other_kinds_of_export_are_not_checked(tmp_path):
    path = write_taobao_refunds_csv(tmp_path / "r.csv", [taobao_refund_row()])
    again, asked = records_and_asked(path, {})
    assert asked == [] and len(again) == 1


def test_a_window_stored_whole_comes_as_one_run(tmp_path):
    rows = [taobao_order_row(订单编号=str(3900000000000000000 + i)) for i in range(CHECK_ROWS + 3)]
    path = write_taobao_orders_csv(tmp_path / "d.csv", rows)
    with open_export(path) as export:
        first = list(export.records())
    again, _asked = records_and_asked(path, {r.platform_order_id: r.source_digest for r in first})
    assert [type(r) for r in again] == [UnchangedRows, UnchangedRows]
    assert [len(r) for r in again] == [CHECK_ROWS, 3]
    assert again[0].rows + again[1].rows == [r.row for r in first]
    assert [key[0] for run in again for key in run.keys] == [r.platform_order_id for r in first]


def test_changed_rows_side_by_side_split_the_runs_once(tmp_path):
    rows = [taobao_order_row(订单编号=str(3900000000000000100 + i)) for i in range(6)]
    path = write_taobao_orders_csv(tmp_path / "e.csv", rows)
    with open_export(path) as export:
        first = list(export.records())
    digests = {r.platform_order_id: r.source_digest for r in first}
    for changed in first[1:3] + first[4:5]:
        digests[changed.platform_order_id] = "0" * 16
    again, _asked = records_and_asked(path, digests)
    assert [type(r) for r in again] == [UnchangedRows, OrderRecord, OrderRecord, UnchangedRows, OrderRecord,
                                        UnchangedRows]
    assert [r.rows if type(r) is UnchangedRows else r.row for r in again] == [[2], 3, 4, [5], 6, [7]]
    assert [again[i] for i in (1, 2, 4)] == [first[1], first[2], first[4]]
