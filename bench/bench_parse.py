"""Parse benchmark: a promotion-sized Taobao export through ``imports``.

    python bench/bench_parse.py [--rows 1000000] [--xlsx-rows 200000] [--only csv|xlsx]

Generates (once, under bench/out/) a 1,000,000-row × 32-column GBK 订单报表 CSV like the
real one (~300 MB: quirks, many provinces, carriers, messages, multi-waybill cells) and
a 200,000-row × 32-column xlsx with shared strings, then times, each in a fresh process
so peak RSS belongs to that pass alone:
  (a) a bare ``csv.reader`` pass (the floor), (b) ``open_export(...).records()`` in full;
and for the xlsx the calamine pass and the forced openpyxl streaming pass.
Targets for the parse share of an import: 1M CSV rows ≲ 10–12 s under 100 MB RSS;
200k xlsx rows ≲ 8 s under 1 GB.
"""
from __future__ import annotations

import argparse
import csv
import json
import random
import resource
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script from anywhere

from tests.exportfiles import (TAOBAO_ORDER_CLASSIC, TAOBAO_TRAILING_SPACE, csv_lines,  # noqa: E402
                               taobao_cell, taobao_order_row)

OUT = ROOT / "bench" / "out"
COLUMNS = TAOBAO_ORDER_CLASSIC + ["店铺名称", "订单关闭原因", "宝贝总数量", "退款金额", "确认收货时间",
                                  "延迟发货自动赔付金额", "发货时间", "主订单编号"]
PLACES = [
    "浙江省 杭州市 西湖区", "广东省 深圳市 南山区", "广东省 广州市 天河区", "北京 北京市 朝阳区", "上海 上海市 浦东新区",
    "江苏省 南京市 鼓楼区", "四川省 成都市 武侯区", "新疆维吾尔自治区 乌鲁木齐市 天山区", "内蒙古自治区 呼和浩特市 新城区",
    "广西壮族自治区 南宁市 青秀区", "海南省 海口市 美兰区", "黑龙江省 哈尔滨市 南岗区", "西藏自治区 拉萨市 城关区",
    "湖北省 武汉市 洪山区", "山东省 青岛市 崂山区", "河南省 郑州市 金水区", "云南省 昆明市 五华区", "甘肃省 兰州市 城关区",
]
STATUSES = ["卖家已发货，等待买家确认"] * 6 + ["交易成功"] * 3 + ["买家已付款，等待卖家发货", "交易关闭"]
CARRIERS = [("中通快递", "7{:013d}"), ("圆通速递", "YT{:013d}"), ("韵达快递", "4{:014d}"), ("申通快递", "77{:011d}"),
            ("顺丰速运", "SF{:013d}"), ("极兔速递", "JT{:013d}"), ("邮政快递包裹", "98{:011d}")]
MESSAGES = [""] * 12 + ["发顺丰", "不要中通", "麻烦快点发货", "韵达不到，发邮政", "中通的快递员态度好", "不要发顺丰了，发中通就行"]


PROMOTION_START = datetime(2026, 11, 11)
PROMOTION_SECONDS = 3 * 86400
TIME = "%Y-%m-%d %H:%M:%S"


def taobao_rows(n: int, seed: int = 11):
    rnd = random.Random(seed)
    for i in range(n):
        status = rnd.choice(STATUSES)
        shipped = status in ("卖家已发货，等待买家确认", "交易成功")
        carrier, pattern = rnd.choice(CARRIERS)
        waybill = pattern.format(i) if shipped else ""
        if shipped and i % 50 == 0:
            waybill += "," + pattern.format(i + 10_000_000)
        # Newest first, as the seller centre exports them, spread over the three days of
        # the promotion to the second (~4 orders a second, as many distinct times as real).
        created = PROMOTION_START + timedelta(seconds=PROMOTION_SECONDS * (n - 1 - i) // n)
        paid_time = created + timedelta(seconds=(i * 37) % 600)
        paid = paid_time.strftime(TIME)
        shipped_time = paid_time + timedelta(hours=6 + i % 30, seconds=(i * 13) % 3600)
        shipped_at = shipped_time.strftime(TIME)
        confirmed = (shipped_time + timedelta(days=3 + i % 4, seconds=(i * 17) % 86400)).strftime(TIME)
        yield taobao_order_row(
            订单编号=str(3_900_000_000_000_000_000 + i * 7919), 买家会员名=f"tb{i:08d}",
            订单状态=status, 买家留言=rnd.choice(MESSAGES), 收货人姓名="张三",
            收货地址=f"{rnd.choice(PLACES)} 幸福路{i % 997}号{i % 30}幢({100000 + i % 800000})",
            联系手机=f"138{i % 100_000_000:08d}", 订单付款时间=paid, 订单创建时间=created.strftime(TIME),
            宝贝标题="加厚保暖羽绒服 男款 冬季 中长款 连帽 外套", 物流单号=waybill, 物流公司=carrier if shipped else "",
            发货时间=shipped_at if shipped else "", 订单备注="",
            确认收货时间=confirmed if status == "交易成功" else "", 买家实际支付金额=f"{59 + i % 300}.00",
            总金额=f"{59 + i % 300}.00",
        )


def make_csv(path: Path, rows: int) -> None:
    with path.open("w", encoding="gbk", newline="") as f:
        spaced = TAOBAO_TRAILING_SPACE
        for line in csv_lines(COLUMNS, taobao_rows(rows), taobao_cell, spaced):
            f.write(line + "\r\n")


def make_xlsx(path: Path, rows: int) -> None:
    try:
        import xlsxwriter  # shared strings, like Excel
    except ImportError:
        xlsxwriter = None
    if xlsxwriter is None:
        import openpyxl  # write_only writes inline strings: a bigger sheet XML than Excel's

        book = openpyxl.Workbook(write_only=True)
        sheet = book.create_sheet("Sheet1")
        sheet.append(COLUMNS)
        for row in taobao_rows(rows):
            sheet.append([row.get(c, "") for c in COLUMNS])
        book.save(path)
        return
    book = xlsxwriter.Workbook(str(path))  # not constant_memory: that mode writes inline strings
    sheet = book.add_worksheet("Sheet1")
    sheet.write_row(0, 0, COLUMNS)
    for r, row in enumerate(taobao_rows(rows), 1):
        sheet.write_row(r, 0, [row.get(c, "") for c in COLUMNS])
    book.close()


def bare_csv(path: Path) -> int:
    with path.open(encoding="gb18030", newline="") as f:
        return sum(1 for _ in csv.reader(f))


def full_pass(path: Path, force_stream: bool = False) -> dict:
    from imports import RowError, open_export, reader

    if force_stream:
        reader.CALAMINE_XML_BUDGET = 0
    records = errors = 0
    with open_export(path) as export:
        for item in export.records():
            if isinstance(item, RowError):
                errors += 1
            else:
                records += 1
        engine = export.info.engine
    return {"records": records, "row_errors": errors, "engine": engine}


MAKERS = {"make_csv": make_csv, "make_xlsx": make_xlsx}


def child(task: str, path: str, rows: str = "0") -> None:
    """Run one step in this process: make a file, or time a pass and print its figures as JSON.

    Each step gets its own process because Linux carries ru_maxrss across fork+exec: a
    child of a parent that had just generated a big file would report the parent's peak.
    """
    start = time.perf_counter()
    if task in MAKERS:
        MAKERS[task](Path(path), int(rows))
        return
    if task == "bare_csv":
        result = {"records": bare_csv(Path(path))}
    else:
        result = full_pass(Path(path), force_stream=task == "openpyxl")
    result["seconds"] = round(time.perf_counter() - start, 2)
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(result))


def run(task: str, path: Path) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", task, str(path)],
                         check=True, capture_output=True, text=True).stdout
    result = json.loads(out.strip().splitlines()[-1])
    result["rows_per_s"] = int(result["records"] / max(result["seconds"], 1e-9))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--xlsx-rows", type=int, default=200_000)
    parser.add_argument("--only", choices=("csv", "xlsx"))
    parser.add_argument("--child", nargs="+", metavar="ARG", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    OUT.mkdir(parents=True, exist_ok=True)
    plans = []
    if args.only in (None, "csv"):
        plans.append((OUT / f"ExportOrderList_{args.rows}.csv", args.rows, "make_csv", ("bare_csv", "records")))
    if args.only in (None, "xlsx"):
        plans.append((OUT / f"ExportOrderList_{args.xlsx_rows}.xlsx", args.xlsx_rows, "make_xlsx",
                      ("records", "openpyxl")))
    for path, rows, make, tasks in plans:
        if not path.exists():
            start = time.perf_counter()
            subprocess.run([sys.executable, __file__, "--child", make, str(path), str(rows)], check=True)
            print(f"generated {path.name}: {path.stat().st_size / 1e6:.0f} MB in {time.perf_counter() - start:.0f} s")
        print(f"{path.name} ({path.stat().st_size / 1e6:.0f} MB, {len(COLUMNS)} columns)")
        for task in tasks:
            print(f"  {task:<10} {json.dumps(run(task, path), ensure_ascii=False)}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
