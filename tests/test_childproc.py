"""What crosses the pipe to and from the second interpreter comes out as it went in."""
import io
import os
import pickle
import queue
import threading
import time
from decimal import Decimal

import pytest

from tracker.childproc import PIPE_BYTES, ReadAhead, packed_column, read_message, unpacked_column, write_message
from imports import ShipmentRef
from imports.cells import ShipmentCells, shipments_column
from tracker.ingest import PreparedOrders, Shipments, shipment_ref
from waiting import settled

COLUMNS = [
    ["浙江省", "广东省", "浙江省"],
    [None, "a", None, ""],
    [None, None],
    ["", ""],
    ["a\x1fb", "c"],  # the separator inside a value
    ["\x00", None],  # the None marker as a value
    ["a", "\x00"],  # ... in a column without None
    ["x\x00y", None, "z"],  # the marker inside a value
    [5900, None, 12],  # numbers
    ["a", 3],
    [],
    ["only"],
]


@pytest.mark.parametrize("column", COLUMNS, ids=repr)
def test_a_column_comes_back_as_it_was(column):
    packed = packed_column(column)
    back = unpacked_column(pickle.loads(pickle.dumps(packed)))
    assert back == column and [type(v) for v in back] == [type(v) for v in column]


def test_text_columns_cross_as_one_string_and_the_rest_as_lists():
    assert type(packed_column(["a", None, "b"])) is str
    assert type(packed_column([None, "", None])) is str
    assert packed_column([None] * 3) == [None] * 3  # nothing to join: pickled as it is
    assert type(packed_column([1, None])) is list
    assert type(packed_column(["a\x1fb"])) is list


YT = ShipmentRef("YT1234567890123", "yto", "圆通速递")
ZTO = ShipmentRef("73100000000001", "zto", "中通快递")
UNKNOWN = ShipmentRef("X123456789", None, "某某快运")


def test_prepared_orders_cross_the_pipe_whole():
    prepared = PreparedOrders(
        shops=["店A", None, "店B"], order_ids=["1", "2", "3"], platform="taobao", digests=["d1", "d2", "d3"],
        facts=[["shipped", "finished", "shipped"], [5900, None, 1], ["2026-11-10 16:00:01.000000", None, None],
               [None, None, None]],
        shipments=Shipments.of([(YT,), (), (ZTO, UNKNOWN, YT)]))
    buffer = io.BytesIO()
    write_message(buffer, ("chunk", (prepared, [], 0.5)), fast=True)
    buffer.seek(0)
    tag, (back, errors, fraction) = read_message(buffer)
    assert (tag, errors, fraction) == ("chunk", [], 0.5)
    assert back == prepared and back.rows() == prepared.rows()
    assert back.rows()[0] == ("店A", "1", "taobao", "d1", ("shipped", 5900, "2026-11-10 16:00:01.000000", None),
                              (("YT1234567890123", "yto", "圆通速递", None),))
    assert back.rows()[1][5] == ()
    assert back.rows()[2][5] == (shipment_ref(ZTO), shipment_ref(UNKNOWN), shipment_ref(YT))
    assert shipment_ref(UNKNOWN) == ("X123456789", None, "某某快运", "未识别的快递公司：某某快运 (unknown carrier)")


def test_shipment_refs_are_those_of_each_row_in_order():
    rows = [(), (YT,), (ZTO, YT), (UNKNOWN,), (), (YT, ZTO, UNKNOWN), (ShipmentRef("9876543210", "sf"),)]
    assert Shipments.of(rows).refs() == [tuple(map(shipment_ref, s)) for s in rows]
    assert Shipments.of([]).refs() == []


WAYBILL_CELLS = ["YT1234567890123", "", None, "73100000000001,73100000000002", "JT00012345", "单号: SF1234567890",
                 "12", "X123456789"]
CARRIER_CELLS = ["圆通速递", "中通快递", None, "中通快递", None, "顺丰速运", "韵达快递", "某某快运"]


def test_waybill_cells_cross_unparsed_and_make_the_refs_parsing_them_would():
    cells = ShipmentCells(list(WAYBILL_CELLS), list(CARRIER_CELLS))
    prepared = PreparedOrders([None] * 8, [str(i) for i in range(8)], "taobao", ["d"] * 8, [["s"] * 8],
                              Shipments.of(cells))
    assert prepared.shipments.cells and not cells.parsed  # nothing parsed on the parsing side
    buffer = io.BytesIO()
    write_message(buffer, prepared, fast=True)
    buffer.seek(0)
    back = read_message(buffer)
    expected = [tuple(map(shipment_ref, s)) for s in shipments_column(WAYBILL_CELLS, CARRIER_CELLS)]
    assert back.shipments.refs() == expected
    assert [len(r) for r in expected] == [1, 0, 0, 2, 1, 1, 0, 1]
    assert list(cells) == shipments_column(WAYBILL_CELLS, CARRIER_CELLS) and cells.parsed


def test_prepared_orders_join_in_order():
    def part(n, oid, shipments):
        return PreparedOrders([None] * n, [f"{oid}{i}" for i in range(n)], "pdd", ["d"] * n,
                              [[Decimal(i) for i in range(n)], ["s"] * n], Shipments.of(shipments))

    whole = PreparedOrders.joined([part(2, "a", [(ZTO, YT), ()]), part(1, "b", [(UNKNOWN, ZTO)]),
                                   part(2, "c", [(), (YT,)])])
    assert whole.order_ids == ["a0", "a1", "b0", "c0", "c1"]
    assert whole.facts[0] == [Decimal(0), Decimal(1), Decimal(0), Decimal(0), Decimal(1)]
    assert whole.shipments.refs() == [tuple(map(shipment_ref, s)) for s in [(ZTO, YT), (), (UNKNOWN, ZTO), (), (YT,)]]
    assert len(whole) == 5 and len(whole.rows()) == 5


def test_waybill_cells_join_with_parsed_shipments_in_order():
    def part(cells):
        return Shipments.of(cells)

    first = ShipmentCells(WAYBILL_CELLS[:4], CARRIER_CELLS[:4])
    second = ShipmentCells(WAYBILL_CELLS[4:], CARRIER_CELLS[4:])
    expected = [tuple(map(shipment_ref, s)) for s in shipments_column(WAYBILL_CELLS, CARRIER_CELLS)]
    both_cells = Shipments.joined([part(first), part(second)])
    assert both_cells.cells and both_cells.refs() == expected
    mixed = Shipments.joined([part(ShipmentCells(WAYBILL_CELLS[:4], CARRIER_CELLS[:4])), part([(UNKNOWN, ZTO)]),
                              part(ShipmentCells(WAYBILL_CELLS[4:], CARRIER_CELLS[4:]))])
    assert not mixed.cells
    assert mixed.refs() == expected[:4] + [(shipment_ref(UNKNOWN), shipment_ref(ZTO))] + expected[4:]


def test_the_parsing_process_starts_without_loading_the_migration_tool():
    """Its start-up is on an import's critical path: alembic (~0.2 s) is only for migrating."""
    import subprocess
    import sys

    code = "import sys, tracker.ingest; print('alembic' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def _pipe():
    read_fd, write_fd = os.pipe()
    return os.fdopen(read_fd, "rb"), os.fdopen(write_fd, "wb")


def test_read_ahead_hands_over_each_message_in_order_and_none_at_the_end():
    stream, out = _pipe()
    messages = ReadAhead(stream)
    with pytest.raises(queue.Empty):
        messages.get(block=False)  # nothing written yet
    for i in range(5):
        write_message(out, ("chunk", i))
    out.close()
    assert [pickle.loads(messages.get()) for _ in range(5)] == [("chunk", i) for i in range(5)]
    assert messages.get() is None
    messages.close()
    stream.close()


def test_read_ahead_holds_no_more_than_its_depth_and_closes_while_full():
    stream, out = _pipe()
    messages = ReadAhead(stream, depth=2)
    for i in range(6):
        write_message(out, i)
    out.flush()
    assert settled(lambda: messages._messages.full())
    time.sleep(0.3)  # time enough to read on, were it not bounded
    assert messages._messages.qsize() == 2
    assert pickle.loads(messages.get()) == 0  # taking one makes room for one more
    assert settled(lambda: messages._messages.full())
    assert [pickle.loads(messages.get()) for _ in range(2)] == [1, 2]
    messages.close(timeout=5)  # the child is gone: the thread stops without handing over the rest
    assert not messages._thread.is_alive()
    out.close()
    stream.close()


def test_a_message_cut_short_by_the_child_dying_is_the_end_not_a_message():
    stream, out = _pipe()
    messages = ReadAhead(stream)
    write_message(out, "whole")
    data = pickle.dumps("cut short" * 100)
    out.write(len(data).to_bytes(8, "little") + data[:40])
    out.close()
    assert pickle.loads(messages.get()) == "whole"
    assert messages.get() is None
    messages.close(timeout=5)
    assert not messages._thread.is_alive()
    stream.close()


def test_a_child_pipe_is_widened_where_the_system_allows():
    fcntl = pytest.importorskip("fcntl")
    stream, out = _pipe()
    before = fcntl.fcntl(stream.fileno(), fcntl.F_GETPIPE_SZ)
    messages = ReadAhead(stream)
    with open("/proc/sys/fs/pipe-max-size") as limit:
        allowed = int(limit.read())
    size = fcntl.fcntl(stream.fileno(), fcntl.F_GETPIPE_SZ)
    assert size == PIPE_BYTES or (size == before and allowed < PIPE_BYTES and os.geteuid() != 0)
    out.close()
    messages.close(timeout=5)
    stream.close()


class Unreadable(io.RawIOBase):
    """A stream whose reading fails with something other than the end of the stream."""

    def readable(self):
        return True

    def readinto(self, _buffer):
        raise MemoryError("a length read from a stray line")


def test_what_stops_the_reading_is_raised_to_the_caller_not_waited_on():
    messages = ReadAhead(Unreadable())
    outcome: queue.Queue = queue.Queue()

    def take():
        try:
            outcome.put(messages.get())
        except MemoryError as err:
            outcome.put(err)

    threading.Thread(target=take, daemon=True).start()
    got = outcome.get(timeout=5)  # queue.Empty, not a hung test, if the reader died silently
    assert isinstance(got, MemoryError) and "stray line" in str(got)
    messages.close(timeout=5)
    assert not messages._thread.is_alive()


def test_shipment_refs_are_made_once_and_leave_the_comparison_alone():
    prepared = PreparedOrders([None] * 2, ["1", "2"], "taobao", ["d1", "d2"], [["s", "s"]],
                              Shipments.of([(YT,), (ZTO, UNKNOWN)]))
    fresh = pickle.loads(pickle.dumps(prepared))
    prepared.complete()
    refs = prepared.shipments.refs()
    assert refs is prepared.shipments.refs()
    assert prepared == fresh and prepared.rows() == fresh.rows()
    assert refs == [(shipment_ref(YT),), (shipment_ref(ZTO), shipment_ref(UNKNOWN))]
