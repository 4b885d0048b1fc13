"""The queue's query core: every filter narrows, search finds by each key, the sort orders
hold, pages never repeat or skip a row, counts per kind follow the other filters."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select, update
from werkzeug.datastructures import MultiDict

from tracker import policy, queue, triage, users
from tracker.models import ExceptionCase, Order, Shipment, Shop, TrackingEvent

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
H = timedelta(hours=1)
D = timedelta(days=1)
POLICY = policy.load()


@dataclass
class World:
    """Rows a test made, by name: shops, orders (platform order id ─► id), cases (label ─► id)."""

    engine: object
    shops: dict[str, int] = field(default_factory=dict)
    orders: dict[str, int] = field(default_factory=dict)
    cases: dict[str, int] = field(default_factory=dict)
    users: dict[str, int] = field(default_factory=dict)

    def shop(self, conn, name: str) -> int:
        self.shops[name] = conn.execute(insert(Shop.__table__).values(name=name, platform="taobao")).inserted_primary_key[0]
        return self.shops[name]

    def order(self, conn, pid: str, shop: str, *, province: str = "浙江省", city: str = "杭州市", buyer: str = "买家甲",
              tail: str = "0000", paid_at: datetime = NOW - 5 * D) -> int:
        self.orders[pid] = conn.execute(insert(Order.__table__).values(
            shop_id=self.shops[shop], platform="taobao", platform_order_id=pid, status="shipped",
            status_raw="卖家已发货", buyer_nick=buyer, phone_tail=tail, receiver_phone=f"1380000{tail}",
            province=province, city=city, paid_at=paid_at, source_hash="x", facts_changed_at=NOW,
            created_at=NOW)).inserted_primary_key[0]
        return self.orders[pid]

    def parcel(self, conn, pid: str, waybill: str, carrier: str | None, *, kind: str = "original",
               superseded: bool = False, text: str = "【杭州转运中心】已发出", at: datetime = NOW - 3 * D) -> int:
        return conn.execute(insert(Shipment.__table__).values(
            order_id=self.orders[pid], kind=kind, source="import", waybill=waybill, carrier=carrier,
            status="in_transit", last_event_text=text, last_location="杭州转运中心", last_event_at=at,
            superseded_at=NOW - D if superseded else None, done=False, poll_count=0, error_count=0,
            created_at=NOW - 4 * D, updated_at=NOW - 4 * D)).inserted_primary_key[0]

    def case(self, conn, label: str, pid: str, kind: str = "stalled", *, status: str = "open", severity: int = 2,
             deadline: datetime | None = None, detected: datetime = NOW - 2 * H, assignee: str | None = None,
             shipment: int | None = None, evidence: str = "最后扫描 96 小时前") -> int:
        self.cases[label] = conn.execute(insert(ExceptionCase.__table__).values(
            order_id=self.orders[pid], shipment_id=shipment, kind=kind, status=status, severity=severity,
            evidence={}, evidence_text=evidence, deadline=deadline, detected_at=detected, updated_at=detected,
            assignee_id=self.users[assignee] if assignee else None)).inserted_primary_key[0]
        return self.cases[label]

    def user(self, conn, name: str, role: str = "agent") -> int:
        self.users[name] = users.add(conn, name, role, "long-enough-pw")
        return self.users[name]

    def labels(self, ids) -> list[str]:
        names = {v: k for k, v in self.cases.items()}
        return [names[i] for i in ids]


def build_world(engine) -> World:
    """A small queue where every filter has something to keep and something to drop."""
    w = World(engine)
    with engine.begin() as conn:
        w.user(conn, "alice")
        w.user(conn, "bob")
        w.shop(conn, "云栖旗舰店")
        w.shop(conn, "江南家居")
        w.order(conn, "1001", "云栖旗舰店", buyer="小明<script>", tail="1234")
        own = w.parcel(conn, "1001", "78000000000001", "zto")
        w.case(conn, "stalled-zto", "1001", severity=3, shipment=own, assignee="alice", detected=NOW - 80 * H)
        w.order(conn, "1002", "江南家居", province="广东省", city="广州市", buyer="阿强", tail="5678",
                paid_at=NOW - 15 * D)
        w.parcel(conn, "1002", "SF1000000000002", "sf", superseded=True)
        w.parcel(conn, "1002", "YT1000000000002", "yto")
        w.parcel(conn, "1002", "RT1000000000002", "zto", kind="return")
        w.case(conn, "lost-yto", "1002", "lost", severity=4, status="in_progress", assignee="bob",
               detected=NOW - 9 * D)
        w.order(conn, "1003", "云栖旗舰店", province="广东省", city="深圳市", buyer="小红")
        w.case(conn, "not-shipped", "1003", "not_shipped", severity=2, deadline=NOW - 5 * H, detected=NOW - 30 * H)
        w.order(conn, "1004", "江南家居", buyer="老王")
        sf = w.parcel(conn, "1004", "SF1000000000004", "sf")
        w.case(conn, "damaged-done", "1004", "damaged", status="resolved", severity=3, shipment=sf)
        w.case(conn, "returned-sf", "1004", "returned", severity=1, shipment=sf, detected=NOW - 50 * H)
        queue.refresh_case_facts(conn)  # as classification does after writing cases
    return w


def ids(engine, sort: str = "severity", limit: int = 100, **args) -> list[int]:
    f = queue.QueueFilter.from_args(MultiDict(args), me=None, now=NOW, policy=POLICY)
    with engine.connect() as conn:
        return [r.id for r in queue.page(conn, f, sort, limit=limit).rows]


def test_each_filter_narrows_the_queue(engine):
    w = build_world(engine)
    alice = w.users["alice"]
    expected = {
        (): {"stalled-zto", "lost-yto", "not-shipped", "returned-sf"},
        (("status", "all"),): {"stalled-zto", "lost-yto", "not-shipped", "returned-sf", "damaged-done"},
        (("status", "resolved"),): {"damaged-done"},
        (("status", "in_progress"),): {"lost-yto"},
        (("kind", "lost"),): {"lost-yto"},
        (("kind", "lost"), ("kind", "not_shipped")): {"lost-yto", "not-shipped"},
        (("carrier", "zto"),): {"stalled-zto"},  # the order's return parcel is not its carrier
        (("carrier", "yto"),): {"lost-yto"},  # no parcel of its own: the order's first active one
        (("carrier", "sf"),): {"returned-sf"},  # the superseded SF parcel of 1002 does not count
        (("shop", str(w.shops["江南家居"])),): {"lost-yto", "returned-sf"},
        (("assignee", str(alice)),): {"stalled-zto"},
        (("assignee", "none"),): {"not-shipped", "returned-sf"},
        (("province", "广东"),): {"lost-yto", "not-shipped"},
        (("province", "广东省"), ("province", "浙江")): {"lost-yto", "not-shipped", "stalled-zto", "returned-sf"},
        (("age", "24h"),): {"stalled-zto", "lost-yto", "not-shipped", "returned-sf"},
        (("age", "48h"),): {"stalled-zto", "lost-yto", "returned-sf"},
        (("age", "72h"),): {"stalled-zto", "lost-yto"},
        (("age", "7d"),): {"lost-yto"},
        (("promo", "双十一"),): {"lost-yto"},  # paid 11-05, inside 10-20 … 11-11; the others on 11-15
        (("severity", "3"),): {"stalled-zto", "lost-yto"},
        (("kind", "stalled"), ("carrier", "zto"), ("province", "浙江")): {"stalled-zto"},
        (("kind", "stalled"), ("carrier", "sf")): set(),
    }
    for args, want in expected.items():
        found = w.labels(ids(engine, **_multi(args)))
        assert set(found) == want, args
        assert len(found) == len(set(found)), args


def _multi(pairs) -> dict:
    out: dict[str, list[str]] = {}
    for k, v in pairs:
        out.setdefault(k, []).append(v)
    return out


def test_assignee_me_is_the_viewer(engine):
    w = build_world(engine)
    f = queue.QueueFilter.from_args({"assignee": "me"}, me=w.users["bob"], now=NOW, policy=POLICY)
    with engine.connect() as conn:
        assert w.labels(r.id for r in queue.page(conn, f).rows) == ["lost-yto"]
        assert queue.counts(conn, f) == {"lost": 1}


@pytest.mark.parametrize(("q", "want"), [
    ("1002", {"lost-yto"}),  # platform order id
    ("YT1000000000002", {"lost-yto"}),  # waybill
    ("yt1000000000002", {"lost-yto"}),  # waybill typed in lower case
    ("78000000000001", {"stalled-zto"}),
    ("阿强", {"lost-yto"}),  # buyer nick
    ("小明<script>", {"stalled-zto"}),
    ("5678", {"lost-yto"}),  # phone tail
    ("1234", {"stalled-zto"}),
    ("0000", {"not-shipped", "returned-sf"}),
    (" 1003 ", {"not-shipped"}),
    ("nobody", set()),
])
def test_search_by_each_key(engine, q, want):
    w = build_world(engine)
    assert set(w.labels(ids(engine, q=q))) == want


def _sort_world(engine) -> World:
    w = World(engine)
    with engine.begin() as conn:
        w.shop(conn, "店")
        w.order(conn, "2001", "店")
        plan = [  # label, kind, severity, deadline, detected
            ("a", "stalled", 2, None, NOW - 10 * H),
            ("b", "not_shipped", 2, NOW + 5 * H, NOW - 1 * H),
            ("c", "lost", 4, None, NOW - 3 * H),
            ("d", "auto_confirm_soon", 2, NOW + 1 * H, NOW - 20 * H),
            ("e", "no_tracking", 3, None, NOW - 30 * H),
            ("f", "damaged", 2, None, NOW - 10 * H),
        ]
        for label, kind, sev, deadline, detected in plan:
            w.case(conn, label, "2001", kind, severity=sev, deadline=deadline, detected=detected)
    return w


def test_sort_orders(engine):
    w = _sort_world(engine)
    # severity first, then the soonest deadline (none last), then the oldest, then the id
    assert w.labels(ids(engine, "severity")) == ["c", "e", "d", "b", "a", "f"]
    # the soonest deadline first, none last; ties by severity, age, id
    assert w.labels(ids(engine, "deadline")) == ["d", "b", "c", "e", "a", "f"]
    # the oldest first
    assert w.labels(ids(engine, "age")) == ["e", "d", "a", "f", "c", "b"]


def test_unknown_sort_is_refused(engine):
    with pytest.raises(queue.QueueError, match="sort"), engine.connect() as conn:
        queue.page(conn, queue.QueueFilter(now=NOW), "price")


def _many(engine) -> World:
    """75 cases in few distinct sort positions: ties everywhere, over two statuses."""
    w = World(engine)
    with engine.begin() as conn:
        w.shop(conn, "店")
        for n in range(75):
            pid = f"3{n:03d}"
            w.order(conn, pid, "店")
            w.case(conn, pid, pid, ("stalled", "lost", "no_tracking")[n % 3], status=("open", "in_progress")[n % 2],
                   severity=2 + n % 2, deadline=NOW + (n % 4) * H if n % 5 == 0 else None,
                   detected=NOW - (n % 3) * H)
        queue.refresh_case_facts(conn)
    return w


@pytest.mark.parametrize("sort", sorted(queue.SORTS))
def test_pages_neither_repeat_nor_skip(engine, sort):
    _many(engine)
    f = queue.QueueFilter(now=NOW)
    with engine.connect() as conn:
        whole = [r.id for r in queue.page(conn, f, sort, limit=500).rows]
        assert len(whole) == 75
        forward, cursor, pages = [], None, []
        while True:
            shown = queue.page(conn, f, sort, after=cursor, limit=7)
            pages.append(shown)
            forward += [r.id for r in shown.rows]
            if shown.next is None:
                break
            cursor = shown.next
        assert forward == whole
        assert pages[0].prev is None and all(p.prev for p in pages[1:])
        backward, cursor = [], pages[-1].prev
        while cursor:
            shown = queue.page(conn, f, sort, before=cursor, limit=7)
            backward = [r.id for r in shown.rows] + backward
            cursor = shown.prev
        assert backward + [r.id for r in pages[-1].rows] == whole
        by_offset = [r.id for n in range(11) for r in queue.page(conn, f, sort, offset=7 * n, limit=7).rows]
        assert by_offset == whole


def test_pages_of_one_kind_and_status_all(engine):
    _many(engine)
    f = queue.QueueFilter.from_args({"kind": "lost", "status": "all"}, me=None, now=NOW, policy=POLICY)
    with engine.connect() as conn:
        whole = [r.id for r in queue.page(conn, f, limit=100).rows]
        first = queue.page(conn, f, limit=10)
        second = queue.page(conn, f, after=first.next, limit=10)
        third = queue.page(conn, f, after=second.next, limit=10)
    assert len(whole) == 25
    assert [r.id for p in (first, second, third) for r in p.rows] == whole
    assert third.next is None


def test_a_resolved_case_does_not_shift_the_next_page(engine):
    _many(engine)
    f = queue.QueueFilter(now=NOW)
    with engine.connect() as conn:
        first = queue.page(conn, f, limit=10)
        whole = [r.id for r in queue.page(conn, f, limit=100).rows]
    with engine.begin() as conn:
        conn.execute(ExceptionCase.__table__.update().where(ExceptionCase.id.in_([r.id for r in first.rows[:5]]))
                     .values(status="resolved"))
    with engine.connect() as conn:
        second = queue.page(conn, f, after=first.next, limit=10)
    assert [r.id for r in second.rows] == whole[10:20]


def test_counts_follow_the_other_filters(engine):
    w = build_world(engine)
    f = queue.QueueFilter.from_args({"kind": "lost"}, me=None, now=NOW, policy=POLICY)
    with engine.connect() as conn:
        found = queue.counts(conn, f)
        assert found == {"stalled": 1, "lost": 1, "not_shipped": 1, "returned": 1}  # the kind itself is ignored
        assert queue.total(found, f) == 1
        assert queue.total(found, queue.QueueFilter(now=NOW)) == 4
        by_shop = queue.QueueFilter.from_args({"shop": str(w.shops["江南家居"]), "status": "all"}, me=None, now=NOW,
                                              policy=POLICY)
        assert queue.counts(conn, by_shop) == {"lost": 1, "damaged": 1, "returned": 1}
        by_carrier = queue.QueueFilter.from_args({"carrier": "yto"}, me=None, now=NOW, policy=POLICY)
        assert queue.counts(conn, by_carrier) == {"lost": 1}
    shown = queue.kinds_shown(found)
    assert [k for k, _ in shown[:6]] == list(queue.CORE_KINDS)
    assert ("damaged", 0) in shown  # core kinds always
    assert [k for k, _ in shown[6:]] == ["lost", "returned"]  # extra kinds only with cases, in KINDS order


@pytest.mark.parametrize("args", [
    {"kind": "nope"}, {"status": "closed"}, {"carrier": "fedex"}, {"shop": "x"}, {"assignee": "alice"},
    {"assignee": "me"}, {"province": "火星"}, {"age": "3w"}, {"age": "0h"}, {"promo": "黑五"}, {"severity": "5"},
    {"age": ["24h", "48h"]},
])
def test_bad_parameters_are_named(args):
    with pytest.raises(queue.QueueError, match=next(iter(args))):
        queue.QueueFilter.from_args(args, me=None, now=NOW, policy=POLICY)


@pytest.mark.parametrize("cursor", ["1.2", "x.1.2.3", "1.2..3", "1.2.3.4.5", "1.2.3.99999999999999999999"])
def test_bad_cursors_are_refused(engine, cursor):
    with pytest.raises(queue.QueueError, match="after"), engine.connect() as conn:
        queue.page(conn, queue.QueueFilter(now=NOW), "severity", after=cursor)


def test_rows_carry_what_the_queue_shows(engine):
    w = build_world(engine)
    with engine.connect() as conn:
        lost, stalled = queue.rows(conn, [w.cases["lost-yto"], w.cases["stalled-zto"]])
    assert (lost.platform_order_id, lost.shop, lost.carrier, lost.waybill, lost.province, lost.city, lost.assignee) == (
        "1002", "江南家居", "yto", "YT1000000000002", "广东省", "广州市", "bob")
    assert lost.order_id == w.orders["1002"]
    assert (stalled.carrier, stalled.buyer_nick, stalled.last_location) == ("zto", "小明<script>", "杭州转运中心")


def scanned(conn, shipment: int) -> None:
    """One hub scan four days ago, and nothing since: a stalled parcel."""
    at = NOW - 4 * D
    conn.execute(update(Shipment.__table__).where(Shipment.id == shipment).values(first_scan_at=at, last_event_at=at))
    conn.execute(insert(TrackingEvent.__table__).values(
        shipment_id=shipment, time=at, location="杭州", text="【杭州转运中心】已发出", status="in_transit",
        fingerprint=f"scan{shipment}", received_at=at))


def test_classification_keeps_the_cases_filter_facts_current(engine):
    """Shop, province, paid time and parcel carrier are copied onto the case by each
    classification, and follow a changed parcel (here: a reship under another carrier)."""
    from tracker.cases import classify_orders

    w = World(engine)
    with engine.begin() as conn:
        w.shop(conn, "云栖旗舰店")
        w.order(conn, "2001", "云栖旗舰店", province="海南省", city="海口市", paid_at=NOW - 12 * D)
        conn.execute(update(Order.__table__).values(shipped_at=NOW - 10 * D))
        scanned(conn, w.parcel(conn, "2001", "78000000000099", "zto"))
    classify_orders(engine, POLICY, NOW, only_changed=False)
    with engine.connect() as conn:
        case = conn.execute(select(ExceptionCase)).one()
    assert (case.shop_id, case.province, case.carrier) == (w.shops["云栖旗舰店"], "海南省", "zto")
    assert case.paid_at == NOW - 12 * D
    assert ids(engine, carrier="zto", province="海南") == [case.id]
    with engine.begin() as conn:
        conn.execute(update(Shipment.__table__).values(superseded_at=NOW, updated_at=NOW))
        scanned(conn, w.parcel(conn, "2001", "SF1000000000099", "sf"))
    classify_orders(engine, POLICY, NOW + H, only_changed=False)
    assert ids(engine, carrier="sf") == [case.id] and ids(engine, carrier="zto") == []


def test_counts_are_kept_until_any_case_changes(engine):
    w = build_world(engine)
    f = queue.QueueFilter(now=NOW)
    cache: dict = {}
    with engine.connect() as conn:
        first = queue.counts_cached(conn, f, cache)
        assert first == queue.counts(conn, f) and first["stalled"] == 1
    with engine.begin() as conn:  # a change that bypasses triage and classification is not seen …
        conn.execute(update(ExceptionCase.__table__).where(ExceptionCase.id == w.cases["stalled-zto"])
                     .values(status="resolved"))
    with engine.connect() as conn:
        assert queue.counts_cached(conn, f, cache)["stalled"] == 1
        assert queue.counts(conn, f).get("stalled", 0) == 0
    with engine.begin() as conn:  # … one through triage moves the version, and the counts with it
        triage.set_status(conn, [w.cases["lost-yto"]], "resolved", by=triage.Actor(None, "test"), now=NOW)
    with engine.connect() as conn:
        fresh = queue.counts_cached(conn, f, cache)
    assert fresh.get("stalled", 0) == 0 and fresh.get("lost", 0) == 0


def test_counts_for_me_and_by_age_are_never_shared(engine):
    w = build_world(engine)
    cache: dict = {}
    alice, bob = w.users["alice"], w.users["bob"]
    mine = {name: queue.QueueFilter(assignee="me", me=uid, now=NOW) for name, uid in (("alice", alice), ("bob", bob))}
    with engine.connect() as conn:
        assert queue.counts_cached(conn, mine["alice"], cache) == {"stalled": 1}
        assert queue.counts_cached(conn, mine["bob"], cache) == {"lost": 1}
        older = queue.QueueFilter(age="72h", now=NOW)
        assert queue.counts_cached(conn, older, cache) == queue.counts(conn, older)
        assert queue.counts_cached(conn, dataclasses.replace(older, now=NOW - 10 * D), cache) == {}
