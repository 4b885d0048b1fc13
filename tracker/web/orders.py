"""The order page: everything about one order on one screen, and what agents do about it.

    GET  /orders/<id>        facts, items, refunds · shipments with their timelines (newest
                             first, the longest stall gap over the policy's limit marked) ·
                             cases with evidence, history and the playbook's suggestions and
                             replies · action and contact logs · action forms (agents)
    GET  /orders/find?q=     platform order id or waybill ─► the order (or a short list)
    POST /orders/<id>/…      reship, refund, compensate, urge, damage (``tracker.order_actions``);
                             contacts and the buyer's answer; case status and "assign to me"
                             (``tracker.triage``)

Reading takes a fixed set of indexed queries whatever the order holds (one per table, the
events and case histories of all shipments and cases at once).  Every post is CSRF-checked,
for agents only, one transaction with its audit record, and answers a plain form with a
redirect back (flash message) and ``fetch``/htmx (the CSRF token in a header) with 204.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import Connection, select, union

from couriers import carriers
from tracker import order_actions, playbook, triage
from tracker.cases import DAMAGE_REPORT
from tracker.models import (
    Action,
    CaseEvent,
    CustomerContact,
    ExceptionCase,
    Order,
    OrderItem,
    Refund,
    Shipment,
    Shop,
    TrackingEvent,
    User,
)
from tracker.order_actions import ActionError
from tracker.policy import Policy, short_province
from tracker.triage import TriageError
from tracker.web import database, state
from tracker.web.auth import AGENTS, LEADS, READERS, role_required
from tracker.web.views import money

bp = Blueprint("orders", __name__, url_prefix="/orders")

O, SH, IT, RF = Order.__table__, Shop.__table__, OrderItem.__table__, Refund.__table__
S, E, C, CE = Shipment.__table__, TrackingEvent.__table__, ExceptionCase.__table__, CaseEvent.__table__
A, CC, U = Action.__table__, CustomerContact.__table__, User.__table__
OPEN = ("open", "in_progress")
ENDS = frozenset({"delivered", "returned"})  # a parcel in this state is not waiting for a scan
H = timedelta(hours=1)

ORDER_STATUS = {"awaiting_payment": _l("待付款"), "awaiting_shipment": _l("待发货"), "shipped": _l("已发货"),
                "finished": _l("交易成功"), "closed": _l("交易关闭"), "unknown": _l("状态未识别")}
PARCEL_STATUS = {"pending": _l("未揽收"), "picked_up": _l("已揽收"), "in_transit": _l("运输中"),
                 "out_for_delivery": _l("派送中"), "available_for_pickup": _l("待取件（驿站/快递柜）"),
                 "delivered": _l("已签收"), "failed_attempt": _l("派送失败"), "returning": _l("退回中"),
                 "returned": _l("已退回"), "refused": _l("拒收"), "exception": _l("问题件"),
                 "unknown": _l("状态未识别")}
REFUND_STATUS = {"requested": _l("退款申请中"), "awaiting_return": _l("待买家退货"), "returning": _l("退货中"),
                 "refused": _l("卖家拒绝"), "succeeded": _l("退款成功"), "closed": _l("退款关闭"),
                 "unknown": _l("状态未识别")}
SHIPMENT_KIND = {"original": _l("原包裹"), "reship": _l("补发"), "return": _l("退货")}
ACTION_NAME = {"reship": _l("补发"), "refund": _l("退款"), "compensate": _l("补偿"), "urge_courier": _l("催件"),
               DAMAGE_REPORT: _l("登记破损")}
OUTCOME = {"pending": _l("待回复"), "accepted": _l("买家接受"), "refused": _l("买家拒绝")}
CHANNEL = {"chat": _l("在线聊天"), "phone": _l("电话"), "sms": _l("短信")}
CASE_EVENT = {"opened": _l("发现"), "refreshed": _l("证据更新"), "cleared": _l("条件解除"),
              "reopened": _l("重新打开"), "assigned": _l("分配"), "open": _l("改为待处理"),
              "in_progress": _l("改为处理中"), "resolved": _l("已解决"), "dismissed": _l("已驳回")}


# ---------------------------------------------------------------- reading


@dataclass(frozen=True)
class Gap:
    """The longest pause between scans (or since the last one) that passed its stall limit."""

    before: int  # index in the newest-first timeline the gap sits above
    hours: int
    limit_hours: int


@dataclass
class ShipmentView:
    row: object
    carrier: carriers.Carrier | None
    events: list  # newest first
    gap: Gap | None


@dataclass
class CaseView:
    row: object
    history: list
    suggestions: list[playbook.Suggestion]


def _carrier(code: str | None) -> carriers.Carrier | None:
    try:
        return carriers.get(code) if code else None
    except carriers.UnknownCarrier:
        return None


def stall_gap(events: list, *, status: str, tracked: bool, shipped: datetime | None, destination: str | None,
              now: datetime, policy: Policy) -> Gap | None:
    """The longest gap over its limit in a newest-first timeline: between two scans, or from the
    last scan to ``now`` while the parcel is still ``tracked``.  The limit is the one
    classification applies (``policy.stall_limit`` of the state the parcel was in, the
    promotion's factor, statutory holidays, a disruption notice)."""
    promo = policy.promotion(shipped)
    factor = promo.stall_factor if promo else 1
    spans = [(0, events[0].time, now, status, events[0].location)] if events and tracked else []
    spans += [(i + 1, older.time, newer.time, older.status, older.location)
              for i, (newer, older) in enumerate(pairwise(events))]
    best = None
    for before, start, end, state_then, where in spans:
        if state_then in ENDS or end <= start:
            continue
        until, _days = policy.extended(start, policy.stall_limit(state_then) * factor)
        notice = policy.disruption((destination, short_province(where)), start, min(until, end))
        limit = until - start + (notice.extra if notice else timedelta(0))
        if end - start > limit and (best is None or end - start > best[0]):
            best = (end - start, Gap(before, int((end - start) / H), int(limit / H)))
    return best[1] if best else None


def _order_row(conn: Connection, order_id: int):
    return conn.execute(select(O, SH.c.name.label("shop_name")).join(SH, SH.c.id == O.c.shop_id)
                        .where(O.c.id == order_id)).first()


def load(conn: Connection, order_id: int, *, now: datetime, policy: Policy) -> dict:
    """Everything the page shows, in nine indexed queries."""
    order = _order_row(conn, order_id)
    if order is None:
        abort(404)
    items = conn.execute(select(IT).where(IT.c.order_id == order_id).order_by(IT.c.line_no)).all()
    refunds = conn.execute(select(RF).where(RF.c.order_id == order_id).order_by(RF.c.id)).all()
    shipments = conn.execute(select(S).where(S.c.order_id == order_id).order_by(S.c.id)).all()
    events: dict[int, list] = defaultdict(list)
    if shipments:
        for e in conn.execute(select(E.c.shipment_id, E.c.time, E.c.location, E.c.text, E.c.raw_code, E.c.status)
                              .where(E.c.shipment_id.in_([s.id for s in shipments]))
                              .order_by(E.c.shipment_id, E.c.time.desc(), E.c.id.desc())):
            events[e.shipment_id].append(e)
    cases = conn.execute(select(C, U.c.display_name.label("assignee_name")).outerjoin(U, U.c.id == C.c.assignee_id)
                         .where(C.c.order_id == order_id)).all()
    history: dict[int, list] = defaultdict(list)
    if cases:
        for h in conn.execute(select(CE.c.case_id, CE.c.at, CE.c.event, CE.c.detail,
                                     U.c.display_name.label("user_name"))
                              .outerjoin(U, U.c.id == CE.c.user_id).where(CE.c.case_id.in_([c.id for c in cases]))
                              .order_by(CE.c.id)):
            history[h.case_id].append(h)
    actions = conn.execute(select(A, U.c.display_name.label("user_name")).outerjoin(U, U.c.id == A.c.user_id)
                           .where(A.c.order_id == order_id).order_by(A.c.id.desc())).all()
    contacts = conn.execute(select(CC, U.c.display_name.label("user_name")).outerjoin(U, U.c.id == CC.c.user_id)
                            .where(CC.c.order_id == order_id).order_by(CC.c.id.desc())).all()

    destination = short_province(order.province)
    views = []
    for s in shipments:
        shipped = s.created_at if s.kind == "reship" else order.shipped_at or s.created_at
        tracked = not s.done and s.superseded_at is None and s.delivered_at is None
        timeline = events.get(s.id, [])
        views.append(ShipmentView(s, _carrier(s.carrier), timeline, stall_gap(
            timeline, status=s.status, tracked=tracked, shipped=shipped, destination=destination, now=now,
            policy=policy)))
    said = [playbook.Contact(c.reply_code, c.outcome) for c in reversed(contacts)]  # oldest first
    case_views = [CaseView(c, history.get(c.id, []),
                           playbook.suggest(c.kind, c.evidence or {}, said, policy)
                           if c.status in OPEN and c.kind in playbook.PLAYS else [])
                  for c in sorted(cases, key=lambda c: (c.status not in OPEN, -c.severity, c.detected_at))]
    outbound = [v.row for v in views if v.row.kind != "return"]
    active = [s for s in outbound if s.superseded_at is None]
    return {"order": order, "items": items, "refunds": refunds, "shipments": views, "cases": case_views,
            "actions": actions, "contacts": contacts, "outbound": outbound,
            "latest": (active or outbound or [None])[-1],
            "waybill_of": {s.id: s.waybill for s in shipments}, "kind_of_case": {c.id: c.kind for c in cases}}


@bp.get("/<int:order_id>")
@role_required(*READERS)
def show(order_id: int):
    web = state()
    with database().connect() as conn:
        page = load(conn, order_id, now=web.clock(), policy=web.policy)
    return render_template(
        "order.html", **page, carriers=carriers.CARRIERS, carrier_of=_carrier, can_act=current_user.can(AGENTS),
        ORDER_STATUS=ORDER_STATUS, PARCEL_STATUS=PARCEL_STATUS, REFUND_STATUS=REFUND_STATUS,
        SHIPMENT_KIND=SHIPMENT_KIND, ACTION_NAME=ACTION_NAME, OUTCOME=OUTCOME, CHANNEL=CHANNEL,
        CASE_EVENT=CASE_EVENT, OPEN=OPEN)


@bp.get("/find")
@role_required(*READERS)
def find():
    """An order by its platform order id or a waybill of one of its parcels."""
    q = request.args.get("q", "").strip()[:64]
    if not q:
        return redirect(url_for("queue.index"))
    by_order = select(O.c.id).where(O.c.platform_order_id == q)
    by_waybill = select(S.c.order_id).where(S.c.waybill.in_(sorted({q, q.upper()})))
    with database().connect() as conn:
        ids = sorted(conn.execute(union(by_order, by_waybill)).scalars())[:50]
        if len(ids) == 1:
            return redirect(url_for("orders.show", order_id=ids[0]))
        rows = conn.execute(select(O.c.id, O.c.platform_order_id, O.c.status, O.c.status_raw, O.c.receiver_name,
                                   O.c.province, O.c.city, SH.c.name.label("shop_name"))
                            .join(SH, SH.c.id == O.c.shop_id).where(O.c.id.in_(ids)).order_by(O.c.id)).all()
    return render_template("order_find.html", q=q, rows=rows, ORDER_STATUS=ORDER_STATUS), 200 if rows else 404


# ---------------------------------------------------------------- acting


def _fetch() -> bool:
    """app.js and htmx send the CSRF token as a header; a plain form sends it as a field."""
    return "X-CSRFToken" in request.headers or "HX-Request" in request.headers


def _back(order_id: int, anchor: str, message: str, *, error: bool = False):
    if _fetch():
        return (message, 400, {"Content-Type": "text/plain; charset=utf-8"}) if error else ("", 204)
    flash(message, "error" if error else "ok")
    return redirect(url_for("orders.show", order_id=order_id, _anchor=anchor), 303)


def _int(name: str) -> int | None:
    return request.form.get(name, type=int)


def _perform(order_id: int, anchor: str, do):
    """Run ``do(conn, actor, now) -> message`` in one transaction on an existing order."""
    by = triage.Actor(current_user.id, current_user.username)
    try:
        with database().begin() as conn:
            if conn.execute(select(O.c.id).where(O.c.id == order_id)).first() is None:
                abort(404)
            message = do(conn, by, state().clock())
    except ActionError as err:
        return _back(order_id, anchor, _(err.message, **err.params), error=True)
    except TriageError as err:
        return _back(order_id, anchor, str(err), error=True)
    return _back(order_id, anchor, message)


@bp.post("/<int:order_id>/reship")
@role_required(*AGENTS)
def reship(order_id: int):
    form = request.form

    def do(conn, by, now):
        done = order_actions.reship(conn, order_id, carrier=form.get("carrier", ""), waybill=form.get("waybill", ""),
                                    replaces=_int("replaces"), note=form.get("note"), case_id=_int("case_id"),
                                    by=by, now=now)
        if done.warning:
            return _("已登记补发，新运单将自动跟踪；请核对运单号：%(note)s", note=done.warning)
        return _("已登记补发，新运单将自动跟踪")
    return _perform(order_id, "shipments", do)


def _money(order_id: int, operation, message):
    """Refund and compensation: an exact amount, a note, the case it settles."""
    def do(conn, by, now):
        amount = order_actions.parse_amount(request.form.get("amount"))
        operation(conn, order_id, amount, note=request.form.get("note"), case_id=_int("case_id"), by=by, now=now)
        return str(message) % {"amount": money(amount)}
    return _perform(order_id, "actions", do)


@bp.post("/<int:order_id>/refund")
@role_required(*AGENTS)
def refund(order_id: int):
    return _money(order_id, order_actions.refund, _l("已记录退款 %(amount)s"))


@bp.post("/<int:order_id>/compensate")
@role_required(*AGENTS)
def compensate(order_id: int):
    return _money(order_id, order_actions.compensate, _l("已记录补偿 %(amount)s"))


@bp.post("/<int:order_id>/urge")
@role_required(*AGENTS)
def urge(order_id: int):
    def do(conn, by, now):
        order_actions.urge_courier(conn, order_id, shipment_id=_int("shipment_id"), note=request.form.get("note"),
                                   case_id=_int("case_id"), by=by, now=now)
        return _("已记录催件")
    return _perform(order_id, "actions", do)


@bp.post("/<int:order_id>/damage")
@role_required(*AGENTS)
def damage(order_id: int):
    def do(conn, by, now):
        order_actions.report_damage(conn, order_id, request.form.get("note", ""), shipment_id=_int("shipment_id"),
                                    case_id=_int("case_id"), by=by, now=now)
        return _("已登记破损，下次分类会纳入")
    return _perform(order_id, "actions", do)


@bp.post("/<int:order_id>/contacts")
@role_required(*AGENTS)
def log_contact(order_id: int):
    """A copied reply (reply_code + case_id: the text comes from the playbook, not the browser),
    or a contact the agent writes down (text, channel, outcome)."""
    form = request.form

    def do(conn, by, now):
        code, case_id = form.get("reply_code", "").strip(), _int("case_id")
        if code:
            if case_id is None:
                raise ActionError(order_actions.N_("缺少异常单"))
            text = order_actions.scripted_reply(conn, order_id, case_id, code, state().policy)
            order_actions.log_contact(conn, order_id, text=text, reply_code=code, case_id=case_id, by=by, now=now)
            return _("话术已复制并记录为一次沟通")
        order_actions.log_contact(conn, order_id, text=form.get("text", ""), case_id=case_id,
                                  channel=form.get("channel", "chat"), outcome=form.get("outcome", "pending"),
                                  by=by, now=now)
        return _("已记录沟通")
    return _perform(order_id, "contacts", do)


@bp.post("/<int:order_id>/contacts/<int:contact_id>/outcome")
@role_required(*AGENTS)
def contact_outcome(order_id: int, contact_id: int):
    def do(conn, by, now):
        order_actions.record_outcome(conn, order_id, contact_id, request.form.get("outcome", ""), by=by, now=now)
        return _("已记录买家的答复")
    return _perform(order_id, "contacts", do)


def _case_of(conn: Connection, order_id: int, case_id: int):
    row = conn.execute(select(C.c.id, C.c.assignee_id).where(C.c.id == case_id, C.c.order_id == order_id)).first()
    if row is None:
        abort(404)
    return row


@bp.post("/<int:order_id>/cases/<int:case_id>/status")
@role_required(*AGENTS)
def case_status(order_id: int, case_id: int):
    """Resolve, dismiss with a reason, reopen, or mark in progress (``triage.set_status``)."""
    def do(conn, by, now):
        _case_of(conn, order_id, case_id)
        status = request.form.get("status", "")
        triage.set_status(conn, [case_id], status, reason=request.form.get("reason"), by=by, now=now)
        return _("异常状态已改为：%(status)s", status=CASE_EVENT.get(status, status))
    return _perform(order_id, f"case-{case_id}", do)


@bp.post("/<int:order_id>/cases/<int:case_id>/assign")
@role_required(*AGENTS)
def assign_to_me(order_id: int, case_id: int):
    """Take the case; taking one that another agent holds is a lead's call."""
    def do(conn, by, now):
        case = _case_of(conn, order_id, case_id)
        if case.assignee_id not in (None, by.user_id) and not current_user.can(LEADS):
            raise ActionError(order_actions.N_("这个异常已分配给其他人，改派请找主管"))
        triage.assign(conn, [case_id], by.user_id, by=by, now=now)
        return _("已分配给我")
    return _perform(order_id, f"case-{case_id}", do)
