"""What the schedule is told about a shipment: a reship leaves when the agent registers it."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import insert

from tracker import schedule
from tracker.events import SHIPMENTS, load_tracked
from tracker.models import Order, Shop

SHIPPED = datetime(2026, 11, 11, 8, 0, tzinfo=UTC)
RESHIPPED = SHIPPED + timedelta(days=6)


def test_a_reship_is_expected_from_its_own_start_not_the_orders(engine):
    with engine.begin() as conn:
        shop = conn.execute(insert(Shop.__table__).values(name="店", platform="tmall", origin_province="浙江")
                            ).inserted_primary_key[0]
        order = conn.execute(insert(Order.__table__).values(
            shop_id=shop, platform="tmall", platform_order_id="1", status="shipped", status_raw="卖家已发货",
            province="海南省", shipped_at=SHIPPED, source_hash="x", facts_changed_at=SHIPPED,
            created_at=SHIPPED)).inserted_primary_key[0]
        for kind, created in (("original", SHIPPED), ("reship", RESHIPPED)):
            conn.execute(insert(SHIPMENTS).values(order_id=order, kind=kind, waybill=f"YT{kind}", carrier="yto",
                                                  created_at=created, updated_at=created))
        tracked = {t.waybill: t for t in load_tracked(conn, SHIPMENTS.c.order_id == order)}
    assert tracked["YToriginal"].shipped == SHIPPED
    assert tracked["YTreship"].shipped == RESHIPPED
    policy = schedule.DEFAULT_POLICY
    transit = tracked["YTreship"].expected_arrival(policy) - RESHIPPED
    assert transit == tracked["YToriginal"].expected_arrival(policy) - SHIPPED > timedelta(0)
