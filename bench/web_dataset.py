"""The web benchmark's dataset: a post-双十一 shop group two weeks after the promotion.

    ensure(url, rebuild=False) ─► Dataset (the snapshot reused when its stamp matches, else built)

    1,000,000 orders over 4 shops ─► ~1.1 shipments per order (carriers, waybills)
        ─► ~10 scans per parcel, for the orders with cases plus a sample (not all 1.1M)
        ─► 100,000 open exception cases (+ 20,000 closed), with history, a few actions
           and customer contacts, ~30% assigned to a handful of agents

Written straight into the tables, not through the importer: the schema comes from the
real migrations (``db.upgrade``), the rows from seeded Python in big batches — one
``executemany`` transaction with the load PRAGMAs on SQLite, ``COPY`` with foreign-key
triggers off on PostgreSQL — so both databases hold the same rows.  Then ANALYZE.

The rows are loaded once into a snapshot (``web-base.sqlite3``, database ``bench_web_base``)
at the newest committed migration; the benchmark runs on a copy of it upgraded to the head
(a file copy, a template database), redone in seconds whenever a migration changes — so the
indexes being tuned are measured without reloading.  A ``bench_stamp`` table in each records
the generator version, the sizes and the migration files' hashes; ``--rebuild`` loads anew.
The bench users (``bench_agentNN``, ``bench_leadNN``) are created with ``tracker.users.add``,
so they sign in like anyone.
"""
from __future__ import annotations

import hashlib
import json
import random
import shutil
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tracker import db, users
from tracker.classify import KINDS
from tracker.queue import refresh_case_facts

VERSION = 1  # bump when the generator changes what it writes
OUT = ROOT / "bench" / "out"
ORDERS = 1_000_000
OPEN_CASES = 100_000
CLOSED_SHARE = 5  # one closed case per five open ones
SAMPLE_SHARE = 0.3  # orders without a case that still get a full timeline, per open case
PASSWORD = "bench-password"
AGENTS = 16
LEADS = 4
ASSIGNEES = 6  # cases are assigned to the first few agents
MIGRATIONS = ROOT / "tracker" / "migrations" / "versions"
FUTURE_MIN = 5 * 1440  # the timestamp table reaches this far ahead of NOW (deadlines)
PAST_MIN = 45 * 1440

SHOPS = (  # id, name, platform, origin province, origin city, share of the orders
    (1, "云栖数码天猫旗舰店", "tmall", "浙江省", "杭州市", 40),
    (2, "江南家居淘宝店", "taobao", "江苏省", "苏州市", 25),
    (3, "鹏城百货拼多多店", "pdd", "广东省", "深圳市", 20),
    (4, "沪上美妆京东自营店", "jd", "上海市", "上海市", 15),
)
PLACES = (  # province, cities, share of the receivers
    ("广东省", ("广州市", "深圳市", "东莞市", "佛山市"), 13), ("浙江省", ("杭州市", "宁波市", "温州市"), 9),
    ("江苏省", ("南京市", "苏州市", "无锡市"), 9), ("山东省", ("济南市", "青岛市", "烟台市"), 7),
    ("河南省", ("郑州市", "洛阳市"), 6), ("四川省", ("成都市", "绵阳市"), 6), ("上海市", ("上海市",), 5),
    ("北京市", ("北京市",), 5), ("湖北省", ("武汉市", "宜昌市"), 5), ("河北省", ("石家庄市", "保定市"), 4),
    ("湖南省", ("长沙市", "株洲市"), 4), ("福建省", ("福州市", "厦门市"), 4), ("安徽省", ("合肥市", "芜湖市"), 4),
    ("陕西省", ("西安市",), 3), ("辽宁省", ("沈阳市", "大连市"), 3), ("重庆市", ("重庆市",), 3),
    ("云南省", ("昆明市",), 2), ("广西壮族自治区", ("南宁市", "桂林市"), 2), ("江西省", ("南昌市",), 2),
    ("黑龙江省", ("哈尔滨市",), 1), ("海南省", ("海口市", "三亚市"), 1), ("新疆维吾尔自治区", ("乌鲁木齐市",), 1),
    ("西藏自治区", ("拉萨市",), 0.3),
)
DISTRICTS = ("城关区", "高新区", "经开区", "新区", "滨江区", "南山区", "朝阳区", "江北区")
CARRIERS = (  # code, name as exported, waybill prefix, digits, share
    ("zto", "中通快递", "78", 12, 28), ("yto", "圆通速递", "YT", 13, 20), ("yunda", "韵达快递", "43", 13, 15),
    ("sto", "申通快递", "77", 12, 12), ("jt", "极兔速递", "JT", 13, 12), ("sf", "顺丰速运", "SF", 13, 8),
    ("ems", "EMS", "98", 11, 5),
)
JD_CARRIER = ("jd", "京东快递", "JDV", 12, 0)
HUBS = {"浙江省": "杭州转运中心", "江苏省": "苏州转运中心", "广东省": "广州转运中心", "上海市": "上海转运中心",
        "山东省": "济南转运中心", "河南省": "郑州转运中心", "四川省": "成都转运中心", "北京市": "北京转运中心",
        "湖北省": "武汉转运中心"}
MIDDLE_HUBS = ("武汉转运中心", "郑州转运中心", "南昌转运中心", "长沙转运中心", "合肥转运中心")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ("伟", "芳", "娜", "敏", "静", "磊", "洋", "艳", "勇", "杰", "娟", "涛", "明", "超", "秀英", "桂英", "晓燕")
NICKS = ("小花猫", "tb_", "jd_", "追风少年", "快乐每一天", "momo", "pdd_", "阳光", "不吃香菜", "夏天的风")
PRODUCTS = (("无线蓝牙耳机 降噪版", 29900), ("电动牙刷 声波款", 15900), ("羽绒被 冬季加厚 200x230", 45900),
            ("保温杯 316不锈钢 500ml", 8900), ("补水面膜 20片装", 12900), ("空气炸锅 5L", 32900),
            ("儿童积木 500粒", 9900), ("机械键盘 青轴", 24900), ("乳胶枕 一对装", 19900), ("扫地机器人", 159900))
MESSAGES = ("请发顺丰，谢谢", "急用，麻烦尽快发货", "不要放快递柜，送货上门", "工作日白天家里没人，请放驿站",
            "<script>alert(1)</script>", "发中通，别的快递到不了", "包装好一点，易碎", "送人的，不要放发票")
MEMOS = ("已备注加急", "赠品：试用装x2", "客户要求发顺丰", "大促预售，11月20日前发")

# (status, status_raw) for order scenarios; (parcel status, scan hours ago lo–hi, done) for its parcel
SCENARIOS = {  # without a case: (weight, order status, raw, parcel, hours since the last scan, done)
    "finished": (58, "finished", "交易成功", "delivered", (100, 250), True),
    "delivered": (14, "shipped", "卖家已发货，等待买家确认收货", "delivered", (12, 120), True),
    "moving": (15, "shipped", "卖家已发货，等待买家确认收货", "in_transit", (1, 30), False),
    "out": (4, "shipped", "卖家已发货，等待买家确认收货", "out_for_delivery", (1, 8), False),
    "locker": (2, "shipped", "卖家已发货，等待买家确认收货", "available_for_pickup", (4, 40), False),
    "waiting": (3, "awaiting_shipment", "买家已付款，等待卖家发货", None, None, False),
    "closed": (3, "closed", "交易关闭", None, None, False),
    "returned": (1, "closed", "交易关闭", "returned", (50, 200), True),
}
CASE_KINDS = {  # kind: (share of the open cases, order status, raw, parcel, scan hours lo–hi, done)
    "stalled": (30, "shipped", "卖家已发货，等待买家确认收货", "in_transit", (60, 200), False),
    "not_shipped": (22, "awaiting_shipment", "买家已付款，等待卖家发货", None, None, False),
    "no_tracking": (11, "shipped", "卖家已发货，等待买家确认收货", "pending", None, False),
    "auto_confirmed_undelivered": (7, "finished", "交易成功", "in_transit", (48, 120), False),
    "pickup_uncollected": (6, "shipped", "卖家已发货，等待买家确认收货", "available_for_pickup", (72, 150), False),
    "damaged": (5, "shipped", "卖家已发货，等待买家确认收货", "delivered", (12, 96), True),
    "lost": (4, "shipped", "卖家已发货，等待买家确认收货", "in_transit", (150, 300), False),
    "failed_delivery": (4, "shipped", "卖家已发货，等待买家确认收货", "failed_attempt", (12, 72), False),
    "wrong_carrier": (3, "shipped", "卖家已发货，等待买家确认收货", "in_transit", (1, 48), False),
    "refused": (3, "shipped", "卖家已发货，等待买家确认收货", "refused", (12, 96), False),
    "auto_confirm_soon": (3, "shipped", "卖家已发货，等待买家确认收货", "in_transit", (24, 72), False),
    "returned": (2, "shipped", "卖家已发货，等待买家确认收货", "returning", (12, 96), False),
}
SECOND_KINDS = ("auto_confirm_soon", "wrong_carrier", "damaged")
EVIDENCE = {
    "stalled": "最后扫描 {h} 小时前于 {loc}；{o}→{d} 大促期间时限 72 小时",
    "not_shipped": "付款 {h} 小时后仍未发货；发货时限 48 小时（已超 {x} 小时）",
    "no_tracking": "发货 {h} 小时后快递仍无揽收记录；时限 24 小时，存在虚假发货风险",
    "auto_confirmed_undelivered": "订单已交易成功（自动确认收货），包裹仍在途：最后扫描 {h} 小时前于 {loc}",
    "pickup_uncollected": "包裹在 {loc} 已放置 {h} 小时未取件；时限 48 小时",
    "damaged": "轨迹显示“快件外包装破损”，{loc}；客户反馈商品损坏",
    "lost": "最后扫描 {h} 小时前于 {loc}，超过国家标准丢失时限；疑似丢件",
    "failed_delivery": "派送失败：地址不详/电话无人接听，{loc}，{h} 小时前",
    "wrong_carrier": "买家留言“请发顺丰”，实际发货快递：{c}",
    "refused": "收件人拒收，{loc}，{h} 小时前",
    "auto_confirm_soon": "距自动确认收货不足 48 小时，包裹仍在途（最后扫描于 {loc}）",
    "returned": "包裹退回中：{loc}，{h} 小时前",
}
CLOSE_REASONS = {"resolved": ("已补发", "已退款", "客户已签收，问题解决"), "dismissed": ("客户已撤诉", "重复异常"),
                 "cleared": ("物流已恢复",)}
FINAL_TEXT = {"delivered": ("【{c}】已签收，签收人：本人。如有破损请当场拒收", "S01"),
              "out_for_delivery": ("【{c}】快件派送中，派件员：李师傅 138****6666", "D01"),
              "available_for_pickup": ("【{c}】快件已放入菜鸟驿站，请凭取件码 8-3-2017 取件", "P01"),
              "failed_attempt": ("【{c}】派送不成功：电话无人接听，明日再派", "F02"),
              "refused": ("【{c}】收件人拒收，快件将退回", "R01"),
              "returning": ("【{c}】退回件已发出，下一站【{h}】", "R02"),
              "returned": ("【{c}】退回件已签收", "R03"),
              "in_transit": ("【{h}】快件已到达，正在分拣", "T01")}


@dataclass(frozen=True)
class Dataset:
    url: str
    counts: dict[str, int]
    build_seconds: float | None  # None: reused
    built_at: str


class _Flavour:
    """How a value is spelled for one database: timestamps, booleans, money, JSON."""

    def __init__(self, name: str, now: datetime):
        self.name = name
        suffix = "+00" if name == "postgresql" else ""
        base = now + timedelta(minutes=FUTURE_MIN)
        # index i is FUTURE_MIN - i minutes after now; one string per minute, made once
        self.times = [(base - timedelta(minutes=i)).isoformat(" ", "microseconds")[:26] + suffix
                      for i in range(FUTURE_MIN + PAST_MIN + 1)]
        self.true, self.false = (True, False) if name == "postgresql" else (1, 0)

    def ago(self, minutes: float) -> str:
        return self.times[FUTURE_MIN + max(-FUTURE_MIN, min(PAST_MIN, int(minutes)))]

    def money(self, fen: int | None):
        if fen is None or self.name != "postgresql":
            return fen
        return f"{fen // 100}.{fen % 100:02d}"


def _waybill(carrier: tuple, sid: int) -> str:
    _code, _name, prefix, digits, _share = carrier
    return prefix + f"{(sid * 7_654_321 + 1_234_567) % 10 ** digits:0{digits}d}"


def _platform_order_id(platform: str, oid: int) -> str:
    scrambled = (oid * 1_000_003 + 77_777) % 10 ** 13
    if platform in ("taobao", "tmall"):
        return f"38{scrambled:013d}{oid % 10_000:04d}"
    if platform == "jd":
        return f"3{scrambled % 10 ** 11:011d}"
    return f"241111-{scrambled:013d}{oid % 100:02d}"


class _Generator:
    """All rows, table by table, from one seed; ids are dense from 1."""

    def __init__(self, flavour: _Flavour, *, orders: int, open_cases: int, closed_cases: int,
                 assignees: dict[int, str], leads: list[int], seed: int = 11):
        self.f = flavour
        self.n = orders
        self.assignees = assignees
        self.assignee_ids = list(assignees)
        self.leads = leads
        self.rng = random.Random(seed)
        rng = self.rng
        doubles_open = open_cases * 3 // 100
        doubles_closed = closed_cases // 4
        n_open, n_closed = open_cases - doubles_open, closed_cases - doubles_closed
        picked = rng.sample(range(1, orders + 1), n_open + n_closed)
        kinds, weights = list(CASE_KINDS), [v[0] for v in CASE_KINDS.values()]
        self.open_kinds: dict[int, list[str]] = {}
        for oid, kind in zip(picked[:n_open], rng.choices(kinds, weights, k=n_open), strict=True):
            self.open_kinds[oid] = [kind]
        self._add_second_kinds(picked[:n_open], doubles_open, self.open_kinds)
        self.closed_kinds: dict[int, list[str]] = {}
        for oid, kind in zip(picked[n_open:], rng.choices(kinds, weights, k=n_closed), strict=True):
            self.closed_kinds[oid] = [kind if kind != "not_shipped" else "stalled"]
        self._add_second_kinds(picked[n_open:], doubles_closed, self.closed_kinds)
        sample = int(open_cases * SAMPLE_SHARE)
        others = rng.sample(range(1, orders + 1), sample * 2)
        self.detailed = set(picked) | set([o for o in others if o not in self.open_kinds][:sample])
        self.shipments_of: dict[int, list[int]] = {}  # detailed orders (every case order is one)
        self.shipment_meta: dict[int, tuple] = {}  # sid → (status, carrier name, province, city, last scan min ago)
        self.order_meta: dict[int, tuple] = {}  # detailed orders: (province, city, origin, carrier)

    def _add_second_kinds(self, oids: list[int], count: int, into: dict[int, list[str]]) -> None:
        candidates = [o for o in oids if into[o][0] != "not_shipped"]
        for oid in self.rng.sample(candidates, count):
            into[oid].append(self.rng.choice([k for k in SECOND_KINDS if k != into[oid][0]]))

    # ------------------------------------------------------------ orders and shipments

    def orders_and_shipments(self, orders_out: list, shipments_out: list) -> None:
        """Fill the two lists (order rows, shipment rows) in id order."""
        rng, f, n = self.rng, self.f, self.n
        shop_rows = rng.choices(SHOPS, [s[5] for s in SHOPS], k=n)
        places = rng.choices(PLACES, [p[2] for p in PLACES], k=n)
        scen_names = list(SCENARIOS)
        scenarios = rng.choices(scen_names, [SCENARIOS[s][0] for s in scen_names], k=n)
        carriers = rng.choices(CARRIERS, [c[4] for c in CARRIERS], k=n)
        products = rng.choices(PRODUCTS, k=n)
        rand = rng.random
        randrange = rng.randrange
        sid = 0
        for i in range(n):
            oid = i + 1
            shop = shop_rows[i]
            province, cities, _share = places[i]
            city = cities[oid % len(cities)]
            kinds = self.open_kinds.get(oid) or self.closed_kinds.get(oid)
            closed_case = oid in self.closed_kinds
            if kinds and not closed_case:
                _w, status, status_raw, parcel, scan_hours, done = CASE_KINDS[kinds[0]]
            else:
                _w, status, status_raw, parcel, scan_hours, done = SCENARIOS[
                    "finished" if closed_case else scenarios[i]]
            if kinds and kinds[0] == "not_shipped":
                paid_ago = (3 + rand() * 7) * 1440
            elif parcel is None:
                paid_ago = rand() * 2 * 1440
            else:
                paid_ago = (14 + (rand() - rand()) * 4) * 1440
            carrier = JD_CARRIER if shop[2] == "jd" and rand() < 0.9 else carriers[i]
            wish = None
            message = None
            if kinds and "wrong_carrier" in kinds:
                wish, message = "sf", "请发顺丰，谢谢"
                if carrier[0] == "sf":
                    carrier = CARRIERS[0]
            elif rand() < 0.08:
                message = MESSAGES[oid % len(MESSAGES)]
                wish = "sf" if "顺丰" in message else ("zto" if "中通" in message else None)
            phone = f"1{'3578'[oid % 4]}{randrange(10 ** 9):09d}"
            title, price = products[i]
            count = 1 + (oid % 7 == 0)
            total = price * count
            paid = total - (oid % 5) * 1000
            shipped_ago = paid_ago - 120 - rand() * 2400 if parcel is not None else None
            confirmed = f.ago(shipped_ago - 14400) if status == "finished" and shipped_ago > 14400 else None
            if status == "finished" and confirmed is None:
                confirmed = f.ago(rand() * 600)
            name = SURNAMES[oid % len(SURNAMES)] + GIVEN[oid % len(GIVEN)]
            orders_out.append((
                oid, shop[0], shop[2], _platform_order_id(shop[2], oid), status, status_raw,
                NICKS[oid % len(NICKS)] + f"{randrange(100000):05d}", name, phone, phone[-4:],
                f"{province}{city}{DISTRICTS[oid % len(DISTRICTS)]}幸福路{oid % 500 + 1}号{oid % 30 + 1}栋{oid % 9 + 1}0{oid % 4 + 1}",
                province, city, DISTRICTS[oid % len(DISTRICTS)], message,
                MEMOS[oid % len(MEMOS)] if oid % 25 == 0 else None, wish,
                f"{title} ×{count}", count, f.money(total), f.money(paid), f.money(0),
                f.ago(paid_ago + 3), f.ago(paid_ago), f.ago(paid_ago - 2880),
                f.ago(shipped_ago) if shipped_ago is not None else None, confirmed,
                "买家取消" if status == "closed" and parcel is None else None, "快递", f"{oid:016x}",
                f.ago(paid_ago), f.ago(paid_ago)))
            if kinds or oid in self.detailed:
                self.order_meta[oid] = (province, city, shop[3], carrier[1], paid_ago, title, price, count)
            if parcel is None:
                continue
            extra = rand() < 0.2  # a split package or a reship
            detailed = oid in self.detailed
            sids = []
            for n_ship in range(2 if extra else 1):
                sid += 1
                sids.append(sid)
                st, hours = parcel, scan_hours
                is_reship = n_ship == 1 and oid % 3 == 0
                if n_ship == 1 and not is_reship:
                    st, hours = "delivered" if done else parcel, scan_hours
                last_ago = (hours[0] + rand() * (hours[1] - hours[0])) * 60 if hours else None
                if last_ago is not None:
                    last_ago = min(last_ago, shipped_ago - 60)
                    if is_reship:
                        last_ago = min(last_ago, 48 * 60)
                first_ago = shipped_ago - 60 - rand() * 600 if last_ago is not None else None
                if first_ago is not None and first_ago < last_ago:
                    first_ago = last_ago + 30
                hub = HUBS.get(province, f"{city}分拨中心")
                final = FINAL_TEXT.get(st, FINAL_TEXT["in_transit"])[0].format(c=city, h=hub) if last_ago else None
                st_done = st in ("delivered", "returned")
                waybill = _waybill(carrier, sid)
                shipments_out.append((
                    sid, oid, "reship" if is_reship else "original", "agent" if is_reship else "import",
                    waybill, carrier[0], carrier[1], sids[0] if is_reship else None, st,
                    "lost" if kinds and kinds[0] == "lost" else None,
                    f.ago(first_ago) if first_ago else None, f.ago(last_ago) if last_ago else None, final,
                    (city if st != "in_transit" else hub) if last_ago else None,
                    f.ago(last_ago) if st == "delivered" and last_ago else None,
                    f.true if st_done else f.false, None if st_done else f.ago(-60 - rand() * 240),
                    f.ago(last_ago or 60) if not st_done else None, 3 + oid % 20, 0,
                    f.ago(shipped_ago), f.ago(last_ago or shipped_ago)))
                if detailed:
                    self.shipment_meta[sid] = (st, first_ago, last_ago, hub, province, city, shop[4], waybill,
                                               carrier[0])
            if detailed:
                self.shipments_of[oid] = sids

    # ------------------------------------------------------------ the rest

    def events(self, out: list) -> None:
        """~10 scans per parcel of the detailed orders; a pending parcel has none."""
        rng, f = self.rng, self.f
        eid = 0
        for oid in sorted(self.shipments_of):
            for sid in self.shipments_of[oid]:
                st, first_ago, last_ago, hub, _province, city, origin_city, _waybill, _code = self.shipment_meta[sid]
                if last_ago is None:
                    continue
                hops = rng.randint(7, 13)
                route = [(f"{origin_city}", f"【{origin_city}】快件已揽收", "picked_up", "C10"),
                         (f"{origin_city}转运中心", f"【{origin_city}转运中心】已发出，下一站【{MIDDLE_HUBS[oid % 5]}】",
                          "in_transit", "T10")]
                for h in range(hops - 3):
                    mid = MIDDLE_HUBS[(oid + h) % len(MIDDLE_HUBS)]
                    route.append((mid, f"快件已到达【{mid}】，正在发往【{hub}】", "in_transit", "T11"))
                final_text, final_code = FINAL_TEXT.get(st, FINAL_TEXT["in_transit"])
                if st == "delivered" and oid in self.open_kinds and "damaged" in self.open_kinds[oid]:
                    final_text = "【{c}】快件外包装破损，已签收，签收人：本人"
                route.append((city if st != "in_transit" else hub, final_text.format(c=city, h=hub),
                              st if st != "pending" else "in_transit", final_code))
                span = first_ago - last_ago
                last = len(route) - 1
                for k, (loc, txt, status, code) in enumerate(route):
                    eid += 1
                    at = f.ago(first_ago - span * k / last)
                    out.append((eid, sid, at, loc, txt, code, status, f"{eid:032x}", at))

    def items(self, out: list) -> None:
        f = self.f
        for iid, oid in enumerate(sorted(self.order_meta), 1):
            _p, _c, _o, _car, _paid, title, price, count = self.order_meta[oid]
            out.append((iid, oid, 1, f"{oid}01", title, "颜色:黑色;规格:标准版", f"SKU{oid % 997:04d}", count,
                        f.money(price), f.money(price * count), "交易成功", None, None))

    def cases(self, cases_out: list, history_out: list, actions_out: list, contacts_out: list) -> None:
        rng, f = self.rng, self.f
        cid = hid = aid = kid = 0
        for closed, table in ((False, self.open_kinds), (True, self.closed_kinds)):
            for oid in sorted(table):
                province, city, origin, carrier_name, paid_ago, *_rest = self.order_meta[oid]
                sids = self.shipments_of.get(oid, [])
                meta = self.shipment_meta.get(sids[0]) if sids else None
                for kind in table[oid]:
                    cid += 1
                    spec = KINDS[kind]
                    detected = rng.random() * 10 * 1440
                    hours = int((meta[2] if meta and meta[2] else paid_ago) / 60)
                    loc = meta[3] if meta else city
                    evidence_text = EVIDENCE[kind].format(h=hours, loc=loc, o=origin, d=province, x=max(hours - 48, 1),
                                                          c=carrier_name)
                    evidence = json.dumps({
                        "waybill": meta[7] if meta else None, "carrier": meta[8] if meta else None,
                        "requested": ["sf"] if kind == "wrong_carrier" else [], "hours_since_scan": hours,
                        "limit_hours": 72, "last_location": loc, "route": f"{origin}→{province}",
                        "force_majeure": False, "text": evidence_text}, ensure_ascii=False)
                    if closed:
                        status = rng.choice(("resolved", "resolved", "dismissed", "cleared"))
                    else:
                        status = "in_progress" if rng.random() < 0.15 else "open"
                    assigned = status == "in_progress" or rng.random() < 0.18
                    assignee = self.assignee_ids[cid % len(self.assignee_ids)] if assigned else None
                    closed_ago = detected - 60 - rng.random() * (detected - 60) if closed and detected > 120 else None
                    if closed and closed_ago is None:
                        closed_ago = detected / 2
                    cases_out.append((
                        cid, oid, sids[0] if sids and kind != "not_shipped" else None, kind, spec.refines, status,
                        max(1, min(4, spec.severity + rng.choice((-1, 0, 0, 0, 1)))), evidence, evidence_text,
                        f"{cid:032x}", f.ago(detected - rng.choice((24, 48, 72)) * 60), assignee, f.ago(detected),
                        f.ago(closed_ago if closed else detected), f.ago(closed_ago) if closed else None,
                        rng.choice(CLOSE_REASONS[status]) if closed else None))
                    hid += 1
                    history_out.append((hid, cid, f.ago(detected), "opened", evidence_text, None))
                    if assignee:
                        hid += 1
                        history_out.append((hid, cid, f.ago(detected - 30), "assigned", self.assignees[assignee],
                                            self.leads[cid % len(self.leads)]))
                    if closed:
                        hid += 1
                        history_out.append((hid, cid, f.ago(closed_ago), status, None, assignee))
                    if assignee and cid % 3 == 0:
                        aid += 1
                        actions_out.append((aid, oid, cid, sids[0] if sids else None, "urge_courier", None,
                                            "已联系网点催派，预计明天送达", assignee, f.ago(detected - 90)))
                        kid += 1
                        contacts_out.append((kid, oid, cid, "chat", f"{kind}_apology",
                                             "亲，非常抱歉，您的包裹已为您催促快递，预计明天送达，请耐心等待~", "accepted",
                                             assignee, f.ago(detected - 95)))


TABLES = {  # table: columns, in the generator's order
    "shops": "id, name, platform, origin_province, created_at",
    "orders": "id, shop_id, platform, platform_order_id, status, status_raw, buyer_nick, receiver_name, "
              "receiver_phone, phone_tail, receiver_address, province, city, district, buyer_message, seller_memo, "
              "requested_carriers, item_summary, item_count, total_amount, paid_amount, postage, ordered_at, "
              "paid_at, ship_deadline, shipped_at, confirmed_at, closed_reason, shipping_method, source_hash, "
              "facts_changed_at, created_at",
    "shipments": "id, order_id, kind, source, waybill, carrier, carrier_raw, replaces_shipment_id, status, incident, "
                 "first_scan_at, last_event_at, last_event_text, last_location, delivered_at, done, next_poll_at, "
                 "last_polled_at, poll_count, error_count, created_at, updated_at",
    "tracking_events": "id, shipment_id, time, location, text, raw_code, status, fingerprint, received_at",
    "order_items": "id, order_id, line_no, sub_order_id, title, sku, outer_id, quantity, price, paid_amount, "
                   "status_raw, refund_status, refund_amount",
    "exception_cases": "id, order_id, shipment_id, kind, refines, status, severity, evidence, evidence_text, "
                       "facts_hash, deadline, assignee_id, detected_at, updated_at, closed_at, close_reason",
    "case_events": "id, case_id, at, event, detail, user_id",
    "actions": "id, order_id, case_id, shipment_id, code, amount, note, user_id, at",
    "customer_contacts": "id, order_id, case_id, channel, reply_code, text, outcome, user_id, at",
}


def _stable_revision() -> tuple[str, dict[str, str]]:
    """The newest migration that is committed and unchanged, with every one before it, and the
    hashes of those files: the data is loaded at that revision.  Migrations being written
    (untracked or modified in git) are applied to a copy on every change instead."""
    from alembic.script import ScriptDirectory

    changing = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all", "--", str(MIGRATIONS)],
                              cwd=ROOT, capture_output=True, text=True, check=False).stdout
    changing_names = {Path(line[3:].strip()).name for line in changing.splitlines()}
    chain = list(reversed(list(ScriptDirectory.from_config(db.alembic_config("sqlite://")).walk_revisions())))
    stable, hashes = None, {}
    for script in chain:
        path = Path(script.path)
        if path.name in changing_names:
            break
        stable = script.revision
        hashes[path.name] = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    if stable is None:
        raise SystemExit("no committed migration to load the dataset at")
    return stable, hashes


def _migration_hashes() -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()[:16] for p in sorted(MIGRATIONS.glob("*.py"))}


def _is_pg(url: str) -> bool:
    return url.startswith("postgresql")


def _base_url(url: str) -> str:
    """Where the loaded-once snapshot lives: ``web.sqlite3`` → ``web-base.sqlite3``, ``bench_web`` →
    ``bench_web_base``."""
    if _is_pg(url):
        return url + "_base"
    path = Path(url.split("///", 1)[1])
    return f"sqlite:///{path.with_name(path.stem + '-base' + path.suffix)}"


def _read_stamp(url: str) -> dict | None:
    if not _is_pg(url) and not Path(url.split("///", 1)[1]).exists():
        return None
    engine = db.make_engine(url)
    try:
        with engine.connect() as conn:
            row = conn.execute(text("SELECT body FROM bench_stamp")).first()
    except DBAPIError:  # no database, no table: not built
        return None
    finally:
        engine.dispose()
    return json.loads(row[0]) if row else None


def _write_stamp(engine: Engine, stamp: dict) -> None:
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS bench_stamp (body TEXT NOT NULL)"))
        conn.execute(text("DELETE FROM bench_stamp"))
        conn.execute(text("INSERT INTO bench_stamp (body) VALUES (:b)"), {"b": json.dumps(stamp)})


def _create_pg(url: str, template: str | None = None) -> None:
    """The database of ``url`` anew: empty, or a copy of ``template``'s database."""
    name = url.rsplit("/", 1)[1]
    copy = f' TEMPLATE "{template.rsplit("/", 1)[1]}"' if template else ""
    admin = db.make_engine(url.rsplit("/", 1)[0] + "/postgres").execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"{copy}'))
    admin.dispose()


def _remove_sqlite(url: str) -> None:
    path = url.split("///", 1)[1]
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _fresh(url: str, revision: str) -> Engine:
    """An empty database at ``revision``."""
    if _is_pg(url):
        _create_pg(url)
    else:
        _remove_sqlite(url)
    engine = db.make_engine(url)
    db.upgrade(engine, revision)
    return engine


def _copy(base: str, url: str) -> None:
    """The working database, a copy of the snapshot (a template database; a file copy)."""
    if _is_pg(url):
        _create_pg(url, template=base)
    else:
        _remove_sqlite(url)
        shutil.copyfile(base.split("///", 1)[1], url.split("///", 1)[1])


def bench_users(engine: Engine) -> dict[str, int]:
    """username → id of the bench staff, created with ``users.add`` when missing."""
    names = [(f"bench_agent{i:02d}", "agent") for i in range(1, AGENTS + 1)]
    names += [(f"bench_lead{i:02d}", "lead") for i in range(1, LEADS + 1)]
    with engine.begin() as conn:
        have = dict(conn.execute(text("SELECT username, id FROM users WHERE username LIKE 'bench\\_%' ESCAPE '\\'")).all())
        for name, role in names:
            if name not in have:
                have[name] = users.add(conn, name, role, PASSWORD, actor="bench")
    return have


def _load_sqlite(path: str, gen: _Generator, log) -> dict[str, int]:
    con = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=OFF", "cache_size=-524288", "temp_store=MEMORY",
                   "foreign_keys=OFF"):
        con.execute(f"PRAGMA {pragma}")
    con.execute("BEGIN")
    counts = _load(gen, lambda table, rows: con.executemany(
        f"INSERT INTO {table} ({TABLES[table]}) VALUES ({','.join('?' * len(TABLES[table].split(',')))})", rows), log)
    con.execute("COMMIT")
    log("ANALYZE")
    con.execute("ANALYZE")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    return counts


def _load_pg(url: str, gen: _Generator, log) -> dict[str, int]:
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as con:
        with con.cursor() as cur:
            cur.execute("SET session_replication_role = replica")  # no per-row FK triggers while loading

            def copy(table: str, rows: list) -> None:
                with cur.copy(f"COPY {table} ({TABLES[table]}) FROM STDIN") as cp:
                    for row in rows:
                        cp.write_row(row)

            counts = _load(gen, copy, log)
            for table in TABLES:
                cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        con.commit()
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as con:
        log("VACUUM ANALYZE")
        con.execute("VACUUM ANALYZE")
    return counts


def _load(gen: _Generator, write, log) -> dict[str, int]:
    """Generate and write table by table (a table's rows are dropped once written)."""
    counts = {}
    f = gen.f
    write("shops", [(sid, name, platform, province, f.ago(PAST_MIN)) for sid, name, platform, province, *_ in SHOPS])
    orders, shipments = [], []
    t = time.perf_counter()
    gen.orders_and_shipments(orders, shipments)
    log(f"generated {len(orders):,} orders, {len(shipments):,} shipments in {time.perf_counter() - t:.1f} s")
    for table, rows in (("orders", orders), ("shipments", shipments)):
        t = time.perf_counter()
        write(table, rows)
        counts[table] = len(rows)
        log(f"wrote {table}: {len(rows):,} rows in {time.perf_counter() - t:.1f} s")
    del orders, shipments
    for table, fill in (("tracking_events", gen.events), ("order_items", gen.items)):
        rows: list = []
        t = time.perf_counter()
        fill(rows)
        write(table, rows)
        counts[table] = len(rows)
        log(f"{table}: {len(rows):,} rows in {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    parts: dict[str, list] = {"exception_cases": [], "case_events": [], "actions": [], "customer_contacts": []}
    gen.cases(*parts.values())
    for table, rows in parts.items():
        write(table, rows)
        counts[table] = len(rows)
    log(f"cases and their history in {time.perf_counter() - t:.1f} s: "
        + ", ".join(f"{t_} {len(r):,}" for t_, r in parts.items()))
    return counts


def ensure(url: str, *, rebuild: bool = False, orders: int = ORDERS, open_cases: int = OPEN_CASES,
           log=print) -> Dataset:
    """The dataset at ``url``, at the migrations' head.

    The rows are loaded once into a snapshot (``_base_url``) at the newest committed migration;
    ``url`` is a copy of it upgraded to the head, redone whenever a migration changes (the indexes
    being tuned), which takes seconds where loading takes minutes."""
    base = _base_url(url)
    revision, stable = _stable_revision()
    want = {"version": VERSION, "orders": orders, "open_cases": open_cases, "migrations": stable}
    stamp = None if rebuild else _read_stamp(base)
    built = None
    if stamp is None or {k: stamp.get(k) for k in want} != want:
        built = _build(base, revision, want, log)
        stamp = _read_stamp(base)
    head = _migration_hashes()
    work = None if built else _read_stamp(url)
    if work is None or work.get("built_at") != stamp["built_at"] or work.get("applied") != head:
        t = time.perf_counter()
        _copy(base, url)
        engine = db.make_engine(url)
        db.upgrade(engine)
        with engine.begin() as conn:
            refresh_case_facts(conn)  # what classification keeps on every case it writes
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE" if _is_pg(url) else "ANALYZE"))
        _write_stamp(engine, {**stamp, "applied": head})
        engine.dispose()
        log(f"copied the snapshot (migrations up to {revision}) and upgraded it to the head in "
            f"{time.perf_counter() - t:.1f} s")
    engine = db.make_engine(url)
    bench_users(engine)
    engine.dispose()
    return Dataset(url, stamp["counts"], built, stamp["built_at"])


def _build(url: str, revision: str, want: dict, log) -> float:
    log(f"building the dataset in {url.split('@')[-1]} at migration {revision} …")
    started = time.perf_counter()
    engine = _fresh(url, revision)
    staff = bench_users(engine)
    engine.dispose()
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    flavour = _Flavour("postgresql" if _is_pg(url) else "sqlite", now)
    agents = sorted((n, i) for n, i in staff.items() if n.startswith("bench_agent"))[:ASSIGNEES]
    leads = sorted(i for n, i in staff.items() if n.startswith("bench_lead"))
    gen = _Generator(flavour, orders=want["orders"], open_cases=want["open_cases"],
                     closed_cases=want["open_cases"] // CLOSED_SHARE, assignees={i: n for n, i in agents}, leads=leads)
    if _is_pg(url):
        counts = _load_pg(url, gen, log)
    else:
        counts = _load_sqlite(url.split("///", 1)[1], gen, log)
    seconds = round(time.perf_counter() - started, 1)
    engine = db.make_engine(url)
    _write_stamp(engine, {**want, "counts": counts, "built_at": now.isoformat(), "seconds": seconds})
    engine.dispose()
    log(f"built in {seconds:.1f} s")
    return seconds
