"""The imports page as a lead uses it: upload real-format exports, watch the job, read the
result and the row-error report, browse the history; and the gates around it."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from tests.exportfiles import (
    taobao_item_row,
    taobao_order_row,
    write_junk,
    write_taobao_items_csv,
    write_taobao_orders_csv,
    write_taobao_orders_xlsx,
)
from tracker.models import AuditLog, ExceptionCase, ImportBatch, Order, Shop
from tracker.web import imports as page


def upload(client, *files: Path, names: tuple[str, ...] = (), csrf: bool = True, **form):
    """Post the files as a browser does; ``names``: the names the user's machine gave them."""
    data = dict(form)
    if csrf:
        data["csrf_token"] = client.csrf
    data["files"] = [(io.BytesIO(f.read_bytes()), name) for f, name in zip(files, names or [f.name for f in files])]
    return client.post("/imports/", data=data, content_type="multipart/form-data")


def finished(client, response) -> tuple[str, str]:
    """Follow an upload to its job page once the job is done: (job id, the page)."""
    assert response.status_code == 303, response.get_data(as_text=True)
    job_id = response.headers["Location"].rsplit("/", 1)[-1]
    page.join(job_id, timeout=60)
    html = client.get(f"/imports/jobs/{job_id}").get_data(as_text=True)
    return job_id, html


def job_file(app, job_id: str) -> dict:
    return json.loads((Path(app.instance_path) / "import-jobs" / f"{job_id}.json").read_text(encoding="utf-8"))


def count(engine, model) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(model)).scalar_one()


def test_a_taobao_export_is_imported_with_its_summary(app, client_as, engine, staff, tmp_path):
    rows = [taobao_order_row(订单状态="买家已付款，等待卖家发货", 物流单号="", 物流公司="", 发货时间="",
                             订单付款时间="2026-11-11 00:00:09")]
    rows += [taobao_order_row() for _ in range(2)]
    export = write_taobao_orders_xlsx(tmp_path / "upload.xlsx", rows)
    client = client_as("lead")
    job_id, html = finished(client, upload(client, export, names=("双十一订单报表.xlsx",)))
    assert "已完成" in html and "双十一订单报表.xlsx" in html
    assert 'hx-trigger="every 1s"' not in html  # finished: no more polling
    job = job_file(app, job_id)
    assert job["state"] == "done"
    (entry,) = job["files"]
    summary = entry["summary"]
    assert (summary["rows_read"], summary["created"], summary["rejected"], summary["shipments_added"]) == (3, 3, 0, 2)
    assert job["classify"]["state"] == "done" and job["classify"]["orders"] == 3
    assert count(engine, Order) == 3
    assert job["classify"]["opened"] == count(engine, ExceptionCase) > 0  # e.g. the order never shipped
    with engine.connect() as conn:
        batch = conn.execute(select(ImportBatch)).one()
        actions = conn.execute(select(AuditLog.action, AuditLog.entity_id, AuditLog.user_id)
                               .where(AuditLog.action.like("import.%")).order_by(AuditLog.id)).all()
    assert (batch.user_id, batch.file_name, batch.created) == (staff["lead"], "双十一订单报表.xlsx", 3)
    assert actions == [("import.upload", job_id, staff["lead"]), ("import.file", str(batch.id), staff["lead"])]
    assert not (Path(app.instance_path) / "uploads" / job_id).exists()  # the buyers' data is not kept on disk
    history = client.get("/imports/").get_data(as_text=True)
    assert "双十一订单报表.xlsx" in history and "lead 测试" in history and "taobao_orders" in history


def test_bad_rows_offer_the_row_error_report(client_as, engine, tmp_path):
    rows = [taobao_order_row(), taobao_order_row(订单编号=""), taobao_order_row()]
    export = write_taobao_orders_csv(tmp_path / "orders.csv", rows)
    client = client_as("admin")
    _job, html = finished(client, upload(client, export, names=("订单<script>报表.csv",)))
    assert "订单&lt;script&gt;报表.csv" in html and "<script>报表" not in html
    assert "第 3 行" in html or ">3<" in html  # the bad row, as the spreadsheet numbers it
    with engine.connect() as conn:
        batch = conn.execute(select(ImportBatch)).one()
    link = f"/imports/{batch.id}/errors.csv"
    assert link in html and link in client.get("/imports/").get_data(as_text=True)
    report = client.get(link)
    assert report.status_code == 200 and report.mimetype == "text/csv"
    assert "attachment" in report.headers["Content-Disposition"]
    text = report.get_data().decode("utf-8-sig")
    assert text.splitlines()[0].startswith("行号") and len(text.splitlines()) == 2
    assert count(engine, Order) == 2


def test_a_junk_file_is_refused_with_its_reason_and_writes_nothing(app, client_as, engine, tmp_path):
    client = client_as("lead")
    job_id, html = finished(client, upload(client, write_junk(tmp_path / "photo.xlsx")))
    assert "文件被拒绝，未写入任何数据" in html
    (entry,) = job_file(app, job_id)["files"]
    assert entry["state"] == "rejected" and "xlsx" in entry["reason"]
    assert entry["reason"] in html
    assert count(engine, ImportBatch) == 0 and count(engine, Order) == 0
    assert "classify" not in job_file(app, job_id)  # nothing changed: nothing to classify


def test_several_files_go_in_kind_order_with_the_chosen_shop(app, client_as, engine, tmp_path):
    order = taobao_order_row()
    orders = write_taobao_orders_csv(tmp_path / "orders.csv", [order])
    items = write_taobao_items_csv(tmp_path / "items.csv", [taobao_item_row(订单编号=order["订单编号"])])
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    client = client_as("lead")
    job_id, html = finished(client, upload(client, items, empty, orders, platform="taobao", shop="测试小店"))
    files = {f["name"]: f for f in job_file(app, job_id)["files"]}
    assert files["empty.csv"]["state"] == "rejected" and "文件是空的" in html
    assert files["orders.csv"]["summary"]["batch_id"] < files["items.csv"]["summary"]["batch_id"]
    assert files["items.csv"]["summary"]["created"] == 1  # its order was already there
    with engine.connect() as conn:
        assert conn.execute(select(Shop.name)).scalars().all() == ["测试小店"]
    assert "测试小店" in client.get("/imports/").get_data(as_text=True)


def test_the_upload_form_checks_its_fields(app, client_as, tmp_path):
    client = client_as("lead")
    good = write_taobao_orders_csv(tmp_path / "orders.csv", [taobao_order_row()])
    nothing = client.post("/imports/", data={"csrf_token": client.csrf}, content_type="multipart/form-data")
    assert nothing.status_code == 400 and "请选择要导入的文件" in nothing.get_data(as_text=True)
    unknown = upload(client, good, platform="kuaishou")
    assert unknown.status_code == 400 and "未知的平台或格式" in unknown.get_data(as_text=True)
    assert not (Path(app.instance_path) / "import-jobs").exists()
    app.config["MAX_CONTENT_LENGTH"] = 100
    assert upload(client, good).status_code == 413


def test_upload_without_csrf_token_is_refused(app, client_as, engine, tmp_path):
    client = client_as("lead")
    response = upload(client, write_taobao_orders_csv(tmp_path / "o.csv", [taobao_order_row()]), csrf=False)
    assert response.status_code == 400
    assert not (Path(app.instance_path) / "import-jobs").exists()
    assert count(engine, ImportBatch) == 0


@pytest.mark.parametrize("role", ["agent", "finance"])
def test_only_leads_import(client_as, role, tmp_path):
    client = client_as(role)
    assert client.get("/imports/").status_code == 403
    assert upload(client, write_taobao_orders_csv(tmp_path / "o.csv", [taobao_order_row()])).status_code == 403
    assert client.get(f"/imports/jobs/{'0' * 32}").status_code == 403
    assert client.get("/imports/1/errors.csv").status_code == 403


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_job_page_shows_each_state(app, client_as):
    client = client_as("lead")
    web = app.extensions["tracker"]
    base = {"user": "lead", "user_id": 1, "user_name": "lead 测试", "created_at": "2026-11-20T02:00:00+00:00",
            "platform": None, "shop": None, "pid": os.getpid(), "host": __import__("socket").gethostname()}

    def show(job_id: str, **job) -> str:
        page.write_job(web, {**base, "id": job_id, **job})
        response = client.get(f"/imports/jobs/{job_id}")
        assert response.status_code == 200
        return response.get_data(as_text=True)

    queued = show("a" * 32, state="queued", files=[{"name": "a.csv", "disk": "0.csv", "size": 10, "state": "queued"}])
    assert "排队中" in queued and 'hx-trigger="every 1s"' in queued
    assert '<noscript><meta http-equiv="refresh" content="2"></noscript>' in queued
    running = show("b" * 32, state="running", started_at="2026-11-20T02:00:00+00:00",
                   files=[{"name": "a.csv", "disk": "0.csv", "size": 10, "state": "running", "progress": 0.5,
                           "started_at": "2026-11-20T02:00:00+00:00"}])
    assert '<progress max="1" value="0.5">' in running and "正在读取" in running
    partial = client.get(f"/imports/jobs/{'b' * 32}", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert partial.lstrip().startswith(("{%", "<div")) and "<html" not in partial and "every 1s" in partial
    lost = show("c" * 32, state="running", pid=_dead_pid(), files=[])
    assert "已中断" in lost and "every 1s" not in lost
    silent = Path(app.instance_path) / "import-jobs" / f"{'b' * 32}.json"
    silent.write_text(json.dumps({**job_file(app, "b" * 32), "updated_at": (datetime.now(UTC) - page.SILENT * 2).isoformat()}))
    assert "已中断" in client.get(f"/imports/jobs/{'b' * 32}").get_data(as_text=True)  # nothing heard for too long
    failed = show("d" * 32, state="failed", reason="OperationalError: database is locked", files=[])
    assert "database is locked" in failed and "<noscript>" not in failed


def test_no_path_leaves_the_reports_folder(app, client_as, engine, tmp_path):
    client = client_as("lead")
    export = write_taobao_orders_csv(tmp_path / "o.csv", [taobao_order_row(), taobao_order_row(订单编号="")])
    finished(client, upload(client, export))
    assert client.get("/imports/1/errors.csv").status_code == 200
    secret = tmp_path / "secret.csv"
    secret.write_text("password")
    reports = app.extensions["tracker"].settings.import_reports_dir
    for outside in (str(secret), str(reports / ".." / ".." / "secret.csv")):
        with engine.begin() as conn:
            conn.execute(update(ImportBatch).values(error_report=outside))
        assert client.get("/imports/1/errors.csv").status_code == 404
    assert client.get("/imports/999/errors.csv").status_code == 404
    for job_id in ("..%2F..%2Fsecret_key", "../secret_key", "A" * 32, "0" * 31):
        assert client.get(f"/imports/jobs/{job_id}").status_code == 404
