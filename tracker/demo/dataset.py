"""The demo's dataset: the week after 双十一 at four shops, as the platforms' own export files.

    build(orders, seed)
        ─► stories: a quota of each kind of trouble (stalled, lost, never scanned, damaged,
           refused, unshipped past the deadline, a carrier asked for and not used …), every
           other order an ordinary one
        ─► per order: shop, payment wave (first wave 10-31, the midnight peak of 11-11, the
           tail), buyer and address, items, carrier and waybill, the parcel's journey facts
        ─► the journey is computed here with the sandbox's own pure function, so the
           platform status the seller centre shows at ``NOW`` follows it (交易成功 after
           delivery or the 10-day auto-confirm), and so do refunds (物流一直未送达, 破损, 少件)
    write(dataset, folder) ─► 订单报表 / 宝贝报表 / 退款报表 (GBK CSV) per Taobao/Tmall shop,
                              the PDD CSV, the 抖店 xlsx, and the sandbox's parcel list

Nothing here tells the tracker what is wrong: it finds every exception itself, by importing
the files and asking the sandbox courier through the Kuaidi100 adapter.
"""
from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from couriers import carriers
from couriers.sandbox import journeys, places
from couriers.sandbox.texts import GIVEN_NAMES, SURNAMES
from couriers.timeparse import CHINA
from imports import carrier_request
from tracker.demo import exportfiles as ef

H = timedelta(hours=1)
D = timedelta(days=1)
NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # 10:00 China time, nine days after 双十一
STAMP = "202611200930"  # the exports were downloaded at 09:30
AUTO_CONFIRM = 10 * D  # every platform's default (tracker/policy.toml [auto_confirm])
PROMISED_SHIPPING = 48 * H  # PDD / 抖店 承诺发货时间 after payment

# The typhoon of the demo week, written into the demo's policy file as a disruption notice.
TYPHOON = {"name": "台风“海葵”", "reason": "台风", "provinces": ["海南", "广东", "广西"],
           "start": "2026-11-15", "end": "2026-11-18", "extra_hours": 72}
TYPHOON_PROVINCES = ("海南", "广东", "广西")


@dataclass(frozen=True)
class Shop:
    key: str  # folder of its files
    name: str  # 店铺名称
    platform: str  # export family: taobao (Taobao and Tmall) | pdd | douyin
    share: float
    origin: str  # province its parcels leave from
    carriers: tuple[tuple[str, float], ...]  # our carrier code, weight
    catalog: tuple[tuple[str, str, str], ...]  # title, price, SKU attributes

    @property
    def has_refund_export(self) -> bool:
        return self.platform == "taobao"


SHOPS: tuple[Shop, ...] = (
    Shop("tmall", "暖冬服饰旗舰店", "taobao", 0.40, "浙江",
         (("yto", 28), ("zto", 28), ("sf", 16), ("yunda", 10), ("sto", 8), ("jd", 5), ("ems", 5)),
         (("加厚保暖羽绒服 男女同款", "599.00", "颜色分类：黑色;尺码：XL"),
          ("羊毛高领毛衣", "269.00", "颜色分类：燕麦色;尺码：L"),
          ("加绒直筒牛仔裤", "189.00", "颜色分类：深蓝;尺码：30"),
          ("羊绒围巾 礼盒装", "159.00", "颜色分类：驼色"),
          ("轻薄羽绒马甲", "239.00", "颜色分类：藏青;尺码：M"),
          ("儿童连帽棉服", "329.00", "颜色分类：粉色;参考身高：130cm"))),
    Shop("taobao", "小林家居生活馆", "taobao", 0.25, "浙江",
         (("zto", 30), ("yunda", 25), ("sto", 20), ("yto", 15), ("jt", 10)),
         (("电热毯 双人双控", "159.00", "规格：1.8m×1.5m"),
          ("陶瓷餐具套装 16件", "129.00", "颜色分类：釉下彩"),
          ("玻璃保鲜盒 5件套", "69.90", "容量：组合装"),
          ("304不锈钢保温杯 500ml", "49.90", "颜色分类：白色"),
          ("珊瑚绒四件套", "199.00", "尺寸：1.8m床"),
          ("香薰加湿器", "89.00", "颜色分类：木纹"))),
    Shop("pdd", "好物优选百货", "pdd", 0.22, "广东",
         (("jt", 35), ("zto", 20), ("yunda", 20), ("sto", 15), ("yto", 10)),
         (("抽纸 24包整箱", "39.90", "3层100抽"),
          ("洗衣液 10斤装", "45.90", "薰衣草香"),
          ("厨房湿巾 6包", "19.90", "80抽×6包"),
          ("纯棉袜子 10双装", "29.90", "男款 均码"),
          ("加厚收纳箱 3个装", "59.90", "大号"),
          ("土鸡蛋 30枚", "32.80", "30枚装"))),
    Shop("douyin", "暖暖家纺", "douyin", 0.13, "江苏",
         (("zto", 35), ("yto", 30), ("jt", 20), ("sf", 15)),
         (("牛奶绒毛毯", "99.00", "1.5m×2m"),
          ("泰国乳胶枕 一对", "139.00", "波浪款"),
          ("冬季加厚羽绒被", "399.00", "200×230cm"),
          ("坚果礼盒 1.5kg", "89.00", "每日坚果"))),
)

# Waybill numbers as each carrier prints them (couriers.carriers patterns).
WAYBILL_FORMATS = {
    "zto": "7315{:010d}", "yto": "YT7{:012d}", "sto": "773{:010d}", "yunda": "3124{:011d}",
    "sf": "SF14{:011d}", "jt": "JT5{:012d}", "ems": "11{:011d}", "chinapost": "98{:011d}",
    "jd": "JDVA{:011d}",
}
# Remote provinces get the postal service more often than not.
REMOTE = ("新疆", "西藏", "青海")
STREETS = ("文一西路", "人民路", "解放路", "建设大道", "中山路", "长江路", "学府路", "幸福路", "和平街", "滨江路")
CARRIER_REQUESTS = (  # (buyer message, seller memo, carrier to use when the shop honours it)
    ("发顺丰", "", "sf"), ("加钱发顺丰，急用", "", "sf"), ("不要中通，上次丢件了", "", "yto"),
    ("别发圆通，我们这里圆通不送上门", "", "zto"), ("请发韵达", "", "yunda"), ("", "客户要求发京东", "jd"),
    ("发邮政，别的快递到不了", "", "chinapost"),
)
MESSAGES = ("请尽快发货，谢谢", "生日礼物，麻烦包装好一点", "不要放驿站，送货上门", "工作日白天家里没人，放门卫",
            "送人的，不要放价格单", "<b>急用！！</b>麻烦今天发")
REFUND_REASONS = {
    "undelivered": ("物流一直未送达", "快递/物流一直未送到"),
    "damaged": ("收到商品破损", "商品破损/少件", "包装破损，商品变形"),
    "short": ("少件/漏发",),
    "late": ("未按约定时间发货",),
    "refused": ("不想要了", "快递无法送达"),
    "return": ("七天无理由退换货", "尺码不合适", "颜色/款式与商品描述不符"),
}
DAMAGE_NOTES = ("外箱压坏了，东西也坏了", "收到就是碎的，有照片", "液体漏了一箱子", "盒子变形，里面少了一件")


@dataclass(frozen=True)
class Story:
    """One kind of order and how often it happens: share of all orders, at least ``minimum``."""

    name: str
    share: float
    minimum: int
    scenario: str | None = None  # the sandbox journey; None: no parcel (or an ordinary one)
    # Move the shipping time until this scan (Kuaidi100 state codes) is (hours) old at NOW.
    target: tuple[frozenset[str], float, float] | None = None
    refund: str | None = None  # REFUND_REASONS key
    refund_rate: float = 0.0
    taobao_only: bool = False  # needs the refund export


def _codes(*codes: str) -> frozenset[str]:
    return frozenset(codes)


STORIES: tuple[Story, ...] = (
    Story("not_shipped", 0.010, 2, refund="late", refund_rate=0.4),
    Story("never_scanned", 0.010, 2, "never_scanned", refund="undelivered", refund_rate=0.4),
    Story("stalled", 0.020, 2, "stalled", refund="undelivered", refund_rate=0.4),
    Story("typhoon", 0.008, 1, "stalled"),
    Story("lost", 0.008, 2, "lost", refund="undelivered", refund_rate=0.5),
    Story("auto_confirmed", 0.005, 2, "lost", refund="undelivered", refund_rate=0.3),
    Story("damaged", 0.012, 2, "damaged", (_codes("209"), 24, 110), "damaged", 0.7),
    Story("short_shipped", 0.004, 1, refund="short", refund_rate=1.0, taobao_only=True),
    Story("refused", 0.010, 1, "refused_returned", (_codes("14"), 6, 90), "refused", 0.5),
    Story("locker_uncollected", 0.012, 1, "locker_uncollected", (_codes("205"), 2, 40)),
    Story("failed_delivery", 0.020, 1, "failed_delivery", (_codes("204", "206"), 1, 24)),
    Story("out_of_area", 0.003, 1, "out_of_area", (_codes("207"), 2, 30)),
    Story("wrong_carrier", 0.008, 2),
    Story("carrier_request", 0.020, 1),
    Story("return", 0.030, 1, refund="return", refund_rate=1.0, taobao_only=True),
    Story("closed", 0.020, 1),
    Story("awaiting_payment", 0.006, 1, taobao_only=True),
)
ORDINARY = Story("ordinary", 0.0, 0)
FIXED_WAVE = {"auto_confirmed": "first", "not_shipped": "first"}
DELIVERED_STORIES = frozenset({"short_shipped", "return", "wrong_carrier", "carrier_request"})
UNDELIVERED_STORIES = frozenset({"never_scanned", "stalled", "typhoon", "lost", "auto_confirmed"})
STATUS_TEXT = {
    "taobao": {"awaiting_payment": "等待买家付款", "awaiting_shipment": "买家已付款，等待卖家发货",
               "shipped": "卖家已发货，等待买家确认", "finished": "交易成功", "closed": "交易关闭"},
    "pdd": {"awaiting_shipment": "待发货", "shipped": "已发货，待签收", "finished": "已签收", "closed": "已取消"},
    "douyin": {"awaiting_shipment": "待发货", "shipped": "已发货", "finished": "已完成", "closed": "已关闭"},
}


@dataclass
class Refund:
    refund_id: str
    reason: str
    requested: datetime
    amount: Decimal
    status: str  # the 退款报表's 退款状态
    needs_return: bool = False
    description: str = ""
    finished: datetime | None = None
    return_carrier: str | None = None
    return_waybill: str | None = None

    @property
    def open(self) -> bool:
        return self.status not in ("退款成功", "退款关闭")


@dataclass
class Order:
    """One order in platform-neutral terms; the writers turn it into each platform's row."""

    shop: Shop
    story: str
    order_id: str
    buyer: str
    receiver: str
    phone: str
    province: places.Province
    city: places.City
    street: str
    lines: list[tuple[str, str, str, int]]  # title, price, SKU attributes, quantity
    created: datetime
    paid: datetime | None
    status: str = "awaiting_shipment"
    shipped: datetime | None = None
    carrier: str | None = None
    waybill: str | None = None
    confirmed: datetime | None = None
    message: str = ""
    memo: str = ""
    closed_reason: str = ""
    refund: Refund | None = None
    journey: journeys.Journey | None = None  # the parcel's whole journey, future scans included
    delivered: datetime | None = None  # when the buyer signed, if by NOW

    @property
    def total(self) -> Decimal:
        return sum((Decimal(price) * qty for _t, price, _s, qty in self.lines), Decimal("0.00"))

    @property
    def deadline(self) -> datetime | None:
        return self.paid + PROMISED_SHIPPING if self.paid else None


@dataclass
class Dataset:
    seed: int
    orders: list[Order] = field(default_factory=list)
    parcels: list[dict] = field(default_factory=list)  # sandbox registrations (couriers.sandbox.client)
    stories: Counter = field(default_factory=Counter)

    @property
    def refunds(self) -> int:
        return sum(o.refund is not None for o in self.orders)


# ---------------------------------------------------------------- building


def build(orders: int, seed: int) -> Dataset:
    """``orders`` orders over the shops, deterministic from ``seed`` (also the sandbox's seed)."""
    rng = random.Random(f"demo/{seed}")
    data = Dataset(seed)
    maker = _Maker(rng, data)
    for i, story in enumerate(_plan(orders, rng)):
        order = maker.order(i, story)
        data.orders.append(order)
        data.stories[story.name] += 1
    return data


def _plan(n: int, rng: random.Random) -> list[Story]:
    """Each story's quota, then ordinary orders, in a random order."""
    planned = [s for s in STORIES for _ in range(max(s.minimum, round(s.share * n)))][:n]
    planned += [ORDINARY] * (n - len(planned))
    rng.shuffle(planned)
    return planned


class _Maker:
    def __init__(self, rng: random.Random, data: Dataset) -> None:
        self.rng, self.data = rng, data
        self.serials = {code: rng.randrange(10**6, 10**7) for code in WAYBILL_FORMATS}
        self.destinations = [(places.province(name), weight) for name, weight in places.DESTINATION_WEIGHTS]

    # ---- the order

    def order(self, i: int, story: Story) -> Order:
        rng = self.rng
        shops = [s for s in SHOPS if s.has_refund_export or not story.taobao_only]
        shop = rng.choices(shops, [s.share for s in shops])[0]
        province = self._destination(story)
        city = rng.choice(province.cities)
        paid = self._paid(story)
        created = paid - timedelta(seconds=rng.randrange(3, 300)) if paid else NOW - H * rng.uniform(2, 20)
        lines = [(*rng.choice(shop.catalog), rng.choices((1, 2), (9, 1))[0])
                 for _ in range(rng.choices((1, 2, 3), (7, 2, 1))[0] if shop.platform == "taobao" else 1)]
        street = f"{rng.choice(STREETS)}{rng.randrange(1, 999)}号{rng.randrange(1, 30)}幢{rng.randrange(101, 2600)}室"
        order = Order(shop=shop, story=story.name, order_id=self._order_id(shop, i, paid or created),
                      buyer=self._buyer(shop), receiver=rng.choice(SURNAMES) + rng.choice(GIVEN_NAMES),
                      phone=self._phone(), province=province, city=city, street=street, lines=lines,
                      created=created, paid=paid)
        if rng.random() < 0.06:
            order.message = rng.choice(MESSAGES)
        if story.name == "awaiting_payment":
            order.status, order.paid = "awaiting_payment", None
        elif story.name == "closed":
            order.status = "closed"
            order.closed_reason = rng.choice(("买家不想买了", "退款成功", "拍错了/多拍了"))
        elif story.name == "not_shipped":
            order.memo = rng.choice(("缺货，等厂家补货", "", "预售款，尚未到货"))
        else:
            self._ship(order, story)
        self._refund(order, story)
        self._confirm(order, story)
        return order

    def _destination(self, story: Story) -> places.Province:
        if story.name == "typhoon":
            return places.province(self.rng.choice(TYPHOON_PROVINCES))
        if story.name == "out_of_area":
            return places.province(self.rng.choice(("新疆", "西藏", "内蒙古", "青海")))
        provinces, weights = zip(*self.destinations)
        return self.rng.choices(provinces, weights)[0]

    def _paid(self, story: Story) -> datetime | None:
        """First wave from 10-31 20:00, the 11-11 midnight peak, then the tail (China time)."""
        rng = self.rng
        if story.name == "awaiting_payment":
            return None
        if story.name in FIXED_WAVE:
            wave = FIXED_WAVE[story.name]
        else:
            late = 0 if story.name in DELIVERED_STORIES else 10  # these need the parcel delivered
            wave = rng.choices(("first", "main", "tail"), (20, 70, late))[0]
        if wave == "first":
            local = datetime(2026, 10, 31, 20, tzinfo=CHINA) + H * min(96.0, rng.expovariate(1 / 14))
        elif wave == "main" and rng.random() < 0.45:  # the first hour of 11-11
            local = datetime(2026, 11, 11, tzinfo=CHINA) + H * min(1.0, rng.expovariate(4))
        elif wave == "main":
            local = datetime(2026, 11, 10, 20, tzinfo=CHINA) + H * rng.uniform(0, 28)
        else:
            local = datetime(2026, 11, 12, tzinfo=CHINA) + H * rng.uniform(0, 8 * 24 + 6)
        return local.astimezone(UTC).replace(microsecond=0)

    def _order_id(self, shop: Shop, i: int, when: datetime) -> str:
        tail = self.rng.randrange(10**4)
        if shop.platform == "pdd":
            return f"{when.astimezone(CHINA):%y%m%d}-{300_000_000_000_000 + i * 10_007 + tail}"
        if shop.platform == "douyin":
            return str(6_920_000_000_000_000_000 + i * 100_003 * 10 + tail * 10)
        return str(4_180_000_000_000_000_000 + i * 1_000_003 * 10 + tail)

    def _buyer(self, shop: Shop) -> str:
        if shop.platform == "taobao":
            return self.rng.choice(("tb", "t_15", "jiayou_", "小")) + str(self.rng.randrange(10**5, 10**9))
        return ""

    def _phone(self) -> str:
        return "1" + self.rng.choice("35789") + "".join(self.rng.choices("0123456789", k=9))

    # ---- the parcel

    def _ship(self, order: Order, story: Story) -> None:
        rng = self.rng
        wave_delay = H * (rng.uniform(8, 60) if order.paid < datetime(2026, 11, 10, tzinfo=UTC)
                          else 8 + min(140.0, rng.expovariate(1 / 20)))
        shipped = order.paid + wave_delay
        if story.scenario is None and shipped > NOW - H:
            return  # still within its shipping time: awaiting shipment
        if story.name == "never_scanned":
            shipped = min(shipped, NOW - H * rng.uniform(36, 96))
        order.carrier = self._carrier(order, story)
        order.waybill = WAYBILL_FORMATS[order.carrier].format(self._serial(order.carrier))
        scenario = story.scenario or rng.choices(("delivered", "delivered_to_locker"), (8, 2))[0]
        facts = {"carrier": order.carrier, "origin": order.shop.origin, "destination": order.province.short,
                 "city": order.city.name, "scenario": scenario}
        journey = self._journey(order.waybill, facts, _whole_seconds(shipped), story)
        order.shipped, order.status = journey.shipped_at, "shipped"
        if order.paid > journey.shipped_at - 3 * H:  # the story moved shipping earlier
            order.paid = journey.shipped_at - H * rng.uniform(3, 30)
            order.created = order.paid - timedelta(seconds=rng.randrange(3, 300))
        self._register(order.waybill, order.phone, journey.shipped_at, facts)
        order.delivered, order.journey = _delivered_at(journey), journey

    def _carrier(self, order: Order, story: Story) -> str:
        rng = self.rng
        if story.name in ("wrong_carrier", "carrier_request"):
            order.message, order.memo, honoured = rng.choice(CARRIER_REQUESTS)
            requested, excluded = carrier_request.parse(order.message, order.memo)
            if story.name == "carrier_request":
                return honoured
            usual = [code for code, _weight in order.shop.carriers if code not in requested]
            return rng.choice(list(excluded) or usual)
        if order.province.short in REMOTE and rng.random() < 0.6:
            return rng.choice(("ems", "chinapost"))
        codes, weights = zip(*order.shop.carriers)
        return rng.choices(codes, weights)[0]

    def _serial(self, carrier: str) -> int:
        self.serials[carrier] += self.rng.randrange(1, 40)
        return self.serials[carrier]

    def _journey(self, waybill: str, facts: dict, shipped: datetime, story: Story) -> journeys.Journey:
        """The journey the sandbox will play; for a story with a target, shipping is moved
        (a few rounds: pickups snap to working hours) until the target scan is as old as wanted."""
        journey = journeys.journey(self.data.seed, waybill, shipped_at=shipped, **facts)
        aim = _aim(story, journey)
        if aim is None:
            return journey
        pick, lo, hi = aim
        wanted = self.rng.uniform(lo, hi)
        for _round in range(6):
            hit = pick(journey)
            if hit is None:
                return journey
            age = (NOW - hit) / H
            if lo <= age <= hi and journey.shipped_at < NOW - H:
                return journey
            shipped = _whole_seconds(min(journey.shipped_at + H * (age - wanted), NOW - 2 * H))
            journey = journeys.journey(self.data.seed, waybill, shipped_at=shipped, **facts)
        return journey

    def _register(self, waybill: str, phone: str, shipped: datetime, facts: dict) -> None:
        self.data.parcels.append({
            "num": waybill, "com": carriers.get(facts["carrier"]).kuaidi100, "phone": phone, "shipped_at": shipped,
            "from_province": facts["origin"], "to_province": facts["destination"], "to_city": facts["city"],
            "scenario": facts["scenario"]})

    # ---- what the platform shows at NOW

    def _refund(self, order: Order, story: Story) -> None:
        rng = self.rng
        if story.refund is None or rng.random() >= story.refund_rate:
            return
        scans = [s for s in order.journey.scans if s.time <= NOW] if order.journey else []
        since = {"late": order.deadline,
                 "undelivered": scans[-1].time if scans else order.shipped,
                 "damaged": _first(scans, "209"),
                 "refused": _first(scans, "14")}.get(story.refund, order.delivered)
        if since is None or order.paid is None:
            return
        requested = since + H * rng.uniform(6, 60)
        if requested > NOW - H:
            return
        reason = rng.choice(REFUND_REASONS[story.refund])
        amount = order.total
        refund = Refund(str(155_000_000_000_000 + len(self.data.orders) * 31 + rng.randrange(31)), reason,
                        _whole_seconds(requested), amount, "买家已经申请退款，等待卖家同意")
        if story.refund == "damaged":
            refund.description = rng.choice(DAMAGE_NOTES)
            if rng.random() < 0.4:
                refund.amount = (amount * Decimal("0.3")).quantize(Decimal("0.01"))
                refund.status, refund.finished = "退款成功", refund.requested + H * rng.uniform(1, 20)
        elif story.refund == "short":
            refund.amount, refund.description = Decimal(order.lines[-1][1]), "只收到一部分，少发了一件"
        elif story.refund == "return":
            self._return_parcel(order, refund)
        order.refund = refund

    def _return_parcel(self, order: Order, refund: Refund) -> None:
        """七天无理由: the buyer sends it back; the return waybill is tracked like any other."""
        rng = self.rng
        refund.needs_return = True
        sent = refund.requested + H * rng.uniform(8, 36)
        if sent > NOW - 2 * H:
            refund.status = "卖家已经同意退款，等待买家退货"
            return
        refund.return_carrier = rng.choice(("yto", "zto", "jt"))
        refund.return_waybill = WAYBILL_FORMATS[refund.return_carrier].format(self._serial(refund.return_carrier))
        facts = {"carrier": refund.return_carrier, "origin": order.province.short,
                 "destination": order.shop.origin, "city": "", "scenario": "delivered"}
        back = journeys.journey(self.data.seed, refund.return_waybill, shipped_at=_whole_seconds(sent), **facts)
        self._register(refund.return_waybill, order.phone, back.shipped_at, facts)
        arrived = _delivered_at(back)
        refund.status = "买家已经退货，等待卖家确认收货"
        if arrived is not None and arrived + 12 * H < NOW and rng.random() < 0.6:
            refund.status, refund.finished = "退款成功", arrived + H * rng.uniform(2, 12)

    def _confirm(self, order: Order, story: Story) -> None:
        """交易成功 when the buyer confirms after delivery, or the platform 10 days after shipping
        (paused while a refund is open); an undelivered parcel can be auto-confirmed too."""
        if order.shipped is None:
            return
        delivered = order.delivered
        auto = order.shipped + AUTO_CONFIRM
        refund_open = order.refund is not None and order.refund.open and order.refund.requested < auto
        buyer = delivered + H * self.rng.uniform(2, 96) if delivered and self.rng.random() < 0.55 else None
        if buyer is not None and buyer <= NOW:
            order.status, order.confirmed = "finished", buyer
        elif auto <= NOW and not refund_open and (delivered or story.name in UNDELIVERED_STORIES):
            order.status, order.confirmed = "finished", auto
        if order.refund is not None and order.refund.status == "退款成功" and order.refund.amount == order.total:
            order.status, order.closed_reason = "closed", "退款成功"


Pick = Callable[[journeys.Journey], datetime | None]


def _aim(story: Story, journey: journeys.Journey) -> tuple[Pick, float, float] | None:
    """Which scan to age and how old (hours) it should be at NOW: a story's target scan, the
    scan before a stall's longest gap (still inside the gap at NOW), a lost parcel's last one."""
    if story.target is not None:
        codes, lo, hi = story.target
        return (lambda j: _first(j.scans, *codes)), lo, hi
    if story.name in ("stalled", "typhoon") and len(journey.scans) > 1:
        gaps = [b.time - a.time for a, b in zip(journey.scans, journey.scans[1:], strict=False)]
        at = gaps.index(max(gaps))
        least = 130.0 if story.name == "typhoon" else 80.0
        return (lambda j: j.scans[at].time), least, max(least, max(gaps) / H - 8)
    if story.name == "lost" and journey.scans:
        return (lambda j: j.scans[-1].time), 80.0, 200.0
    return None


def _first(scans: Iterable[journeys.Scan], *codes: str) -> datetime | None:
    return next((s.time for s in scans if s.code in codes), None)


def _whole_seconds(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)


def _delivered_at(journey: journeys.Journey) -> datetime | None:
    """When the buyer signed, if by NOW (返回寄件人 is not a delivery)."""
    return next((s.time for s in journey.scans if s.main_state == "3" and s.time <= NOW), None)


# ---------------------------------------------------------------- writing


def _local(moment: datetime | None, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    return moment.astimezone(CHINA).strftime(fmt) if moment else ""


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def _address(order: Order) -> str:
    """Taobao's one-string address: 浙江省 杭州市 西湖区 文一西路1号(000000)."""
    province = order.province.short if order.province.full in ("北京市", "上海市", "天津市", "重庆市") \
        else order.province.full
    return f"{province} {order.city.name} {order.city.district} {order.street}(000000)"


def _carrier_name(code: str | None) -> str:
    return carriers.get(code).name if code else ""


def taobao_rows(orders: list[Order], shop: Shop) -> tuple[list[dict], list[dict], list[dict]]:
    """订单报表, 宝贝报表 and 退款报表 rows of one Taobao/Tmall shop."""
    texts = STATUS_TEXT["taobao"]
    order_rows, item_rows, refund_rows = [], [], []
    for o in orders:
        total, paid = _money(o.total), _money(o.total) if o.paid else "0.00"
        refunded = o.refund.amount if o.refund and o.refund.status == "退款成功" else Decimal(0)
        order_rows.append(ef.taobao_order_row(
            订单编号=o.order_id, 主订单编号=o.order_id, 买家会员名=o.buyer, 买家应付货款=total, 总金额=total,
            买家实际支付金额=paid, 订单状态=texts[o.status], 买家留言=o.message, 收货人姓名=o.receiver,
            收货地址=_address(o), 联系手机=o.phone, 订单创建时间=_local(o.created), 订单付款时间=_local(o.paid),
            宝贝标题="，".join(t for t, *_ in o.lines), 宝贝种类=len(o.lines),
            宝贝总数量=sum(q for *_, q in o.lines), 物流单号=o.waybill or "", 物流公司=_carrier_name(o.carrier),
            订单备注=o.memo, 店铺Id=str(57_300_000 + SHOPS.index(shop)), 店铺名称=shop.name,
            订单关闭原因=o.closed_reason or "订单未关闭", 退款金额=_money(refunded),
            确认收货时间=_local(o.confirmed), 发货时间=_local(o.shipped),
            打款商家金额=f"{_money(o.total - refunded) if o.status == 'finished' else '0.00'}元"))
        for line, (title, price, sku, qty) in enumerate(o.lines):
            item_rows.append(ef.taobao_item_row(
                订单编号=o.order_id, 标题=title, 价格=price, 购买数量=qty, 商品属性=sku, 订单状态=texts[o.status],
                商家编码=f"{shop.key.upper()}-{[c[0] for c in shop.catalog].index(title):03d}-{line}"))
        if o.refund is not None:
            refund_rows.append(_refund_row(o, o.refund))
    return order_rows, item_rows, refund_rows


def _refund_row(o: Order, r: Refund) -> dict:
    return ef.taobao_refund_row(
        订单编号=o.order_id, 退款编号=r.refund_id, 支付宝交易号=f"{o.paid.astimezone(CHINA):%Y%m%d}2200{o.order_id[-16:]}",
        订单付款时间=_local(o.paid), 买家实际支付金额=_money(o.total), 宝贝标题=o.lines[0][0],
        买家退款金额=_money(r.amount), 是否需要退货="是" if r.needs_return else "否",
        退款的申请时间=_local(r.requested), 超时时间=_local(r.requested + 2 * D), 退款状态=r.status,
        货物状态="已退货" if r.return_waybill else ("买家已收到货" if o.delivered else "买家未收到货"),
        发货物流信息=f"{_carrier_name(o.carrier)},{o.waybill}" if o.waybill else "",
        退货物流单号=r.return_waybill or "", 退货物流公司=_carrier_name(r.return_carrier),
        买家退款原因=r.reason, 买家退款说明=r.description, 售中或售后="售后" if o.status == "finished" else "售中",
        退款完结时间=_local(r.finished), 完结时间=_local(r.finished),
        **{"部分退款/全部退款": "全部退款" if r.amount == o.total else "部分退款"})


def pdd_rows(orders: list[Order]) -> list[dict]:
    texts = STATUS_TEXT["pdd"]
    rows = []
    for o in orders:
        (title, _price, sku, qty), total = o.lines[0], _money(o.total)
        rows.append(ef.pdd_order_row(
            商品=title, 订单号=o.order_id, 订单状态=texts[o.status], **{"商品数量(件)": qty},
            支付时间=_local(o.paid), 承诺发货时间=_local(o.deadline), 发货时间=_local(o.shipped),
            确认收货时间=_local(o.confirmed), 商品规格=sku, 商家备注=o.memo, 买家留言=o.message,
            售后状态="退款中" if o.refund and o.refund.open else "无售后或售后取消",
            订单成交时间=_local(o.created), **{"商品总价(元)": total, "用户实付金额(元)": total,
                                          "商家实收金额(元)": total}, 快递单号=o.waybill or "",
            快递公司=_carrier_name(o.carrier), 收货人=o.receiver, 手机=o.phone, 省=o.province.full,
            市=o.city.name, 区=o.city.district, 街道="", 详细地址=o.street))
    return rows


def douyin_rows(orders: list[Order]) -> list[dict]:
    texts = STATUS_TEXT["douyin"]
    rows = []
    for o in orders:
        (title, price, sku, qty), total = o.lines[0], _money(o.total)
        slash = "%Y/%m/%d %H:%M:%S"
        rows.append(ef.douyin_order_row(
            主订单编号=o.order_id, 子订单编号=str(int(o.order_id) + 1), 选购商品=title, 商品规格=sku, 商品数量=qty,
            商品单价=price, 订单应付金额=total, 运费="0.00", 收件人=o.receiver, 收件人手机号=o.phone,
            省=o.province.full, 市=o.city.name, 区=o.city.district, 街道="", 详细地址=o.street, 买家留言=o.message,
            订单提交时间=_local(o.created, slash), 商家备注=o.memo, 订单完成时间=_local(o.confirmed, slash),
            支付完成时间=_local(o.paid, slash), 订单状态=texts[o.status], 承诺发货时间=_local(o.deadline, slash),
            售后状态="售后中" if o.refund and o.refund.open else "-", 取消原因=o.closed_reason, 发货时间=_local(o.shipped, slash),
            快递信息=f"{_carrier_name(o.carrier)} {o.waybill}" if o.waybill else ""))
    return rows


@dataclass(frozen=True)
class ExportFile:
    path: Path
    shop: Shop
    rows: int


def write(data: Dataset, folder: Path) -> list[ExportFile]:
    """The export files, orders before their items and refunds (the order an import needs)."""
    written: list[ExportFile] = []

    def put(shop: Shop, name: str, writer: Callable[[Path, list[dict]], Path], rows: list[dict]) -> None:
        if rows:
            path = folder / shop.key / name
            path.parent.mkdir(parents=True, exist_ok=True)
            written.append(ExportFile(writer(path, rows), shop, len(rows)))

    for shop in SHOPS:
        mine = [o for o in data.orders if o.shop is shop]
        if shop.platform == "taobao":
            orders, items, refunds = taobao_rows(mine, shop)
            put(shop, f"ExportOrderList{STAMP}.csv", ef.write_taobao_orders_csv, orders)
            put(shop, f"ExportOrderDetailList{STAMP}.csv", ef.write_taobao_items_csv, items)
            put(shop, f"ExportRefundList{STAMP}.csv", ef.write_taobao_refunds_csv, refunds)
        elif shop.platform == "pdd":
            put(shop, f"pdd_orders_{STAMP}.csv", ef.write_pdd_orders_csv, pdd_rows(mine))
        else:
            put(shop, f"douyin_orders_{STAMP}.xlsx", ef.write_douyin_orders_xlsx, douyin_rows(mine))
    return written
