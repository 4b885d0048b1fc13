"""An agent's morning in a real browser: sign in, filter the queue, open an order, copy a
reply, register a reship, resolve the case — and imported markup stays text."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import insert, select

from tests.browser.conftest import sign_in
from tests.web.conftest import NOW, PASSWORD, app, staff  # noqa: F401 - fixtures used by this module
from tracker.models import CustomerContact, ExceptionCase, Order, Shipment, Shop, TrackingEvent

HOSTILE = "<script>window.__pwned = 1</script><img src=x onerror=\"window.__pwned = 2\">"


@pytest.fixture
def orders(engine, staff):  # noqa: F811 - the fixture imported above
    """A stalled parcel to Hainan (its buyer message is hostile markup) and an unshipped order."""
    with engine.begin() as conn:
        shop = conn.execute(insert(Shop.__table__).values(name="旗舰店", platform="tmall", origin_province="浙江")
                            ).inserted_primary_key[0]
        made = {}
        for n, (kind, province, shipped) in enumerate([("stalled", "海南省", True), ("not_shipped", "广东省", False)]):
            oid = conn.execute(insert(Order.__table__).values(
                shop_id=shop, platform="tmall", platform_order_id=f"42000000000{n}",
                status="shipped" if shipped else "awaiting_shipment", status_raw="卖家已发货" if shipped else "买家已付款",
                buyer_nick=f"买家{n}", receiver_phone="13912345678", phone_tail="5678", province=province,
                city="海口市" if n == 0 else "广州市", buyer_message=HOSTILE if n == 0 else None,
                paid_amount=Decimal("128.00"), paid_at=NOW - timedelta(days=9),
                shipped_at=NOW - timedelta(days=8) if shipped else None, source_hash="x", facts_changed_at=NOW,
                created_at=NOW)).inserted_primary_key[0]
            sid = None
            if shipped:
                sid = conn.execute(insert(Shipment.__table__).values(
                    order_id=oid, waybill="75300000000001", carrier="zto", status="in_transit",
                    first_scan_at=NOW - timedelta(days=7, hours=20), last_event_at=NOW - timedelta(days=5),
                    last_location="广州", created_at=NOW - timedelta(days=8), updated_at=NOW)).inserted_primary_key[0]
                for i, (hours, place, text) in enumerate([(188, "杭州", "【杭州】已揽收"),
                                                          (120, "广州", "快件已到达【广州转运中心】")]):
                    conn.execute(insert(TrackingEvent.__table__).values(
                        shipment_id=sid, time=NOW - timedelta(hours=hours), location=place, text=text,
                        status="picked_up" if i == 0 else "in_transit", fingerprint=f"e{i}", received_at=NOW))
            made[kind] = (oid, conn.execute(insert(ExceptionCase.__table__).values(
                order_id=oid, shipment_id=sid, kind=kind, status="open", severity=3 if shipped else 2,
                evidence={"hours": 120, "place": "广州"} if shipped else {},
                evidence_text="最后一条轨迹 120 小时前（广州转运中心）" if shipped else "付款 9 天未发货",
                detected_at=NOW - timedelta(hours=n + 1), updated_at=NOW)).inserted_primary_key[0])
    return made


def test_agent_triages_a_stalled_parcel(page, engine, orders):
    order_id, case_id = orders["stalled"]
    sign_in(page, "agent", PASSWORD)
    page.wait_for_url("**/queue/")
    rows = page.locator("table.queue tbody tr[data-case-id]")
    assert rows.count() == 2

    # filter the queue to the stalled kind with the form, as an agent would
    page.select_option("select[name=kind]", "stalled")
    page.locator("form.filters button[type=submit]").first.click()
    page.wait_for_url("**kind=stalled**")
    assert rows.count() == 1
    # keyboard triage: j marks the first row, o opens it
    page.keyboard.press("j")
    assert page.locator("table.queue tbody tr.current").get_attribute("data-case-id") == str(case_id)
    page.keyboard.press("o")
    page.wait_for_url(f"**/orders/{order_id}")

    # the hostile buyer message is shown as text and never ran
    assert HOSTILE in page.locator("body").inner_text()
    assert page.evaluate("window.__pwned") is None
    # the stall gap is marked on the timeline
    assert page.locator(".timeline li.gap").count() >= 1

    # copy the first suggested reply: clipboard holds it, the copy is logged as a contact
    button = page.locator("button[data-copy]").first
    reply = page.locator(button.get_attribute("data-copy")).inner_text().strip()
    button.click()
    page.wait_for_function("b => b.classList.contains('copied')", arg=button.element_handle())
    assert page.evaluate("navigator.clipboard.readText()").strip() == reply
    with engine.connect() as conn:
        contact = conn.execute(select(CustomerContact)).one()
    assert (contact.order_id, contact.case_id, contact.text.strip()) == (order_id, case_id, reply)

    # register a reship: a new tracked shipment linked to the old one
    form = page.locator("#reship-form")
    form.locator("select[name=carrier]").select_option("sf")
    form.locator("input[name=waybill]").fill("SF1400000000001")
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert "SF1400000000001" in page.locator("body").inner_text()
    with engine.connect() as conn:
        reship = conn.execute(select(Shipment).where(Shipment.kind == "reship")).one()
    assert (reship.order_id, reship.carrier, reship.source) == (order_id, "sf", "agent")
    assert reship.replaces_shipment_id is not None and reship.next_poll_at is not None

    # resolve the case
    page.locator("form.case-status button[value=resolved]").first.click()
    page.wait_for_load_state()
    with engine.connect() as conn:
        status = conn.execute(select(ExceptionCase.status).where(ExceptionCase.id == case_id)).scalar_one()
    assert status == "resolved"


def test_the_queue_reads_and_filters_without_javascript(browser, live_url, orders):
    context = browser.new_context(base_url=live_url, java_script_enabled=False)
    tab = context.new_page()
    sign_in(tab, "lead", PASSWORD)
    tab.wait_for_url("**/queue/")
    tab.fill("#q", "420000000001")
    tab.locator("form.filters button[type=submit]").first.click()
    tab.wait_for_url("**q=420000000001**")
    ids = tab.locator("table.queue tbody tr[data-case-id]").evaluate_all("rows => rows.map(r => r.dataset.caseId)")
    assert ids == [str(orders["not_shipped"][1])]
    tab.locator("a.order-link").first.click()
    assert "420000000001" in tab.locator("h1").inner_text()
    context.close()
