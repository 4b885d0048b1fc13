"""Where simulated parcels go: provinces, a few real cities each, their sorting hubs.

Pure data plus lookups.  Enough geography to make route classes (same city, same
province, neighbour, cross-region, remote) and scan texts look like the real thing:
area codes are the national adcodes Kuaidi100 prefixes with ``CN`` and pads to 12
digits; hubs are the big transfer centres the tongda couriers name in their scans.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Place:
    """A scan's whereabouts, as Kuaidi100 reports it (areaCode, areaName, areaCenter…)."""

    province: str  # short name: 浙江
    province_full: str  # 浙江省
    city: str  # 杭州市
    district: str  # 西湖区, "" for a city-level place
    code: str  # CN330106000000
    center: str | None  # "lng,lat", None when unknown (Kuaidi100 sends null)
    pinyin: str | None
    # Rendered once: every answer repeats them for each scan.
    area_name: str = field(init=False)  # 浙江,杭州市,西湖区
    location: str = field(init=False)  # 浙江省杭州市西湖区

    def __post_init__(self) -> None:
        object.__setattr__(self, "area_name",
                           ",".join(p for p in (self.province, self.city, self.district) if p))
        object.__setattr__(self, "location", f"{self.province_full}{self.city}{self.district}")

    @property
    def city_short(self) -> str:
        return self.city.removesuffix("市")


@dataclass(frozen=True, slots=True)
class City:
    name: str
    district: str
    adcode: str  # the district's six-digit adcode
    center: str
    pinyin: str  # of the district
    hub: str  # the sorting hub serving it: 杭州 → 杭州转运中心


@dataclass(frozen=True, slots=True)
class Province:
    short: str
    full: str
    remote: bool  # 偏远: 5–7 days and surcharges
    cities: tuple[City, ...]  # the first is the capital

    def place(self, city: City) -> Place:
        return Place(self.short, self.full, city.name, city.district, f"CN{city.adcode}000000",
                     city.center, city.pinyin)

    def hub_place(self, city: City) -> Place:
        """City level, as hub scans are reported (the hub has no district)."""
        return Place(self.short, self.full, city.name, "", f"CN{city.adcode[:4]}00000000",
                     None, None)

    def bare_place(self, city_name: str) -> Place:
        """A city we have no table row for: province-level code, no coordinates."""
        return Place(self.short, self.full, city_name, "", f"CN{self.cities[0].adcode[:2]}0000000000",
                     None, None)


def _p(short: str, full: str, *cities: City, remote: bool = False) -> Province:
    return Province(short, full, remote, cities)


C = City
PROVINCES: tuple[Province, ...] = (
    _p("北京", "北京市", C("北京市", "朝阳区", "110105", "116.443136,39.921444", "chao yang qu", "北京")),
    _p("天津", "天津市", C("天津市", "南开区", "120104", "117.150738,39.138203", "nan kai qu", "天津")),
    _p("河北", "河北省", C("石家庄市", "长安区", "130102", "114.539395,38.036347", "chang an qu", "石家庄"),
       C("保定市", "竞秀区", "130602", "115.45883,38.877152", "jing xiu qu", "保定")),
    _p("山西", "山西省", C("太原市", "小店区", "140105", "112.565524,37.736865", "xiao dian qu", "太原")),
    _p("内蒙古", "内蒙古自治区",
       C("呼和浩特市", "新城区", "150102", "111.665544,40.858289", "xin cheng qu", "呼和浩特"),
       remote=True),
    _p("辽宁", "辽宁省", C("沈阳市", "和平区", "210102", "123.420368,41.789833", "he ping qu", "沈阳")),
    _p("吉林", "吉林省", C("长春市", "朝阳区", "220104", "125.288319,43.833513", "chao yang qu", "长春")),
    _p("黑龙江", "黑龙江省", C("哈尔滨市", "南岗区", "230103", "126.669653,45.760069", "nan gang qu", "哈尔滨")),
    _p("上海", "上海市", C("上海市", "浦东新区", "310115", "121.544346,31.221461", "pu dong xin qu", "上海")),
    _p("江苏", "江苏省", C("南京市", "鼓楼区", "320106", "118.770182,32.066601", "gu lou qu", "南京"),
       C("苏州市", "吴中区", "320506", "120.632308,31.264494", "wu zhong qu", "苏州")),
    _p("浙江", "浙江省", C("杭州市", "西湖区", "330106", "120.130203,30.259324", "xi hu qu", "杭州"),
       C("金华市", "义乌市", "330782", "120.075058,29.306841", "yi wu shi", "义乌"),
       C("宁波市", "鄞州区", "330212", "121.546603,29.816511", "yin zhou qu", "宁波")),
    _p("安徽", "安徽省", C("合肥市", "蜀山区", "340104", "117.260521,31.851158", "shu shan qu", "合肥")),
    _p("福建", "福建省", C("福州市", "鼓楼区", "350102", "119.30347,26.080429", "gu lou qu", "福州"),
       C("泉州市", "晋江市", "350582", "118.551682,24.781636", "jin jiang shi", "泉州")),
    _p("江西", "江西省", C("南昌市", "东湖区", "360102", "115.903526,28.698731", "dong hu qu", "南昌")),
    _p("山东", "山东省", C("济南市", "历下区", "370102", "117.076441,36.666465", "li xia qu", "济南"),
       C("临沂市", "兰山区", "371302", "118.347707,35.051729", "lan shan qu", "临沂")),
    _p("河南", "河南省", C("郑州市", "金水区", "410105", "113.660617,34.800004", "jin shui qu", "郑州")),
    _p("湖北", "湖北省", C("武汉市", "洪山区", "420111", "114.343796,30.500247", "hong shan qu", "武汉")),
    _p("湖南", "湖南省", C("长沙市", "岳麓区", "430104", "112.93158,28.234889", "yue lu qu", "长沙")),
    _p("广东", "广东省", C("广州市", "白云区", "440111", "113.273238,23.157367", "bai yun qu", "广州"),
       C("深圳市", "宝安区", "440306", "113.883831,22.554986", "bao an qu", "深圳"),
       C("东莞市", "南城街道", "441900", "113.751765,23.020536", "nan cheng jie dao", "东莞")),
    _p("广西", "广西壮族自治区", C("南宁市", "青秀区", "450103", "108.494024,22.785879", "qing xiu qu", "南宁")),
    _p("海南", "海南省", C("海口市", "美兰区", "460108", "110.356566,20.03074", "mei lan qu", "海口"),
       C("三亚市", "吉阳区", "460203", "109.578,18.281", "ji yang qu", "三亚"), remote=True),
    _p("重庆", "重庆市", C("重庆市", "渝北区", "500112", "106.631187,29.718143", "yu bei qu", "重庆")),
    _p("四川", "四川省", C("成都市", "双流区", "510116", "103.951908,30.333027", "shuang liu qu", "成都")),
    _p("贵州", "贵州省", C("贵阳市", "南明区", "520102", "106.714374,26.567944", "nan ming qu", "贵阳")),
    _p("云南", "云南省", C("昆明市", "五华区", "530102", "102.707262,25.043635", "wu hua qu", "昆明")),
    _p("西藏", "西藏自治区", C("拉萨市", "城关区", "540102", "91.140552,29.654838", "cheng guan qu", "拉萨"),
       remote=True),
    _p("陕西", "陕西省", C("西安市", "雁塔区", "610113", "108.948565,34.222645", "yan ta qu", "西安")),
    _p("甘肃", "甘肃省", C("兰州市", "城关区", "620102", "103.825307,36.057464", "cheng guan qu", "兰州")),
    _p("青海", "青海省", C("西宁市", "城西区", "630104", "101.765843,36.628305", "cheng xi qu", "西宁"),
       remote=True),
    _p("宁夏", "宁夏回族自治区", C("银川市", "兴庆区", "640104", "106.288647,38.47312", "xing qing qu", "银川"),
       remote=True),
    _p("新疆", "新疆维吾尔自治区",
       C("乌鲁木齐市", "天山区", "650102", "87.631676,43.794399", "tian shan qu", "乌鲁木齐"), remote=True),
)
del C

BY_SHORT = {p.short: p for p in PROVINCES}

# Land borders (plus 江浙沪皖, which couriers treat as one next-day zone).
NEIGHBOURS: dict[str, frozenset[str]] = {k: frozenset(v.split()) for k, v in {
    "北京": "天津 河北", "天津": "北京 河北", "河北": "北京 天津 山西 内蒙古 辽宁 山东 河南",
    "山西": "河北 内蒙古 陕西 河南", "内蒙古": "黑龙江 吉林 辽宁 河北 山西 陕西 宁夏 甘肃",
    "辽宁": "吉林 河北 内蒙古", "吉林": "黑龙江 辽宁 内蒙古", "黑龙江": "吉林 内蒙古",
    "上海": "江苏 浙江 安徽", "江苏": "上海 浙江 安徽 山东", "浙江": "上海 江苏 安徽 福建 江西",
    "安徽": "上海 江苏 浙江 江西 湖北 河南 山东", "福建": "浙江 江西 广东", "江西": "浙江 安徽 福建 广东 湖南 湖北",
    "山东": "河北 河南 安徽 江苏", "河南": "河北 山西 陕西 湖北 安徽 山东", "湖北": "河南 安徽 江西 湖南 重庆 陕西",
    "湖南": "湖北 江西 广东 广西 贵州 重庆", "广东": "福建 江西 湖南 广西 海南", "广西": "广东 湖南 贵州 云南",
    "海南": "广东", "重庆": "四川 贵州 湖南 湖北 陕西", "四川": "重庆 贵州 云南 西藏 青海 甘肃 陕西",
    "贵州": "四川 重庆 湖南 广西 云南", "云南": "四川 贵州 广西 西藏", "西藏": "新疆 青海 四川 云南",
    "陕西": "山西 内蒙古 宁夏 甘肃 四川 重庆 湖北 河南", "甘肃": "陕西 宁夏 内蒙古 新疆 青海 四川",
    "青海": "甘肃 新疆 西藏 四川", "宁夏": "内蒙古 陕西 甘肃", "新疆": "甘肃 青海 西藏",
}.items()}

# Remote destinations fed through a gateway hub on the mainland side.
GATEWAYS: dict[str, tuple[str, str]] = {  # destination → (province, hub city)
    "海南": ("广东", "广州"),
    "西藏": ("四川", "成都"),
}

# Where parcels come from and go to when a waybill was not registered: sellers cluster
# in the 江浙沪 and 广东 e-commerce belts; buyers follow population and online spend.
ORIGIN_WEIGHTS: tuple[tuple[str, float], ...] = (
    ("浙江", 35), ("广东", 30), ("江苏", 10), ("上海", 8), ("福建", 7), ("山东", 5), ("河北", 5),
)
DESTINATION_WEIGHTS: tuple[tuple[str, float], ...] = (
    ("广东", 12), ("江苏", 8), ("浙江", 8), ("山东", 6), ("河南", 5), ("四川", 5), ("上海", 5),
    ("北京", 5), ("湖北", 4), ("湖南", 4), ("河北", 4), ("福建", 4), ("安徽", 4), ("辽宁", 3),
    ("陕西", 3), ("重庆", 3), ("江西", 3), ("广西", 3), ("云南", 3), ("天津", 2), ("山西", 2),
    ("黑龙江", 2), ("吉林", 2), ("贵州", 2), ("甘肃", 1), ("海南", 1), ("内蒙古", 1),
    ("新疆", 1), ("宁夏", 0.5), ("青海", 0.5), ("西藏", 0.3),
)


class UnknownProvince(KeyError):
    def __str__(self) -> str:
        return f"unknown province {self.args[0]!r}; known: {' '.join(BY_SHORT)}"


def province(name: str) -> Province:
    """The province for 浙江 / 浙江省 / 新疆维吾尔自治区; raises ``UnknownProvince``."""
    hit = BY_SHORT.get(name) or next((p for p in PROVINCES if p.full == name), None)
    if hit is None:
        raise UnknownProvince(name)
    return hit


def city_in(prov: Province, name: str | None) -> City | None:
    """The table row for a city name (杭州 or 杭州市) in the province, else None."""
    if not name:
        return None
    short = name.removesuffix("市")
    return next((c for c in prov.cities if c.name.removesuffix("市") == short), None)


def route_class(origin: str, destination: str, same_city: bool) -> str:
    """Which transit-time row of the domain notes applies (§5: 同城 … 偏远)."""
    if origin == destination:
        return "same_city" if same_city else "same_province"
    if BY_SHORT[destination].remote or BY_SHORT[origin].remote:
        return "remote"
    if destination in NEIGHBOURS[origin]:
        return "neighbour"
    return "cross_region"
