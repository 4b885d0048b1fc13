"""A varied, seeded set of orders for comparing classification paths: every order status,
parcel status and incident, delivered parcels with and without courier boilerplate, real
damage in scans, provider damage codes, refunds, agents' damage reports, carrier wishes,
parcels delivered by their text only, reships, returns, superseded parcels, stored
next_check_at times and stored cases in every status.  As snapshots (``snapshots``) or as
database rows (``load``), times around the rules' thresholds relative to ``NOW``."""
from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, insert

from tracker.classify import KINDS, Parcel, RefundFacts, Scan, Snapshot
from tracker.models import Action, CaseEvent, ClassifyRun, ExceptionCase, Order, Refund, Shipment, Shop, TrackingEvent
from classify_helpers import NOW

H = timedelta(hours=1)
D = timedelta(days=1)
ORDER_STATUSES = ("awaiting_payment", "awaiting_shipment", "shipped", "finished", "closed", "unknown")
PARCEL_STATUSES = ("pending", "picked_up", "in_transit", "out_for_delivery", "available_for_pickup", "failed_attempt",
                   "exception", "unknown", "delivered", "refused", "returning", "returned")
INCIDENTS = (None,) * 10 + ("damaged", "lost", "no_info", "pickup_overdue", "refused", "unreachable", "not_updated",
                            "held", "address_problem")
TEXTS = ("快件已到达【杭州转运中心】", "已签收，签收人：本人。如有破损请当场拒收", "快件外包装破损，已联系发件人",
         "派件中，请当面验货", "收件人拒收", "快件无法签收，收件人要求改日派送", "已放入菜鸟驿站，请凭取件码取件",
         "已签收，外包装完好无破损", "内件缺失，已登记", "退件已签收", "【杭州市】快件已揽收", "快件退回中",
         "派送中，如有外包装破损请拒收", "商品受潮变形，已拍照")
LOCATIONS = ("浙江省杭州市", "广州转运中心", "北京市朝阳区", "新疆维吾尔自治区乌鲁木齐市", "海南省海口市", None)
PROVINCES = ("北京市", "浙江省", "广东省", "新疆维吾尔自治区", "海南省", "上海市", None)
CARRIERS = ("zto", "yto", "sf", "sfky", "ems", "chinapost", "jt", None)
REASONS = ("商品破损/少件", "七天无理由退换", None, "质量问题，外壳破裂", "发错货")
REFUND_STATUSES = ("requested", "awaiting_return", "returning", "refused", "succeeded", "closed", "unknown")
CASE_STATUSES = ("open", "in_progress", "dismissed", "resolved", "cleared")


def _ago(rng: random.Random, most: timedelta) -> datetime:
    return NOW - most * rng.random()


def _scans(rng: random.Random, start: datetime) -> list[tuple]:
    """(time, location, text, raw_code, status), oldest first."""
    scans, t = [], start
    for _ in range(rng.choice((0, 1, 2, 3, 4, 6))):
        t += timedelta(hours=rng.uniform(0.5, 60))
        code = rng.choice(("209", "414")) if rng.random() < 0.03 else None
        scans.append((min(t, NOW), rng.choice(LOCATIONS), rng.choice(TEXTS), code, rng.choice(PARCEL_STATUSES)))
    return scans


def _parcel(rng: random.Random, shipped: datetime | None, *, kind: str, quiet: bool) -> dict:
    start = shipped or _ago(rng, 20 * D)
    scans = _scans(rng, start)
    if quiet:  # the common case: delivered, the courier's boilerplate on its last scan
        status, incident = "delivered", None
        scans = [(t, loc, text, None, st) for t, loc, text, _c, st in scans if "破损" not in text]
        scans.append((min(max([start, *(sc[0] for sc in scans)]) + 5 * H, NOW), "浙江省杭州市",
                      "已签收，签收人：本人。如有破损请当场拒收", None, "delivered"))
    else:
        status, incident = rng.choice(PARCEL_STATUSES), rng.choice(INCIDENTS)
    last = scans[-1] if scans else None
    delivered = (status == "delivered" and rng.random() < 0.9) or rng.random() < 0.03
    return {"kind": kind, "carrier": rng.choice(CARRIERS), "status": status, "incident": incident,
            "waybill": f"7310{rng.randrange(10**10):010d}",
            "first_scan_at": scans[0][0] if scans and rng.random() < 0.9 else None,
            "last_event_at": last[0] if last and rng.random() < 0.9 else None,
            "last_event_text": last[2] if last else None,
            "last_location": last[1] if last and rng.random() < 0.9 else None,
            "delivered_at": (last[0] if last else start) if delivered or quiet else None,
            "created_at": start, "eta": NOW + D if rng.random() < 0.1 else None,
            "superseded_at": NOW - D if rng.random() < 0.04 else None, "scans": scans}


# One fact that may (or may not) take a quiet order out of the quiet: the edges of may_find.
SPOILERS = ("damaged incident", "damage code", "damage text", "text-only delivery", "delivered_at only",
            "status only", "refund", "closed refund", "report", "wish", "returned", "superseded")


def _spoil(rng: random.Random, spoil: str, p: dict) -> None:
    last = p["scans"][-1]
    if spoil == "damaged incident":
        p["incident"] = "damaged"
    elif spoil == "damage code":
        p["scans"][-1] = (*last[:3], rng.choice(("209", "414")), last[4])
    elif spoil == "damage text":
        p["scans"].insert(0, (last[0] - H, last[1], rng.choice(("快件外包装破损，已联系发件人", "商品受潮变形，已拍照")),
                              None, "in_transit"))
    elif spoil == "text-only delivery":
        p.update(status="unknown", delivered_at=None, last_event_text="已签收，签收人：本人")
    elif spoil == "delivered_at only":
        p["status"] = rng.choice(("in_transit", "unknown", "out_for_delivery"))
    elif spoil == "status only":
        p["delivered_at"] = None
    elif spoil == "returned":
        p.update(kind="return", status="in_transit", delivered_at=None)
    elif spoil == "superseded":
        p.update(status="in_transit", delivered_at=None, superseded_at=NOW - D)
    elif spoil in ("refund", "closed refund", "report"):
        p["spoil"] = spoil


def orders(seed: int = 11, n: int = 1500) -> list[dict]:
    """Plain dicts: an order's columns, its parcels (with scans), refunds, damage reports and
    stored cases."""
    rng = random.Random(seed)
    out = []
    for oid in range(1, n + 1):
        quiet = rng.random() < 0.45
        status = rng.choice(("finished", "shipped")) if quiet else rng.choice(ORDER_STATUSES)
        paid = _ago(rng, 20 * D) if status != "awaiting_payment" or rng.random() < 0.5 else None
        shipped = (paid or NOW - 20 * D) + rng.uniform(0, 60) * H
        shipped = min(shipped, NOW) if status in ("shipped", "finished", "unknown", "closed") or rng.random() < 0.05 \
            else None
        wish = (not quiet or rng.random() < 0.03) and rng.random() < 0.1
        asks = rng.choice(("requested", "excluded", "both"))
        parcels = []
        if shipped or rng.random() < 0.1:
            parcels.append(_parcel(rng, shipped, kind="original", quiet=quiet))
            if rng.random() < 0.15:
                parcels.append(_parcel(rng, shipped, kind=rng.choice(("reship", "return")), quiet=quiet))
        if quiet and parcels and rng.random() < 0.3:
            spoil = rng.choice(SPOILERS)
            if spoil == "wish":
                wish = True
            else:
                _spoil(rng, spoil, parcels[-1])
        cases = [{"kind": rng.choice(tuple(KINDS)), "status": rng.choice(CASE_STATUSES),
                  "facts_hash": rng.choice(("x" * 32, None)), "evidence_text": "旧的证据"}
                 for _ in range(rng.choice((0,) * 6 + (1, 2)))]
        spoiled = next((p.pop("spoil") for p in parcels if "spoil" in p), None)
        out.append({
            "id": oid, "shop_id": rng.choice((1, 2)), "status": status,
            "status_raw": "交易成功" if status == "finished" else status, "paid_at": paid,
            "ship_deadline": _ago(rng, 3 * D) + 2 * D if rng.random() < 0.1 else None, "shipped_at": shipped,
            "confirmed_at": (shipped + rng.uniform(1, 11) * D) if status == "finished" and shipped else None,
            "province": rng.choice(PROVINCES), "city": rng.choice(("北京市", "杭州市", "乌鲁木齐市", None)),
            "buyer_message": "加钱发顺丰" if wish and asks != "excluded" else None,
            "seller_memo": "不要发中通" if wish and asks != "requested" else None,
            "requested_carriers": "sf" if wish and asks != "excluded" else None,
            "excluded_carriers": "zto,yto" if wish and asks != "requested" else None,
            "next_check_at": rng.choice((None,) * 6 + (NOW - 3 * H, NOW + 5 * H)),
            "parcels": parcels,
            "refunds": [{"status": "closed" if spoiled == "closed refund" else rng.choice(REFUND_STATUSES),
                         "reason": rng.choice(REASONS), "description": None}
                        for _ in range(spoiled in ("refund", "closed refund") or rng.random() < (0.03 if quiet
                                                                                              else 0.15))],
            "reports": [rng.choice(("买家发来照片：杯子碎了", None))
                        for _ in range(spoiled == "report" or rng.random() < (0.01 if quiet else 0.05))],
            "cases": cases,
        })
    return out


def snapshots(seed: int = 11, n: int = 1500) -> list[Snapshot]:
    """The same orders as snapshots (every scan of every active parcel)."""
    out = []
    for o in orders(seed, n):
        parcels = tuple(Parcel(p["waybill"], p["carrier"], p["status"], p["kind"], p["incident"], p["first_scan_at"],
                               p["last_event_at"], p["last_event_text"], p["last_location"], p["delivered_at"],
                               p["created_at"], p["eta"], tuple(Scan(*s) for s in p["scans"]), i)
                        for i, p in enumerate(o["parcels"]) if p["superseded_at"] is None)
        out.append(Snapshot(
            str(3_900_000_000_000_000_000 + o["id"]), o["status"], "taobao", o["status_raw"], o["paid_at"],
            o["ship_deadline"], o["shipped_at"], o["confirmed_at"], o["province"], o["city"], o["buyer_message"],
            o["seller_memo"], tuple((o["requested_carriers"] or "").split(",")) if o["requested_carriers"] else (),
            tuple((o["excluded_carriers"] or "").split(",")) if o["excluded_carriers"] else (),
            "浙江省" if o["shop_id"] == 1 else "广东省", parcels,
            tuple(RefundFacts(r["status"], r["reason"], r["description"]) for r in o["refunds"]),
            tuple(note or "客服登记破损" for note in o["reports"]), o["id"]))
    return out


def clear(engine) -> None:
    with engine.begin() as conn:
        for model in (CaseEvent, ExceptionCase, Action, Refund, TrackingEvent, Shipment, Order, Shop, ClassifyRun):
            conn.execute(delete(model))


def load(engine, seed: int = 11, n: int = 1500) -> list[dict]:
    """Empty the tables and write the orders; stored cases get the database's ids."""
    clear(engine)
    data = orders(seed, n)
    made = datetime(2026, 11, 1, tzinfo=UTC)
    shipments, events, refunds, actions, cases = [], [], [], [], []
    for o in data:
        for p in o["parcels"]:
            sid = len(shipments) + 1
            shipments.append({k: v for k, v in p.items() if k != "scans"} | {
                "id": sid, "order_id": o["id"], "source": "import", "done": p["status"] == "delivered",
                "updated_at": made})
            events += [{"id": len(events) + i + 1, "shipment_id": sid, "time": t, "location": loc, "text": text,
                        "raw_code": code, "status": st, "fingerprint": f"{sid}-{i}", "received_at": made}
                       for i, (t, loc, text, code, st) in enumerate(p["scans"])]
        refunds += [{"id": len(refunds) + i + 1, "shop_id": o["shop_id"], "platform": "taobao",
                     "refund_id": f"R{o['id']}-{i}", "platform_order_id": str(3_900_000_000_000_000_000 + o["id"]),
                     "order_id": o["id"], "status_raw": r["status"], "source_hash": "h", **r}
                    for i, r in enumerate(o["refunds"])]
        actions += [{"id": len(actions) + i + 1, "order_id": o["id"], "code": "damage_reported", "note": note,
                     "at": made} for i, note in enumerate(o["reports"])]
        cases += [{"order_id": o["id"], "kind": c["kind"], "status": c["status"], "severity": 2, "evidence": {},
                   "evidence_text": c["evidence_text"], "facts_hash": c["facts_hash"], "detected_at": made,
                   "updated_at": made, "closed_at": None if c["status"] in ("open", "in_progress") else made}
                  for c in {c["kind"]: c for c in o["cases"]}.values()]
    with engine.begin() as conn:
        conn.execute(insert(Shop), [
            {"id": 1, "name": "示例旗舰店", "platform": "taobao", "origin_province": "浙江省", "created_at": made},
            {"id": 2, "name": "广州分店", "platform": "taobao", "origin_province": "广东省", "created_at": made}])
        conn.execute(insert(Order), [
            {k: v for k, v in o.items() if k not in ("parcels", "refunds", "reports", "cases")} | {
                "platform": "taobao", "platform_order_id": str(3_900_000_000_000_000_000 + o["id"]),
                "source_hash": "h", "facts_changed_at": made, "created_at": made} for o in data])
        for table, rows in ((Shipment, shipments), (TrackingEvent, events), (Refund, refunds), (Action, actions),
                            (ExceptionCase, cases)):
            if rows:
                conn.execute(insert(table), rows)
    return data
