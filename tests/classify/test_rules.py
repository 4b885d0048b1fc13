"""Every kind and its control case (the same facts just short of the threshold), fixed clock.

Defaults of the policy: ship within 48 h, 揽收 within 24 h, in transit stalls after 48 h,
驿站 after 72 h, 浙江→北京 is cross-region (4 days; far beyond the norm at × 2), lost after
72 h + 7 days, Taobao auto-confirms 10 days after shipping.  No promotion or holiday is in
play two weeks after 双十一.
"""
from __future__ import annotations

import pytest

from tracker import policy as policies
from tracker.classify import CORE_KINDS, KINDS, RefundFacts, classify, damage_cue, evaluate, text_status
from classify_helpers import D, H, NOW, ago, order, parcel

P = policies.DEFAULT
DELIVERED = dict(delivered_at=ago(D))

CASES = [
    # name, snapshot, expected kinds
    ("not_shipped", order("awaiting_shipment", paid=49 * H), {"not_shipped"}),
    ("not_shipped control", order("awaiting_shipment", paid=47 * H), set()),
    ("not_shipped: the platform's 承诺发货时间 wins", order("awaiting_shipment", paid=20 * H, ship_deadline=ago(H)),
     {"not_shipped"}),
    ("not_shipped control: 承诺发货时间 later than 48 h", order("awaiting_shipment", paid=60 * H,
                                                         ship_deadline=ago(-H)), set()),
    ("no_tracking", order("shipped", parcel("pending"), shipped=25 * H), {"no_tracking"}),
    ("no_tracking control", order("shipped", parcel("pending"), shipped=23 * H), set()),
    ("no_tracking: provider says 发货无信息", order("shipped", parcel("exception", incident="no_info"), shipped=5 * H),
     {"no_tracking"}),
    ("reship_not_moving", order("shipped", parcel("pending", kind="reship", created_at=ago(25 * H)), shipped=5 * D),
     {"no_tracking", "reship_not_moving"}),
    ("reship_not_moving control", order("shipped", parcel("pending", kind="reship", created_at=ago(23 * H)),
                                        shipped=5 * D), set()),
    ("reship stuck at 揽收", order("shipped", parcel("picked_up", kind="reship", first=25 * H, created_at=ago(26 * H)),
                                 shipped=5 * D), {"stalled", "reship_not_moving"}),
    ("stalled", order("shipped", parcel(first=59 * H, last=49 * H), shipped=60 * H), {"stalled"}),
    ("stalled control", order("shipped", parcel(first=59 * H, last=47 * H), shipped=60 * H), set()),
    ("stalled: far beyond the route's norm", order("shipped", parcel(first=8 * D + H, last=2 * H), shipped=8 * D + 2 * H),
     {"stalled"}),
    ("stalled control: within twice the norm", order("shipped", parcel(first=8 * D - H, last=2 * H),
                                                     shipped=8 * D), set()),
    ("stalled: provider says 超时未更新", order("shipped", parcel("exception", first=30 * H, last=3 * H,
                                                              incident="not_updated"), shipped=31 * H), {"stalled"}),
    ("lost", order("shipped", parcel(first=10 * D + H, last=5 * D), shipped=10 * D + 2 * H), {"stalled", "lost"}),
    ("lost control", order("shipped", parcel(first=10 * D - H, last=5 * D), shipped=10 * D), {"stalled"}),
    ("pickup_uncollected", order("shipped", parcel("available_for_pickup", first=4 * D, last=73 * H,
                                                   text="已放入菜鸟驿站，请凭取件码取件"), shipped=4 * D + H),
     {"stalled", "pickup_uncollected"}),
    ("pickup_uncollected control", order("shipped", parcel("available_for_pickup", first=4 * D, last=71 * H,
                                                           text="已放入菜鸟驿站，请凭取件码取件"), shipped=4 * D + H), set()),
    ("failed_delivery", order("shipped", parcel("failed_attempt", first=3 * D, last=2 * H, text="派送不成功：电话无人接听"),
                              shipped=3 * D + H), {"failed_delivery"}),
    ("failed_delivery control: delivered on the next round",
     order("shipped", parcel("delivered", first=3 * D, last=H, text="已签收", **DELIVERED), shipped=3 * D + H), set()),
    ("无法签收 is not 签收", order("shipped", parcel("unknown", first=3 * D, last=2 * H,
                                                text="快件无法签收，收件人要求改日派送"), shipped=3 * D + H),
     {"failed_delivery"}),
    ("签收 control", order("shipped", parcel("unknown", first=3 * D, last=2 * H, text="已签收，签收人：本人"),
                         shipped=3 * D + H), set()),
    ("refused", order("shipped", parcel("refused", first=3 * D, last=2 * H, text="收件人拒收"), shipped=3 * D + H),
     {"refused"}),
    ("returned", order("shipped", parcel("returning", first=3 * D, last=2 * H, text="快件退回中"), shipped=3 * D + H),
     {"returned"}),
    ("returned/refused control: on its way", order("shipped", parcel(first=3 * D, last=2 * H), shipped=3 * D + H),
     set()),
    ("auto_confirmed_undelivered", order("finished", parcel("out_for_delivery", first=3 * D, last=3 * H),
                                         shipped=10 * D + H, confirmed_at=ago(H), status_raw="交易成功"),
     {"auto_confirmed_undelivered"}),
    ("auto_confirmed_undelivered control", order("finished", parcel("delivered", first=3 * D, last=3 * H, **DELIVERED),
                                                 shipped=10 * D + H, confirmed_at=ago(H)), set()),
    ("auto_confirm_soon", order("shipped", parcel(first=2 * D, last=2 * H), shipped=8 * D, province="新疆维吾尔自治区",
                                city="乌鲁木齐市"), {"auto_confirm_soon"}),
    ("auto_confirm_soon control: arrives a day before", order("shipped", parcel(first=2 * D, last=2 * H), shipped=8 * D,
                                                              province="江苏省", city="南京市"), set()),
    ("auto_confirm_soon control: not in the last 3 days", order("shipped", parcel(first=2 * D, last=2 * H),
                                                                shipped=7 * D - H, province="新疆维吾尔自治区"), set()),
    ("damaged: provider incident", order("shipped", parcel("delivered", first=3 * D, last=H, incident="damaged",
                                                           **DELIVERED)), {"damaged"}),
    ("damaged: Kuaidi100 209", order("shipped", parcel("exception", first=2 * D, last=H, raw_code="209",
                                                       text="疑难件")), {"damaged"}),
    ("damaged: scan text", order("shipped", parcel("delivered", first=3 * D, last=H, text="快件外包装破损，已联系发件人",
                                                   **DELIVERED)), {"damaged"}),
    ("damaged: refund reason", order("shipped", parcel("delivered", first=3 * D, last=H, **DELIVERED),
                                     refunds=(RefundFacts("requested", "商品破损/少件"),)), {"damaged"}),
    ("damaged: agent report", order("shipped", parcel("delivered", first=3 * D, last=H, **DELIVERED),
                                    damage_reports=("买家发来照片：杯子碎了",)), {"damaged"}),
    ("damaged control: courier boilerplate", order("shipped", parcel(
        "delivered", first=3 * D, last=H, text="派件中，如有破损请当场拒收，请当面验货后签收", **DELIVERED)), set()),
    ("damaged control: 外包装完好无破损", order("shipped", parcel("delivered", first=3 * D, last=H,
                                                            text="已签收，外包装完好无破损", **DELIVERED)), set()),
    ("damaged control: other refund reason", order("shipped", parcel("delivered", first=3 * D, last=H, **DELIVERED),
                                                   refunds=(RefundFacts("requested", "七天无理由退换"),)), set()),
    ("wrong_carrier: 发顺丰", order("shipped", parcel(first=H, last=H), shipped=2 * H, buyer_message="发顺丰",
                                  requested_carriers=("sf",)), {"wrong_carrier"}),
    ("wrong_carrier control: SF used", order("shipped", parcel(first=H, last=H, carrier="sf", waybill="SF1234567890123"),
                                             shipped=2 * H, buyer_message="发顺丰", requested_carriers=("sf",)), set()),
    ("wrong_carrier control: 顺丰快运 is 顺丰", order("shipped", parcel(first=H, last=H, carrier="sfky"), shipped=2 * H,
                                                  requested_carriers=("sf",)), set()),
    ("wrong_carrier: 不要发中通", order("shipped", parcel(first=H, last=H), shipped=2 * H, seller_memo="不要发中通",
                                     excluded_carriers=("zto",)), {"wrong_carrier"}),
    ("wrong_carrier control: another carrier", order("shipped", parcel(first=H, last=H, carrier="yto"), shipped=2 * H,
                                                     excluded_carriers=("zto",)), set()),
    ("settled: a closed order is nobody's trouble", order("closed", parcel(first=20 * D, last=19 * D), shipped=20 * D),
     set()),
]


@pytest.mark.parametrize("snapshot, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_kind_and_control(snapshot, expected):
    assert {f.kind for f in classify(snapshot, P, NOW)} == expected


def test_every_kind_has_a_case_and_a_control():
    fired = {k for _name, _s, kinds in CASES for k in kinds}
    assert fired == set(KINDS)
    controls = {name.split(" control")[0] for name, *_ in CASES if "control" in name}
    assert {"not_shipped", "no_tracking", "stalled", "lost", "pickup_uncollected", "failed_delivery",
            "reship_not_moving", "auto_confirmed_undelivered", "auto_confirm_soon", "wrong_carrier"} <= controls


@pytest.mark.parametrize("snapshot", [c[1] for c in CASES], ids=[c[0] for c in CASES])
def test_extra_kinds_refine_never_replace(snapshot):
    findings = classify(snapshot, P, NOW)
    kinds = {f.kind for f in findings}
    for f in findings:
        assert 1 <= f.severity <= 4 and f.text
        if f.kind not in CORE_KINDS and f.refines:
            assert f.refines in kinds, f"{f.kind} without {f.refines}"


def test_stalled_evidence_reads_like_a_person_wrote_it():
    snapshot = order("shipped", parcel(first=5 * D, last=96 * H, location="广州转运中心", origin="浙江省金华市义乌市"),
                     province="海南省", city="海口市", shipped=5 * D + H)
    (stalled,) = [f for f in classify(snapshot, P, NOW) if f.kind == "stalled"]
    assert stalled.text.startswith("最后一条轨迹 96 小时前（广州转运中心）；浙江→海南 偏远“运输中”上限 48 小时")
    assert stalled.evidence["limit_hours"] == 48 and stalled.evidence["hours_since_scan"] == 96
    assert stalled.evidence["origin"] == "浙江" and stalled.evidence["destination"] == "海南"
    assert stalled.waybill == "73100000000001" and stalled.force_majeure is False


def test_the_origin_is_the_first_scan_then_the_shop_then_the_policy():
    moving = dict(first=2 * H, last=H)
    by_scan = order("shipped", parcel(origin="广东省广州市白云区", **moving), province="广东省", city="广州市")
    by_shop = order("shipped", parcel(origin="", **moving), province="广东省", shop_origin="广东省")
    by_policy = order("shipped", parcel(origin="", **moving), province="福建省")
    assert _route(by_scan) == "same_city" and _route(by_shop) == "same_province" and _route(by_policy) == "neighbour"


def _route(snapshot):
    late = NOW + 30 * D  # far beyond every norm: the stalled finding shows the route it used
    (f,) = [f for f in classify(snapshot, P, late) if f.kind == "stalled"]
    return f.evidence["route"]


def test_recheck_at_is_the_next_deadline():
    snapshot = order("awaiting_shipment", paid=47 * H)
    assert evaluate(snapshot, P, NOW).recheck_at == ago(47 * H) + 48 * H
    stalled = order("shipped", parcel(first=59 * H, last=47 * H), shipped=60 * H)
    assert evaluate(stalled, P, NOW).recheck_at == ago(47 * H) + 48 * H


def test_time_alone_turns_the_control_into_the_kind():
    snapshot = order("awaiting_shipment", paid=47 * H)
    later = evaluate(snapshot, P, NOW).recheck_at + H
    assert [f.kind for f in classify(snapshot, P, later)] == ["not_shipped"]


def test_facts_hash_ignores_time_but_not_facts():
    snapshot = order("shipped", parcel(first=59 * H, last=49 * H), shipped=60 * H)
    (now_f,) = classify(snapshot, P, NOW)
    (later_f,) = classify(snapshot, P, NOW + 5 * H)
    moved = order("shipped", parcel(first=59 * H, last=49 * H, location="济南转运中心"), shipped=60 * H)
    (moved_f,) = classify(moved, P, NOW)
    assert now_f.facts_hash == later_f.facts_hash != moved_f.facts_hash
    assert now_f.text != later_f.text


@pytest.mark.parametrize("text, cue", [
    ("快件外包装破损，已联系发件人", "破损"),
    ("收件人反映内件缺失", "内件缺失"),
    ("如有破损请当场拒收", None),
    ("请当面验货，如有问题请拒签", None),
    ("派件中，破损请拒收", None),
    ("已签收，外包装完好", None),
    ("快件已到达【杭州转运中心】", None),
])
def test_damage_words_read_in_context(text, cue):
    assert damage_cue(text) == cue


@pytest.mark.parametrize("text, status", [
    ("快件无法签收，改日派送", "failed_attempt"),
    ("已签收，签收人：本人", "delivered"),
    ("快件已放入丰巢快递柜，取件码 1234", "available_for_pickup"),
    ("收件人拒收，快件退回", "refused"),
    ("派件中，如有破损请当场拒收", "out_for_delivery"),
    ("完全看不懂的一句话", "unknown"),
])
def test_text_status_reads_with_care(text, status):
    assert text_status(text) == status
