"""What agents do about an order, on SQLite and PostgreSQL: every operation writes its row and
one audit record, amounts stay exact, bad input writes nothing, a reship is polled like any
parcel, a damage report reaches classification, refusals hand the buyer over to a lead."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, insert, select

from tests.tracking.tracking_helpers import Courier
from tracker import order_actions as ops
from tracker import playbook, users
from tracker import policy as policies
from tracker.cases import classify_orders
from tracker.models import (
    Action,
    AuditLog,
    CustomerContact,
    ExceptionCase,
    Order,
    Shipment,
    Shop,
)
from tracker.order_actions import ActionError
from tracker.polling import Poller

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
POLICY = policies.DEFAULT


@pytest.fixture
def order(engine):
    """A shipped order (paid ¥199.00) with one ZTO parcel not due for polling, and an agent."""
    with engine.begin() as conn:
        shop = conn.execute(insert(Shop.__table__).values(name="旗舰店", platform="taobao",
                                                          origin_province="浙江")).inserted_primary_key[0]
        order_id = conn.execute(insert(Order.__table__).values(
            shop_id=shop, platform="taobao", platform_order_id="3900000000000000001", status="shipped",
            status_raw="卖家已发货，等待买家确认", receiver_phone="13812345678", province="海南省", city="海口市",
            paid_amount=Decimal("199.00"), total_amount=Decimal("219.00"), paid_at=NOW - timedelta(days=6),
            shipped_at=NOW - timedelta(days=5), source_hash="x", facts_changed_at=NOW,
            created_at=NOW)).inserted_primary_key[0]
        parcel = conn.execute(insert(Shipment.__table__).values(
            order_id=order_id, waybill="73100000000001", carrier="zto", status="in_transit",
            next_poll_at=NOW + timedelta(days=1), created_at=NOW - timedelta(days=5),
            updated_at=NOW - timedelta(days=5))).inserted_primary_key[0]
        agent = users.add(conn, "agent", "agent", "long-enough")
    return {"id": order_id, "parcel": parcel, "by": ops.Actor(agent, "agent")}


def counts(engine) -> tuple[int, int, int, int]:
    with engine.connect() as conn:
        return tuple(conn.execute(select(func.count()).select_from(t)).scalar_one()
                     for t in (Action.__table__, Shipment.__table__, CustomerContact.__table__, AuditLog.__table__))


def audits(engine, action: str) -> list:
    with engine.connect() as conn:
        return conn.execute(select(AuditLog).where(AuditLog.action == action)).all()


def test_reship_is_a_linked_shipment_the_poller_tracks(engine, order):
    with engine.begin() as conn:
        done = ops.reship(conn, order["id"], carrier="sf", waybill=" sf1234567890123 ", replaces=order["parcel"],
                          note="原包裹停滞，补发", by=order["by"], now=NOW)
    assert done.warning is None
    with engine.connect() as conn:
        new = conn.execute(select(Shipment).where(Shipment.id == done.shipment_id)).one()
        action = conn.execute(select(Action)).one()
    assert (new.kind, new.source, new.waybill, new.carrier, new.replaces_shipment_id) == (
        "reship", "agent", "SF1234567890123", "sf", order["parcel"])
    assert (new.status, new.done, new.next_poll_at, new.superseded_at) == ("pending", False, NOW, None)
    assert (action.code, action.shipment_id, action.note, action.user_id) == (
        "reship", done.shipment_id, "原包裹停滞，补发", order["by"].user_id)
    [audit] = audits(engine, "order.reship")
    assert (audit.entity, audit.entity_id, audit.actor, audit.detail["waybill"]) == (
        "order", str(order["id"]), "agent", "SF1234567890123")

    courier = Courier()
    with Poller(courier.provider(), concurrency=1) as poller:
        report = poller.poll_once(engine, now=NOW, owner="test")
    assert courier.calls == ["SF1234567890123"]  # only the reship was due
    assert report.events_added > 0


def test_reship_with_a_number_of_another_shape_is_kept_with_a_warning(engine, order):
    with engine.begin() as conn:
        done = ops.reship(conn, order["id"], carrier="sf", waybill="73100000000009", replaces=order["parcel"],
                          by=order["by"], now=NOW)
    assert "中通" in done.warning
    with engine.connect() as conn:
        assert conn.execute(select(Shipment.carrier_note).where(Shipment.id == done.shipment_id)).scalar_one() \
            == done.warning


@pytest.mark.parametrize(("fields", "message"), [
    ({"waybill": "  "}, "请填写新运单号"),
    ({"waybill": "SF<script>"}, "运单号格式不正确"),
    ({"waybill": "SF12"}, "运单号格式不正确"),
    ({"carrier": "fedex"}, "请选择快递公司"),
    ({"waybill": "73100000000001"}, "已登记在这个订单上"),  # the parcel it replaces
    ({"replaces": 99999}, "不属于这个订单"),
    ({"case_id": 99999}, "不属于这个订单"),
])
def test_a_bad_reship_writes_nothing(engine, order, fields, message):
    before = counts(engine)
    args = {"carrier": "zto", "waybill": "73100000000002", "replaces": order["parcel"]} | fields
    with pytest.raises(ActionError) as err, engine.begin() as conn:
        ops.reship(conn, order["id"], by=order["by"], now=NOW, **args)
    assert message in str(err.value)
    assert counts(engine) == before


def test_the_same_reship_twice_is_refused(engine, order):
    with engine.begin() as conn:
        ops.reship(conn, order["id"], carrier="zto", waybill="73100000000002", replaces=order["parcel"],
                   by=order["by"], now=NOW)
    with pytest.raises(ActionError, match="已登记"), engine.begin() as conn:
        ops.reship(conn, order["id"], carrier="zto", waybill="73100000000002", replaces=order["parcel"],
                   by=order["by"], now=NOW)


@pytest.mark.parametrize(("text", "amount"), [
    ("12.5", Decimal("12.5")), ("0.01", Decimal("0.01")), ("¥1,299.00", Decimal("1299.00")), (" 30 ", Decimal(30)),
])
def test_amounts_are_read_exactly(text, amount):
    assert ops.parse_amount(text) == amount


@pytest.mark.parametrize("text", ["", "abc", "1e3", "NaN", "Infinity", "-5", "0", "0.00", "12.345", "1.2.3",
                                  "12,5元", "9999999999999"])
def test_garbage_amounts_are_refused(text):
    with pytest.raises(ActionError):
        ops.parse_amount(text)


def test_refunds_are_exact_and_stay_within_what_was_paid(engine, order):
    by = order["by"]
    with engine.begin() as conn:
        ops.refund(conn, order["id"], Decimal("0.10"), note="运费差价", by=by, now=NOW)
        ops.refund(conn, order["id"], Decimal("0.20"), by=by, now=NOW)
    before = counts(engine)
    with pytest.raises(ActionError) as err, engine.begin() as conn:
        ops.refund(conn, order["id"], Decimal("198.71"), by=by, now=NOW)
    assert str(err.value) == "退款不能超过实付金额 ¥199.00（已退 ¥0.30）"
    assert counts(engine) == before
    with engine.begin() as conn:
        ops.refund(conn, order["id"], Decimal("198.70"), by=by, now=NOW)
    with engine.connect() as conn:
        amounts = conn.execute(select(Action.amount).where(Action.code == "refund").order_by(Action.id)).scalars().all()
        total = conn.execute(select(func.sum(Action.amount))).scalar_one()
    assert amounts == [Decimal("0.10"), Decimal("0.20"), Decimal("198.70")]
    assert all(isinstance(a, Decimal) for a in amounts) and total == Decimal("199.00")
    assert [a.detail["amount"] for a in audits(engine, "order.refund")] == ["0.10", "0.20", "198.70"]


def test_compensation_needs_a_reason_and_keeps_its_amount(engine, order):
    with pytest.raises(ActionError, match="补偿原因"), engine.begin() as conn:
        ops.compensate(conn, order["id"], Decimal(5), note=" ", by=order["by"], now=NOW)
    with engine.begin() as conn:
        ops.compensate(conn, order["id"], Decimal("5.50"), note="延误补偿", by=order["by"], now=NOW)
    with engine.connect() as conn:
        row = conn.execute(select(Action.code, Action.amount, Action.note)).one()
    assert tuple(row) == ("compensate", Decimal("5.50"), "延误补偿")
    assert len(audits(engine, "order.compensate")) == 1


def test_urge_courier_names_the_parcel(engine, order):
    with engine.begin() as conn:
        ops.urge_courier(conn, order["id"], shipment_id=order["parcel"], note="已电话催派", by=order["by"], now=NOW)
    with engine.connect() as conn:
        row = conn.execute(select(Action.code, Action.shipment_id, Action.note, Action.at)).one()
    assert tuple(row) == ("urge_courier", order["parcel"], "已电话催派", NOW)
    assert len(audits(engine, "order.urge_courier")) == 1


def test_a_damage_report_opens_a_damaged_case(engine, order):
    with pytest.raises(ActionError, match="破损情况"), engine.begin() as conn:
        ops.report_damage(conn, order["id"], "", by=order["by"], now=NOW)
    with engine.begin() as conn:
        ops.report_damage(conn, order["id"], "买家发来照片：外箱压坏，杯子碎了", shipment_id=order["parcel"],
                          by=order["by"], now=NOW)
    classify_orders(engine, POLICY, NOW, only_changed=False)
    with engine.connect() as conn:
        case = conn.execute(select(ExceptionCase).where(ExceptionCase.kind == "damaged")).one()
    assert "客服登记：买家发来照片：外箱压坏，杯子碎了" in case.evidence_text
    assert len(audits(engine, "order.damage_reported")) == 1


@pytest.fixture
def stalled(engine, order):
    """The order's open stalled case."""
    with engine.begin() as conn:
        return conn.execute(insert(ExceptionCase.__table__).values(
            order_id=order["id"], kind="stalled", status="open", severity=2,
            evidence={"waybill": "73100000000001", "carrier": "zto"}, detected_at=NOW,
            updated_at=NOW)).inserted_primary_key[0]


def test_a_copied_reply_is_a_contact_and_refusals_hand_over_to_a_lead(engine, order, stalled):
    by = order["by"]
    with engine.begin() as conn:
        text = ops.scripted_reply(conn, order["id"], stalled, "urge_courier.1", POLICY)
        first = ops.log_contact(conn, order["id"], text=text, reply_code="urge_courier.1", case_id=stalled, by=by,
                                now=NOW)
        # the same button copied again: the text the buyer already had
        assert ops.scripted_reply(conn, order["id"], stalled, "urge_courier.1", POLICY) == text
        ops.record_outcome(conn, order["id"], first, "refused", by=by, now=NOW)
        second_text = ops.scripted_reply(conn, order["id"], stalled, "urge_courier.2", POLICY)
        second = ops.log_contact(conn, order["id"], text=second_text, reply_code="urge_courier.2", case_id=stalled,
                                 by=by, now=NOW)
        ops.record_outcome(conn, order["id"], second, "refused", by=by, now=NOW)
    assert "中通快递" in text and "73100000000001" in second_text
    with engine.connect() as conn:
        rows = conn.execute(select(CustomerContact).order_by(CustomerContact.id)).all()
        handover = ops.scripted_reply(conn, order["id"], stalled, "handover_lead.1", POLICY)
    assert [(r.reply_code, r.outcome, r.channel, r.case_id, r.user_id) for r in rows] == [
        ("urge_courier.1", "refused", "chat", stalled, by.user_id),
        ("urge_courier.2", "refused", "chat", stalled, by.user_id)]
    assert rows[0].text == text
    assert handover == playbook.suggest("stalled", {}, [playbook.Contact("x", "refused")] * 2, POLICY)[0].reply.text
    assert len(audits(engine, "order.contact")) == 2
    assert [a.detail["to"] for a in audits(engine, "order.contact_outcome")] == ["refused", "refused"]


def test_contacts_refuse_what_does_not_fit(engine, order, stalled):
    before = counts(engine)
    bad = [
        lambda conn: ops.scripted_reply(conn, order["id"], stalled, "no_such.1", POLICY),
        lambda conn: ops.scripted_reply(conn, order["id"], 99999, "urge_courier.1", POLICY),
        lambda conn: ops.log_contact(conn, order["id"], text="  ", by=order["by"], now=NOW),
        lambda conn: ops.log_contact(conn, order["id"], text="hi", channel="fax", by=order["by"], now=NOW),
        lambda conn: ops.log_contact(conn, order["id"], text="hi", outcome="maybe", by=order["by"], now=NOW),
        lambda conn: ops.record_outcome(conn, order["id"], 99999, "accepted", by=order["by"], now=NOW),
    ]
    for attempt in bad:
        with pytest.raises(ActionError), engine.begin() as conn:
            attempt(conn)
    assert counts(engine) == before
