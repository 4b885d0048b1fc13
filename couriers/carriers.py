"""The carrier table: our codes, names and aliases, provider codes, waybill patterns.

Platform exports name carriers in free text (中通快递, 中通, ZTO, 中通速递 …); couriers'
APIs each have their own codes (Kuaidi100 ``com``, Kdniao ``ShipperCode``).  One table
maps all of them onto our short codes (``zto``, ``sf`` …) so the rest of the project
speaks one vocabulary.  Waybill number patterns overlap between carriers, so they are
a sanity check and a hint, never the authority: the platform's carrier field wins.
"""
from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Carrier:
    code: str
    name: str  # the Chinese name shops and buyers use
    name_en: str
    aliases: tuple[str, ...]
    kuaidi100: str  # Kuaidi100 `com`
    kdniao: str  # Kdniao `ShipperCode`
    patterns: tuple[str, ...]  # waybill regexes (sanity check, detection hint)
    site: str  # official tracking site
    hotline: str
    needs_phone: bool = False  # checks the receiver phone (Kuaidi100: 408 without; Kdniao: CustomerName)


CARRIERS: tuple[Carrier, ...] = (
    Carrier("zto", "中通快递", "ZTO Express", ("中通", "中通速递", "中通快运", "ZTO", "ZTO Express"),
            "zhongtong", "ZTO", (r"^(7[3-68]|6[28]|5[3-9]|9[0-4])\d{10,13}$",),
            "https://www.zto.com/", "95311", needs_phone=True),
    Carrier("yto", "圆通速递", "YTO Express", ("圆通", "圆通快递", "YTO", "YTO Express"),
            "yuantong", "YTO", (r"^YT\d{13}$", r"^[A-Z]{2}\d{10,13}$"),
            "https://www.yto.net.cn/", "95554"),
    Carrier("sto", "申通快递", "STO Express", ("申通", "申通速递", "STO"),
            "shentong", "STO", (r"^(77|88|66|55|43|22|44|33|11)\d{11,13}$",),
            "https://www.sto.cn/", "95543"),
    Carrier("yunda", "韵达快递", "Yunda Express", ("韵达", "韵达速递", "韵达快运", "YUNDA", "YD"),
            "yunda", "YD", (r"^[1-5]\d{14}$", r"^[1-5]\d{12}$"),
            "https://www.yundaex.com/", "95546"),
    Carrier("sf", "顺丰速运", "SF Express", ("顺丰", "顺丰快递", "顺丰速递", "顺丰特快", "顺丰标快", "SF", "SF Express"),
            "shunfeng", "SF", (r"^SF\d{13}$", r"^SF[A-Z0-9]\d{12}$", r"^\d{12}$"),
            "https://www.sf-express.com/", "95338", needs_phone=True),
    Carrier("jt", "极兔速递", "J&T Express", ("极兔", "极兔快递", "J&T", "JT", "J&T Express", "百世快递转极兔"),
            "jtexpress", "JTSD", (r"^JT\d{13}$", r"^JT\d{12}$"),
            "https://www.jtexpress.com.cn/", "956025"),
    Carrier("ems", "EMS", "EMS", ("EMS快递", "邮政EMS", "中国邮政EMS", "EMS经济快递", "E邮宝", "EMS标准快递"),
            "ems", "EMS", (r"^[159]\d{12}$", r"^E[A-Z]\d{9}[A-Z]{2}$"),
            "https://www.ems.com.cn/", "11183"),
    Carrier("chinapost", "邮政快递包裹", "China Post", ("中国邮政", "邮政", "邮政包裹", "邮政快递", "邮政小包", "中国邮政快递包裹", "平邮", "China Post"),
            "youzhengguonei", "YZPY", (r"^[19]\d{12}$", r"^[A-Z]{2}\d{9}[A-Z]{2}$"),
            "https://yjcx.ems.com.cn/", "11185"),
    Carrier("jd", "京东快递", "JD Logistics", ("京东", "京东物流", "京东配送", "JD", "JDL"),
            "jd", "JD", (r"^JD[A-Z0-9]{2}\d{11}$", r"^JD[VXK][A-Z]?\d{11,12}$"),
            "https://www.jdl.com/", "950616"),
    Carrier("deppon", "德邦快递", "Deppon", ("德邦", "德邦物流", "德邦速运", "DEPPON", "DBL"),
            "debangkuaidi", "DBL", (r"^DPK\d{12}$", r"^\d{10}$"),
            "https://www.deppon.com/", "95353"),
    Carrier("best", "百世快递", "BEST Express", ("百世", "百世汇通", "汇通", "汇通快递", "BEST", "HTKY"),
            "huitongkuaidi", "HTKY", (r"^(A|B|5[0-9])\d{11,13}$",),
            "https://www.800bestex.com/", "95320"),
    Carrier("zjs", "宅急送", "ZJS Express", ("宅急送快递", "ZJS"),
            "zhaijisong", "ZJS", (r"^\d{10}$", r"^A\d{9}$"),
            "https://www.zjs.com.cn/", "400-6789-000"),
    Carrier("uc", "优速快递", "UC Express", ("优速", "优速物流", "UC"),
            "youshuwuliu", "UC", (r"^(UC)?\d{12}$",),
            "https://www.uce.cn/", "95349"),
    Carrier("danniao", "丹鸟", "Danniao", ("丹鸟快递", "丹鸟物流", "DN"),
            "danniao", "DNWL", (r"^\d{13,15}$",),
            "https://www.danniao.com/", "400-7890-001"),
    Carrier("fengwang", "丰网速运", "Fengwang", ("丰网", "丰网快递"),
            "fengwang", "FWX", (r"^FW\d{13}$", r"^\d{12}$"),
            "https://www.fwx.cn/", "400-186-6666"),
    Carrier("sfky", "顺丰快运", "SF Freight", ("顺丰物流", "顺心捷达"),
            "shunfengkuaiyun", "SX", (r"^SF\d{13}$",),
            "https://www.sf-express.com/", "95338", needs_phone=True),
    Carrier("annengwuliu", "安能物流", "ANE Logistics", ("安能", "安能快递", "安能快运"),
            "annengwuliu", "ANE", (r"^\d{11,13}$",),
            "https://www.ane56.com/", "4001-000-000"),
    Carrier("kuayue", "跨越速运", "KYE", ("跨越", "跨越快递"),
            "kuayue", "KYSY", (r"^KY\d{13}$", r"^\d{11}$"),
            "https://www.ky-express.com/", "4008-098-098"),
)

_BY_CODE = {c.code: c for c in CARRIERS}
_BY_KUAIDI100 = {c.kuaidi100: c for c in CARRIERS}
_BY_KDNIAO = {c.kdniao: c for c in CARRIERS}
_COMPILED = {c.code: tuple(re.compile(p, re.IGNORECASE) for p in c.patterns) for c in CARRIERS}


def _alias_key(text: str) -> str:
    return re.sub(r"[\s()（）\[\]【】·\-_]", "", text).upper()


_BY_ALIAS: dict[str, Carrier] = {}
for _c in CARRIERS:
    for _name in (_c.code, _c.name, _c.name_en, *_c.aliases):
        _BY_ALIAS.setdefault(_alias_key(_name), _c)
# Names that contain another carrier's name must be matched longest first.
_ALIASES_LONGEST_FIRST = sorted(
    ((k, c) for k, c in _BY_ALIAS.items() if not k.isascii() or len(k) >= 3),
    key=lambda kc: -len(kc[0]),
)


class UnknownCarrier(KeyError):
    def __str__(self) -> str:
        known = ", ".join(c.code for c in CARRIERS)
        return f"unknown carrier {self.args[0]!r}; known: {known}"


def get(code: str) -> Carrier:
    """The carrier with our code; raises ``UnknownCarrier`` naming the known codes."""
    try:
        return _BY_CODE[code]
    except KeyError:
        raise UnknownCarrier(code) from None


def by_kuaidi100(com: str) -> Carrier | None:
    return _BY_KUAIDI100.get(com)


def by_kdniao(shipper_code: str) -> Carrier | None:
    return _BY_KDNIAO.get(shipper_code)


def normalize(name: str | None) -> str | None:
    """Our carrier code for a free-text carrier name as exports write it, else None.

    Exact aliases first (中通 / 中通快递 / ZTO), then the longest alias contained in the
    text (e.g. "中通快递(ZTO)-揽件" → zto).
    """
    if not name:
        return None
    key = _alias_key(name)
    if not key:
        return None
    hit = _BY_ALIAS.get(key)
    if hit:
        return hit.code
    for alias, carrier in _ALIASES_LONGEST_FIRST:
        if alias in key:
            return carrier.code
    return None


def matches(code: str, waybill: str) -> bool:
    """Whether a waybill number fits the carrier's known patterns."""
    return any(p.match(waybill) for p in _COMPILED[get(code).code])


def guess(waybill: str) -> tuple[str, ...]:
    """Carriers whose patterns fit the number (often several: the spaces overlap)."""
    return tuple(code for code, pats in _COMPILED.items() if any(p.match(waybill) for p in pats))


def names_in_text(text: str) -> list[tuple[int, str]]:
    """(position, carrier code) of every carrier named in free text, in reading order.

    Used to read buyer messages and seller memos ("发顺丰", "不要中通").  Longer names win
    over the shorter ones they contain; ASCII aliases shorter than 3 letters are ignored
    (too many false hits such as "SF" inside a product code are still possible for 2).
    """
    found: list[tuple[int, int, str]] = []
    upper = text.upper()
    taken = [False] * len(upper)
    for alias, carrier in _ALIASES_LONGEST_FIRST:
        start = upper.find(alias)
        while start != -1:
            end = start + len(alias)
            if not any(taken[start:end]):
                found.append((start, end, carrier.code))
                for i in range(start, end):
                    taken[i] = True
            start = upper.find(alias, end)
    # Two-letter ASCII codes (SF, JD) only as a whole word.
    for m in re.finditer(r"(?<![A-Z0-9])(SF|JD)(?![A-Z0-9])", upper):
        if not any(taken[m.start():m.end()]):
            found.append((m.start(), m.end(), "sf" if m.group(1) == "SF" else "jd"))
    found.sort()
    return [(start, code) for start, _end, code in found]
