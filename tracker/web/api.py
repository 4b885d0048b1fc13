"""The read-only JSON API for other tools, token auth.

    Authorization: Bearer <token>   (``tracker users token NAME`` issues one; stored hashed)
    GET /api/v1/cases               the queue: the page's filters and sorts (``tracker.queue``),
                                    ``limit`` ≤ 200, keyset cursors ``after`` / ``before``
    GET /api/v1/cases/counts        open cases per kind under the same filters
    GET /api/v1/orders?q=…          orders by platform order id or waybill
    GET /api/v1/orders/<id>         one order: facts, items, refunds, shipments with their
                                    events, cases with evidence and suggested actions

A token stands for its user: the same role rules as the pages (every reading role may
read; phones are masked for roles that do not call buyers).  Session cookies are not
accepted here, so a browser page cannot be made to read the API on a user's behalf.
Times are ISO 8601 in China time (``+08:00``); money is a decimal string; ids are strings
where the outside world made them (order numbers, waybills).
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from flask import Blueprint, abort, g, jsonify, request
from flask_login import current_user
from sqlalchemy import select, union

from tracker import queue, users
from tracker.models import Order, Shipment, Shop
from tracker.web import auth, database, state
from tracker.web.orders import load
from tracker.web.views import CHINA_TZ, mask_phone

bp = Blueprint("api", __name__, url_prefix="/api/v1")
MAX_LIMIT = 200
ORDER_FIELDS = ("platform", "platform_order_id", "parent_order_id", "status", "status_raw", "buyer_nick",
                "receiver_name", "receiver_address", "province", "city", "district", "buyer_message",
                "seller_memo", "requested_carriers", "excluded_carriers", "item_summary", "item_count",
                "total_amount", "paid_amount", "postage", "refund_amount", "delay_compensation", "ordered_at",
                "paid_at", "ship_deadline", "shipped_at", "confirmed_at", "closed_reason", "after_sale_status")
SHIPMENT_FIELDS = ("kind", "source", "waybill", "carrier", "carrier_raw", "carrier_note", "replaces_shipment_id",
                   "superseded_at", "status", "incident", "raw_state", "first_scan_at", "last_event_at",
                   "last_event_text", "last_location", "delivered_at", "eta", "last_polled_at", "last_error")
CASE_FIELDS = ("kind", "refines", "status", "severity", "evidence", "evidence_text", "deadline", "shipment_id",
               "assignee_id", "detected_at", "updated_at", "closed_at", "close_reason")


def token_user(req) -> auth.Staff | None:
    """Flask-Login's request loader: a bearer token, on API paths only."""
    header = req.headers.get("Authorization", "")
    if not req.path.startswith(bp.url_prefix + "/") or not header.startswith("Bearer "):
        return None
    with database().connect() as conn:
        row = users.by_token(conn, header[len("Bearer "):].strip())
    if row is None:
        return None
    g.api_token = True
    return auth.Staff(row)


@bp.before_request
def _require_token():
    if not current_user.is_authenticated or not g.get("api_token"):
        response = jsonify(error="需要 API 令牌 · a valid bearer token is required")
        response.status_code = 401
        response.headers["WWW-Authenticate"] = 'Bearer realm="tracker"'
        return response
    if not current_user.can(auth.READERS):
        abort(403)
    return None


def _plain(value):
    if isinstance(value, datetime):
        return value.astimezone(CHINA_TZ).isoformat(timespec="seconds")
    if isinstance(value, Decimal):
        return str(value)
    return value


def _pick(row, names) -> dict:
    mapping = row._mapping if hasattr(row, "_mapping") else row
    return {name: _plain(mapping[name]) for name in names}


def _filter() -> queue.QueueFilter:
    try:
        return queue.QueueFilter.from_args(request.args, me=current_user.id, now=state().clock(),
                                           policy=state().policy)
    except queue.QueueError as err:
        abort(400, description=str(err))


@bp.get("/cases")
def cases():
    f = _filter()
    try:
        limit = min(MAX_LIMIT, max(1, int(request.args.get("limit", queue.PAGE_SIZE))))
    except ValueError:
        abort(400, description="limit must be an integer")
    try:
        with database().connect() as conn:
            found = queue.page(conn, f, request.args.get("sort", "severity"), after=request.args.get("after"),
                               before=request.args.get("before"), limit=limit)
    except queue.QueueError as err:
        abort(400, description=str(err))
    return jsonify(cases=[{
        "id": r.id, "order_id": r.order_id, "platform_order_id": r.platform_order_id, "shop": r.shop,
        "kind": r.kind, "severity": r.severity, "status": r.status, "evidence_text": r.evidence_text,
        "deadline": _plain(r.deadline), "detected_at": _plain(r.detected_at), "assignee_id": r.assignee_id,
        "assignee": r.assignee, "province": r.province, "city": r.city, "carrier": r.carrier,
        "waybill": r.waybill, "last_event_text": r.last_event_text, "last_event_at": _plain(r.last_event_at),
    } for r in found.rows], next=found.next, prev=found.prev)


@bp.get("/cases/counts")
def case_counts():
    f = _filter()
    with database().connect() as conn:
        return jsonify(counts=queue.counts_cached(conn, f, state().counts))


@bp.get("/orders")
def find_orders():
    q = request.args.get("q", "").strip()[:64]
    if not q:
        abort(400, description="q (a platform order id or a waybill) is required")
    o, s = Order.__table__.c, Shipment.__table__.c
    ids = union(select(o.id).where(o.platform_order_id == q),
                select(s.order_id).where(s.waybill.in_(sorted({q, q.upper()}))))
    with database().connect() as conn:
        rows = conn.execute(select(o.id, o.platform_order_id, o.status, Shop.__table__.c.name.label("shop"))
                            .join(Shop.__table__).where(o.id.in_(ids)).order_by(o.id).limit(50)).all()
    return jsonify(orders=[{"id": r.id, "platform_order_id": r.platform_order_id, "status": r.status,
                            "shop": r.shop} for r in rows])


@bp.get("/orders/<int:order_id>")
def order(order_id: int):
    web = state()
    with database().connect() as conn:
        page = load(conn, order_id, now=web.clock(), policy=web.policy)
    o = page["order"]
    return jsonify(
        id=o.id, shop=o.shop_name, **_pick(o, ORDER_FIELDS), receiver_phone=mask_phone(o.receiver_phone),
        items=[{"line_no": i.line_no, "title": i.title, "sku": i.sku, "quantity": i.quantity,
                "price": _plain(i.price), "paid_amount": _plain(i.paid_amount), "refund_status": i.refund_status}
               for i in page["items"]],
        refunds=[{"refund_id": r.refund_id, "status": r.status, "status_raw": r.status_raw,
                  "amount": _plain(r.amount), "reason": r.reason, "requested_at": _plain(r.requested_at),
                  "finished_at": _plain(r.finished_at)} for r in page["refunds"]],
        shipments=[{"id": v.row.id, **_pick(v.row, SHIPMENT_FIELDS),
                    "stall_gap_hours": v.gap.hours if v.gap else None,
                    "events": [{"time": _plain(e.time), "location": e.location, "text": e.text,
                                "raw_code": e.raw_code, "status": e.status} for e in v.events]}
                   for v in page["shipments"]],
        cases=[{"id": c.row.id, **_pick(c.row, CASE_FIELDS),
                "suggestions": [{"code": s.code, "reason": s.reason, "reply": s.reply.text if s.reply else None,
                                 "reply_code": s.reply.code if s.reply else None} for s in c.suggestions]}
               for c in page["cases"]],
    )
