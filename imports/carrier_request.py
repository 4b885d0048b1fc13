"""Which carriers a buyer message or seller memo asks for, and which it rules out.

    text ─► clauses (split at punctuation and spaces) ─► carrier mentions (couriers.carriers)
         ─► mentions joined by 、/和/或 form one group ─► the cue nearest before the group,
            else a cue right after it, decides: requested, excluded or nothing

Cues are tables, not if-chains.  The nearest cue wins, and on a tie the longer one, so
"不要发顺丰" is an exclusion although it ends in the request cue "发".  A weak cue before
("只有邮政") yields to a cue after ("只有中通不到"); names side by side share the cue after
them ("韵达中通都不到") and the cue before them ("不要中通圆通").  "除了" rules the carrier out when the others are fine ("除了中通都
可以") and asks for it when they are refused ("除了顺丰都不要").  A clause about the past
("上次中通丢件了") or a mention without a cue ("中通的快递员态度好") says nothing.  When one
carrier is both requested and excluded, the later statement wins.
"""
from __future__ import annotations

import re

from couriers.carriers import CARRIERS, names_in_text

REQUEST, EXCLUDE = "request", "exclude"
EXCEPT = "except"  # 除了: what follows the carrier decides (see ``_excepted``)

# Cues written before the carrier name: (phrase, meaning).
CUES_BEFORE: tuple[tuple[str, str], ...] = (
    ("不要发", EXCLUDE), ("不要用", EXCLUDE), ("不要走", EXCLUDE), ("不要", EXCLUDE),
    ("别发", EXCLUDE), ("别用", EXCLUDE), ("别走", EXCLUDE), ("千万别", EXCLUDE), ("别", EXCLUDE),
    ("不发", EXCLUDE), ("不用", EXCLUDE), ("不走", EXCLUDE), ("不能发", EXCLUDE), ("不能用", EXCLUDE),
    ("不接受", EXCLUDE), ("不收", EXCLUDE), ("拒收", EXCLUDE), ("勿发", EXCLUDE), ("勿用", EXCLUDE),
    ("禁发", EXCLUDE), ("禁止", EXCLUDE), ("除了", EXCEPT), ("除", EXCEPT), ("不想要", EXCLUDE), ("不想用", EXCLUDE),
    ("发", REQUEST), ("用", REQUEST), ("走", REQUEST), ("要", REQUEST), ("寄", REQUEST),
    ("指定", REQUEST), ("只发", REQUEST), ("只走", REQUEST), ("只用", REQUEST), ("改发", REQUEST),
    ("改用", REQUEST), ("改成", REQUEST), ("换成", REQUEST), ("换", REQUEST), ("安排", REQUEST),
    ("加钱发", REQUEST), ("补差价发", REQUEST), ("默认", REQUEST), ("请用", REQUEST), ("选择", REQUEST),
    ("只收", REQUEST), ("只能收", REQUEST), ("只能收到", REQUEST),
)
# Cues before the name that a cue after it overrides.
WEAK_CUES_BEFORE: tuple[tuple[str, str], ...] = (("只有", REQUEST), ("只能", REQUEST))
# Cues written right after the carrier name (the text must start with one).
CUES_AFTER: tuple[tuple[str, str], ...] = (
    ("不到", EXCLUDE), ("到不了", EXCLUDE), ("送不到", EXCLUDE), ("不送", EXCLUDE), ("不派", EXCLUDE),
    ("不行", EXCLUDE), ("不要", EXCLUDE), ("不可以", EXCLUDE), ("太慢", EXCLUDE), ("很慢", EXCLUDE),
    ("不能到", EXCLUDE), ("不能发", EXCLUDE), ("不收", EXCLUDE), ("都不要", EXCLUDE), ("都不行", EXCLUDE),
    ("也不要", EXCLUDE), ("也不行", EXCLUDE), ("都不到", EXCLUDE), ("经常丢件", EXCLUDE),
    ("就行", REQUEST), ("就可以", REQUEST), ("也行", REQUEST), ("可以", REQUEST), ("到付", REQUEST),
    ("包邮", REQUEST), ("发货", REQUEST), ("优先", REQUEST), ("谢谢", REQUEST), ("能到", REQUEST),
    ("可以到", REQUEST), ("能送到", REQUEST),
)
# What may stand between "除了 X" and the verdict on the others: "除顺丰外其他都不要".
_EXCEPT_FILLER = re.compile(r"^(?:以外|之外|外)?(?:的)?(?:其他|其它|别的)?(?:快递|的)*")
# A clause that is nothing but the carrier (seller memo "顺丰", "中通快递!") is a request.
_BARE = re.compile(r"^(?:快递|速运|速递|物流)?[!！~。.]*$")
# Clauses about an earlier parcel state no wish for this one.
_PAST = ("上次", "上回", "以前", "之前", "那次", "去年")
_CLAUSES = re.compile(r"[，,。;；！!？?\s]+")
_NAMES_LONGEST_FIRST = sorted(
    {n.upper() for c in CARRIERS for n in (c.name, c.name_en, c.code, *c.aliases)}, key=len, reverse=True
)
_JOINERS = frozenset({"、", "和", "或", "或者", "跟", "/", "及"})


def parse(*texts: str | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(requested carrier codes, excluded carrier codes), each in reading order."""
    verdicts: list[tuple[str, str]] = []
    for text in texts:
        if not text:
            continue
        for clause in _CLAUSES.split(text):
            if clause and not any(p in clause for p in _PAST):
                verdicts.extend(_clause_verdicts(clause))
    final: dict[str, str] = {}
    for code, verdict in verdicts:
        final.pop(code, None)
        final[code] = verdict
    requested = tuple(c for c, v in final.items() if v == REQUEST)
    excluded = tuple(c for c, v in final.items() if v == EXCLUDE)
    return requested, excluded


def _clause_verdicts(clause: str) -> list[tuple[str, str]]:
    mentions = _mentions(clause)
    out: list[tuple[str, str]] = []
    prev_end, prev_verdict = 0, None
    for group in _groups(clause, mentions):
        start, end = group[0][0], group[-1][1]
        before, after = clause[prev_end:start], _after(clause, mentions, end)
        verdict = _cue_before(before, CUES_BEFORE)
        if verdict == EXCEPT:
            verdict = _excepted(after)
        verdict = (verdict or _cue_after(after) or _cue_before(before, WEAK_CUES_BEFORE)
                   or (REQUEST if len(mentions) == 1 and not clause[:start] and _BARE.match(clause[end:]) else None)
                   or (prev_verdict if prev_end and not before else None))  # "不要中通圆通": the cue before both
        if verdict:
            out.extend((code, verdict) for _s, _e, code in group)
        prev_end, prev_verdict = end, verdict
    return out


def _after(clause: str, mentions: list[tuple[int, int, str]], end: int) -> str:
    """The text from ``end`` to the next mention, read past names right beside it: in
    "韵达中通都不到" what follows 韵达 is "都不到"."""
    for start, stop, _code in mentions:
        if start == end:
            end = stop
    nxt = next((m[0] for m in mentions if m[0] >= end), len(clause))
    return clause[end:nxt]


def _mentions(clause: str) -> list[tuple[int, int, str]]:
    upper = clause.upper()
    spans = []
    for pos, code in names_in_text(clause):
        name = next((a for a in _NAMES_LONGEST_FIRST if upper.startswith(a, pos)), upper[pos])
        spans.append((pos, pos + len(name), code))
    return spans


def _groups(clause: str, mentions: list[tuple[int, int, str]]) -> list[list[tuple[int, int, str]]]:
    groups: list[list[tuple[int, int, str]]] = []
    for m in mentions:
        if groups and clause[groups[-1][-1][1]:m[0]].strip() in _JOINERS:
            groups[-1].append(m)
        else:
            groups.append([m])
    return groups


def _cue_before(window: str, cues: tuple[tuple[str, str], ...]) -> str | None:
    best: tuple[int, int, str] | None = None
    for phrase, meaning in cues:
        at = window.rfind(phrase)
        if at >= 0:
            key = (at + len(phrase), len(phrase), meaning)
            if best is None or key[:2] > best[:2]:
                best = key
    return best[2] if best else None


def _cue_after(window: str) -> str | None:
    window = window.lstrip("的了")
    hits = [(len(p), m) for p, m in CUES_AFTER if window.startswith(p)]
    return max(hits)[1] if hits else None


def _excepted(after: str) -> str:
    """The verdict on X in "除了 X …": the rest refused means X is the one wanted."""
    return REQUEST if _cue_after(_EXCEPT_FILLER.sub("", after)) == EXCLUDE else EXCLUDE
