"""The queue page: what it shows and escapes, its filters and pager, and the triage posts with
their role rules, CSRF, history, audit, and the urge list download."""
from __future__ import annotations

import re
from io import BytesIO

import openpyxl
import pytest
from sqlalchemy import select

from tests.test_queue_core import World, _many, build_world
from tracker.models import Action, AuditLog, CaseEvent, ExceptionCase
from tracker.urge_list import COLUMNS

ROW = re.compile(r'<tr data-case-id="(\d+)"')


@pytest.fixture
def world(engine, staff) -> World:
    w = build_world(engine)
    w.users.update(staff)
    with engine.begin() as conn:
        w.order(conn, "1005", "云栖旗舰店", buyer="<b>买家</b>")
        w.case(conn, "xss", "1005", "wrong_carrier", evidence='<script>alert("x")</script> 要求发顺丰')
    return w


def shown(response) -> list[int]:
    return [int(i) for i in ROW.findall(response.get_data(as_text=True))]


def case(engine, case_id: int):
    with engine.connect() as conn:
        return conn.execute(select(ExceptionCase).where(ExceptionCase.id == case_id)).one()


def post(client, path: str, **form):
    return client.post(path, data={"csrf_token": client.csrf, **form})


def test_the_page_lists_open_cases_with_triage_hooks(client_as, world):
    response = client_as("agent").get("/queue/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert set(shown(response)) == {world.cases[k] for k in ("stalled-zto", "lost-yto", "not-shipped", "returned-sf",
                                                             "xss")}
    lost = world.cases["lost-yto"]
    assert f'data-assign-url="/queue/{lost}/assign-me"' in html
    assert f'data-resolve-url="/queue/{lost}/resolve"' in html
    assert "data-assign-cell" in html and "data-resolve-cell" in html
    assert f'<a class="order-link" href="/orders/{world.orders["1002"]}">1002</a>' in html
    assert 'id="q"' in html and 'name="case_id"' in html
    assert 'href="/queue/?kind=lost"' in html  # a count per kind, each a link
    assert "YT1000000000002" in html and "圆通速递" in html and "广东省 广州市" in html


def test_imported_text_is_escaped(client_as, world):
    html = client_as("agent").get("/queue/").get_data(as_text=True)
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; 要求发顺丰" in html
    assert "小明&lt;script&gt;" in html and "&lt;b&gt;买家&lt;/b&gt;" in html
    assert "<script>alert" not in html and "<b>买家" not in html


def test_filters_and_search_narrow_the_page(client_as, world):
    client = client_as("agent")
    assert shown(client.get("/queue/?q=YT1000000000002")) == [world.cases["lost-yto"]]
    assert shown(client.get("/queue/?kind=returned")) == [world.cases["returned-sf"]]
    assert shown(client.get("/queue/?status=resolved&carrier=sf")) == [world.cases["damaged-done"]]
    html = client.get("/queue/?kind=lost&assignee=none").get_data(as_text=True)
    assert "没有符合条件的异常单" in html
    assert client.get("/queue/?kind=nope").status_code == 400
    assert client.get("/queue/?sort=price").status_code == 400
    assert client.get("/queue/?after=garbage").status_code == 400
    assert client.get("/queue/?page=0").status_code == 400


def test_the_pager_walks_the_whole_queue(client_as, engine):
    _many(engine)
    client = client_as("lead")
    seen, path = [], "/queue/"
    while path:
        html = client.get(path).get_data(as_text=True)
        seen += [int(i) for i in ROW.findall(html)]
        following = re.search(r'<a href="([^"]+)" rel="next">', html)
        path = following.group(1).replace("&amp;", "&") if following else None
    assert len(seen) == 75 == len(set(seen))
    assert shown(client.get("/queue/?page=2")) == seen[50:]


def test_agents_assign_to_themselves_only(client_as, world, staff, engine):
    agent = client_as("agent")
    ids = [world.cases["not-shipped"], world.cases["returned-sf"]]
    response = post(agent, "/queue/bulk", op="assign", assignee="me", case_id=ids, back="kind=not_shipped")
    assert response.status_code == 302 and response.headers["Location"] == "/queue/?kind=not_shipped"
    assert {case(engine, i).assignee_id for i in ids} == {staff["agent"]}
    assert "已更新 2 条异常单" in agent.get("/queue/").get_data(as_text=True)
    assert post(agent, "/queue/bulk", op="assign", assignee=str(staff["lead"]), case_id=ids).status_code == 403
    assert post(agent, "/queue/bulk", op="assign", assignee="none", case_id=ids).status_code == 403
    assert {case(engine, i).assignee_id for i in ids} == {staff["agent"]}
    lead = client_as("lead")
    assert post(lead, "/queue/bulk", op="assign", assignee=str(staff["admin"]), case_id=ids).status_code == 302
    assert {case(engine, i).assignee_id for i in ids} == {staff["admin"]}
    with engine.connect() as conn:
        audit = conn.execute(select(AuditLog.actor, AuditLog.detail).where(AuditLog.action == "case.assign")
                             .order_by(AuditLog.id)).all()
        history = conn.execute(select(CaseEvent.user_id).where(CaseEvent.case_id == ids[0])).scalars().all()
    assert audit == [("agent", {"cases": ids, "assignee": "agent"}), ("lead", {"cases": ids, "assignee": "admin"})]
    assert history == [staff["agent"], staff["lead"]]


def test_bulk_status_change_and_dismiss_needs_a_reason(client_as, world, engine):
    agent = client_as("agent")
    first, second = world.cases["stalled-zto"], world.cases["returned-sf"]
    response = post(agent, "/queue/bulk", op="status", status="dismissed", case_id=[first], back="q=1001")
    assert response.headers["Location"] == "/queue/?q=1001"
    assert "驳回需要填写原因" in agent.get("/queue/").get_data(as_text=True)
    assert case(engine, first).status == "open"
    post(agent, "/queue/bulk", op="status", status="dismissed", reason="买家已收到", case_id=[first])
    post(agent, "/queue/bulk", op="status", status="resolved", case_id=[second])
    assert (case(engine, first).status, case(engine, first).close_reason) == ("dismissed", "买家已收到")
    assert case(engine, second).status == "resolved"
    assert set(shown(agent.get("/queue/"))).isdisjoint({first, second})
    assert post(agent, "/queue/bulk", op="status", status="cleared", case_id=[first]).status_code == 400
    assert post(agent, "/queue/bulk", op="status", status="resolved", case_id=["x"]).status_code == 400


def test_posts_without_csrf_token_are_refused(client_as, world, engine):
    agent = client_as("agent")
    target = world.cases["not-shipped"]
    assert agent.post("/queue/bulk", data={"op": "status", "status": "resolved", "case_id": target}).status_code == 400
    assert agent.post(f"/queue/{target}/resolve").status_code == 400
    assert case(engine, target).status == "open"


def test_finance_reads_the_queue_but_cannot_triage(client_as, world, engine):
    finance = client_as("finance")
    response = finance.get("/queue/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and shown(response)
    assert "data-assign-url" not in html and 'name="case_id"' not in html and 'name="op"' not in html
    target = world.cases["not-shipped"]
    assert post(finance, "/queue/bulk", op="status", status="resolved", case_id=[target]).status_code == 403
    assert post(finance, "/queue/bulk", op="urge", case_id=[target]).status_code == 403
    assert post(finance, f"/queue/{target}/resolve").status_code == 403
    assert post(finance, f"/queue/{target}/assign-me").status_code == 403
    assert case(engine, target).status == "open"


def test_quick_triage_answers_fetch_with_204_and_forms_with_a_redirect(client_as, world, staff, engine):
    agent = client_as("agent")
    target = world.cases["returned-sf"]
    fetched = agent.post(f"/queue/{target}/assign-me", headers={"X-CSRFToken": agent.csrf})
    assert fetched.status_code == 204
    assert case(engine, target).assignee_id == staff["agent"]
    form = post(agent, f"/queue/{target}/resolve", back="sort=age")
    assert form.status_code == 302 and form.headers["Location"] == "/queue/?sort=age"
    assert case(engine, target).status == "resolved"
    assert agent.post("/queue/999999/resolve", headers={"X-CSRFToken": agent.csrf}).status_code == 404


def test_urge_list_download(client_as, world, staff, engine):
    agent = client_as("agent")
    ids = [world.cases[k] for k in ("stalled-zto", "lost-yto", "not-shipped")]
    response = post(agent, "/queue/bulk", op="urge", case_id=ids)
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "attachment" in response.headers["Content-Disposition"]
    book = openpyxl.load_workbook(BytesIO(response.data))
    assert book.sheetnames == ["中通快递", "圆通速递"]  # one sheet per carrier, for its outlet
    zto = list(book["中通快递"].iter_rows(values_only=True))
    assert zto[0] == COLUMNS
    waybill, carrier, city, problem, request, order_id, last, when = zto[1]
    assert (waybill, carrier, city, request, order_id) == ("78000000000001", "中通快递", "浙江省 杭州市", "请尽快派送",
                                                           "1001")
    assert problem.startswith("物流停滞：最后扫描") and "杭州转运中心" in last and when is not None
    cell = book["中通快递"]["A2"]
    assert cell.data_type == "s" and book["中通快递"]["F2"].data_type == "s"  # ids are text
    yto = list(book["圆通速递"].iter_rows(values_only=True))
    assert yto[1][0] == "YT1000000000002" and yto[1][4] == "请核实去向并回复"
    with engine.connect() as conn:
        actions = conn.execute(select(Action.order_id, Action.code, Action.user_id).order_by(Action.order_id)).all()
        audit = conn.execute(select(AuditLog.detail).where(AuditLog.action == "queue.urge_courier")).scalars().all()
    assert actions == [(world.orders["1001"], "urge_courier", staff["agent"]),
                       (world.orders["1002"], "urge_courier", staff["agent"])]  # not shipped: nothing to urge
    assert audit == [{"orders": sorted([world.orders["1001"], world.orders["1002"]]),
                      "cases": [world.cases["stalled-zto"], world.cases["lost-yto"]], "scope": "selected"}]
    assert "已生成催件单 2 条" in agent.get("/queue/").get_data(as_text=True)


def test_urge_everything_the_view_matches(client_as, world, engine):
    lead = client_as("lead")
    response = post(lead, "/queue/bulk", op="urge", scope="all", back="kind=returned")
    book = openpyxl.load_workbook(BytesIO(response.data))
    assert book.sheetnames == ["顺丰速运"]
    assert [r[0] for r in book["顺丰速运"].iter_rows(min_row=2, values_only=True)] == ["SF1000000000004"]
    none = post(lead, "/queue/bulk", op="urge", case_id=[world.cases["not-shipped"]])
    assert none.status_code == 302
    with engine.connect() as conn:
        assert conn.execute(select(Action.order_id)).scalars().all() == [world.orders["1004"]]
