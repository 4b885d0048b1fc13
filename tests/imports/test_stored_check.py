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


def _digests(path, **kw):
    with open_export(path, **kw) as export:
        return {r.platform_order_id: r.source_digest for r in export.records()}


def test_a_row_digest_is_of_its_bytes_and_follows_each_record_across_quoted_newlines(tmp_path):
    """A CSV row's digest comes from its bytes in the file: a record whose quoted cell holds
    newlines is one digest, and the records after it keep theirs."""
    rows = [taobao_order_row(订单编号=str(3900000000000000000 + i), 买家留言=f"留言{i}") for i in range(6)]
    plain = _digests(write_taobao_orders_csv(tmp_path / "plain.csv", rows, encoding="gb18030"))
    rows[2] = taobao_order_row(订单编号="3900000000000000002", 买家留言="第一行\r\n第二行\n第三行")
    multi_path = write_taobao_orders_csv(tmp_path / "multi.csv", rows, encoding="gb18030")
    multi = _digests(multi_path)
    multi_path.write_bytes(multi_path.read_bytes().replace("第三行".encode("gb18030"), "第3行".encode("gb18030")))
    edited = _digests(multi_path)

    assert len(set(plain.values())) == 6 and None not in plain.values()
    changed = {k for k in plain if plain[k] != multi[k]}
    assert changed == {"3900000000000000002"}  # the rest line up with their own bytes
    assert {k for k in multi if multi[k] != edited[k]} == {"3900000000000000002"}


def test_the_same_cells_read_another_way_are_not_the_same_row(tmp_path):
    """A mapping file that reads the file differently (another date layout) makes every row
    new to the stored-digest check, so a corrected mapping converts the file again."""
    data = tmp_path / "ks.csv"
    data.write_text("订单ID,付款时间\n2411110001,2026/11/11 08:00\n", encoding="utf-8")
    mapping = "platform = 'kuaishou'\nkind = 'orders'\n{}[columns]\n'订单ID' = 'platform_order_id'\n'付款时间' = 'paid_at'\n"
    ymd, dmy = tmp_path / "ymd.toml", tmp_path / "dmy.toml"
    ymd.write_text(mapping.format("date_format = '%Y/%m/%d %H:%M'\n"), encoding="utf-8")
    dmy.write_text(mapping.format("date_format = '%Y/%d/%m %H:%M'\n"), encoding="utf-8")
    assert _digests(data, mapping=ymd) == _digests(data, mapping=ymd)
    assert _digests(data, mapping=ymd)["2411110001"] != _digests(data, mapping=dmy)["2411110001"]


def test_xlsx_rows_have_digests_of_their_cells(tmp_path):
    from exportfiles import write_taobao_orders_xlsx

    rows = [taobao_order_row(订单编号=str(3900000000000000000 + i)) for i in range(3)]
    first = _digests(write_taobao_orders_xlsx(tmp_path / "a.xlsx", rows))
    rows[1] = taobao_order_row(订单编号="3900000000000000001", 买家留言="改了")
    second = _digests(write_taobao_orders_xlsx(tmp_path / "b.xlsx", rows))
    assert len(set(first.values())) == 3
    assert {k for k in first if first[k] != second[k]} == {"3900000000000000001"}
