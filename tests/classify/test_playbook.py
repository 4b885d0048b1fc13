"""Reply scripts: never a forbidden phrase, one brief apology then options with times, never the
same reply twice to one buyer, and a hand-over after refused plans or many contacts."""
from __future__ import annotations

import re
import tomllib
from itertools import product

import pytest

from tracker import policy as policies
from tracker.playbook import PLAYS, Contact, suggest
from tracker.classify import KINDS

P = policies.DEFAULT
CONTEXTS = [
    {"carrier": "zto", "waybill": "73100000000001", "force_majeure": False},
    {"carrier": "yto", "waybill": "YT1234567890123", "force_majeure": True, "disruption_reason": "台风"},
    {"carrier": "zto", "requested": ["sf"], "waybill": "73100000000002"},
    {},
]
APOLOGY = re.compile(r"抱歉|对不起|不好意思")
OPTION = re.compile(r"[①②③]")
TIME = re.compile(r"\d+:\d\d|\d+(?:–\d+)? ?(?:小时|天)|今天|明天|当天|马上|立刻|现在")


def every_reply(kind, evidence):
    """All replies a buyer can get for this case, contact after contact."""
    contacts, seen = [], []
    for _ in range(6):
        for s in suggest(kind, evidence, contacts, P):
            if s.reply:
                seen.append(s.reply)
                contacts.append(Contact(s.reply.code, "pending"))
                break
    return seen


def test_every_kind_has_a_play():
    assert set(PLAYS) == set(KINDS)


@pytest.mark.parametrize("kind, evidence", list(product(KINDS, CONTEXTS)))
def test_replies_are_free_of_forbidden_phrases_and_in_the_house_style(kind, evidence):
    for step in suggest(kind, evidence, [], P) + suggest(kind, evidence, [Contact(None, "refused")] * 2, P):
        if step.reply is None:
            continue
        text = step.reply.text
        assert not [p for p in P.forbidden_phrases if p in text], text
        apologies = APOLOGY.findall(text)
        assert len(apologies) == 1 and text.index(apologies[0]) < 12, text  # one, at the start
        options = OPTION.findall(text)
        assert 2 <= len(options) <= 3 and TIME.search(text), text
        assert "{" not in text and "}" not in text


@pytest.mark.parametrize("kind", KINDS)
def test_the_same_reply_is_never_suggested_twice_to_one_buyer(kind):
    replies = every_reply(kind, CONTEXTS[0])
    assert len({r.code for r in replies}) == len(replies)
    assert len({r.text for r in replies}) == len(replies)


def test_after_two_refused_plans_hand_over_to_a_lead():
    refused = [Contact("urge_courier.1", "refused"), Contact("urge_courier.2", "refused")]
    steps = suggest("stalled", CONTEXTS[0], refused, P)
    assert steps[0].code == "handover_lead" and steps[0].reply is not None
    assert all(s.reply is None for s in steps[1:])


def test_after_n_contacts_hand_over_to_a_lead():
    contacts = [Contact(None, "pending")] * P.max_contacts
    assert suggest("damaged", {}, contacts, P)[0].code == "handover_lead"
    assert suggest("damaged", {}, contacts[:-1], P)[0].code == "ask_photos"


def test_when_every_variant_was_used_the_next_step_is_a_lead():
    used = [Contact("ship_today.1", "accepted"), Contact("ship_today.2", "accepted")]
    lenient = policies.parse(tomllib.loads("[replies]\nmax_contacts = 10"), "x")
    assert suggest("not_shipped", {}, used, lenient)[0].code == "handover_lead"


def test_no_tracking_links_the_couriers_site_and_hotline():
    (first, *rest) = suggest("no_tracking", CONTEXTS[0], [], P)
    assert "https://www.zto.com/" in first.reply.text and "95311" in first.reply.text
    assert "point_to_site" in [s.code for s in rest]


def test_context_picks_the_steps():
    weather = [s.code for s in suggest("stalled", CONTEXTS[1], [], P)]
    normal = [s.code for s in suggest("stalled", CONTEXTS[0], [], P)]
    assert weather[0] == "book_loss" and "explain_force_majeure" in weather
    assert normal == ["urge_courier"]
    assert "refund_difference" in [s.code for s in suggest("wrong_carrier", CONTEXTS[2], [], P)]
    assert "refund_difference" not in [s.code for s in suggest("wrong_carrier", CONTEXTS[0], [], P)]


def test_a_phrase_the_lead_forbids_drops_the_variant_that_uses_it():
    strict = policies.parse(tomllib.loads('[replies]\nforbidden_phrases = ["催件"]'), "x")
    reply = next(s.reply for s in suggest("stalled", CONTEXTS[0], [], strict) if s.reply)
    assert "催件" not in reply.text and reply.code == "urge_courier.2"
