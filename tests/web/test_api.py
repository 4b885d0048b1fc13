"""The read-only JSON API: token auth, the queue's filters, one order in full."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import insert

from tests.web.conftest import NOW
from tracker import queue, users
from tracker.models import ExceptionCase, Order, Shipment, Shop, TrackingEvent


@pytest.fixture
def data(engine, staff):
    with engine.begin() as conn:
        shop = conn.execute(insert(Shop.__table__).values(name="旗舰店", platform="tmall")).inserted_primary_key[0]
        orders = []
        for n, (kind, severity, province) in enumerate([("stalled", 2, "海南省"), ("damaged", 3, "广东省"),
                                                         ("not_shipped", 2, "海南省")]):
            oid = conn.execute(insert(Order.__table__).values(
                shop_id=shop, platform="tmall", platform_order_id=f"4100000000{n}", status="shipped",
                status_raw="卖家已发货，待买家确认", receiver_phone="13812341234", phone_tail="1234",
                province=province, buyer_message="<script>alert(1)</script>", paid_amount=Decimal("99.90"),
                shipped_at=NOW - timedelta(days=5), source_hash="x", facts_changed_at=NOW,
                created_at=NOW)).inserted_primary_key[0]
            sid = conn.execute(insert(Shipment.__table__).values(
                order_id=oid, waybill=f"7531000000{n}", carrier="zto", status="in_transit",
                created_at=NOW, updated_at=NOW)).inserted_primary_key[0]
            conn.execute(insert(TrackingEvent.__table__).values(
                shipment_id=sid, time=NOW - timedelta(days=4), location="广州", text="快件已到达【广州转运中心】",
                status="in_transit", fingerprint=f"f{n}", received_at=NOW))
            conn.execute(insert(ExceptionCase.__table__).values(
                order_id=oid, shipment_id=sid, kind=kind, status="open", severity=severity,
                evidence={"hours": 96}, evidence_text="最后一条轨迹 96 小时前", detected_at=NOW - timedelta(hours=n),
                updated_at=NOW))
            orders.append(oid)
        queue.refresh_case_facts(conn)  # as classification does after writing cases
        tokens = {role: users.issue_token(conn, role) for role in ("agent", "lead")}
    return orders, tokens


def get(app, path, token=None, **kw):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return app.test_client().get(path, headers=headers, **kw)


def test_no_token_bad_token_or_a_session_cookie_is_401(app, data, client_as):
    assert get(app, "/api/v1/cases").status_code == 401
    response = get(app, "/api/v1/cases", "trk_not-a-token")
    assert response.status_code == 401 and response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.get_json()["error"]
    assert client_as("lead").get("/api/v1/cases").status_code == 401  # cookies are not API credentials


def test_cases_with_filters_and_cursor(app, data):
    _orders, tokens = data
    body = get(app, "/api/v1/cases", tokens["agent"]).get_json()
    assert [c["kind"] for c in body["cases"]] == ["damaged", "not_shipped", "stalled"]  # severity, then oldest first
    assert body["cases"][0]["detected_at"].endswith("+08:00")
    hainan = get(app, "/api/v1/cases?province=海南&kind=stalled", tokens["agent"]).get_json()["cases"]
    assert [c["platform_order_id"] for c in hainan] == ["41000000000"]
    first = get(app, "/api/v1/cases?limit=2", tokens["agent"]).get_json()
    rest = get(app, f"/api/v1/cases?limit=2&after={first['next']}", tokens["agent"]).get_json()
    assert [c["id"] for c in first["cases"] + rest["cases"]] == [c["id"] for c in body["cases"]]
    assert rest["next"] is None
    counts = get(app, "/api/v1/cases/counts", tokens["agent"]).get_json()["counts"]
    assert counts["stalled"] == 1 and counts["damaged"] == 1


def test_bad_parameters_are_400_with_the_reason(app, data):
    _orders, tokens = data
    response = get(app, "/api/v1/cases?kind=nonsense", tokens["agent"])
    assert response.status_code == 400 and "kind" in response.get_json()["error"]
    assert get(app, "/api/v1/cases?limit=x", tokens["agent"]).status_code == 400


def test_order_in_full_with_masked_phone_for_agents(app, data):
    orders, tokens = data
    body = get(app, f"/api/v1/orders/{orders[0]}", tokens["agent"]).get_json()
    assert body["platform_order_id"] == "41000000000" and body["paid_amount"] == "99.90"
    assert body["receiver_phone"] == "138****1234"
    assert body["buyer_message"] == "<script>alert(1)</script>"  # JSON carries the text as it is
    assert body["shipments"][0]["events"][0]["text"] == "快件已到达【广州转运中心】"
    assert body["cases"][0]["kind"] == "stalled" and body["cases"][0]["suggestions"]
    lead = get(app, f"/api/v1/orders/{orders[0]}", tokens["lead"]).get_json()
    assert lead["receiver_phone"] == "13812341234"
    assert get(app, "/api/v1/orders/999999", tokens["agent"]).status_code == 404


def test_find_orders_by_id_or_waybill(app, data):
    orders, tokens = data
    by_id = get(app, "/api/v1/orders?q=41000000001", tokens["agent"]).get_json()["orders"]
    by_waybill = get(app, "/api/v1/orders?q=75310000001", tokens["agent"]).get_json()["orders"]
    assert [o["id"] for o in by_id] == [o["id"] for o in by_waybill] == [orders[1]]
    assert get(app, "/api/v1/orders", tokens["agent"]).status_code == 400


def test_api_never_writes(app, data):
    _orders, tokens = data
    response = app.test_client().post("/api/v1/cases", headers={"Authorization": f"Bearer {tokens['lead']}"})
    assert response.status_code == 405
