"""Classification throughput: 1,000,000 orders with their shipments and scans, on SQLite.

    python bench/bench_classify.py [--orders 1000000] [--keep] [--runs N] [--processes 1|2]
                                   [--module tracker.cases] [--dump FILE] [--no-incremental]

Builds the dataset once with plain ``sqlite3`` executemany (not the importer) into
bench/out/classify-base.sqlite3 (``--keep`` reuses it): a post-promotion mix of orders (most
delivered and confirmed, many on the way, some never shipped, some stalled, refused, damaged,
at a locker, with a carrier wish), one shipment per shipped order, 3–5 scans each.  Each run
works on a fresh copy (bench/out/classify.sqlite3) and times, in fresh connections:
  (1) a full ``classify_orders`` run: split into loading (which orders may have a finding,
      SQL → snapshots), rules (``classify.evaluate``) and writing (cases, history,
      next_check_at, commits); with two processes the three are summed over both;
  (2) an incremental run after ~1% of the orders changed (a new scan on their parcel).
Target: (1) ≤ 20 s on 2 cores.  ``--module`` takes ``classify_orders`` from elsewhere (an
older tracker/cases.py saved under another name on PYTHONPATH) to compare back to back, and
``--dump`` writes every case, its history and every next_check_at, sorted, to compare outcomes.
"""
from __future__ import annotations

import argparse
import hashlib
import importlib
import os
import random
import resource
import shutil
import sqlite3
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script from anywhere

from tracker import db, policy  # noqa: E402

NOW = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)
H = timedelta(hours=1)
D = timedelta(days=1)
PROVINCES = ("浙江省", "江苏省", "上海市", "广东省", "北京市", "四川省", "新疆维吾尔自治区", "海南省", "山东省", "湖北省")
CARRIERS = ("zto", "yto", "sto", "yunda", "jt", "sf")
# (share, order status, parcel status or None, days since payment, hours since the last scan):
# the mix two weeks after a promotion; about 8% of the orders are in some trouble
MIX = (
    (0.55, "finished", "delivered", 12, 100), (0.20, "shipped", "in_transit", 2, 10),
    (0.08, "shipped", "delivered", 5, 20), (0.05, "shipped", "out_for_delivery", 3, 5),
    (0.02, "awaiting_shipment", None, 1, 0), (0.01, "awaiting_shipment", None, 4, 0), (0.02, "shipped", "pending", 3, 0),
    (0.02, "shipped", "in_transit", 5, 80), (0.02, "shipped", "available_for_pickup", 6, 90),
    (0.01, "shipped", "refused", 4, 10), (0.01, "finished", "in_transit", 11, 30), (0.01, "closed", "returned", 12, 100),
)


def ts(t: datetime) -> str:
    return t.isoformat(" ", "microseconds")[:26]


def build(path: Path, n: int, seed: int = 7) -> None:
    engine = db.make_engine(f"sqlite:///{path}")
    db.upgrade(engine)
    engine.dispose()
    rng = random.Random(seed)
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    con.execute("PRAGMA cache_size=-262144")
    con.execute("BEGIN")
    con.execute("INSERT INTO shops (id, name, platform, origin_province, created_at) VALUES (1, '示例旗舰店', 'taobao', "
                "'浙江省', ?)", (ts(NOW),))
    weights = [m[0] for m in MIX]
    orders, shipments, events = [], [], []
    sid = eid = 0
    for oid in range(1, n + 1):
        _share, status, parcel, days, since = rng.choices(MIX, weights)[0]
        paid = NOW - (days + rng.random()) * D
        shipped = paid + rng.random() * 20 * H if parcel else None
        carrier = rng.choice(CARRIERS)
        wish = "sf" if rng.random() < 0.01 else None
        orders.append((oid, 1, "taobao", str(3_900_000_000_000_000_000 + oid), status, status, rng.choice(PROVINCES),
                       "发顺丰" if wish else None, wish, ts(paid), ts(shipped) if shipped else None,
                       ts(shipped + 10 * D) if status == "finished" and shipped else None, ts(NOW - 20 * D), ts(NOW - 20 * D),
                       "h"))
        if parcel is None:
            continue
        sid += 1
        scans = [] if parcel == "pending" else _scans(rng, shipped, NOW - since * H, parcel)
        last = scans[-1] if scans else None
        shipments.append((sid, oid, "original", "import", f"7310{oid:010d}", carrier, parcel,
                          ts(scans[0][0]) if scans else None, ts(last[0]) if last else None, last[2] if last else None,
                          last[1] if last else None, ts(last[0]) if parcel == "delivered" else None,
                          parcel in ("delivered", "returned"), ts(shipped), ts(NOW - 20 * D)))
        for t, loc, text, st in scans:
            eid += 1
            events.append((eid, sid, ts(t), loc, text, st, f"{eid:032x}", ts(t)))
    con.executemany("INSERT INTO orders (id, shop_id, platform, platform_order_id, status, status_raw, province, "
                    "buyer_message, requested_carriers, paid_at, shipped_at, confirmed_at, facts_changed_at, "
                    "created_at, source_hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", orders)
    con.executemany("INSERT INTO shipments (id, order_id, kind, source, waybill, carrier, status, first_scan_at, "
                    "last_event_at, last_event_text, last_location, delivered_at, done, created_at, updated_at, "
                    "poll_count, error_count) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,0,0)", shipments)
    con.executemany("INSERT INTO tracking_events (id, shipment_id, time, location, text, status, fingerprint, "
                    "received_at) VALUES (?,?,?,?,?,?,?,?)", events)
    con.execute("COMMIT")
    con.execute("ANALYZE")
    con.close()
    print(f"built {n:,} orders, {sid:,} shipments, {eid:,} scans")


def _scans(rng: random.Random, shipped: datetime, last: datetime, status: str) -> list[tuple]:
    first = min(shipped + rng.random() * 12 * H, last)
    hops = rng.randint(1, 3)
    out = [(first, "浙江省杭州市", "【杭州市】快件已揽收", "picked_up")]
    for i in range(1, hops + 1):
        t = first + (last - first) * i / (hops + 1)
        out.append((t, "广州转运中心", "快件已到达【广州转运中心】", "in_transit"))
    text = {"delivered": "已签收，签收人：本人。如有破损请当场拒收", "out_for_delivery": "派件中，请当面验货",
            "available_for_pickup": "已放入菜鸟驿站，请凭取件码取件", "refused": "收件人拒收",
            "returned": "退件已签收"}.get(status, "快件已发往下一站")
    if rng.random() < 0.002:
        text = "快件外包装破损，已联系发件人"
    out.append((last, "目的地网点", text, status))
    return out


def dump(engine, path: Path) -> str:
    """The run's outcome, sorted, for comparing two implementations: every case, its history,
    and every order's next_check_at.  Returns the sha256 of the file."""
    queries = (
        "SELECT 'case', c.order_id, c.kind, c.status, c.severity, c.evidence_text, c.facts_hash, c.deadline, "
        "c.shipment_id, c.refines, c.evidence, c.detected_at, c.closed_at, c.close_reason, c.shop_id, c.province, "
        "c.carrier, c.paid_at FROM exception_cases c",
        "SELECT 'event', c.order_id, c.kind, e.event, e.detail, e.at FROM case_events e "
        "JOIN exception_cases c ON c.id = e.case_id",
        "SELECT 'next', id, next_check_at FROM orders WHERE next_check_at IS NOT NULL",
    )
    digest = hashlib.sha256()
    with engine.connect() as conn:
        lines = sorted("\t".join("" if v is None else str(v) for v in row)
                       for q in queries for row in conn.exec_driver_sql(q))
    with open(path, "w", encoding="utf-8") as out:
        for line in lines:
            out.write(line + "\n")
            digest.update(line.encode() + b"\n")
    return digest.hexdigest()


def cpu_seconds() -> tuple[float, float]:
    """User + system seconds of this process and of its finished children."""
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, children.ru_utime + children.ru_stime


def fresh_copy(base: Path, work: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{work}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(base, work)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--db", type=Path, default=ROOT / "bench" / "out" / "classify.sqlite3",
                        help="the working copy; the built dataset stays untouched beside it (NAME-base.sqlite3)")
    parser.add_argument("--keep", action="store_true", help="reuse the built dataset if it exists")
    parser.add_argument("--runs", type=int, default=1, help="full runs, each on a fresh copy of the dataset")
    parser.add_argument("--no-incremental", action="store_true")
    parser.add_argument("--module", default="tracker.cases",
                        help="where classify_orders comes from (compare implementations back to back)")
    parser.add_argument("--processes", type=int, help="1 or 2 (default: classify_orders decides)")
    parser.add_argument("--dump", type=Path, help="write the first full run's cases, history and next_check_at here")
    args = parser.parse_args()
    args.db.parent.mkdir(parents=True, exist_ok=True)
    base = args.db.with_name(f"{args.db.stem}-base{args.db.suffix}")
    if not (args.keep and base.exists()):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{base}{suffix}").unlink(missing_ok=True)
        t0 = time.perf_counter()
        build(base, args.orders)
        print(f"build: {time.perf_counter() - t0:.1f} s")
    classify_orders = importlib.import_module(args.module).classify_orders
    rules = policy.DEFAULT
    for run in range(args.runs):
        fresh_copy(base, args.db)
        engine = db.make_engine(f"sqlite:///{args.db}")
        cpu0 = cpu_seconds()
        t0 = time.perf_counter()
        full = classify_orders(engine, rules, NOW, **({"processes": args.processes} if args.processes else {}))
        total = time.perf_counter() - t0
        parts = f"load {full.load_seconds:.2f} + rules {full.rules_seconds:.2f} + write {full.write_seconds:.2f}"
        elsewhere = getattr(full, "chunks_elsewhere", 0)
        if elsewhere:
            parts += (f" s, summed over both processes ({elsewhere} of {full.chunks} chunks evaluated in the "
                      f"second)")
        else:
            parts += f" (+ {total - full.load_seconds - full.rules_seconds - full.write_seconds:.2f} other)"
        evaluated = getattr(full, "orders_evaluated", full.orders_seen)
        print(f"full: {full.orders_seen:,} orders ({evaluated:,} not quiet, evaluated) in {total:.2f} s; {parts}; "
              f"cases opened {full.opened.total():,}: {dict(full.opened.most_common())}", flush=True)
        cpu = [b - a for a, b in zip(cpu0, cpu_seconds(), strict=True)]
        print(f"  cpu: this process {cpu[0]:.2f} s + the second process {cpu[1]:.2f} s; other work on the machine: "
              f"load average {os.getloadavg()[0]:.2f}", flush=True)
        if args.dump and run == 0:
            print(f"dump: {args.dump} sha256 {dump(engine, args.dump)}")
        if args.no_incremental:
            engine.dispose()
            continue
        changed = max(1, args.orders // 100)
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "UPDATE shipments SET last_event_at = ?, last_event_text = '快件已到达【北京转运中心】', status = 'in_transit', "
                "delivered_at = NULL, updated_at = ? WHERE id % 100 = 0", (ts(NOW - H), ts(datetime.now(UTC))))
        t0 = time.perf_counter()
        inc = classify_orders(engine, rules, NOW + H)
        total = time.perf_counter() - t0
        print(f"incremental after ~{changed:,} changed orders: {inc.orders_seen:,} orders in {total:.2f} s = load "
              f"{inc.load_seconds:.2f} + rules {inc.rules_seconds:.2f} + write {inc.write_seconds:.2f}; "
              f"opened {inc.opened.total():,}, refreshed {inc.refreshed.total():,}, cleared {inc.cleared.total():,}",
              flush=True)
        if args.dump and run == 0:
            after = args.dump.with_name(f"{args.dump.stem}-incremental{args.dump.suffix}")
            print(f"dump: {after} sha256 {dump(engine, after)}")
        engine.dispose()


if __name__ == "__main__":
    main()
