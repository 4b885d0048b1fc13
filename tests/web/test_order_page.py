"""The order page on SQLite and PostgreSQL: the facts, the timeline with its stall gap, the
findings with their replies, every action an agent takes (rows, audit, exact amounts, nothing
kept on bad input), the gates (role, CSRF, unknown order), escaping of imported text, and a
fixed number of queries whatever the order holds."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from html import unescape

import pytest
from sqlalchemy import event, func, insert, select, update

from tests.web.conftest import NOW
from tracker import policy as policies
from tracker.cases import classify_orders
from tracker.events import fingerprint
from tracker.models import (
    Action,
    AuditLog,
    CaseEvent,
    CustomerContact,
    ExceptionCase,
    Order,
    OrderItem,
    Refund,
    Shipment,
    Shop,
    TrackingEvent,
)

H = timedelta(hours=1)
SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
MEMO = 'Tom & "Jerry" 要求发顺丰'


def _order(conn, shop: int, platform_order_id: str, **facts) -> int:
    return conn.execute(insert(Order.__table__).values(
        shop_id=shop, platform="taobao", platform_order_id=platform_order_id, status="shipped",
        status_raw="卖家已发货，等待买家确认", source_hash="x", facts_changed_at=NOW, created_at=NOW - 10 * 24 * H,
        **facts)).inserted_primary_key[0]


def _shipment(conn, order_id: int, waybill: str, scans: list[tuple[timedelta, str, str, str]], **state) -> int:
    """A parcel and its scans (age, place, text, status), stored as the poller would."""
    sid = conn.execute(insert(Shipment.__table__).values(
        order_id=order_id, waybill=waybill, carrier="zto", created_at=NOW - 5 * 24 * H, updated_at=NOW - H,
        **state)).inserted_primary_key[0]
    if scans:
        conn.execute(insert(TrackingEvent.__table__), [
            {"shipment_id": sid, "time": NOW - age, "location": place, "text": text, "raw_code": "0", "status": status,
             "fingerprint": fingerprint(NOW - age, text), "received_at": NOW} for age, place, text, status in scans])
        conn.execute(update(Shipment.__table__).where(Shipment.id == sid).values(
            first_scan_at=NOW - scans[0][0], last_event_at=NOW - scans[-1][0], last_location=scans[-1][1],
            last_event_text=scans[-1][2]))
    return sid


@pytest.fixture
def shop(app, engine, staff):
    """Order A: a ZTO parcel stalled 100 h (the buyer asked for SF), an older parcel superseded by a
    newer export; order B: delivered after a 90 h pause in transit.  Classified, so A has cases."""
    with engine.begin() as conn:
        shop = conn.execute(insert(Shop.__table__).values(name="旗舰店<b>", platform="taobao",
                                                          origin_province="浙江")).inserted_primary_key[0]
        a = _order(conn, shop, "3900000000000000001", buyer_nick="tb_买家", receiver_name="张三",
                   receiver_phone="13812345678", receiver_address="海南省海口市美兰区某路 1 号", province="海南省",
                   city="海口市", buyer_message=SCRIPT, seller_memo=MEMO, requested_carriers="sf",
                   paid_amount=Decimal("199.00"), total_amount=Decimal("219.00"), postage=Decimal("0.00"),
                   paid_at=NOW - 6 * 24 * H, shipped_at=NOW - 5 * 24 * H)
        conn.execute(insert(OrderItem.__table__), [
            {"order_id": a, "line_no": 1, "title": "保温杯 500ml", "sku": "颜色:白", "quantity": 2,
             "price": Decimal("99.50"), "paid_amount": Decimal("199.00")}])
        conn.execute(insert(Refund.__table__).values(
            shop_id=shop, platform="taobao", refund_id="R1", platform_order_id="3900000000000000001", order_id=a,
            status="requested", status_raw="买家已经申请退款，等待卖家同意", amount=Decimal("50.00"),
            reason="物流一直未送达", source_hash="x"))
        old = _shipment(conn, a, "73100000000000", [], superseded_at=NOW - 4 * 24 * H)
        parcel = _shipment(conn, a, "73100000000001", [
            (120 * H, "浙江省杭州市", "【杭州市】快件已揽收", "picked_up"),
            (110 * H, "杭州转运中心", "快件已到达【杭州转运中心】", "in_transit"),
            (100 * H, "广州转运中心", IMG, "in_transit")], status="in_transit", next_poll_at=NOW + H,
            last_polled_at=NOW - H)
        b = _order(conn, shop, "3900000000000000002", receiver_phone="13900001111", province="浙江省",
                   paid_amount=Decimal("10.00"), shipped_at=NOW - 10 * 24 * H)
        _shipment(conn, b, "73100000000002", [
            (200 * H, "浙江省杭州市", "B 揽收", "picked_up"), (190 * H, "杭州转运中心", "B 离开杭州", "in_transit"),
            (100 * H, "宁波转运中心", "B 到达宁波", "in_transit"), (95 * H, "宁波市", "B 已签收", "delivered")],
            status="delivered", delivered_at=NOW - 95 * H, done=True)
    classify_orders(engine, policies.load(), NOW, only_changed=False)
    with engine.connect() as conn:
        cases = dict(conn.execute(select(ExceptionCase.kind, ExceptionCase.id)
                                  .where(ExceptionCase.order_id == a)).all())
    return {"a": a, "b": b, "old": old, "parcel": parcel, "cases": cases}


def page(client, order_id: int) -> str:
    response = client.get(f"/orders/{order_id}")
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def text_of(html: str) -> str:
    return unescape(re.sub(r"<[^>]+>", " ", html))


def post(client, path: str, **form):
    return client.post(path, data={"csrf_token": client.csrf, **form})


def rows(engine, table, *where):
    with engine.connect() as conn:
        return conn.execute(select(table).where(*where).order_by(table.c.id)).all()


def audit(engine, action: str) -> list:
    return rows(engine, AuditLog.__table__, AuditLog.action == action)


# ---------------------------------------------------------------- reading


def test_the_facts_of_the_order(client_as, shop):
    html = page(client_as("agent"), shop["a"])
    shown = text_of(html)
    for fact in ("3900000000000000001", "旗舰店<b>", "已发货", "卖家已发货，等待买家确认", "tb_买家", "张三",
                 "海南省海口市美兰区某路 1 号", "顺丰速运", "保温杯 500ml", "¥99.50", "¥199.00", "¥219.00",
                 "退款申请中", "¥50.00", "物流一直未送达",
                 "2026-11-14 10:00",  # paid, China time
                 "2026-11-15 10:00"):  # shipped
        assert fact in shown, fact
    assert "138****5678" in shown and "13812345678" not in html


def test_a_lead_sees_the_whole_phone_number(client_as, shop):
    assert "13812345678" in page(client_as("lead"), shop["a"])


def timeline(html: str, anchor: str) -> list[tuple[str, str]]:
    """(li class, text) of the timeline after ``anchor``."""
    part = html[html.index(anchor):]
    part = part[part.index('<ol class="timeline">'):]
    part = part[:part.index("</ol>")]
    found = re.findall(r'<li class="(\w+)">(.*?)</li>', part, re.DOTALL)
    return [(kind, " ".join(text_of(body).split())) for kind, body in found]


def test_timeline_is_newest_first_with_the_open_stall_marked(client_as, shop):
    html = page(client_as("agent"), shop["a"])
    items = timeline(html, f'id="shipment-{shop["parcel"]}"')
    assert [kind for kind, _ in items] == ["gap", "event", "event", "event"]
    assert items[0][1] == "停滞 100 小时 （上限 48 小时，至今无新轨迹）"
    assert items[1][1] == f"2026-11-16 06:00 广州转运中心 {IMG} 运输中 · 0"
    assert "快件已到达【杭州转运中心】" in items[2][1] and "快件已揽收" in items[3][1]
    assert re.search(rf'class="card shipment muted superseded" id="shipment-{shop["old"]}"', html)


def test_the_longest_pause_of_a_delivered_parcel_is_marked_between_its_scans(client_as, shop):
    items = timeline(page(client_as("agent"), shop["b"]), 'id="shipments"')
    assert [kind for kind, _ in items] == ["event", "event", "gap", "event", "event"]
    assert "B 已签收" in items[0][1] and "B 到达宁波" in items[1][1] and "B 离开杭州" in items[3][1]
    assert items[2][1] == "停滞 90 小时 （上限 72 小时）"  # shipped during 双十一: 48 h × 1.5


def test_findings_with_evidence_history_and_replies(client_as, shop):
    html = page(client_as("agent"), shop["a"])
    stalled, wrong = shop["cases"]["stalled"], shop["cases"]["wrong_carrier"]
    shown = text_of(html)
    assert "物流停滞" in shown and "发错快递" in shown
    assert "最后一条轨迹 100 小时前（广州转运中心）" in shown
    assert "发现" in shown  # the case history
    card = html[html.index(f'id="case-{stalled}"'):]
    card = card[:card.index("</article>")]
    reply = re.search(r'<div class="reply" id="(reply-\d+-\d+)">(.*?)</div>', card, re.DOTALL)
    assert reply and "中通快递" in reply.group(2)
    button = re.search(r'<button type="submit" data-copy="([^"]+)"\s+data-log-url="([^"]+)"\s+'
                       r'data-reply-code="([^"]+)" data-case-id="(\d+)"\s+data-done-text="([^"]+)">复制话术</button>',
                       card)
    assert button.groups() == (f"#{reply.group(1)}", f"/orders/{shop['a']}/contacts", "urge_courier.1",
                               str(stalled), "已复制")
    assert f'id="case-{wrong}"' in html


def test_escaped_imported_and_courier_text(client_as, shop):
    html = page(client_as("agent"), shop["a"])
    assert SCRIPT not in html and IMG not in html and "旗舰店<b>" not in html
    assert "旗舰店&lt;b&gt;" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "Tom &amp; &#34;Jerry&#34; 要求发顺丰" in html
    assert text_of(html).count(SCRIPT) >= 2  # the buyer message, and the evidence quoting it


def test_a_fixed_number_of_queries_whatever_the_order_holds(client_as, engine, shop):
    client = client_as("agent")
    statements = []

    def count() -> int:
        statements.clear()
        page(client, shop["a"])
        return len(statements)

    def listen(*args) -> None:
        statements.append(args[2])

    event.listen(engine, "before_cursor_execute", listen)
    try:
        before = count()
        more(engine, shop["a"])
        assert count() == before <= 10  # the signed-in user, then one query per table
    finally:
        event.remove(engine, "before_cursor_execute", listen)


def more(engine, order_id: int) -> None:
    """Many more scans, cases, histories, actions and contacts on the order."""
    with engine.begin() as conn:
        _shipment(conn, order_id, "73100000000003", [(h * H, "杭州转运中心", f"第 {h} 条", "in_transit")
                                                      for h in range(200, 100, -2)], status="in_transit")
        for kind in ("lost", "damaged", "refused"):
            case = conn.execute(insert(ExceptionCase.__table__).values(
                order_id=order_id, kind=kind, status="open", severity=3, evidence={}, detected_at=NOW,
                updated_at=NOW)).inserted_primary_key[0]
            conn.execute(insert(CaseEvent.__table__), [{"case_id": case, "at": NOW, "event": "opened"}] * 5)
            conn.execute(insert(Action.__table__), [{"order_id": order_id, "case_id": case, "code": "urge_courier",
                                                     "at": NOW}] * 5)
            conn.execute(insert(CustomerContact.__table__), [{"order_id": order_id, "case_id": case, "text": "x",
                                                              "at": NOW}] * 5)


def test_finance_reads_but_cannot_act(client_as, engine, shop):
    client = client_as("finance")
    html = page(client, shop["a"])
    assert "复制话术" not in html and 'id="act"' not in html and "csrf_token" not in html.split("<main>")[1]
    response = post(client, f"/orders/{shop['a']}/urge", note="x")
    assert response.status_code == 403
    assert rows(engine, Action.__table__) == []


def test_unknown_order_is_404(client_as, shop):
    client = client_as("agent")
    assert client.get("/orders/999999").status_code == 404
    assert post(client, "/orders/999999/urge").status_code == 404


def test_a_post_without_the_csrf_token_is_refused(client_as, engine, shop):
    client = client_as("agent")
    assert client.post(f"/orders/{shop['a']}/refund", data={"amount": "5"}).status_code == 400
    assert rows(engine, Action.__table__) == []


def test_find_by_order_id_or_waybill(client_as, shop):
    client = client_as("agent")
    assert client.get("/orders/find?q=3900000000000000002").headers["Location"] == f"/orders/{shop['b']}"
    assert client.get("/orders/find?q=73100000000001").headers["Location"] == f"/orders/{shop['a']}"
    missing = client.get("/orders/find?q=<x>")
    assert missing.status_code == 404 and "&lt;x&gt;" in missing.get_data(as_text=True)


# ---------------------------------------------------------------- acting


def follow(client, response) -> str:
    """The page a plain form lands on after its redirect."""
    assert response.status_code == 303, response.get_data(as_text=True)
    return text_of(client.get(response.headers["Location"]).get_data(as_text=True))


def test_reship(client_as, engine, shop):
    client = client_as("agent")
    shown = follow(client, post(client, f"/orders/{shop['a']}/reship", carrier="sf", waybill="SF1234567890123",
                                replaces=str(shop["parcel"]), note="原包裹停滞", case_id=str(shop["cases"]["stalled"])))
    assert "已登记补发" in shown and "补发 · 顺丰速运 SF1234567890123" in re.sub(r"\s+", " ", shown)
    [new] = rows(engine, Shipment.__table__, Shipment.kind == "reship")
    assert (new.source, new.carrier, new.replaces_shipment_id, new.next_poll_at, new.done) == (
        "agent", "sf", shop["parcel"], NOW, False)
    [action] = rows(engine, Action.__table__)
    assert (action.code, action.shipment_id, action.case_id, action.note) == (
        "reship", new.id, shop["cases"]["stalled"], "原包裹停滞")
    assert len(audit(engine, "order.reship")) == 1
    assert "替代运单 73100000000001" in shown


def test_reship_with_a_bad_waybill_keeps_nothing(client_as, engine, shop):
    client = client_as("agent")
    shown = follow(client, post(client, f"/orders/{shop['a']}/reship", carrier="sf", waybill="不是单号",
                                replaces=str(shop["parcel"])))
    assert "运单号格式不正确" in shown
    assert rows(engine, Shipment.__table__, Shipment.kind == "reship") == [] and rows(engine, Action.__table__) == []


def test_refund_and_compensation_keep_exact_amounts(client_as, engine, shop):
    client = client_as("agent")
    assert "已记录退款 ¥12.35" in follow(client, post(client, f"/orders/{shop['a']}/refund", amount="12.35",
                                                        note="部分退款"))
    assert "已记录补偿 ¥0.10" in follow(client, post(client, f"/orders/{shop['a']}/compensate", amount="0.1",
                                                        note="延误补偿"))
    for amount, message in (("abc", "金额格式不正确"), ("1.005", "金额格式不正确"), ("-3", "金额格式不正确"),
                            ("0", "金额必须大于 0"), ("186.66", "退款不能超过实付金额 ¥199.00（已退 ¥12.35）")):
        assert message in follow(client, post(client, f"/orders/{shop['a']}/refund", amount=amount)), amount
    assert [(a.code, a.amount, a.note) for a in rows(engine, Action.__table__)] == [
        ("refund", Decimal("12.35"), "部分退款"), ("compensate", Decimal("0.10"), "延误补偿")]
    assert len(audit(engine, "order.refund")) == len(audit(engine, "order.compensate")) == 1
    log = text_of(page(client, shop["a"]))
    assert "¥12.35" in log and "部分退款" in log and "agent 测试" in log


def test_urge_and_damage_report(client_as, engine, shop):
    client = client_as("lead")
    assert "已记录催件" in follow(client, post(client, f"/orders/{shop['a']}/urge", shipment_id=str(shop["parcel"]),
                                               note="已联系网点"))
    assert "请填写破损情况" in follow(client, post(client, f"/orders/{shop['a']}/damage", note=" "))
    assert "已登记破损" in follow(client, post(client, f"/orders/{shop['a']}/damage", note="杯子碎了"))
    assert [(a.code, a.note, a.shipment_id) for a in rows(engine, Action.__table__)] == [
        ("urge_courier", "已联系网点", shop["parcel"]), ("damage_reported", "杯子碎了", None)]
    assert len(audit(engine, "order.urge_courier")) == len(audit(engine, "order.damage_reported")) == 1


def test_a_copy_is_logged_from_fetch_and_from_a_plain_form(client_as, engine, shop):
    client = client_as("agent")
    stalled = shop["cases"]["stalled"]
    fetched = client.post(f"/orders/{shop['a']}/contacts", data={"reply_code": "urge_courier.1", "case_id": stalled},
                          headers={"X-CSRFToken": client.csrf})
    assert fetched.status_code == 204
    html = page(client, shop["a"])
    assert 'data-reply-code="urge_courier.2"' in html  # the buyer had variant 1: the next one is offered
    assert "话术已复制并记录为一次沟通" in follow(client, post(
        client, f"/orders/{shop['a']}/contacts", reply_code="urge_courier.2", case_id=str(stalled)))
    contacts = rows(engine, CustomerContact.__table__)
    assert [(c.reply_code, c.case_id, c.channel, c.outcome) for c in contacts] == [
        ("urge_courier.1", stalled, "chat", "pending"), ("urge_courier.2", stalled, "chat", "pending")]
    assert "中通快递" in contacts[0].text and contacts[0].text in text_of(html)
    assert len(audit(engine, "order.contact")) == 2

    stale = client.post(f"/orders/{shop['a']}/contacts", data={"reply_code": "made_up.9", "case_id": stalled},
                        headers={"X-CSRFToken": client.csrf})
    assert stale.status_code == 400 and "刷新页面" in stale.get_data(as_text=True)


def test_refusals_are_recorded_and_hand_the_buyer_to_a_lead(client_as, engine, shop):
    client = client_as("agent")
    stalled = shop["cases"]["stalled"]
    for code in ("urge_courier.1", "urge_courier.2"):
        post(client, f"/orders/{shop['a']}/contacts", reply_code=code, case_id=str(stalled))
        latest = rows(engine, CustomerContact.__table__)[-1]
        assert "已记录买家的答复" in follow(client, post(
            client, f"/orders/{shop['a']}/contacts/{latest.id}/outcome", outcome="refused"))
    assert [c.outcome for c in rows(engine, CustomerContact.__table__)] == ["refused", "refused"]
    card = page(client, shop["a"])
    card = card[card.index(f'id="case-{stalled}"'):]
    assert re.search(r'<li class="suggestion" data-code="handover_lead">', card[:card.index("</article>")])
    assert len(audit(engine, "order.contact_outcome")) == 2


def test_a_contact_written_down_by_hand(client_as, engine, shop):
    client = client_as("agent")
    assert "已记录沟通" in follow(client, post(client, f"/orders/{shop['a']}/contacts", text="电话确认地址无误",
                                               channel="phone", outcome="accepted"))
    [contact] = rows(engine, CustomerContact.__table__)
    assert (contact.channel, contact.text, contact.outcome, contact.reply_code) == (
        "phone", "电话确认地址无误", "accepted", None)


def test_resolve_dismiss_reopen_and_take_a_case(client_as, engine, shop):
    client = client_as("agent")
    base = f"/orders/{shop['a']}/cases/{shop['cases']['wrong_carrier']}"
    assert "已分配给我" in follow(client, post(client, f"{base}/assign"))
    assert "dismissing needs a reason" in follow(client, post(client, f"{base}/status", status="dismissed"))
    assert "已驳回" in follow(client, post(client, f"{base}/status", status="dismissed", reason="买家同意中通"))
    html = page(client, shop["a"])
    stalled, wrong = (html.index(f'id="case-{shop["cases"][kind]}"') for kind in ("stalled", "wrong_carrier"))
    assert stalled < wrong  # open cases first
    assert "买家同意中通" in text_of(html)
    follow(client, post(client, f"{base}/status", status="open"))
    with engine.connect() as conn:
        case = conn.execute(select(ExceptionCase).where(ExceptionCase.id == shop["cases"]["wrong_carrier"])).one()
        events = conn.execute(select(func.count()).select_from(AuditLog.__table__)
                              .where(AuditLog.action.in_(["case.assign", "case.dismissed", "case.open"]))).scalar_one()
    assert (case.status, case.assignee_id is not None) == ("open", True) and events == 3
    other = f"/orders/{shop['b']}/cases/{shop['cases']['stalled']}/status"
    assert post(client, other, status="resolved").status_code == 404  # a case of another order


def test_an_agent_cannot_take_a_colleagues_case_but_a_lead_can(client_as, engine, shop, staff):
    case = shop["cases"]["stalled"]
    with engine.begin() as conn:
        conn.execute(update(ExceptionCase.__table__).where(ExceptionCase.id == case).values(assignee_id=staff["admin"]))
    agent, lead = client_as("agent"), client_as("lead")
    assert "改派请找主管" in follow(agent, post(agent, f"/orders/{shop['a']}/cases/{case}/assign"))
    assert "已分配给我" in follow(lead, post(lead, f"/orders/{shop['a']}/cases/{case}/assign"))
    with engine.connect() as conn:
        assert conn.execute(select(ExceptionCase.assignee_id).where(ExceptionCase.id == case)).scalar_one() \
            == staff["lead"]


def test_stall_gap_limits_follow_the_promotion(app):
    """Shipped during 双十一: the stall limit is stretched by the promotion's factor."""
    from tracker.web.orders import stall_gap

    class Scan:
        def __init__(self, hours_ago, status="in_transit"):
            self.time, self.status, self.location = NOW - hours_ago * H, status, "杭州转运中心"

    policy = policies.load()
    shipped_in_promo = datetime(2026, 11, 10, 4, 0, tzinfo=UTC)
    args = {"status": "in_transit", "tracked": True, "destination": "海南", "now": NOW, "policy": policy}
    assert stall_gap([Scan(60)], shipped=NOW - 100 * H, **args).hours == 60
    assert stall_gap([Scan(60)], shipped=shipped_in_promo, **args) is None  # 48 h × 1.5 = 72 h
    assert stall_gap([Scan(80)], shipped=shipped_in_promo, **args).limit_hours == 72
    assert stall_gap([Scan(80)], shipped=NOW, **args | {"tracked": False}) is None
