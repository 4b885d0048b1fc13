"""What every page shares: Jinja filters (China time, masked phones, money, kind names),
the signed-in user's powers, error pages, and the root redirect."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

from flask import Flask, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from tracker.classify import CORE_KINDS, KINDS
from tracker.queue import STATUSES as CASE_STATUSES
from tracker.web import auth

CHINA_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")


def china_time(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """Stored UTC ─► shown in Asia/Shanghai."""
    return value.astimezone(CHINA_TZ).strftime(fmt) if value else ""


def mask_phone(phone: str | None) -> str:
    """138****1234 for roles that do not need to call the buyer; in full for those that do."""
    if not phone:
        return ""
    if current_user.is_authenticated and current_user.can(auth.SEES_PHONES):
        return phone
    digits = phone.strip()
    if len(digits) >= 7:
        return f"{digits[:3]}****{digits[-4:]}"
    return "****" + digits[-2:]


def money(value: Decimal | None) -> str:
    return "" if value is None else f"¥{value:,.2f}"


def kind_name(code: str) -> str:
    """The kind's name in the reader's language; an unknown code as it is."""
    kind = KINDS.get(code)
    return _(kind.name) if kind else code


def status_name(code: str) -> str:
    return {
        "open": _("待处理"), "in_progress": _("处理中"), "resolved": _("已解决"),
        "dismissed": _("已驳回"), "cleared": _("已自动关闭"),
    }.get(code, code)


def init_app(app: Flask) -> None:
    app.add_template_filter(china_time)
    app.add_template_filter(mask_phone)
    app.add_template_filter(money)
    app.add_template_filter(kind_name)
    app.add_template_filter(status_name)
    app.jinja_env.globals.update(
        KINDS=KINDS, CORE_KINDS=CORE_KINDS, CASE_STATUSES=CASE_STATUSES, AGENTS=auth.AGENTS, LEADS=auth.LEADS,
        READERS=auth.READERS, DASHBOARD=auth.DASHBOARD, get_locale=get_locale)

    @app.get("/")
    def root():
        if current_user.is_authenticated and not current_user.can(auth.READERS):
            return redirect(url_for("dashboard.index"))
        return redirect(url_for("queue.index"))

    @app.get("/healthz")
    def healthz():
        return {"ok": True}

    for code, message in ((400, _l("请求无效")), (403, _l("没有权限")), (404, _l("页面不存在")),
                          (413, _l("文件太大")), (429, _l("请求太频繁"))):
        app.register_error_handler(code, _error_page(code, message))


def _error_page(code: int, message: str):
    def handle(err):
        if request.path.startswith(("/api/", "/hooks/")):
            return {"error": getattr(err, "description", str(message))}, code
        return render_template("error.html", code=code, message=message), code
    return handle
