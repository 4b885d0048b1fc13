"""Province / city / district from a receiver address.

Taobao's 收货地址 is one string, almost always "浙江省 杭州市 西湖区 文三路 100号(310000)":
the first space-separated tokens give the answer without any library, and the result
is cached by those tokens (a promotion's orders share a few thousand districts).  An
address without spaces (JD: "江西南昌市青山湖区…") is read by province-name prefix and the
usual 市/区/县 suffixes.  Only when both fail (no province name up front) do we ask
``cpca``, which costs about half a millisecond a call, cached by the address prefix.
PDD and Douyin have separate 省/市/区 columns; ``province_name`` normalizes those.
"""
from __future__ import annotations

import re
from functools import lru_cache

# The 34 province-level divisions: official name, then the short forms people write.
PROVINCES: tuple[tuple[str, ...], ...] = (
    ("北京市", "北京"), ("天津市", "天津"), ("上海市", "上海"), ("重庆市", "重庆"),
    ("河北省", "河北"), ("山西省", "山西"), ("辽宁省", "辽宁"), ("吉林省", "吉林"),
    ("黑龙江省", "黑龙江"), ("江苏省", "江苏"), ("浙江省", "浙江"), ("安徽省", "安徽"),
    ("福建省", "福建"), ("江西省", "江西"), ("山东省", "山东"), ("河南省", "河南"),
    ("湖北省", "湖北"), ("湖南省", "湖南"), ("广东省", "广东"), ("海南省", "海南"),
    ("四川省", "四川"), ("贵州省", "贵州"), ("云南省", "云南"), ("陕西省", "陕西"),
    ("甘肃省", "甘肃"), ("青海省", "青海"), ("台湾省", "台湾"),
    ("内蒙古自治区", "内蒙古", "内蒙古省"), ("广西壮族自治区", "广西", "广西省", "广西自治区"),
    ("西藏自治区", "西藏", "西藏省"), ("宁夏回族自治区", "宁夏", "宁夏省", "宁夏自治区"),
    ("新疆维吾尔自治区", "新疆", "新疆省", "新疆自治区"),
    ("香港特别行政区", "香港", "香港特区"), ("澳门特别行政区", "澳门", "澳门特区"),
)
MUNICIPALITIES = frozenset({"北京市", "天津市", "上海市", "重庆市"})

_BY_NAME = {name: names[0] for names in PROVINCES for name in names}
_PREFIXES = sorted(_BY_NAME, key=len, reverse=True)
_CITY_ENDINGS = ("市", "州", "盟", "地区", "区", "县")
_DISTRICT_ENDINGS = ("区", "县", "市", "旗", "林区", "特区")
_CPCA_PREFIX = 24  # characters that decide province/city/district


def province_name(text: str | None) -> str | None:
    """Official province name from 浙江 / 浙江省 / 浙江省杭州市…, else None."""
    if not text:
        return None
    hit = _BY_NAME.get(text)
    if hit:
        return hit
    for prefix in _PREFIXES:
        if text.startswith(prefix):
            return _BY_NAME[prefix]
    return None


def split_address(address: str | None) -> tuple[str | None, str | None, str | None]:
    """(province, city, district) of an address; Nones when it cannot tell."""
    if not address:
        return None, None, None
    tokens = address.split(None, 3)
    if len(tokens) >= 2:
        fast = _from_tokens(*tokens[:3])
        if fast[0]:
            return fast
    prefix = address[:_CPCA_PREFIX]
    return _from_prefix(prefix) or _from_cpca(prefix)


_CITY = re.compile(r"^(.{1,9}?(?:自治州|地区|盟|市))")
_DISTRICT = re.compile(r"^(.{1,7}?(?:区|县|市|旗))")


# Prefectures whose name starts with another province's short name (青海's 海南州 is not 海南省).
_LOOKALIKES = {"海南藏族自治州": ("青海省", "海南藏族自治州"), "海南州": ("青海省", "海南藏族自治州")}


@lru_cache(maxsize=8192)
def _from_prefix(prefix: str) -> tuple[str | None, str | None, str | None] | None:
    """"江西南昌市青山湖区…" without spaces (JD): province by name, then the usual suffixes."""
    lookalike = next((name for name in _LOOKALIKES if prefix.startswith(name)), None)
    if lookalike:
        m = _DISTRICT.match(prefix[len(lookalike):])
        return (*_LOOKALIKES[lookalike], m.group(1) if m else None)
    head = next((p for p in _PREFIXES if prefix.startswith(p)), None)
    if head is None:
        return None
    province, rest = _BY_NAME[head], prefix[len(head):]
    if province in MUNICIPALITIES:
        city = province
        again = next((p for p in _PREFIXES if _BY_NAME[p] == province and rest.startswith(p)), "")
        rest = rest[len(again):]  # "北京北京市朝阳区"
    else:
        m = _CITY.match(rest)
        if not m:
            return province, None, None
        city, rest = m.group(1), rest[m.end():]
    m = _DISTRICT.match(rest)
    return province, city, m.group(1) if m else None


@lru_cache(maxsize=8192)
def _from_tokens(first: str, second: str, third: str = "") -> tuple[str | None, str | None, str | None]:
    province = _BY_NAME.get(first)
    if province is None:
        return None, None, None
    city = second if second.endswith(_CITY_ENDINGS) else None
    if province in MUNICIPALITIES and (city is None or city in ("市辖区", "县")):
        city = province
    if city is None:
        return province, None, None
    if city == province and second.endswith(("区", "县")) and second not in ("市辖区", "县"):
        return province, city, second  # "北京 朝阳区 …" (municipality without the city token)
    district = third if third.endswith(_DISTRICT_ENDINGS) else None
    return province, city, district


@lru_cache(maxsize=8192)
def _from_cpca(prefix: str) -> tuple[str | None, str | None, str | None]:
    import cpca  # imported on first need: it loads its division tables (~0.3 s)

    row = cpca.transform([prefix]).iloc[0]
    province = row["省"] or None
    city = row["市"] or None
    district = row["区"] or None
    if province in MUNICIPALITIES and city in (None, "市辖区", "县"):
        city = province
    return province, city, district
