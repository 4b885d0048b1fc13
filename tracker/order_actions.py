"""What agents do about one order: reship, refund, compensate, urge the courier, report
damage, and the customer contacts (a reply sent, the buyer's answer to it).

    order id, the agent's input, who, when
        ─► checked first (amounts, waybill, carrier, the case and shipment belong to the
           order): an ``ActionError`` before anything is written
        ─► one ``actions`` row (code, amount, note, user) or ``customer_contacts`` row
        ─► a reship also adds a ``shipments`` row (kind reship, source agent, due for polling
           now), so the poller tracks it and the next classification run looks at the order
        ─► one ``audit_log`` row

Plain SQL on the caller's connection and transaction (a request, a CLI command), like
``tracker.triage``: the change and its audit record land together or not at all.  Error
messages are Chinese msgids with ``%(name)s`` placeholders (marked with ``N_`` for
extraction); the web layer translates them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Connection, func, insert, select, update

from couriers import carriers
from tracker import audit, playbook
from tracker.cases import DAMAGE_REPORT
from tracker.ingest import carrier_note
from tracker.models import Action, CustomerContact, ExceptionCase, Order, Shipment
from tracker.policy import Policy
from tracker.triage import Actor

ACTIONS = Action.__table__
CONTACTS = CustomerContact.__table__
CASES = ExceptionCase.__table__
ORDERS = Order.__table__
SHIPMENTS = Shipment.__table__

OUTCOMES = ("accepted", "refused", "pending")
CHANNELS = ("chat", "phone", "sms")
WAYBILL = re.compile(r"^[A-Z0-9][A-Z0-9-]{5,39}$")
AMOUNT = re.compile(r"^\d{1,12}(?:\.\d{1,2})?$")
NOTE_MAX = 1000


def N_(msgid: str) -> str:
    """Marks a msgid for extraction; the web layer translates it."""
    return msgid


@dataclass
class ActionError(ValueError):
    """Bad input from the agent: nothing was written.  ``message`` is a msgid, ``params`` fill it."""

    message: str
    params: dict = field(default_factory=dict)

    def __str__(self) -> str:
        return self.message % self.params if self.params else self.message


@dataclass(frozen=True)
class Reshipped:
    shipment_id: int
    action_id: int
    warning: str | None  # the waybill does not fit the carrier's patterns


def parse_amount(text: str | None) -> Decimal:
    """An amount in yuan as an agent types it ("12.5", "¥1,299.00"): exact, > 0, two places at most."""
    cleaned = re.sub(r"[\s,，¥￥]", "", text or "")
    if not cleaned:
        raise ActionError(N_("请填写金额"))
    if not AMOUNT.match(cleaned):
        raise ActionError(N_("金额格式不正确：%(value)s（例如 12.50，最多两位小数）"), {"value": (text or "")[:40]})
    amount = Decimal(cleaned)  # the pattern admits plain decimals only
    if amount <= 0:
        raise ActionError(N_("金额必须大于 0"))
    return amount


def _note(note: str | None, *, required: str | None = None) -> str | None:
    note = (note or "").strip()
    if required and not note:
        raise ActionError(required)
    if len(note) > NOTE_MAX:
        raise ActionError(N_("备注太长（最多 %(n)s 字）"), {"n": NOTE_MAX})
    return note or None


def _order(conn: Connection, order_id: int):
    row = conn.execute(select(ORDERS.c.id, ORDERS.c.paid_amount, ORDERS.c.total_amount)
                       .where(ORDERS.c.id == order_id)).first()
    if row is None:
        raise ActionError(N_("订单不存在：%(id)s"), {"id": order_id})
    return row


def _check_case(conn: Connection, order_id: int, case_id: int | None) -> int | None:
    if case_id is None:
        return None
    found = conn.execute(select(CASES.c.id).where(CASES.c.id == case_id, CASES.c.order_id == order_id)).first()
    if found is None:
        raise ActionError(N_("异常单 %(id)s 不属于这个订单"), {"id": case_id})
    return case_id


def _check_shipment(conn: Connection, order_id: int, shipment_id: int | None):
    if shipment_id is None:
        return None
    row = conn.execute(select(SHIPMENTS.c.id, SHIPMENTS.c.kind, SHIPMENTS.c.waybill)
                       .where(SHIPMENTS.c.id == shipment_id, SHIPMENTS.c.order_id == order_id)).first()
    if row is None:
        raise ActionError(N_("包裹 %(id)s 不属于这个订单"), {"id": shipment_id})
    return row


def _act(conn: Connection, order_id: int, code: str, *, by: Actor, now: datetime, amount: Decimal | None = None,
         note: str | None = None, case_id: int | None = None, shipment_id: int | None = None,
         detail: dict | None = None) -> int:
    """The action row and its audit record."""
    action_id = conn.execute(insert(ACTIONS).values(
        order_id=order_id, case_id=case_id, shipment_id=shipment_id, code=code, amount=amount, note=note,
        user_id=by.user_id, at=now)).inserted_primary_key[0]
    audit.record(conn, actor=by.username, user_id=by.user_id, action=f"order.{code}", entity="order",
                 entity_id=order_id, at=now, detail={
                     "action_id": action_id, "case_id": case_id, "shipment_id": shipment_id,
                     "amount": None if amount is None else str(amount), "note": note, **(detail or {})})
    return action_id


def reship(conn: Connection, order_id: int, *, carrier: str, waybill: str, replaces: int | None, by: Actor,
           now: datetime, note: str | None = None, case_id: int | None = None) -> Reshipped:
    """A replacement parcel: a reship shipment linked to the one it replaces, due for polling now."""
    _order(conn, order_id)
    try:
        chosen = carriers.get(carrier)
    except carriers.UnknownCarrier:
        raise ActionError(N_("请选择快递公司")) from None
    number = re.sub(r"\s", "", waybill or "").upper()
    if not number:
        raise ActionError(N_("请填写新运单号"))
    if not WAYBILL.match(number):
        raise ActionError(N_("运单号格式不正确：%(value)s（6–40 位字母、数字或“-”）"), {"value": (waybill or "")[:40]})
    old = _check_shipment(conn, order_id, replaces)
    if old is not None and old.kind == "return":
        raise ActionError(N_("退货包裹不能被补发替代"))
    case_id = _check_case(conn, order_id, case_id)
    note = _note(note)
    taken = conn.execute(select(SHIPMENTS.c.id).where(
        SHIPMENTS.c.order_id == order_id, SHIPMENTS.c.kind == "reship", SHIPMENTS.c.waybill == number)).first()
    if taken is not None or (old is not None and old.waybill == number):
        raise ActionError(N_("运单号 %(value)s 已登记在这个订单上"), {"value": number})
    warning = None
    if not carriers.matches(chosen.code, number):
        warning = (carrier_note(number, chosen.code)
                   or f"单号格式与{chosen.name}不符 (number does not fit {chosen.code} patterns)")
    shipment_id = conn.execute(insert(SHIPMENTS).values(
        order_id=order_id, kind="reship", source="agent", waybill=number, carrier=chosen.code,
        carrier_raw=chosen.name, carrier_note=warning, replaces_shipment_id=replaces, status="pending",
        done=False, next_poll_at=now, poll_count=0, error_count=0, created_at=now,
        updated_at=now)).inserted_primary_key[0]
    action_id = _act(conn, order_id, "reship", by=by, now=now, note=note, case_id=case_id, shipment_id=shipment_id,
                     detail={"carrier": chosen.code, "waybill": number, "replaces": replaces, "warning": warning})
    return Reshipped(shipment_id, action_id, warning)


def refund(conn: Connection, order_id: int, amount: Decimal, *, by: Actor, now: datetime, note: str | None = None,
           case_id: int | None = None) -> int:
    """Money back to the buyer; all agents' refunds of the order together stay within what was paid."""
    order = _order(conn, order_id)
    if amount <= 0:
        raise ActionError(N_("金额必须大于 0"))
    case_id = _check_case(conn, order_id, case_id)
    note = _note(note)
    paid = order.paid_amount if order.paid_amount is not None else order.total_amount
    if paid is not None:
        before = conn.execute(select(func.sum(ACTIONS.c.amount))
                              .where(ACTIONS.c.order_id == order_id, ACTIONS.c.code == "refund")).scalar()
        before = before or Decimal("0.00")
        if before + amount > paid:
            raise ActionError(N_("退款不能超过实付金额 %(paid)s（已退 %(before)s）"),
                              {"paid": f"¥{paid:,.2f}", "before": f"¥{before:,.2f}"})
    return _act(conn, order_id, "refund", by=by, now=now, amount=amount, note=note, case_id=case_id)


def compensate(conn: Connection, order_id: int, amount: Decimal, *, by: Actor, now: datetime,
               note: str | None = None, case_id: int | None = None) -> int:
    """A goodwill payment (补偿) beside the goods: the note says what for."""
    _order(conn, order_id)
    if amount <= 0:
        raise ActionError(N_("金额必须大于 0"))
    case_id = _check_case(conn, order_id, case_id)
    note = _note(note, required=N_("请填写补偿原因"))
    return _act(conn, order_id, "compensate", by=by, now=now, amount=amount, note=note, case_id=case_id)


def urge_courier(conn: Connection, order_id: int, *, by: Actor, now: datetime, shipment_id: int | None = None,
                 note: str | None = None, case_id: int | None = None) -> int:
    _order(conn, order_id)
    _check_shipment(conn, order_id, shipment_id)
    case_id = _check_case(conn, order_id, case_id)
    return _act(conn, order_id, "urge_courier", by=by, now=now, note=_note(note), case_id=case_id,
                shipment_id=shipment_id)


def report_damage(conn: Connection, order_id: int, note: str, *, by: Actor, now: datetime,
                  shipment_id: int | None = None, case_id: int | None = None) -> int:
    """The buyer showed damage: a fact classification reads (``tracker.cases.DAMAGE_REPORT``)."""
    _order(conn, order_id)
    _check_shipment(conn, order_id, shipment_id)
    case_id = _check_case(conn, order_id, case_id)
    note = _note(note, required=N_("请填写破损情况"))
    return _act(conn, order_id, DAMAGE_REPORT, by=by, now=now, note=note, case_id=case_id, shipment_id=shipment_id)


def scripted_reply(conn: Connection, order_id: int, case_id: int, reply_code: str, policy: Policy) -> str:
    """The text of the reply ``reply_code`` the playbook offers for the case now, or the text of
    an earlier contact with that code (the same button copied twice)."""
    case = conn.execute(select(CASES.c.kind, CASES.c.evidence)
                        .where(CASES.c.id == case_id, CASES.c.order_id == order_id)).first()
    if case is None:
        raise ActionError(N_("异常单 %(id)s 不属于这个订单"), {"id": case_id})
    earlier = conn.execute(select(CONTACTS.c.reply_code, CONTACTS.c.outcome, CONTACTS.c.text)
                           .where(CONTACTS.c.order_id == order_id).order_by(CONTACTS.c.id)).all()
    contacts = [playbook.Contact(c.reply_code, c.outcome) for c in earlier]
    for suggestion in playbook.suggest(case.kind, case.evidence or {}, contacts, policy):
        if suggestion.reply is not None and suggestion.reply.code == reply_code:
            return suggestion.reply.text
    for c in reversed(earlier):
        if c.reply_code == reply_code and c.text:
            return c.text
    raise ActionError(N_("这条话术已不适用，请刷新页面"))


def log_contact(conn: Connection, order_id: int, *, text: str, by: Actor, now: datetime,
                reply_code: str | None = None, case_id: int | None = None, channel: str = "chat",
                outcome: str = "pending") -> int:
    """A message to or from the buyer (a copied reply script is one) and, when known, how the
    buyer took it."""
    _order(conn, order_id)
    if channel not in CHANNELS:
        raise ActionError(N_("未知的沟通渠道：%(value)s"), {"value": (channel or "")[:16]})
    _check_outcome(outcome)
    text = (text or "").strip()
    if not text:
        raise ActionError(N_("请填写沟通内容"))
    if len(text) > NOTE_MAX:
        raise ActionError(N_("内容太长（最多 %(n)s 字）"), {"n": NOTE_MAX})
    case_id = _check_case(conn, order_id, case_id)
    contact_id = conn.execute(insert(CONTACTS).values(
        order_id=order_id, case_id=case_id, channel=channel, reply_code=reply_code, text=text, outcome=outcome,
        user_id=by.user_id, at=now)).inserted_primary_key[0]
    audit.record(conn, actor=by.username, user_id=by.user_id, action="order.contact", entity="order",
                 entity_id=order_id, at=now, detail={"contact_id": contact_id, "case_id": case_id,
                                                     "reply_code": reply_code, "channel": channel, "outcome": outcome})
    return contact_id


def _check_outcome(outcome: str | None) -> None:
    if outcome not in OUTCOMES:
        raise ActionError(N_("未知的沟通结果：%(value)s"), {"value": (outcome or "")[:16]})


def record_outcome(conn: Connection, order_id: int, contact_id: int, outcome: str, *, by: Actor,
                   now: datetime) -> None:
    """How the buyer took the plan of a contact: the playbook hands over to a lead after refusals."""
    _check_outcome(outcome)
    row = conn.execute(select(CONTACTS.c.outcome).where(CONTACTS.c.id == contact_id,
                                                        CONTACTS.c.order_id == order_id)).first()
    if row is None:
        raise ActionError(N_("沟通记录 %(id)s 不属于这个订单"), {"id": contact_id})
    conn.execute(update(CONTACTS).where(CONTACTS.c.id == contact_id).values(outcome=outcome))
    audit.record(conn, actor=by.username, user_id=by.user_id, action="order.contact_outcome", entity="order",
                 entity_id=order_id, at=now, detail={"contact_id": contact_id, "from": row.outcome, "to": outcome})
