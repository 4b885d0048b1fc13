"""The imports page: upload platform exports, import them in the background, watch the
progress, download the row-error reports, browse the history.

    POST /imports/             files + optional platform and shop (leads; CSRF; audited)
        ─► instance/uploads/<job>/<n><ext>  (generated names; the original names are in the job)
        ─► instance/import-jobs/<job>.json   state "queued"
        ─► a thread of this web process:
             the files in kind order (orders, then items, then refunds), each through
             ``tracker.ingest.import_file``, the code path of ``tracker import``; after each
             commit, its batch gets the uploader and the original file name (audited)
             ─► an incremental classification, so the new orders' cases show at once
           every step written to the job file
        ─► 303 to /imports/jobs/<job>
    GET  /imports/jobs/<job>          the job file rendered; reloads itself while it runs
                                      (htmx every second; a meta refresh without JavaScript)
    GET  /imports/<batch>/errors.csv  a batch's row-error report (files inside the reports folder only)
    GET  /imports/?page=N             the upload form and the import history, newest first

Progress lives in the job file, not in memory: any gunicorn worker answers the poll, and an
import is one transaction per file, so the database shows nothing of it until it commits.
A job whose process died (its file says queued or running, its pid is gone on this host)
shows as lost; the uncommitted file left nothing behind.
"""
from __future__ import annotations

import json
import logging
import os
import re
import shutil
import socket
import threading
import time
import uuid
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePath

from flask import (
    Blueprint,
    abort,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

import imports
from tracker import cases
from tracker.ingest import ConcurrentImport, import_file, sort_by_kind
from tracker.models import ImportBatch, Shop, User
from tracker.web import WebState, auth, database, state

bp = Blueprint("imports", __name__, url_prefix="/imports")
log = logging.getLogger(__name__)

PAGE_SIZE = 50
ERRORS_SHOWN = 20
JOB_ID = re.compile(r"[0-9a-f]{32}")
KEEP_JOBS = timedelta(days=30)
KEEP_UPLOADS = timedelta(days=1)  # of a job whose process died: its files are not needed any more
SILENT = timedelta(minutes=15)  # a job that wrote nothing for this long is dead (its pid may be reused)
SUFFIXES = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".xls")  # kept on disk: the reader goes by them
WRITE_EVERY = 0.5  # seconds between progress writes
PLATFORM_CHOICES = (*imports.PLATFORMS, *imports.FORMATS)
# A file the importer refuses as a whole (nothing written); its message is one line.
REFUSED = (imports.RejectedFile, imports.UnknownFormat, imports.MappingError, ConcurrentImport)
BATCHES, SHOPS, USERS = ImportBatch.__table__, Shop.__table__, User.__table__
_threads: dict[str, threading.Thread] = {}


# ---------------------------------------------------------------- job files


def _jobs_dir(web: WebState) -> Path:
    return web.settings.instance_dir / "import-jobs"


def _uploads_dir(web: WebState, job_id: str) -> Path:
    return web.settings.instance_dir / "uploads" / job_id


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def write_job(web: WebState, job: dict) -> None:
    """Replace the job file atomically: a poll never reads half of it."""
    directory = _jobs_dir(web)
    directory.mkdir(parents=True, exist_ok=True)
    job["updated_at"] = _now()
    tmp = directory / f".{job['id']}.{threading.get_ident()}.tmp"
    tmp.write_text(json.dumps(job, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, directory / f"{job['id']}.json")


def read_job(web: WebState, job_id: str) -> dict | None:
    if not JOB_ID.fullmatch(job_id):
        return None
    try:
        job = json.loads((_jobs_dir(web) / f"{job_id}.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    if job["state"] in ("queued", "running") and (
            (job["host"] == socket.gethostname() and not _alive(job["pid"]))
            or datetime.now(UTC) - datetime.fromisoformat(job["updated_at"]) > SILENT):
        job["state"] = "lost"
    return job


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        return True
    return True


def _prune(web: WebState) -> None:
    """Job files are kept a month (imports keep their own history in import_batches); the
    uploads of a job whose process died, a day."""
    now = time.time()
    for path in _jobs_dir(web).glob("*.json"):
        with suppress(FileNotFoundError):  # another worker pruned it first
            if path.stat().st_mtime < now - KEEP_JOBS.total_seconds():
                path.unlink()
    for folder in (web.settings.instance_dir / "uploads").glob("*"):
        with suppress(FileNotFoundError):
            if folder.stat().st_mtime < now - KEEP_UPLOADS.total_seconds():
                shutil.rmtree(folder, ignore_errors=True)


def join(job_id: str, timeout: float | None = None) -> None:
    """Wait for a job this process runs (tests; a graceful shutdown)."""
    thread = _threads.get(job_id)
    if thread is not None:
        thread.join(timeout)


# ---------------------------------------------------------------- the background job


class _Progress:
    """Writes a file's import progress to the job file, at most every WRITE_EVERY seconds."""

    def __init__(self, web: WebState, job: dict, entry: dict):
        self.web, self.job, self.entry = web, job, entry
        self._last = 0.0

    def __call__(self, fraction: float) -> None:
        self.entry["progress"] = round(fraction, 3)
        now = time.monotonic()
        if now - self._last >= WRITE_EVERY or fraction >= 1:
            self._last = now
            write_job(self.web, self.job)


def _summary(summary) -> dict:
    return {
        "batch_id": summary.batch_id, "format": summary.format, "platform": summary.platform,
        "rows_read": summary.rows_read, "created": summary.created, "updated": summary.updated,
        "unchanged": summary.unchanged, "rejected": summary.rejected, "shipments_added": summary.shipments_added,
        "seconds": round(summary.seconds, 1), "error_report": bool(summary.error_report),
        "errors": [{"row": e.row, "reason": e.reason, "column": e.column, "value": e.value}
                   for e in summary.errors_preview[:ERRORS_SHOWN]],
    }


def _in_kind_order(web: WebState, job: dict, folder: Path) -> list[dict]:
    """The files to import, orders before their items and refunds (as ``tracker import``
    orders them); a file refused while looking at its header is marked so and left out."""
    if len(job["files"]) == 1:
        return job["files"]
    kinds = []
    for entry in job["files"]:
        try:
            with imports.open_export(folder / entry["disk"], platform=job["platform"],
                                     max_bytes=web.settings.import_max_bytes) as export:
                kinds.append((entry, export.info.kind))
        except REFUSED as err:
            entry.update(state="rejected", reason=str(err))
        except OSError as err:
            entry.update(state="rejected", reason=_unreadable(err))
    return [entry for entry, _kind in sort_by_kind(kinds)]


def _unreadable(err: OSError) -> str:
    return f"无法读取文件 (cannot read the file: {err.strerror or err})"


def _import_one(web: WebState, job: dict, entry: dict, path: Path) -> None:
    entry.update(state="running", started_at=_now(), progress=0.0)
    write_job(web, job)
    try:
        summary = import_file(web.engine, path, platform=job["platform"], shop=job["shop"],
                              max_bytes=web.settings.import_max_bytes, reports_dir=web.settings.import_reports_dir,
                              progress=_Progress(web, job, entry), user_id=job["user_id"],
                              file_name=entry["name"], actor=job["user"])
    except REFUSED as err:
        entry.update(state="rejected", reason=str(err), finished_at=_now())
        return
    except OSError as err:
        entry.update(state="rejected", reason=_unreadable(err), finished_at=_now())
        return
    entry.update(state="done", finished_at=_now(), progress=1.0, summary=_summary(summary))


def _classify(web: WebState, job: dict) -> None:
    """Bring the cases of the changed orders up to date now rather than at the worker's next
    round (the same incremental run, so it costs what the imported changes cost)."""
    job["classify"] = {"state": "running"}
    write_job(web, job)
    try:
        report = cases.classify_orders(web.engine, web.policy, web.clock())
    except Exception as err:  # the imports stand; the worker's next round classifies them
        log.exception("classification after import job %s failed", job["id"])
        job["classify"] = {"state": "failed", "reason": f"{type(err).__name__}: {err}"}
        return
    job["classify"] = {"state": "done", "orders": report.orders_seen, "opened": report.opened.total(),
                       "refreshed": report.refreshed.total(), "reopened": report.reopened.total(),
                       "cleared": report.cleared.total()}


def run_job(web: WebState, job_id: str) -> None:
    """The whole job, in this thread; every outcome ends in the job file."""
    job = read_job(web, job_id)
    folder = _uploads_dir(web, job_id)
    job.update(state="running", started_at=_now())
    write_job(web, job)
    try:
        for entry in _in_kind_order(web, job, folder):
            _import_one(web, job, entry, folder / entry["disk"])
            write_job(web, job)
        changed = any(e.get("summary") and (e["summary"]["created"] or e["summary"]["updated"]) for e in job["files"])
        if changed:
            _classify(web, job)
        job.update(state="done", finished_at=_now())
    except Exception as err:  # a background job's boundary: the page must say it failed
        log.exception("import job %s failed", job_id)
        for entry in job["files"]:
            if entry["state"] in ("queued", "running"):
                entry["state"] = "failed"
        job.update(state="failed", finished_at=_now(), reason=f"{type(err).__name__}: {err}")
    finally:
        write_job(web, job)
        shutil.rmtree(folder, ignore_errors=True)  # the orders are in the database: the buyers' data need not stay
        _threads.pop(job_id, None)


def _start(web: WebState, job_id: str) -> None:
    thread = threading.Thread(target=run_job, args=(web, job_id), name=f"import-{job_id[:8]}", daemon=True)
    _threads[job_id] = thread
    thread.start()


# ---------------------------------------------------------------- pages


def _original_name(name: str) -> str:
    """The name the user's machine gave the file (some browsers send a whole Windows path)."""
    return PurePath(name.replace("\\", "/")).name[:255] or "upload"


def _history(conn, page: int) -> tuple[list, int]:
    total = conn.execute(select(func.count()).select_from(BATCHES)).scalar_one()
    rows = conn.execute(
        select(BATCHES, SHOPS.c.name.label("shop_name"), USERS.c.display_name, USERS.c.username)
        .outerjoin(SHOPS, SHOPS.c.id == BATCHES.c.shop_id).outerjoin(USERS, USERS.c.id == BATCHES.c.user_id)
        .order_by(BATCHES.c.id.desc()).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    return rows, total


def _index(problem: str | None = None, status: int = 200):
    page = max(request.args.get("page", 1, type=int), 1)
    with database().connect() as conn:
        batches, total = _history(conn, page)
    pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    return render_template("imports.html", batches=batches, page=page, pages=pages, total=total,
                           platforms=PLATFORM_CHOICES, problem=problem, form=request.form), status


@bp.get("/")
@auth.role_required(*auth.LEADS)
def index():
    return _index()


@bp.post("/")
@auth.role_required(*auth.LEADS)
def upload():
    web = state()
    files = [f for f in request.files.getlist("files") if f and f.filename]
    platform = request.form.get("platform", "").strip() or None
    shop = request.form.get("shop", "").strip() or None
    if not files:
        return _index(_("请选择要导入的文件。"), 400)
    if platform is not None and platform not in PLATFORM_CHOICES:
        return _index(_("未知的平台或格式。"), 400)
    if shop is not None and len(shop) > SHOPS.c.name.type.length:
        return _index(_("店铺名称太长。"), 400)
    job_id = uuid.uuid4().hex
    folder = _uploads_dir(web, job_id)
    folder.mkdir(parents=True)
    entries = []
    for n, upload in enumerate(files):
        name = _original_name(upload.filename)
        suffix = PurePath(name).suffix.lower()
        disk = f"{n}{suffix if suffix in SUFFIXES else ''}"
        upload.save(folder / disk)
        entries.append({"name": name, "disk": disk, "size": (folder / disk).stat().st_size, "state": "queued"})
    job = {"id": job_id, "state": "queued", "user": current_user.username, "user_id": current_user.id,
           "user_name": current_user.display_name, "created_at": _now(), "platform": platform, "shop": shop,
           "files": entries, "pid": os.getpid(), "host": socket.gethostname()}
    with database().begin() as conn:
        auth.record(conn, "import.upload", "import_job", job_id, files=[e["name"] for e in entries],
                    platform=platform, shop=shop)
    _prune(web)
    write_job(web, job)
    _start(web, job_id)
    return redirect(url_for("imports.job", job_id=job_id), 303)


@bp.get("/jobs/<job_id>")
@auth.role_required(*auth.LEADS)
def job(job_id: str):
    found = read_job(state(), job_id)
    if found is None:
        abort(404)
    now = datetime.now(UTC)
    for entry in [found, *found["files"]]:
        if entry.get("started_at"):
            end = datetime.fromisoformat(entry["finished_at"]) if entry.get("finished_at") else now
            entry["elapsed"] = (end - datetime.fromisoformat(entry["started_at"])).total_seconds()
    template = "_import_job.html" if request.headers.get("HX-Request") else "import_status.html"
    return render_template(template, job=found, running=found["state"] in ("queued", "running"))


@bp.get("/<int:batch_id>/errors.csv")
@auth.role_required(*auth.LEADS)
def errors(batch_id: int):
    with database().connect() as conn:
        batch = conn.execute(select(BATCHES.c.file_name, BATCHES.c.error_report)
                             .where(BATCHES.c.id == batch_id)).first()
    if batch is None or not batch.error_report:
        abort(404)
    reports = state().settings.import_reports_dir.resolve()
    path = Path(batch.error_report).resolve()
    if not path.is_relative_to(reports) or not path.is_file():
        abort(404)
    return send_file(path, mimetype="text/csv", as_attachment=True,
                     download_name=f"{PurePath(batch.file_name).stem}-errors.csv")
