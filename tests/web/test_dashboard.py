"""The dashboard page: who may see it, the period and shop filters, charts with their
tables, imported text escaped."""
from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from tests.test_dashboard_metrics import Data, china
from tests.web.conftest import NOW

H = timedelta(hours=1)


@pytest.fixture
def data(engine):
    return Data(engine)


def page(client, query: str = "") -> str:
    response = client.get(f"/dashboard/{query}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


@pytest.mark.parametrize("role", ["lead", "finance", "admin"])
def test_dashboard_roles_may_see_it(client_as, role):
    html = page(client_as(role))
    assert html.count("<svg") == 7
    assert "<details>" in html


def test_agents_may_not(client_as):
    assert client_as("agent").get("/dashboard/").status_code == 403


def test_default_period_is_the_last_30_china_days(client_as):
    html = page(client_as("lead"))
    # NOW is 10:00 on 2026-11-20 in China
    assert 'name="from" value="2026-10-22"' in html and 'name="to" value="2026-11-20"' in html


def test_metrics_show_with_their_definitions(client_as, data):
    shop = data.shop("东店", "江苏省")
    order = data.shipped(shop, "zto", china(12, 9), scan_after=2, transit=30)
    data.shipped(shop, "zto", china(12, 9), scan_after=30, transit=10)
    data.case(order, "stalled", china(13, 9))
    html = page(client_as("finance"), "?from=2026-11-11&to=2026-11-20")
    assert "中通快递" in html
    assert "江苏 → 广东" in html
    assert "50.0%" in html  # one of the two zto parcels picked up within 24 h
    assert "20.0" in html  # median transit (30 + 10) / 2
    for definition in ("首次揽收扫描在发货后 24 小时内", "恰好只有一次客户联系", "从申请到完结的小时数中位数"):
        assert definition in html
    stalled_row = re.search(r"<tr><td>2026-11-13</td>(.*?)</tr>", html, re.DOTALL).group(1)
    assert re.findall(r'<td class="num">(\d+)</td>', stalled_row) == ["1", "1"]


def test_shop_filter_and_period(client_as, data):
    east, west = data.shop("东店"), data.shop("西店")
    data.case(data.order(east), "stalled", china(13))
    data.case(data.order(west), "damaged", china(13))
    data.case(data.order(west), "damaged", NOW - 60 * 24 * H)  # outside the default period
    client = client_as("lead")
    assert "<b>2</b>" in page(client)
    assert "<b>1</b>" in page(client, f"?shop={east}")
    assert "<b>3</b>" in page(client, "?from=2026-09-01&to=2026-11-20")


@pytest.mark.parametrize("query", ["?from=2026-13-01", "?from=2026-11-20&to=2026-11-01", "?from=2020-01-01&to=2026-11-20"])
def test_bad_period_falls_back_with_a_message(client_as, query):
    html = page(client_as("lead"), query)
    assert "日期无效" in html
    assert 'name="from" value="2026-10-22"' in html


def test_imported_text_is_escaped(client_as, data):
    evil, short = "<script>alert(1)</script>", "<b>粤</b>"  # province and carrier columns are short
    shop = data.shop(evil, short)
    order = data.order(shop, province=short)
    data.case(order, "stalled", china(13), shipment=data.parcel(order, short))
    html = page(client_as("lead"))
    assert evil not in html and short not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b&gt;粤&lt;/b&gt; → &lt;b&gt;粤&lt;/b&gt;" in html  # the route, in its table and its chart


def test_slow_results_are_kept_and_refreshed_on_demand(app, client_as, data):
    app.config["DASHBOARD_CACHE_AFTER_SECONDS"] = 0  # every computation counts as slow: kept
    shop = data.shop("店")
    data.case(data.order(shop), "stalled", china(13))
    client = client_as("lead")
    first = page(client)
    assert "<b>1</b>" in first and "数据生成于" in first
    data.case(data.order(shop), "damaged", china(14))
    assert "<b>1</b>" in page(client)  # the kept result, not recomputed
    assert "<b>2</b>" in page(client, "?refresh=1")
    assert "<b>2</b>" in page(client)
    app.config["DASHBOARD_CACHE_FOR"] = timedelta(0)  # kept too long: computed again
    data.case(data.order(shop), "lost", china(14))
    assert "<b>3</b>" in page(client)


def test_quick_results_are_always_current(client_as, data):
    shop = data.shop("店")
    client = client_as("lead")
    assert "<b>0</b>" in page(client)
    data.case(data.order(shop), "stalled", china(13))
    assert "<b>1</b>" in page(client)


def test_while_another_worker_computes_the_page_waits_for_it(app, client_as, data):
    app.config["DASHBOARD_CACHE_AFTER_SECONDS"] = 0
    app.config["DASHBOARD_CACHE_FOR"] = timedelta(0)  # the kept result is always due for a refresh
    data.case(data.order(data.shop("店")), "stalled", china(13))
    client = client_as("lead")
    page(client)
    (kept,) = (Path(app.instance_path) / "dashboard-cache").glob("*.pickle")
    kept.with_suffix(".lock").touch()  # another gunicorn worker is computing this period
    stale = page(client)
    assert "<b>1</b>" in stale and "正在更新" in stale and 'hx-trigger="every 2s"' in stale
    assert '<noscript><meta http-equiv="refresh" content="3"></noscript>' in stale
    kept.unlink()
    computing = page(client)
    assert "正在计算看板数据" in computing and 'hx-trigger="every 2s"' in computing and "<svg" not in computing
    kept.with_suffix(".lock").unlink()  # it finished (without leaving a result): this request computes
    assert "<b>1</b>" in page(client)
