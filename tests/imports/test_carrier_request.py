"""Requested / excluded carriers read from buyer messages and seller memos."""
import pytest

from imports.carrier_request import parse

CASES = [
    # (text, requested, excluded)
    ("发顺丰", ("sf",), ()),
    ("只发邮政", ("chinapost",), ()),
    ("加钱发顺丰", ("sf",), ()),
    ("请用京东", ("jd",), ()),
    ("指定韵达", ("yunda",), ()),
    ("能发顺丰吗？", ("sf",), ()),
    ("顺丰到付", ("sf",), ()),
    ("顺丰", ("sf",), ()),  # a memo that is just the carrier
    ("中通快递!", ("zto",), ()),
    ("请发京东快递谢谢", ("jd",), ()),
    ("麻烦改发极兔", ("jt",), ()),
    ("不要中通", (), ("zto",)),
    ("不要发中通", (), ("zto",)),
    ("别发圆通", (), ("yto",)),
    ("韵达不到", (), ("yunda",)),
    ("中通不到", (), ("zto",)),
    ("中通快递不到我们这里", (), ("zto",)),
    ("不发申通", (), ("sto",)),
    ("除了中通都可以", (), ("zto",)),
    ("不要极兔", (), ("jt",)),
    ("申通、中通都不要", (), ("sto", "zto")),
    ("不要中通和圆通", (), ("zto", "yto")),
    ("不要中通，圆通也不要", (), ("zto", "yto")),
    ("不要发顺丰了，发中通就行", ("zto",), ("sf",)),
    ("发顺丰不要发中通", ("sf",), ("zto",)),
    ("韵达快递到不了，麻烦发邮政", ("chinapost",), ("yunda",)),
    ("不要放驿站发顺丰", ("sf",), ()),  # 不要 is about the station, 发 about the carrier
    ("周末不在家发顺丰", ("sf",), ()),
    ("发中通，算了不要中通了", (), ("zto",)),  # the later statement wins
    # mentions without a wish
    ("中通的快递员态度好", (), ()),
    ("上次用中通丢件了", (), ()),
    ("上次用中通丢件了，这次发顺丰", ("sf",), ()),
    ("麻烦快点发货", (), ()),
    ("", (), ()),
]


@pytest.mark.parametrize(("text", "requested", "excluded"), CASES)
def test_buyer_message(text, requested, excluded):
    assert parse(text) == (requested, excluded)


def test_message_and_memo_are_read_together_memo_last():
    assert parse("发顺丰", "顺丰不到，改发邮政") == (("chinapost",), ("sf",))


def test_none_texts():
    assert parse(None, None) == ((), ())
