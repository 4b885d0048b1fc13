"""Simulated journeys: deterministic, each scenario's states in order, realistic durations."""
from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from itertools import groupby
from statistics import mean

import pytest

from couriers.sandbox import journeys
from couriers.sandbox.journeys import journey, snapshot, visible_scans
from couriers.sandbox.places import UnknownProvince
from couriers.timeparse import china_now_text

SHIPPED = datetime(2024, 10, 8, 2, tzinfo=UTC)
TRANSIT = {"0", "1002", "1001"}  # between milestones, any number of them

# Milestone states in order (transit scans and repeats left out); a set = one of them.
MILESTONES = {
    "delivered": ["103", "5", {"301", "303"}],
    "delivered_to_locker": ["103", "5", "501", "304"],
    "locker_uncollected": ["103", "5", "501", "205", "6", "4"],
    "failed_delivery": ["103", "5", {"204", "206"}, "5", "302"],
    "damaged": ["103", "209", "5", "302"],
    "refused_returned": ["103", "5", "14", "6", "4"],
    "out_of_area": ["103", "207", "6", "4"],
    "lost": ["103"],
    "never_scanned": [],
}


def milestones(j: journeys.Journey) -> list[str]:
    return [code for code, _ in groupby(s.code for s in j.scans if s.code not in TRANSIT)]


def signed_after_days(j: journeys.Journey) -> float:
    return (j.scans[-1].time - j.scans[0].time) / timedelta(days=1)


def test_same_seed_and_waybill_give_the_same_journey():
    a = journey(5, "73100012345678", carrier="zto")
    assert a == journey(5, "73100012345678", carrier="zto")
    assert a != journey(6, "73100012345678", carrier="zto")


@pytest.mark.parametrize("scenario", sorted(MILESTONES))
@pytest.mark.parametrize("carrier", ["zto", "sf", "ems", "jd"])
def test_each_scenario_passes_its_states_in_order(scenario, carrier):
    for i in range(5):
        j = journey(i, f"WB{i:010d}", carrier=carrier, scenario=scenario, shipped_at=SHIPPED,
                    origin="浙江", destination="四川")
        got = milestones(j)
        assert len(got) == len(MILESTONES[scenario]), (got, [s.context for s in j.scans])
        for code, expected in zip(got, MILESTONES[scenario]):
            assert code in expected if isinstance(expected, set) else code == expected


def test_stalled_parcels_sit_for_days_then_resume():
    for i in range(10):
        j = journey(i, f"ST{i:010d}", scenario="stalled", shipped_at=SHIPPED)
        gaps = [b.time - a.time for a, b in zip(j.scans, j.scans[1:])]
        assert max(gaps) >= timedelta(days=journeys.STALL_DAYS[0] - 1)
        assert j.scans[-1].code == "301"
        assert set(milestones(j)) <= {"103", "208", "5", "301"}


def test_lost_parcels_stop_at_a_hub():
    for i in range(10):
        j = journey(i, f"LO{i:010d}", scenario="lost", shipped_at=SHIPPED)
        assert j.scans[-1].code == "1002" and "转运中心" in j.scans[-1].context


def test_scans_are_in_time_order_with_kuaidi100_areas():
    j = journey(1, "YT7510345712345", carrier="yto", scenario="refused_returned", shipped_at=SHIPPED)
    assert [s.time for s in j.scans] == sorted(s.time for s in j.scans)
    for scan in j.scans:
        assert re.fullmatch(r"CN\d{12}", scan.place.code)
        assert scan.place.area_name.startswith(scan.place.province + ",")
        assert scan.local_time == china_now_text(scan.time)


@pytest.mark.parametrize(("origin", "destination", "city", "low", "high"), [
    ("浙江", "浙江", "杭州", 0.4, 2.5),  # same province (or same city: the sender's city is drawn)
    ("浙江", "江苏", None, 1.5, 4.2),  # neighbour
    ("浙江", "四川", None, 2.5, 5.2),  # cross-region
    ("浙江", "新疆", None, 4.5, 8.5),  # remote
])
def test_transit_time_follows_the_route(origin, destination, city, low, high):
    days = [signed_after_days(journey(i, f"TT{i:010d}", scenario="delivered", shipped_at=SHIPPED,
                                      origin=origin, destination=destination, city=city))
            for i in range(40)]
    assert low <= min(days) and max(days) <= high, (min(days), max(days))


def test_remote_is_slower_than_cross_region_than_same_province():
    def average(destination: str, city: str | None = None) -> float:
        return mean(signed_after_days(journey(i, f"AV{i:010d}", scenario="delivered", shipped_at=SHIPPED,
                                              origin="广东", destination=destination, city=city))
                    for i in range(40))
    assert average("西藏") > average("黑龙江") > average("广东", "深圳")


def test_double_eleven_backlog_slows_parcels_down():
    def average(shipped: datetime) -> float:
        return mean(signed_after_days(journey(i, f"BL{i:010d}", scenario="delivered", shipped_at=shipped,
                                              origin="浙江", destination="四川")) for i in range(40))
    assert average(datetime(2024, 11, 11, 2, tzinfo=UTC)) > 1.3 * average(SHIPPED)


def test_unregistered_waybills_follow_the_scenario_mix():
    counts = Counter(journey(0, f"MX{i:010d}").scenario for i in range(4000))
    assert set(counts) == set(journeys.SCENARIO_NAMES)
    for name, share in journeys.SCENARIOS:
        assert abs(counts[name] / 4000 - share) < 0.03, name
    unregistered = journey(0, "MX0000000001", epoch=SHIPPED)
    assert SHIPPED - journeys.UNREGISTERED_SHIPPED_WITHIN <= unregistered.shipped_at <= SHIPPED


def test_damage_boilerplate_is_not_damage():
    """Delivery texts carry "如有破损请当场拒收" without being a 209 破损 scan."""
    scans = [s for i in range(40)
             for s in journey(i, f"BP{i:010d}", scenario="delivered", shipped_at=SHIPPED).scans]
    boilerplate = [s for s in scans if "破损" in s.context]
    assert boilerplate and all(s.code == "5" for s in boilerplate)
    damaged = journey(1, "DM0000000001", scenario="damaged", shipped_at=SHIPPED)
    assert [s.code for s in damaged.scans if "外包装破损，已联系寄件人" in s.context] == ["209"]


def test_snapshot_is_what_a_query_sees_at_that_moment():
    j = journey(3, "YT7510345712345", carrier="yto", scenario="delivered", shipped_at=SHIPPED)
    assert snapshot(j, SHIPPED) is None
    middle = j.scans[4].time
    seen = snapshot(j, middle)
    assert seen.scans == visible_scans(j, middle) == j.scans[:5]
    assert (seen.state, seen.main_state, seen.signed) == (j.scans[4].code, "0", False)
    done = snapshot(j, j.scans[-1].time + timedelta(days=1))
    assert done.signed and done.main_state == "3" and done.latest == j.scans[-1]


def test_returned_to_sender_counts_as_signed():
    j = journey(3, "YT7510345712346", carrier="yto", scenario="refused_returned", shipped_at=SHIPPED)
    final = snapshot(j, j.scans[-1].time)
    assert (final.state, final.signed) == ("4", True)
    assert j.scans[-1].place == j.origin


def test_carrier_style_shows_in_the_wording():
    texts = {c: " ".join(s.context for s in journey(1, "NUM000000001", carrier=c, scenario="delivered",
                                                    shipped_at=SHIPPED).scans)
             for c in ("zto", "sf", "ems", "jd")}
    assert "转运中心" in texts["zto"] and "中通快递" in texts["zto"]
    assert "中转场" in texts["sf"] and "顺丰" in texts["sf"]
    assert "邮件处理中心" in texts["ems"] and "妥投" in texts["ems"]
    assert "分拣中心" in texts["jd"] and "京东物流" in texts["jd"]


def test_unknown_facts_fail_loudly():
    with pytest.raises(journeys.UnknownScenario, match="known: delivered"):
        journey(1, "NUM000000001", scenario="vanished")
    with pytest.raises(UnknownProvince, match="known: 北京"):
        journey(1, "NUM000000001", destination="火星")
    with pytest.raises(ValueError, match="aware"):
        journey(1, "NUM000000001", shipped_at=datetime(2024, 11, 11))
