"""Write real platform export files, quirks included: the demo's dataset and the tests' fixtures.

Every builder writes what the platform's download really looks like (encoding, line
endings, header spellings, ``="…"`` ids, ``'`` phones, ``元`` suffixes, tabs in cells), so
the demo and the tests exercise the parsers the way production files will.  A caller
passes only the cells it cares about; every other column gets a realistic default::

    rows = [taobao_order_row(订单状态="交易成功", 买家留言="发顺丰")]
    write_taobao_orders_csv(tmp_path / "ExportOrderList202611120930.csv", rows)

Row dicts are keyed by the header as the platform spells it (without the stray trailing
spaces, which the writers add).  Unknown keys become extra columns.
"""
from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from pathlib import Path

import openpyxl

_ids = itertools.count(1)

# --- Taobao / Tmall 订单报表 ------------------------------------------------------------

TAOBAO_ORDER_CLASSIC = [
    "订单编号", "买家会员名", "买家支付宝账号", "买家应付货款", "买家应付邮费", "买家支付积分", "总金额",
    "返点积分", "买家实际支付金额", "买家实际支付积分", "订单状态", "买家留言", "收货人姓名", "收货地址",
    "运送方式", "联系电话", "联系手机", "订单创建时间", "订单付款时间", "宝贝标题", "宝贝种类", "物流单号",
    "物流公司", "订单备注",
]
TAOBAO_ORDER_NEWER = [
    "宝贝总数量", "店铺Id", "店铺名称", "订单关闭原因", "卖家服务费", "买家服务费", "发票抬头", "是否手机订单",
    "修改后的收货地址", "异常信息", "退款金额", "确认收货时间", "打款商家金额", "延迟发货自动赔付金额",
    "发货时间", "主订单编号",
]
TAOBAO_ORDER_HEADER = TAOBAO_ORDER_CLASSIC + TAOBAO_ORDER_NEWER
# Headers the seller centre writes with a trailing space (domain notes §1.1).
TAOBAO_TRAILING_SPACE = frozenset({"收货地址", "联系电话", "订单付款时间", "宝贝标题", "宝贝种类", "物流单号"})
TAOBAO_ID_COLUMNS = frozenset({"订单编号", "主订单编号", "支付单号", "子订单编号"})


def next_taobao_order_id() -> str:
    return str(3_900_000_000_000_000_000 + next(_ids) * 7919)


def taobao_order_row(**cells: object) -> dict[str, str]:
    """A shipped one-item order to 浙江; keyword arguments override any column."""
    order_id = str(cells.get("订单编号") or next_taobao_order_id())
    row = {
        "订单编号": order_id, "买家会员名": "tb_buyer01", "买家支付宝账号": "**", "买家应付货款": "59.00",
        "买家应付邮费": "0.00", "买家支付积分": "0", "总金额": "59.00", "返点积分": "0",
        "买家实际支付金额": "59.00", "买家实际支付积分": "0", "订单状态": "卖家已发货，等待买家确认",
        "买家留言": "", "收货人姓名": "张三", "收货地址": "浙江省 杭州市 西湖区 文三路100号(310000)",
        "运送方式": "快递", "联系电话": "", "联系手机": "13800138000", "订单创建时间": "2026-11-11 00:00:05",
        "订单付款时间": "2026-11-11 00:00:09", "宝贝标题": "加厚保暖羽绒服", "宝贝种类": "1",
        "物流单号": "73100000000001", "物流公司": "中通快递", "订单备注": "",
        "宝贝总数量": "1", "店铺Id": "57300001", "店铺名称": "示例旗舰店", "订单关闭原因": "订单未关闭",
        "卖家服务费": "0", "买家服务费": "0元", "发票抬头": "", "是否手机订单": "手机订单",
        "修改后的收货地址": "", "异常信息": "", "退款金额": "0.00", "确认收货时间": "",
        "打款商家金额": "0.00元", "延迟发货自动赔付金额": "0.00", "发货时间": "2026-11-11 18:30:00",
        "主订单编号": order_id,
    }
    row.update({k: "" if v is None else str(v) for k, v in cells.items()})
    return row


def taobao_cell(column: str, value: str) -> str:
    """A cell as the seller centre writes it: ``="…"`` ids, ``'`` before mobile numbers."""
    if column in TAOBAO_ID_COLUMNS and value and not value.startswith("="):
        return f'="{value}"'
    if column in ("联系手机", "手机") and value and not value.startswith("'"):
        return "'" + value
    return value


def write_taobao_orders_csv(path: str | Path, rows: Iterable[dict], *, encoding: str = "gbk",
                            extra_columns: bool = True, quirks: bool = True,
                            columns: Sequence[str] | None = None) -> Path:
    """订单报表 as the seller centre downloads it: GBK, CRLF, all the quirks.

    ``encoding="utf-8-sig"`` gives the UTF-8-with-BOM variant; ``quirks=False`` writes
    plain cells and headers; ``columns`` picks the header (default: classic 24 columns,
    plus the newer ones when ``extra_columns``).
    """
    header = list(columns or (TAOBAO_ORDER_HEADER if extra_columns else TAOBAO_ORDER_CLASSIC))
    spaced = TAOBAO_TRAILING_SPACE if quirks else frozenset()
    cell = taobao_cell if quirks else _plain_cell
    return write_csv(path, header, rows, encoding, cell, spaced)


def write_taobao_orders_xlsx(path: str | Path, rows: Iterable[dict], *, extra_columns: bool = True,
                             title: str | None = None, cell_types: bool = False,
                             columns: Sequence[str] | None = None) -> Path:
    """订单报表 as xlsx (千牛 / a re-save).  ``title`` adds a title row above the header;
    ``cell_types`` stores times as datetime cells and amounts as numbers, as Excel does."""
    header = list(columns or (TAOBAO_ORDER_HEADER if extra_columns else TAOBAO_ORDER_CLASSIC))
    return _write_xlsx(path, header, rows, title=title, cell_types=cell_types)


# --- Taobao 宝贝报表 ----------------------------------------------------------------------

TAOBAO_ITEM_HEADER = [
    "订单编号", "标题", "价格", "购买数量", "外部系统编号", "商品属性", "套餐信息", "备注", "订单状态", "商家编码",
]
TAOBAO_ITEM_NEWER = ["子订单编号", "主订单编号", "支付单号", "买家应付货款", "买家实际支付金额", "退款状态",
                     "退款金额", "订单创建时间", "订单付款时间"]


def taobao_item_row(**cells: object) -> dict[str, str]:
    order_id = str(cells.get("订单编号") or next_taobao_order_id())
    row = {
        "订单编号": order_id, "标题": "加厚保暖羽绒服", "价格": "59.00", "购买数量": "1", "外部系统编号": "",
        "商品属性": "颜色分类：黑色;尺码：XL", "套餐信息": "", "备注": "", "订单状态": "卖家已发货，等待买家确认",
        "商家编码": "YRF-001-BK-XL", "子订单编号": str(int(order_id) + 1), "主订单编号": order_id,
        "支付单号": "2026111122001400000000001", "买家应付货款": "59.00", "买家实际支付金额": "59.00",
        "退款状态": "没有申请退款", "退款金额": "0.00", "订单创建时间": "2026-11-11 00:00:05",
        "订单付款时间": "2026-11-11 00:00:09",
    }
    row.update({k: "" if v is None else str(v) for k, v in cells.items()})
    return row


def write_taobao_items_csv(path: str | Path, rows: Iterable[dict], *, encoding: str = "gbk",
                           extra_columns: bool = False) -> Path:
    header = TAOBAO_ITEM_HEADER + (TAOBAO_ITEM_NEWER if extra_columns else [])
    return write_csv(path, header, rows, encoding, taobao_cell)


# --- Taobao 退款报表 ----------------------------------------------------------------------

TAOBAO_REFUND_HEADER = [
    "订单编号", "退款编号", "支付宝交易号", "订单付款时间", "商品编码", "退款完结时间", "买家实际支付金额",
    "宝贝标题", "买家退款金额", "手工退款/系统退款", "是否需要退货", "退款的申请时间", "超时时间", "退款状态",
    "货物状态", "退货物流信息", "发货物流信息", "客服介入状态", "卖家真实姓名", "卖家真实姓名新", "卖家退货地址",
    "卖家邮编", "卖家电话", "卖家手机", "退货物流单号", "退货物流公司", "买家退款原因", "买家退款说明",
    "买家退货时间", "责任方", "售中或售后", "商家备注", "完结时间", "部分退款/全部退款", "审核操作人", "举证超时",
    "是否零秒响应", "退款操作人", "退款原因标签", "业务类型", "是否帮他退款", "帮他退款操作账号",
]


def taobao_refund_row(**cells: object) -> dict[str, str]:
    row = {
        "订单编号": next_taobao_order_id(), "退款编号": str(200_000_000_000_000 + next(_ids)),
        "支付宝交易号": "2026111122001400000000001", "订单付款时间": "2026-11-11 00:00:09",
        "商品编码": "660000000001", "退款完结时间": "", "买家实际支付金额": "59.00", "宝贝标题": "加厚保暖羽绒服",
        "买家退款金额": "59.00", "手工退款/系统退款": "系统退款", "是否需要退货": "否",
        "退款的申请时间": "2026-11-20 10:00:00", "超时时间": "2026-11-22 10:00:00",
        "退款状态": "买家已经申请退款，等待卖家同意", "货物状态": "买家未收到货", "退货物流信息": "",
        "发货物流信息": "中通快递,73100000000001", "客服介入状态": "未介入", "卖家真实姓名": "", "卖家真实姓名新": "",
        "卖家退货地址": "", "卖家邮编": "", "卖家电话": "", "卖家手机": "", "退货物流单号": "", "退货物流公司": "",
        "买家退款原因": "物流一直未送达", "买家退款说明": "", "买家退货时间": "", "责任方": "", "售中或售后": "售中",
        "商家备注": "", "完结时间": "", "部分退款/全部退款": "全部退款", "审核操作人": "", "举证超时": "",
        "是否零秒响应": "否", "退款操作人": "", "退款原因标签": "", "业务类型": "", "是否帮他退款": "否",
        "帮他退款操作账号": "",
    }
    row.update({k: "" if v is None else str(v) for k, v in cells.items()})
    return row


def write_taobao_refunds_csv(path: str | Path, rows: Iterable[dict], *, encoding: str = "gbk") -> Path:
    return write_csv(path, TAOBAO_REFUND_HEADER, rows, encoding, taobao_cell)


def write_taobao_refunds_xlsx(path: str | Path, rows: Iterable[dict]) -> Path:
    return _write_xlsx(path, TAOBAO_REFUND_HEADER, rows)


# --- 拼多多 ---------------------------------------------------------------------------------

PDD_HEADER = [
    "商品", "订单号", "订单状态", "商品数量(件)", "是否审核中", "支付时间", "承诺发货时间", "发货时间", "确认收货时间",
    "商品id", "商品规格", "商家编码-规格维度", "商家备注", "买家留言", "售后状态", "订单成交时间", "商品总价(元)",
    "邮费(元)", "店铺优惠折扣(元)", "平台优惠折扣(元)", "用户实付金额(元)", "商家实收金额(元)", "快递单号", "快递公司",
    "收货人", "手机", "省", "市", "区", "街道", "详细地址", "是否顺丰加价",
]
_PDD_TABBED = frozenset({"订单号", "支付时间", "承诺发货时间", "发货时间", "确认收货时间", "订单成交时间", "快递单号",
                         "商品id", "商家编码-规格维度", "手机"})


def pdd_order_row(**cells: object) -> dict[str, str]:
    row = {
        "商品": "加厚保暖羽绒服", "订单号": f"261111-{300000000000000 + next(_ids)}", "订单状态": "已发货，待签收",
        "商品数量(件)": "1", "是否审核中": "否", "支付时间": "2026-11-11 00:00", "承诺发货时间": "2026-11-13 00:00",
        "发货时间": "2026-11-11 18:30", "确认收货时间": "", "商品id": "600000000001", "商品规格": "黑色 XL",
        "商家编码-规格维度": "YRF-001-BK-XL", "商家备注": "", "买家留言": "", "售后状态": "无售后或售后取消",
        "订单成交时间": "2026-11-11 00:00", "商品总价(元)": "59.00", "邮费(元)": "0.00",
        "店铺优惠折扣(元)": "0.00", "平台优惠折扣(元)": "0.00", "用户实付金额(元)": "59.00",
        "商家实收金额(元)": "59.00", "快递单号": "YT1000000000001", "快递公司": "圆通快递", "收货人": "李四",
        "手机": "13900139000", "省": "广东省", "市": "深圳市", "区": "南山区", "街道": "粤海街道",
        "详细地址": "科技园1号", "是否顺丰加价": "否",
    }
    row.update({k: "" if v is None else str(v) for k, v in cells.items()})
    return row


def _pdd_cell(column: str, value: str) -> str:
    return "\t" + value if value and column in _PDD_TABBED else value


def write_pdd_orders_csv(path: str | Path, rows: Iterable[dict], *, encoding: str = "utf-8-sig",
                         quirks: bool = True) -> Path:
    """PDD 订单导出: tabs before ids, times and phones (``quirks``), CRLF."""
    return write_csv(path, PDD_HEADER, rows, encoding, _pdd_cell if quirks else _plain_cell)


def write_pdd_orders_xlsx(path: str | Path, rows: Iterable[dict]) -> Path:
    return _write_xlsx(path, PDD_HEADER, rows)


# --- 抖店 -----------------------------------------------------------------------------------

DOUYIN_HEADER = [
    "主订单编号", "子订单编号", "选购商品", "商品规格", "商品数量", "商品ID", "商家编码", "商品单价", "订单应付金额", "运费",
    "收件人", "收件人手机号", "省", "市", "区", "街道", "详细地址", "是否修改过地址", "买家留言", "订单提交时间",
    "旗帜颜色", "商家备注", "订单完成时间", "支付完成时间", "APP渠道", "订单状态", "承诺发货时间", "售后状态",
    "取消原因", "发货时间", "快递信息",
]
_DOUYIN_TABBED = frozenset({"主订单编号", "子订单编号", "商品ID", "收件人手机号"})


def douyin_order_row(**cells: object) -> dict[str, str]:
    parent = str(6_920_000_000_000_000_000 + next(_ids) * 10)
    row = {
        "主订单编号": parent, "子订单编号": str(int(parent) + 1), "选购商品": "加厚保暖羽绒服", "商品规格": "黑色;XL",
        "商品数量": "1", "商品ID": "3600000000000000001", "商家编码": "YRF-001-BK-XL", "商品单价": "59.00",
        "订单应付金额": "59.00", "运费": "0.00", "收件人": "王五", "收件人手机号": "13700137000", "省": "四川省",
        "市": "成都市", "区": "武侯区", "街道": "桂溪街道", "详细地址": "天府大道100号", "是否修改过地址": "否",
        "买家留言": "", "订单提交时间": "2026/11/11 00:00:05", "旗帜颜色": "", "商家备注": "", "订单完成时间": "",
        "支付完成时间": "2026/11/11 00:00:09", "APP渠道": "抖音", "订单状态": "已发货", "承诺发货时间": "2026/11/13 00:00:09",
        "售后状态": "-", "取消原因": "", "发货时间": "2026/11/11 18:30:00", "快递信息": "中通快递 73100000000009",
    }
    row.update({k: "" if v is None else str(v) for k, v in cells.items()})
    return row


def _douyin_cell(column: str, value: str) -> str:
    return value + "\t" if value and column in _DOUYIN_TABBED else value


def write_douyin_orders_csv(path: str | Path, rows: Iterable[dict], *, encoding: str = "utf-8-sig") -> Path:
    return write_csv(path, DOUYIN_HEADER, rows, encoding, _douyin_cell)


def write_douyin_orders_xlsx(path: str | Path, rows: Iterable[dict]) -> Path:
    return _write_xlsx(path, DOUYIN_HEADER, rows)


# --- 京东 POP -------------------------------------------------------------------------------

JD_HEADER = [
    "订单号", "商品ID", "商品名称", "订购数量", "支付方式", "下单时间", "京东价", "订单金额", "结算金额", "余额支付",
    "应付金额", "订单状态", "订单类型", "下单帐号", "客户姓名", "客户地址", "联系电话", "订单备注", "发票类型",
    "发票抬头", "发票内容", "商家备注", "商家备注等级（等级1-5为由高到低）", "运费金额", "付款确认时间", "增值税发票",
    "货号", "订单完成时间", "订单来源", "订单渠道",
]
JD_WAYBILL_COLUMNS = ["快递公司", "运单号"]  # unverified: the public sample has none


def jd_order_row(**cells: object) -> dict[str, str]:
    row = {
        "订单号": str(250_000_000_000 + next(_ids)), "商品ID": "100000000001", "商品名称": "加厚保暖羽绒服",
        "订购数量": "1", "支付方式": "在线支付", "下单时间": "2026-11-11 00:00:05", "京东价": "59.00",
        "订单金额": "59.00", "结算金额": "59.00", "余额支付": "0.00", "应付金额": "59.00", "订单状态": "等待确认收货",
        "订单类型": "销售订单", "下单帐号": "jd_buyer01", "客户姓名": "赵六", "客户地址": "江西南昌市青山湖区昌东大道1号",
        "联系电话": "13600136000", "订单备注": "", "发票类型": "", "发票抬头": "", "发票内容": "", "商家备注": "",
        "商家备注等级（等级1-5为由高到低）": "", "运费金额": "0.00", "付款确认时间": "2026-11-11 00:00:30",
        "增值税发票": "", "货号": "", "订单完成时间": "", "订单来源": "移动端订单", "订单渠道": "暂无来源",
        "快递公司": "京东快递", "运单号": "JDVA00000000001",
    }
    row.update({k: "" if v is None else str(v) for k, v in cells.items()})
    return row


def write_jd_orders_csv(path: str | Path, rows: Iterable[dict], *, encoding: str = "gbk",
                        waybill_columns: bool = True) -> Path:
    header = JD_HEADER + (JD_WAYBILL_COLUMNS if waybill_columns else [])
    return write_csv(path, header, rows, encoding, _plain_cell)


def write_jd_orders_xlsx(path: str | Path, rows: Iterable[dict], *, waybill_columns: bool = True,
                         cell_types: bool = False) -> Path:
    return _write_xlsx(path, JD_HEADER + (JD_WAYBILL_COLUMNS if waybill_columns else []), rows,
                       cell_types=cell_types)


# --- writing ----------------------------------------------------------------------------


def _plain_cell(column: str, value: str) -> str:
    return value


def _csv_field(value: str) -> str:
    # Ids written as ="…" stay unquoted, exactly as the seller centre writes them.
    if value.startswith('="'):
        return value
    if any(ch in value for ch in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


# Every column a builder knows for its format; any other key in a row becomes an extra column.
_KNOWN = frozenset(TAOBAO_ORDER_HEADER + TAOBAO_ITEM_HEADER + TAOBAO_ITEM_NEWER + TAOBAO_REFUND_HEADER
                   + PDD_HEADER + DOUYIN_HEADER + JD_HEADER + JD_WAYBILL_COLUMNS)


def _columns(header: Sequence[str], rows: list[dict]) -> list[str]:
    extra = [k for row in rows for k in row if k not in header and k not in _KNOWN]
    return list(header) + list(dict.fromkeys(extra))


def csv_lines(columns: Sequence[str], rows: Iterable[dict], cell=_plain_cell,
              spaced: frozenset[str] = frozenset()) -> Iterator[str]:
    """The header line and one line per row (no line ending), quoted as the platforms do."""
    yield ",".join(_csv_field(c + " " if c in spaced else c) for c in columns)
    for row in rows:
        yield ",".join(_csv_field(cell(c, str(row.get(c, "")))) for c in columns)


def write_csv(path: str | Path, header: Sequence[str], rows: Iterable[dict], encoding: str,
               cell=_plain_cell, spaced: frozenset[str] = frozenset()) -> Path:
    path = Path(path)
    rows = list(rows)
    text = "".join(line + "\r\n" for line in csv_lines(_columns(header, rows), rows, cell, spaced))
    path.write_bytes(text.encode(encoding))
    return path


_DATE = re.compile(r"^\d{4}[-/]\d{1,2}[-/]\d{1,2} \d{1,2}:\d{2}(:\d{2})?$")
_AMOUNT = re.compile(r"^-?\d+\.\d{2}$")


def _typed(value: str) -> object:
    if _DATE.match(value):
        return datetime.fromisoformat(value.replace("/", "-")) if len(value) >= 16 else value
    if _AMOUNT.match(value):
        return float(value)
    return value


def _write_xlsx(path: str | Path, header: Sequence[str], rows: Iterable[dict], *,
                title: str | None = None, cell_types: bool = False) -> Path:
    path = Path(path)
    rows = list(rows)
    columns = _columns(header, rows)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Sheet1"
    if title:
        sheet.append([title])
    sheet.append(columns)
    for row in rows:
        values = [str(row.get(c, "")) for c in columns]
        sheet.append([None if v == "" else (_typed(v) if cell_types else v) for v in values])
    book.save(path)
    return path
