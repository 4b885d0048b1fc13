"""The exception queue: the page after-sales agents live in, and its triage posts.

    GET  /queue/                  filters (a plain GET form), counts per kind, one page of cases
    POST /queue/bulk              the ticked cases: assign · change status · urge courier (xlsx)
    POST /queue/<id>/assign-me    quick triage: app.js keys a and r, or the row's buttons
    POST /queue/<id>/resolve

Readers (finance too) see the queue; agents triage; only leads assign a case to someone
else.  A post is one transaction (the change, its history and its audit record through
``tracker.triage``), then Post/Redirect/Get back to the same filtered view with a flash of
how many changed.  A quick post from app.js (fetch, no form token field: the X-CSRFToken
header) is answered 204 instead.  The queries are ``tracker.queue``'s.
"""
from __future__ import annotations

from datetime import timedelta
from io import BytesIO
from urllib.parse import parse_qsl, urlencode

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from couriers.carriers import CARRIERS
from imports.address import PROVINCES
from tracker import queue, triage, urge_list
from tracker.web import auth, database, state
from tracker.web.auth import role_required
from tracker.web.views import china_time, status_name

bp = Blueprint("queue", __name__, url_prefix="/queue")
STATUS_CHANGES = ("in_progress", "resolved", "dismissed", "open")
URGE_LIMIT = 2000  # rows of one urge list from "all matching": more is a job for the export
MAX_PAGE = 200  # ?page=N (offset) reaches this deep; the pager's cursors go anywhere
CURSORS = ("after", "before", "page")


def _filter(args: MultiDict) -> queue.QueueFilter:
    try:
        return queue.QueueFilter.from_args(args, me=current_user.id, now=state().clock(), policy=state().policy)
    except queue.QueueError as err:
        abort(400, str(err))


def _link(args: MultiDict, **changes: str | None) -> str:
    """This view with some parameters changed (None drops one) and back on its first page."""
    kept = [(k, v) for k, v in args.items(multi=True)
            if k in queue.PARAMS and k not in changes and k not in CURSORS and v]
    kept += [(k, v) for k, v in changes.items() if v]
    return url_for("queue.index") + ("?" + urlencode(kept) if kept else "")


def _back() -> str:
    """Where a post returns: the view it came from (its query string, known parameters only)."""
    pairs = [(k, v) for k, v in parse_qsl(request.form.get("back", "")) if k in queue.PARAMS]
    try:
        queue.QueueFilter.from_args(MultiDict(pairs), me=current_user.id, now=state().clock(), policy=state().policy)
    except queue.QueueError:
        pairs = []
    return url_for("queue.index") + ("?" + urlencode(pairs) if pairs else "")


def _age(delta: timedelta) -> str:
    hours = int(delta.total_seconds() // 3600)
    if hours >= 48:
        return _("%(d)s天%(h)s小时", d=hours // 24, h=hours % 24)
    if hours >= 1:
        return _("%(h)s小时", h=hours)
    return _("%(m)s分钟", m=max(0, int(delta.total_seconds() // 60)))


def _by() -> triage.Actor:
    return triage.Actor(current_user.id, current_user.username)


def _case_ids(values: list[str]) -> list[int]:
    try:
        return sorted({int(v) for v in values})
    except ValueError:
        abort(400, "case_id")


@bp.get("/")
@role_required(*auth.READERS)
def index():
    args = request.args
    f = _filter(args)
    sort = args.get("sort") or "severity"
    number = args.get("page", "1")
    if not number.isdigit() or not 1 <= int(number) <= MAX_PAGE:
        abort(400, "page")
    users = queue.USERS.c
    with database().begin() as conn:
        try:
            found = queue.counts_cached(conn, f, state().counts)
            shown = queue.page(conn, f, sort, after=args.get("after"), before=args.get("before"),
                               offset=(int(number) - 1) * queue.PAGE_SIZE)
        except queue.QueueError as err:
            abort(400, str(err))
        shops = conn.execute(select(queue.SHOPS.c.id, queue.SHOPS.c.name).order_by(queue.SHOPS.c.name)).all()
        staff = conn.execute(select(users.id, users.username, users.display_name)
                             .where(users.active.is_(True), users.role.in_(auth.AGENTS))
                             .order_by(users.username)).all()
    return render_template(
        "queue.html", f=f, sort=sort, rows=shown.rows, pager=shown, counts=queue.kinds_shown(found),
        total=queue.total(found, f), shops=shops, staff=staff, carriers=CARRIERS,
        carrier_names={c.code: c.name for c in CARRIERS}, page_size=queue.PAGE_SIZE,
        provinces=[p[0] for p in PROVINCES], promotions=state().policy.promotions, ages=queue.AGES,
        sorts=queue.SORTS, statuses=queue.STATUSES, status_changes=STATUS_CHANGES, now=state().clock(),
        status_names={code: status_name(code) for code in queue.STATUSES},
        age=_age, link=lambda **changes: _link(args, **changes), back=request.query_string.decode(),
        can_triage=current_user.can(auth.AGENTS), can_assign_others=current_user.can(auth.LEADS))


@bp.post("/bulk")
@role_required(*auth.AGENTS)
def bulk():
    op = request.form.get("op")
    ids = _case_ids(request.form.getlist("case_id"))
    if op == "urge":
        return _urge(ids)
    if op not in ("assign", "status"):
        abort(400, "op")
    if not ids:
        flash(_("请先勾选异常单。"), "error")
        return redirect(_back())
    now = state().clock()
    try:
        with database().begin() as conn:
            if op == "assign":
                changed = triage.assign(conn, ids, _assignee(request.form.get("assignee", "")), by=_by(), now=now)
            else:
                status = request.form.get("status", "")
                if status not in STATUS_CHANGES:
                    abort(400, "status")
                changed = triage.set_status(conn, ids, status, by=_by(), now=now, reason=request.form.get("reason"))
    except triage.TriageError as err:
        flash(str(err), "error")
        return redirect(_back())
    flash(_("已更新 %(n)s 条异常单。", n=changed))
    return redirect(_back())


def _assignee(value: str) -> int | None:
    """The user a bulk assignment goes to; agents may only take cases themselves."""
    if value == "me":
        return current_user.id
    if value == "none":
        target = None
    elif value.isdigit():
        target = int(value)
    else:
        abort(400, "assignee")
    if target != current_user.id and not current_user.can(auth.LEADS):
        abort(403)
    return target


def _urge(ids: list[int]):
    """The urge list (催件单) of the ticked cases, or of every case the view matches (up to
    URGE_LIMIT): an xlsx download, and an ``urge_courier`` action per order, audited."""
    everything = request.form.get("scope") == "all"
    if not ids and not everything:
        flash(_("请先勾选异常单。"), "error")
        return redirect(_back())
    now = state().clock()
    with database().begin() as conn:
        if everything:
            view = MultiDict(parse_qsl(request.form.get("back", "")))
            f = _filter(view)
            try:
                shown = queue.page(conn, f, view.get("sort") or "severity", limit=URGE_LIMIT)
            except queue.QueueError as err:
                abort(400, str(err))
            rows = shown.rows
            if shown.next:
                flash(_("催件单最多 %(n)s 条：只包含排在前面的 %(n)s 条。", n=URGE_LIMIT), "error")
        else:
            rows = queue.rows(conn, ids)
        lines = urge_list.lines(rows)
        if not lines:
            flash(_("所选异常单都还没有运单号，无法催件。"), "error")
            return redirect(_back())
        urge_list.record(conn, lines, user_id=current_user.id, now=now)
        auth.record(conn, "queue.urge_courier", "order", lines[0].order_id if len(lines) == 1 else None,
                    orders=sorted({line.order_id for line in lines}), cases=[line.case_id for line in lines],
                    scope="all" if everything else "selected")
    flash(_("已生成催件单 %(n)s 条，跳过无运单的 %(m)s 条。", n=len(lines), m=sum(1 for r in rows if not r.waybill)))
    name = _("催件单") + "-" + china_time(now, "%Y%m%d-%H%M") + ".xlsx"
    return send_file(BytesIO(urge_list.workbook(lines)), as_attachment=True, download_name=name,
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@bp.post("/<int:case_id>/assign-me")
@role_required(*auth.AGENTS)
def assign_me(case_id: int):
    return _quick(case_id, lambda conn, now: triage.assign(conn, [case_id], current_user.id, by=_by(), now=now),
                  _("已分配给我"))


@bp.post("/<int:case_id>/resolve")
@role_required(*auth.AGENTS)
def resolve(case_id: int):
    return _quick(case_id, lambda conn, now: triage.set_status(conn, [case_id], "resolved", by=_by(), now=now),
                  _("已解决"))


def _quick(case_id: int, change, done: str):
    with database().begin() as conn:
        if conn.execute(select(queue.CASES.c.id).where(queue.CASES.c.id == case_id)).first() is None:
            abort(404)
        change(conn, state().clock())
    if "csrf_token" in request.form:  # a plain form post (no JavaScript): back to the view
        flash(done)
        return redirect(_back())
    return "", 204

