"""The policy file: documented defaults, strict validation, and edits that change outcomes."""
from __future__ import annotations

import dataclasses
from datetime import datetime, timezone
import tomllib
import pytest

from tracker import config
from tracker import policy as policies
from tracker.classify import classify, evaluate
from classify_helpers import D, H, NOW, order, parcel


def test_the_shipped_file_states_the_defaults():
    shipped = policies.load(policies.DEFAULT_FILE)
    assert dataclasses.replace(shipped, source="defaults") == policies.DEFAULT


def test_tracker_policy_file_overrides(tmp_path):
    path = tmp_path / "lead.toml"
    path.write_text("[shipping]\ndeadline_hours = 24\n", encoding="utf-8")
    config.override(config.Settings(instance_dir=tmp_path, policy_file=str(path)))
    loaded = policies.load()
    assert loaded.source == "lead.toml" and loaded.ship_deadline == 24 * H
    assert loaded.stall_limits == policies.DEFAULT.stall_limits  # keys left out keep their defaults


@pytest.mark.parametrize("toml, message", [
    ("[stall_hours]\nin_transit = -3", "policy.toml: stall_hours.in_transit must be a positive number, got -3"),
    ("[stall_hours]\nin_transt = 3", "unknown key(s) stall_hours.in_transt"),
    ("[shipping]\norigin_province = \"火星\"", "shipping.origin_province must be a mainland province name"),
    ("[transit]\noverdue_factor = 0.5", "transit.overdue_factor must be a number ≥ 1, got 0.5"),
    ("[[promotions]]\nname = \"双十一\"\nstart = \"2026-11-11\"\nend = \"2026-11-01\"",
     "promotions[0].end must be on or after start 2026-11-11"),
    ("[[disruptions]]\nname = \"x\"\nreason = \"台风\"\nprovinces = [\"海南\"]\nstart = \"2026-11-1\"\nend = \"2026-11-02\"",
     "disruptions[0].start must be a date \"YYYY-MM-DD\""),
    ("[replies]\nmax_contacts = true", "replies.max_contacts must be a positive whole number, got True"),
    ("[holidays]\nextra = [\"next monday\"]", "holidays.extra must be a list of dates"),
])
def test_bad_values_name_the_key(toml, message):
    with pytest.raises(policies.PolicyError) as err:
        policies.parse(tomllib.loads(toml), "policy.toml")
    assert message in str(err.value)


def test_a_broken_file_is_a_clear_error(tmp_path):
    path = tmp_path / "policy.toml"
    path.write_text("[shipping\n", encoding="utf-8")
    with pytest.raises(policies.PolicyError, match="not valid TOML"):
        policies.load(path)


def edited(toml: str) -> policies.Policy:
    return policies.parse(tomllib.loads(toml), "edited.toml")


def kinds(snapshot, policy):
    return {f.kind for f in classify(snapshot, policy, NOW)}


def test_a_shorter_shipping_deadline_makes_not_shipped_appear_earlier():
    snapshot = order("awaiting_shipment", paid=30 * H)
    assert kinds(snapshot, policies.DEFAULT) == set()
    assert kinds(snapshot, edited("[shipping]\ndeadline_hours = 24")) == {"not_shipped"}


def test_a_disruption_notice_extends_the_stall_limit_and_marks_force_majeure():
    snapshot = order("shipped", parcel(first=59 * H, last=49 * H), shipped=60 * H)
    notice = edited('[[disruptions]]\nname = "寒潮暴雪"\nreason = "暴雪"\nprovinces = ["北京"]\n'
                    'start = "2026-11-22"\nend = "2026-11-26"\nextra_hours = 48')
    assert kinds(snapshot, notice) == set()
    (f,) = classify(snapshot, notice, NOW + 48 * H)
    assert f.kind == "stalled" and f.force_majeure and f.evidence["disruption_reason"] == "暴雪"
    assert "暴雪（寒潮暴雪）属不可抗力" in f.text
    elsewhere = edited('[[disruptions]]\nname = "台风"\nreason = "台风"\nprovinces = ["海南"]\n'
                       'start = "2026-11-22"\nend = "2026-11-26"')
    assert kinds(snapshot, elsewhere) == {"stalled"}


def test_longer_stall_limits_in_the_policy_file_hold_stalls_back():
    snapshot = order("shipped", parcel(first=59 * H, last=49 * H), shipped=60 * H)
    assert kinds(snapshot, edited("[stall_hours]\nin_transit = 72")) == set()


def test_a_promotion_window_stretches_shipping_and_stall_limits():
    promo = edited('[[promotions]]\nname = "黑五"\nstart = "2026-11-20"\nend = "2026-11-30"\ndeadline_hours = 96\n'
                   'stall_factor = 1.5')
    assert kinds(order("awaiting_shipment", paid=60 * H), promo) == set()
    assert kinds(order("awaiting_shipment", paid=60 * H), policies.DEFAULT) == {"not_shipped"}
    stalled = order("shipped", parcel(first=80 * H, last=73 * H), shipped=81 * H)
    (f,) = classify(stalled, edited('[[promotions]]\nname = "黑五"\nstart = "2026-11-20"\nend = "2026-11-30"\n'
                                    'stall_factor = 1.5'), NOW)
    assert f.evidence["limit_hours"] == 72 and f.evidence["promotion"] == "黑五" and "大促期间" in f.text


def test_statutory_holidays_push_the_shipping_deadline():
    national_day = policies.DEFAULT
    paid = NOW.replace(month=9, day=30)  # the day before 国庆
    snapshot = dataclasses.replace(order("awaiting_shipment"), paid_at=paid)
    assert evaluate(snapshot, national_day, paid + 3 * D).findings == []
    assert [f.kind for f in evaluate(snapshot, national_day, paid + 10 * D).findings] == ["not_shipped"]
    off = edited("[holidays]\nextend_deadlines = false")
    assert [f.kind for f in evaluate(snapshot, off, paid + 3 * D).findings] == ["not_shipped"]


def test_years_the_calendar_package_does_not_know_have_no_holidays_but_extras_count():
    assert policies.holidays_known(2026) and not policies.holidays_known(2040)
    extra = edited('[holidays]\nextra = ["2040-01-02"]')
    start = NOW.replace(year=2040, month=1, day=1)
    assert extra.holiday_days(start, start + 3 * D) == 1
    assert policies.DEFAULT.holiday_days(start, start + 3 * D) == 0


def test_routes_cover_all_31_provinces():
    shorts = [p for region in policies.REGIONS.values() for p in region]
    assert len(shorts) == len(set(shorts)) == 31
    assert all(p in shorts for pair in policies.NEIGHBOURS for p in pair)
    p = policies.DEFAULT
    assert p.route("浙江", "浙江")[0] == "same_province"
    assert p.route("浙江", "江苏")[0] == "neighbour"
    assert p.route("浙江", "山东")[0] == "same_region"
    assert p.route("浙江", "北京")[0] == "cross_region"
    assert p.route("浙江", "西藏") == ("remote", 7 * D)


def test_schedule_takes_its_numbers_from_the_policy():
    from tracker import schedule

    wired = schedule.Policy(**policies.DEFAULT.schedule_overrides())
    assert wired.stall_limit("in_transit") == 48 * H and wired.pickup_deadline == 24 * H
    assert wired.auto_confirm_after == 10 * D
    # Shipped in the 双十一 window: the schedule stretches the stall limit as classification does.
    in_promo = datetime(2026, 11, 11, 4, tzinfo=timezone.utc)
    assert wired.stall_limit("in_transit", in_promo) == 72 * H
    assert wired.stall_limit("in_transit", datetime(2026, 12, 20, tzinfo=timezone.utc)) == 48 * H
    # an edited route table reaches the poll schedule, class by class
    edited_routes = edited("[transit]\nsame_city = 2\nneighbour = 4\nsame_region = 5")
    rewired = schedule.Policy(**edited_routes.schedule_overrides())
    assert (rewired.transit_same_city, rewired.transit_neighbour, rewired.transit_same_region) == (2 * D, 4 * D, 5 * D)



def test_a_disruption_that_began_after_the_parcel_was_already_late_is_not_its_cause():
    # last scan 8 days before NOW; the snow began 2 days before NOW, long after the 48 h limit ran out
    snapshot = order("shipped", parcel(first=199 * H, last=192 * H), shipped=200 * H)
    notice = edited('[[disruptions]]\nname = "寒潮暴雪"\nreason = "暴雪"\nprovinces = ["北京"]\n'
                    f'start = "{NOW - 48 * H:%Y-%m-%d}"\nend = "{NOW + 96 * H:%Y-%m-%d}"\nextra_hours = 240')
    (f,) = classify(snapshot, notice, NOW)
    assert f.kind == "stalled" and not f.force_majeure and "disruption_reason" not in f.evidence
