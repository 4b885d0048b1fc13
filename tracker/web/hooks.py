"""Provider push callbacks: verify the signature, store the events, answer in the provider's format.

    POST /hooks/kuaidi100   form param=<JSON>, sign=md5(param+salt)
    POST /hooks/kdniao      form RequestData=<JSON>, DataSign, RequestType=101
        ─► adapter.parse_push (signature checked first: a bad or missing one is 403, nothing stored)
        ─► events.store_push in the request's transaction ─► adapter.push_reply()

A push for a waybill we do not track is acknowledged all the same: the provider would
otherwise retry it for hours.
"""
from __future__ import annotations

import logging

from flask import Blueprint, Response, jsonify, request

from couriers.base import BadResponse, SignatureError
from tracker import events, schedule
from tracker.web import database, state

log = logging.getLogger(__name__)

bp = Blueprint("hooks", __name__, url_prefix="/hooks")


@bp.post("/<any(kuaidi100, kdniao):hook>")
def push(hook: str) -> Response | tuple[Response, int]:
    if hook not in state().push:
        return jsonify(error=f"push to /hooks/{hook} is not configured (no salt / app key to verify it)"), 403
    name, adapter = state().push[hook]
    try:
        parsed = adapter.parse_push(request.form.to_dict())
    except SignatureError as err:
        log.warning("push to /hooks/%s refused from %s: %s", hook, request.remote_addr, err)
        return jsonify(error="signature does not verify"), 403
    except BadResponse as err:
        return jsonify(error=str(err)), 400
    now = state().clock()
    with database().begin() as conn:
        stored = events.store_push(conn, parsed, provider=name, now=now, policy=schedule.DEFAULT_POLICY)
    if stored.unknown_waybills:
        log.info("push to /hooks/%s: %d waybill(s) we do not track", hook, stored.unknown_waybills)
    return Response(adapter.push_reply(now), mimetype="application/json")
