"""Push callbacks through the Flask test client, on SQLite and PostgreSQL: a valid signature
stores the events once and gets the provider's exact reply; a bad one gets 403 and stores nothing."""
from __future__ import annotations

import base64
import hashlib

import httpx
import orjson
import pytest

from couriers import carriers
from couriers.kuaidi100 import push_sign
from tracker.config import Settings
from tracker.polling import Poller
from tracker.web import create_app
from tracking_helpers import FIXTURES, SALT, T0, Courier, add_shipments, events, health, shipment

KUAIDI100_REPLY = '{"result":true,"returnCode":"200","message":"成功"}'.encode()
APP_KEY = "kdniao-app-key"


@pytest.fixture
def client(engine, tmp_path):
    settings = Settings(instance_dir=tmp_path, provider="kuaidi100", kuaidi100_salt=SALT,
                        kdniao_ebusiness_id="1237100", kdniao_app_key=APP_KEY)
    return create_app(settings, engine=engine).test_client()


def kuaidi100_form(name: str, sign: str | None = "computed") -> dict[str, str]:
    param = (FIXTURES / name).read_text()
    form = {"param": param}
    if sign == "computed":
        form["sign"] = push_sign(param, SALT)
    elif sign is not None:
        form["sign"] = sign
    return form


def test_valid_push_stores_events_and_replies_exactly(client, engine) -> None:
    add_shipments(engine, ["SF1402334455667"], carrier="sf")
    response = client.post("/hooks/kuaidi100", data=kuaidi100_form("push_polling.json"))
    assert response.status_code == 200 and response.data == KUAIDI100_REPLY
    stored = events(engine, "SF1402334455667")
    assert len(stored) >= 2 and shipment(engine, "SF1402334455667").status == "out_for_delivery"
    again = client.post("/hooks/kuaidi100", data=kuaidi100_form("push_polling.json"))
    assert again.data == KUAIDI100_REPLY and len(events(engine, "SF1402334455667")) == len(stored)


def test_push_after_polling_adds_nothing_twice(client, engine) -> None:
    add_shipments(engine, ["SF1402334455667"], carrier="sf")
    param = orjson.loads((FIXTURES / "push_polling.json").read_bytes())
    last = param["lastResult"]
    courier = Courier(httpx.Response(200, content=orjson.dumps(last)))
    with Poller(courier.provider()) as poller:
        assert poller.poll_once(engine, now=T0, owner="t").events_added == len(last["data"])
    response = client.post("/hooks/kuaidi100", data=kuaidi100_form("push_polling.json"))
    assert response.status_code == 200
    assert len(events(engine, "SF1402334455667")) == len(last["data"])


@pytest.mark.parametrize("sign", [None, "", "0" * 32, "签名"], ids=["missing", "empty", "wrong", "garbage"])
def test_bad_signature_is_403_and_stores_nothing(client, engine, sign) -> None:
    add_shipments(engine, ["SF1402334455667"], carrier="sf")
    response = client.post("/hooks/kuaidi100", data=kuaidi100_form("push_polling.json", sign))
    assert response.status_code == 403
    assert events(engine, "SF1402334455667") == []
    assert shipment(engine, "SF1402334455667").status == "pending"


def test_hook_without_a_salt_refuses_every_push(engine, tmp_path) -> None:
    app = create_app(Settings(instance_dir=tmp_path, provider="kuaidi100"), engine=engine)
    response = app.test_client().post("/hooks/kuaidi100", data=kuaidi100_form("push_polling.json"))
    assert response.status_code == 403


def test_abort_with_com_new_corrects_the_carrier(client, engine) -> None:
    add_shipments(engine, ["73100055554444"], carrier="yto")
    response = client.post("/hooks/kuaidi100", data=kuaidi100_form("push_abort_comnew.json"))
    assert response.data == KUAIDI100_REPLY
    parcel = shipment(engine, "73100055554444")
    assert parcel.carrier == "zto" and "zto" in parcel.carrier_note
    assert parcel.resubscribe_at is None


def test_abort_without_com_new_schedules_a_resubscription_after_the_lock_window(client, engine) -> None:
    add_shipments(engine, ["YT0000000001"], carrier="yto")
    param = orjson.loads((FIXTURES / "push_abort_comnew.json").read_bytes())
    param |= {"comNew": "", "comOld": ""}
    param["lastResult"] |= {"nu": "YT0000000001"}
    text = orjson.dumps(param).decode()
    response = client.post("/hooks/kuaidi100", data={"param": text, "sign": push_sign(text, SALT)})
    assert response.data == KUAIDI100_REPLY
    parcel = shipment(engine, "YT0000000001")
    assert parcel.incident == "no_info" and parcel.subscribed_at is None
    assert parcel.resubscribe_at is not None and parcel.resubscribe_at >= parcel.updated_at.replace(microsecond=0)


def test_shutdown_push_delivers_and_finishes(client, engine) -> None:
    last = orjson.loads((FIXTURES / "push_shutdown.json").read_bytes())["lastResult"]
    num = last["nu"]
    add_shipments(engine, [num], carrier=carriers.by_kuaidi100(last["com"]).code)
    assert client.post("/hooks/kuaidi100", data=kuaidi100_form("push_shutdown.json")).data == KUAIDI100_REPLY
    parcel = shipment(engine, num)
    assert parcel.done and parcel.status == "delivered" and parcel.next_poll_at is None


def test_unknown_waybill_is_acknowledged(client) -> None:
    assert client.post("/hooks/kuaidi100", data=kuaidi100_form("push_polling.json")).data == KUAIDI100_REPLY


def kdniao_form(sign: str | None = "computed") -> dict[str, str]:
    data = (FIXTURES.parent / "kdniao" / "push_101.json").read_text()
    form = {"RequestData": data, "RequestType": "101", "DataType": "2"}
    if sign == "computed":
        form["DataSign"] = base64.b64encode(hashlib.md5((data + APP_KEY).encode()).hexdigest().encode()).decode()
    elif sign is not None:
        form["DataSign"] = sign
    return form


def test_kdniao_push_stores_and_replies_in_kdniao_format(client, engine) -> None:
    add_shipments(engine, ["73100099887766"], carrier="zto")
    response = client.post("/hooks/kdniao", data=kdniao_form())
    reply = orjson.loads(response.data)
    assert response.status_code == 200 and reply["Success"] is True and reply["EBusinessID"] == "1237100"
    parcel = shipment(engine, "73100099887766")
    assert (parcel.status, parcel.incident) == ("exception", "pickup_overdue")
    assert len(events(engine, "73100099887766")) == 3
    assert health(engine, "kdniao").unmapped_codes == 0


def test_kdniao_bad_sign_is_403(client, engine) -> None:
    add_shipments(engine, ["73100099887766"], carrier="zto")
    assert client.post("/hooks/kdniao", data=kdniao_form("bm90IHJpZ2h0")).status_code == 403
    assert events(engine, "73100099887766") == []
