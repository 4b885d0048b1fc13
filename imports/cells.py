"""Cell values to normalized Python values: the converters every format shares.

Each converter takes one raw cell (``str`` from CSV; ``str``/``float``/``int``/``datetime``
from XLSX), returns the normalized value or ``None`` for "nothing there", and raises
``BadCell`` when the cell holds something it cannot be (a date that is not a date, an
order id Excel turned into a float).  The engine turns ``BadCell`` into a ``RowError``:
a bad cell never stops the batch.

They sit on the hot path (a million rows × ~25 cells), so they test the cheap cases first
and cache results for values that repeat (money amounts).
"""
from __future__ import annotations

import re
import unicodedata
from abc import abstractmethod
from collections.abc import Callable, Iterator, Sequence
from functools import lru_cache
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from couriers.carriers import normalize

from .records import ShipmentRef

UTC = timezone.utc
SHANGHAI_OFFSET = timedelta(hours=8)  # exports write Asia/Shanghai wall time: fixed +08:00, no DST
_EXCEL_EPOCH = datetime(1899, 12, 30)
_FLOAT_EXACT_LIMIT = 1e15  # beyond this a float has already lost an id's last digits


carrier_code = lru_cache(maxsize=4096)(normalize)  # an export names a few dozen carriers


class BadCell(ValueError):
    """A cell that cannot hold what its column says; ``reason`` is Chinese then English."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


# Values that mean "empty" in some exports.
_NULLS = frozenset({"", "-", "--", "null", "NULL", "None", "nan", "无", "订单未关闭"})


def clean(value: object) -> str:
    """Text of a cell with the platforms' wrappers removed.

    Strips whitespace and the tabs PDD puts in cells to force text, unwraps Taobao's
    Excel-safe ``="…"`` and drops the leading ``'`` that marks phones as text.
    """
    if type(value) is not str:
        return _cell_text(value)
    if "\t" in value:
        value = value.replace("\t", "")
    value = value.strip()
    if value and value[0] in "='":
        if value.startswith('="') and value.endswith('"') and len(value) >= 3:
            value = value[2:-1].strip()
        elif value[0] == "'":
            value = value[1:].lstrip()
    return value


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if type(value) is float:
        return str(int(value)) if value.is_integer() and abs(value) < _FLOAT_EXACT_LIMIT else repr(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    return str(value).strip()


def text(value: object) -> str | None:
    if type(value) is str:  # inlined clean() for the common case: one call per cell counts
        s = value.strip()
        if "\t" in s:
            s = s.replace("\t", "")
        first = s[:1]
        if first == "'":
            s = s[1:].lstrip()
        elif first == "=":
            s = clean(s)
    else:
        s = _cell_text(value)
    return s if s not in _NULLS else None


_SCIENTIFIC = re.compile(r"^[+-]?\d+(?:\.\d+)?[eE][+-]?\d+$")


def ident(value: object) -> str | None:
    """An id as a string; refuses ids whose digits a spreadsheet already lost."""
    if type(value) is float:
        if abs(value) >= _FLOAT_EXACT_LIMIT or not value.is_integer():
            raise BadCell(f"编号被 Excel 存成了数字 {value!r}，末几位已丢失 "
                          "(id stored as a spreadsheet number: its last digits are lost)")
        return str(int(value))
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if type(value) is str:  # fast path for ="123…" and plain digits
        s = value.strip()
        if s[:2] == '="' and s[-1:] == '"':
            s = s[2:-1].strip()
        if s.isdigit():
            return s
    s = clean(value)
    if s in _NULLS:
        return None
    if _SCIENTIFIC.match(s):
        raise BadCell("编号被 Excel 改成了科学计数法，末几位已丢失 "
                      "(id turned into scientific notation by Excel: its last digits are lost)")
    if s.endswith(".0") and s[:-2].isdigit():
        s = s[:-2]
    return s


_MONEY_STRIP = " 元¥￥"
_money_cache: dict[str, Decimal] = {}
_CACHE_LIMIT = 10_000
# No order comes near ten billion yuan; the column stores NUMERIC(14,2), i.e. under 10^12
# (BIGINT fen on SQLite), so a larger amount is a misplaced id or a damaged cell.
_MONEY_DIGITS = 10  # whole-yuan digits: under 10^10 (a cheap test: Decimal.adjusted())
_NOT_AN_AMOUNT = "金额无法识别 (not an amount)"


def money(value: object) -> Decimal | None:
    """Decimal from ``12.50``, ``12.50元``, ``¥1,234.00``; junk and amounts out of range raise ``BadCell``."""
    if type(value) is str:
        hit = _money_cache.get(value)
        if hit is not None:
            return hit
        s = clean(value)
        if s in _NULLS:
            return None
        try:
            d = Decimal(s.replace(",", "").replace("，", "").strip(_MONEY_STRIP))
        except InvalidOperation:
            raise BadCell(_NOT_AN_AMOUNT) from None
        if not (d.is_finite() and d.adjusted() < _MONEY_DIGITS) or d.as_tuple().exponent < -2:
            d = _amount(d)  # says what is wrong, or drops zeros past the cents
        if len(_money_cache) < _CACHE_LIMIT:
            _money_cache[value] = d
        return d
    if isinstance(value, bool):
        raise BadCell(_NOT_AN_AMOUNT)
    if isinstance(value, (int, float)):
        return _amount(Decimal(repr(value)) if isinstance(value, float) else Decimal(value))
    return money(clean(value))


def _amount(d: Decimal) -> Decimal:
    """Amounts are stored in cents: past them only zeros (12.340) or a float's noise
    (0.30000000000000004 from an xlsx formula); 12.345 is not a price and not rounded away."""
    if not d.is_finite():
        raise BadCell(_NOT_AN_AMOUNT)
    if d.adjusted() >= _MONEY_DIGITS:
        raise BadCell("金额超出范围 (amount out of range)")
    if d.as_tuple().exponent < -2:
        cents = d.quantize(_CENT)
        if abs(d - cents) > _FLOAT_NOISE:
            raise BadCell("金额超过两位小数 (an amount with more than two decimals)")
        return cents
    return d


_CENT = Decimal("0.01")
_FLOAT_NOISE = Decimal("1e-9")


# An order holds far fewer pieces; the columns are 32-bit INTEGER on PostgreSQL.
_COUNT_LIMIT = 100_000_000
_COUNT_DIGITS = len(str(_COUNT_LIMIT)) - 1
_NOT_A_COUNT = "数量无法识别 (not a whole number)"


def integer(value: object) -> int | None:
    """Counts such as 购买数量: ``3``, ``3.0``, ``3件``; beyond any order's count raises ``BadCell``."""
    if type(value) is str:
        try:
            n = int(value)  # int() itself ignores surrounding whitespace and tabs
        except ValueError:
            n = _loose_count(value)
    elif isinstance(value, bool):
        raise BadCell(_NOT_A_COUNT)
    elif isinstance(value, int):
        n = value
    elif type(value) is float:
        if not value.is_integer():  # also NaN and infinity
            raise BadCell(_NOT_A_COUNT)
        n = int(value)
    else:
        n = _loose_count(value)
    if n is not None and not -_COUNT_LIMIT < n < _COUNT_LIMIT:
        raise BadCell("数量超出范围 (count out of range)")
    return n


def _loose_count(value: object) -> int | None:
    s = clean(value).rstrip("件个")
    if s in _NULLS:
        return None
    try:
        return int(s)
    except ValueError:
        try:
            f = float(s)
        except ValueError:
            raise BadCell(_NOT_A_COUNT) from None
        if not f.is_integer():  # also NaN and infinity
            raise BadCell(_NOT_A_COUNT) from None
        return int(f)


_YES = frozenset({"是", "需要", "有", "y", "yes", "true", "1"})
_NO = frozenset({"否", "不需要", "无", "n", "no", "false", "0"})


def yes_no(value: object) -> bool | None:
    s = clean(value).lower()
    if s in _YES:
        return True
    if s in _NO:
        return False
    if s in _NULLS:
        return None
    raise BadCell("应为 是/否 (expected yes/no)")


_LOOSE_DATE = re.compile(
    r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?"
    r"(?:[ T]+(\d{1,2})[:时](\d{1,2})(?:[:分](\d{1,2})(?:\.(\d{1,6}))?)?秒?)?$"
)
_SERIAL = re.compile(r"^\d{4,5}(?:\.\d+)?$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})(\d{2})?)?$")  # 20261111[0005[07]]


def when(value: object) -> datetime | None:
    """Aware UTC datetime from Shanghai wall time.

    Accepts ``yyyy-MM-dd HH:mm:ss``, ``yyyy-MM-dd HH:mm``, Excel re-saves such as
    ``yyyy/M/d H:mm``, xlsx datetime cells and Excel serial numbers.  ``fromisoformat``
    is tried first: it is three times faster than ``strptime``.
    """
    if type(value) is str:
        s = value.strip()
        try:  # parsing it as UTC and moving it back 8 h avoids a slow tzinfo replace()
            if s.isdigit():  # fromisoformat reads 20261111000507 as 00:50:07 (any character
                raise ValueError  # may part date and time): ``_loose_datetime`` takes it
            dt = datetime.fromisoformat(s + "+00:00")
            if dt.tzinfo is not None:  # (a date alone comes back naive: handled below)
                return dt - SHANGHAI_OFFSET
        except ValueError:
            s = clean(s)
            if s in _NULLS or s.startswith("0000"):
                return None
            try:
                if s.isdigit():
                    raise ValueError
                dt = datetime.fromisoformat(s)  # a time with its own offset
            except ValueError:
                dt = _loose_datetime(s)
    elif isinstance(value, datetime):
        dt = value
    elif isinstance(value, date):
        dt = datetime(value.year, value.month, value.day)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        dt = _from_serial(float(value))
    elif isinstance(value, time) or value is None:
        raise BadCell("时间缺少日期 (a time without a date)")
    else:
        return when(clean(value))
    if dt.tzinfo is None:
        return (dt - SHANGHAI_OFFSET).replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def _loose_datetime(s: str) -> datetime:
    m = _LOOSE_DATE.match(s) or _COMPACT.match(s)
    try:
        if m:
            y, mo, d, h, mi, sec, frac = (*m.groups(), None)[:7]  # _COMPACT has no fraction
            return datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(sec or 0),
                            int((frac or "0").ljust(6, "0")))
        if _SERIAL.match(s):
            return _from_serial(float(s))
    except ValueError:
        pass
    raise BadCell("时间无法识别 (not a date/time)")


def _from_serial(serial: float) -> datetime:
    if not 1 <= serial < 2958466:  # Excel's range: 1900-01-01 .. 9999-12-31
        raise BadCell("时间无法识别 (not a date/time)")
    return _EXCEL_EPOCH + timedelta(seconds=round(serial * 86400))


def date_parser(fmt: str):
    """A ``when`` for one explicit strptime format (column-mapping files), else BadCell."""

    def parse(value: object) -> datetime | None:
        if type(value) is not str:
            return when(value)
        s = clean(value)
        if s in _NULLS:
            return None
        try:
            dt = datetime.strptime(s, fmt)
        except ValueError:
            raise BadCell(f"时间不符合格式 {fmt} (date/time does not match {fmt})") from None
        return (dt - SHANGHAI_OFFSET).replace(tzinfo=UTC)

    return parse


# --- whole columns -------------------------------------------------------------------
# The parse loop converts a batch column by column.  A function call per cell is most of
# a converter's cost, so the common converters have a column form: the plain cells of a
# CSV column in one list comprehension, the per-cell converter only for the cells (or
# the columns) that need more.  Same values, same BadCell, as calling it cell by cell.

_fromisoformat = datetime.fromisoformat


def text_column(cells: Sequence) -> list[str | None]:
    try:
        joined = "\x00".join(cells)
    except TypeError:  # xlsx numbers and dates
        return [text(c) for c in cells]
    if "\t" in joined or "'" in joined or "=" in joined:
        return _wrapped_text_column(cells)
    return [None if (s := c.strip()) in _NULLS else s for c in cells]  # plain text: one pass


def _wrapped_text_column(cells: Sequence[str]) -> list[str | None]:
    """A column of text where some cell holds a tab, a ' or an =: maybe wrapped, maybe not."""
    stripped = [c.strip() for c in cells]
    joined = "\x00" + "\x00".join(stripped)
    if "\t" in joined:  # PDD's tabs, as text() drops them (a stripped cell never starts with one)
        stripped = [s.replace("\t", "") for s in stripped]
    if "\x00'" in joined or "\x00=" in joined:  # Taobao's '138… and ="…"
        stripped = [s[1:].lstrip() if s[:1] == "'" else clean(s) if s[:1] == "=" else s for s in stripped]
    return [None if s in _NULLS else s for s in stripped]


def ident_column(cells: Sequence) -> list[str | None]:
    try:  # a plain number or Taobao's ="…" around one: as it is; anything else (spaces too) by ident()
        bare = [c[2:-1] if c[:2] == '="' and c[-1:] == '"' else c for c in cells]
    except TypeError:  # xlsx numbers
        return [ident(c) if c != "" else None for c in cells]
    return [s if s.isdigit() else ident(c) if c != "" else None for c, s in zip(cells, bare)]


def money_column(cells: Sequence) -> list[Decimal | None]:
    known = _money_cache
    return [known[c] if c in known else money(c) if c != "" else None for c in cells]


def integer_column(cells: Sequence) -> list[int | None]:
    try:  # a column of plain short digits (nearly every count column): int() each, no range to check
        digits = "".join(cells)
        plain = digits.isdigit() and digits.isascii() and max(map(len, cells)) <= _COUNT_DIGITS
    except TypeError:  # xlsx numbers
        plain = False
    if plain:
        return [int(c) if c != "" else None for c in cells]
    return [integer(c) if c != "" else None for c in cells]


def when_column(cells: Sequence) -> UtcTimes:
    return UtcTimes.of_cells(cells)


def utc_text(value: datetime) -> str:
    """An aware datetime as UTC wall time text, ``yyyy-MM-dd HH:mm:ss.ffffff``."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


class _LazyColumn(Sequence):
    """A column whose values are made when first read (``_values``)."""

    __slots__ = ()

    @abstractmethod
    def _values(self) -> list: ...

    def __getitem__(self, index):
        return self._values()[index]

    def __iter__(self) -> Iterator:
        return iter(self._values())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and self._values() == list(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._values()!r})"


class UtcTimes(_LazyColumn):
    """A time column: aware UTC datetimes, and their text as stored (``utc_text``).

    An import stores the text, and making a datetime and formatting it costs several
    times cutting the text from the cell: a cell in the exports' own
    ``yyyy-MM-dd HH:mm:ss`` layout is cut.  Shanghai is a whole 8 h ahead, so minutes and
    seconds stay, and the date and hour map to the UTC date and hour through a table
    that fills as it meets them (a hit in both tables is a valid time).  Such a column's
    datetimes are only made when asked for (a batch taken row by row, say).
    """

    __slots__ = ("_texts", "_datetimes")
    _hours: dict[str, str] = {}  # "2026-11-11 07" (Shanghai) → "2026-11-10 23" (UTC)
    _tails: dict[str, str] = {}  # ":mm:ss" → ":mm:ss.000000", for every valid one met

    def __init__(self, texts: list[str | None] | None, values: list[datetime | None] | None):
        self._texts = texts
        self._datetimes = values

    @classmethod
    def of_cells(cls, cells: Sequence) -> UtcTimes:
        """Same values, same BadCell, as ``when`` cell by cell."""
        hours, tails = cls._hours, cls._tails
        try:  # one comprehension while every hour is known (nearly always: a file spans days)
            return cls([None if c == "" else hours[c[:13]] + tails[c[13:]] for c in cells], None)
        except (KeyError, TypeError):  # an hour met for the first time, other layouts, xlsx cells
            pass
        values = [when(c) if c != "" else None for c in cells]
        if len(hours) > 100_000:  # only junk spans that many hours
            hours.clear()
        for cell, value in zip(cells, values):
            if type(cell) is str and len(cell) == 19 and cell[13] == ":" == cell[16] and value is not None:
                text = utc_text(value)
                if text[13:] == cell[13:] + ".000000":
                    hours[cell[:13]] = text[:13]
                    tails[cell[13:]] = text[13:]
        return cls(None, values)

    def texts(self, suffix: str = "") -> list[str | None]:
        """``utc_text`` of each value, followed by ``suffix``; None stays None."""
        if self._texts is None:
            self._texts = [None if v is None else utc_text(v) for v in self._datetimes]
        if not suffix:
            return self._texts
        return [None if t is None else t + suffix for t in self._texts]

    def _values(self) -> list[datetime | None]:
        if self._datetimes is None:
            self._datetimes = [None if t is None else _fromisoformat(t + "+00:00") for t in self._texts]
        return self._datetimes

    def __len__(self) -> int:
        return len(self._texts if self._texts is not None else self._datetimes)


_COLUMN_FORMS: dict[Callable, Callable] = {text: text_column, ident: ident_column, money: money_column,
                                          integer: integer_column, when: when_column}


def column_converter(convert: Callable[[Any], Any]) -> Callable[[Sequence], list]:
    """``convert`` over a whole column; an empty cell ("") is None without a call."""
    form = _COLUMN_FORMS.get(convert)
    if form is not None:
        return form
    return lambda cells: [convert(c) if c != "" else None for c in cells]


# --- waybills ------------------------------------------------------------------------

_WAYBILL_SEPARATORS = re.compile(r"[,，;；/、|｜\s]+")
_CARRIER_SEPARATORS = re.compile(r"[,，;；/、\n]+")
_SEGMENT_SEPARATORS = re.compile(r"[,，;；、\n]+")
_WAYBILL_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{4,}")
_NO_PREFIX = re.compile(r"^(?:No[.:：]?|单号[:：]?)", re.IGNORECASE)
# A token of a waybill cell: "7310…", "中通快递:7310…", "中通7310…", "7310…(中通快递)", "7310…(已签收)",
# or a name alone ("中通快递", "(中通快递)") that belongs to the waybill beside it.
_NAMED_TOKEN = re.compile(r"(?P<before>[^\x00-\x7f]*?)[:：]?(?P<bill>[A-Za-z0-9-]*)"
                          r"(?:[(（](?P<after>[^()（）]*)[)）])?")
_NAME_WRAPPERS = " :：()（）[]【】"
# What Excel writes for a long number in General format (7.30203E+13): its last digits are gone.
_EXCEL_NUMBER = re.compile(r"\d(?:\.\d+)?[eE]\+\d")
_DIGIT = re.compile(r"[0-9]")


_WAYBILL = re.compile(r"(?=(?:[^0-9]*[0-9]){4})[A-Za-z0-9-]{5,}")  # 5+ characters, 4+ digits
_PLAIN_WAYBILLS = re.compile(r"(?:(?=(?:[^0-9\x00]*[0-9]){4})[A-Z0-9-]{5,}\x00)*"
                             r"(?=(?:[^0-9\x00]*[0-9]){4})[A-Z0-9-]{5,}")  # upper-case _WAYBILLs joined by \x00
_PLAIN_WAYBILL = re.compile(r"(?=(?:[^0-9]*[0-9]){4})[A-Z0-9-]{5,}")  # one, as waybill_text leaves it
_DIGIT_WAYBILLS = re.compile(r"[0-9]{5,}(?:\x00[0-9]{5,})*")  # the same when all are digits: 3× as fast


def _is_waybill(token: str) -> bool:
    return _WAYBILL.fullmatch(token) is not None


def split_waybills(cell: str) -> list[str]:
    """Every waybill in a cell that may hold several (``a,b`` ``a；b`` ``a/b`` ``a|b`` ``a b`` …)."""
    return [bill for bill, _name in _named_waybills(cell)]


def _named_waybills(cell: str) -> list[tuple[str, str]]:
    """Each waybill in a cell, once, with the carrier the cell names beside it ("" if none)."""
    if cell.isalnum() and cell.isascii():
        return [(cell, "")] if _is_waybill(cell) else []
    found: dict[str, str] = {}  # first occurrence wins
    pending, last = "", None
    for token in _WAYBILL_SEPARATORS.split(cell):
        if token[:1] in ("N", "n", "单"):
            token = _NO_PREFIX.sub("", token)
        m = _NAMED_TOKEN.fullmatch(token)
        if m is None:
            pending, last = "", None
            continue
        before, bill, after = m.group("before", "bill", "after")
        if not bill:  # a carrier alone: of the waybill before it when in brackets, else of the next
            name = _carrier_name(before) or _carrier_name(after)
            if after is not None and last is not None and name and not found[last]:
                found[last] = name
            else:
                pending = name
            continue
        last = bill if _is_waybill(bill) and bill not in found else None
        if last is not None:
            found[bill] = _carrier_name(before) or _carrier_name(after) or pending
        pending = ""
    return list(found.items())


def _carrier_name(written: str | None) -> str:
    """``written`` trimmed if it names a carrier we know, else ""."""
    if not written:
        return ""
    name = written.strip(_NAME_WRAPPERS)
    return name if carrier_code(name) is not None else ""


def shipments(waybill_cell: str | None, carrier_cell: str | None) -> tuple[ShipmentRef, ...]:
    """ShipmentRefs from a waybill column and a carrier column, one per waybill.

    A carrier the waybill cell names beside a waybill ("中通:7310…", "7310…(中通快递)") is its
    carrier.  Otherwise several carriers in the carrier cell pair up with the waybills by
    position when the counts agree, else the whole carrier cell names the carrier.
    """
    if not waybill_cell:
        return ()
    found = _named_waybills(waybill_cell)
    raw = carrier_cell or ""
    names = [raw] * len(found)
    if len(found) > 1:
        given = [n.strip() for n in _CARRIER_SEPARATORS.split(raw) if n.strip()]
        if len(given) == len(found):
            names = given
    return tuple([ShipmentRef(bill, carrier_code(own or name), own or name)
                  for (bill, own), name in zip(found, names)])


def order_shipments(waybill_cell: str | None, carrier_cell: str | None,
                    express_cell: str | None) -> tuple[ShipmentRef, ...]:
    """An order's shipments from its waybill + carrier cells and its "快递公司 单号" cell, each
    waybill once: an export that has both forms names the same parcel in each (first wins)."""
    separate, combined = shipments(waybill_cell, carrier_cell), combined_shipments(express_cell)
    if not (separate and combined):
        return separate or combined
    seen = {ref.waybill for ref in separate}
    return separate + tuple([ref for ref in combined if ref.waybill not in seen])


def waybill_text(value: object) -> str | None:
    """A waybill cell's text, refused (``BadCell``) when it holds digits but no waybill: a
    number Excel turned into scientific notation or stored as a float (as ``ident``), a
    number cut short.  A cell without a digit ("自提", "无需物流") tells there is no
    parcel and stays text."""
    if type(value) is float:
        ident(value)
    s = _waybill_form(text(value))
    if s is not None:
        s = _ungrouped(s)
        _check_waybills(s, split_waybills)
    return s


def _ungrouped(cell: str) -> str:
    """One waybill written in groups ("YT 1234 5678 9012 3") as one; anything else as it is."""
    if " " not in cell or split_waybills(cell):
        return cell
    joined = cell.replace(" ", "")
    return joined if split_waybills(joined) == [joined] else cell


def express_text(value: object) -> str | None:
    """``waybill_text`` for a "快递公司 单号" cell (``combined_shipments``)."""
    s = _waybill_form(text(value))
    if s is not None:
        _check_waybills(s, combined_shipments)
    return s


def _waybill_form(s: str | None) -> str | None:
    """Waybills as couriers print them: full-width characters (ＹＴ１２…, typed with a Chinese
    input method) made half-width, letters upper case, so the same parcel is one waybill."""
    if s is None or (s.isascii() and not any("a" <= c <= "z" for c in s)):
        return s
    return unicodedata.normalize("NFKC", s).upper()


def _check_waybills(cell: str, parse: Callable[[str], Sequence]) -> None:
    if _EXCEL_NUMBER.search(cell):
        raise BadCell("物流单号被 Excel 改成科学计数法，请用文本格式重新导出 "
                      "(waybill turned into scientific notation by Excel: export the file again with it as text)")
    if not parse(cell) and _DIGIT.search(cell):
        raise BadCell("物流单号无法识别 (no waybill in the cell)")


def waybill_column(cells: Sequence) -> list[str | None]:
    """``waybill_text`` over a column: one match over the column when every cell is one plain
    waybill; else only the other cells (a batch's one cell of two waybills, say) cell by cell."""
    texts = text_column(cells)
    present = "\x00".join(filter(None, texts))
    if present and not (_DIGIT_WAYBILLS.fullmatch(present) or _PLAIN_WAYBILLS.fullmatch(present)):
        plain = _PLAIN_WAYBILL.fullmatch
        return [t if t is None or plain(t) else waybill_text(c) for t, c in zip(texts, cells)]
    return texts


_COLUMN_FORMS[waybill_text] = waybill_column


def shipments_column(waybill_cells: Sequence[str | None], carrier_cells: Sequence[str | None],
                     make: Callable[[str, str | None, str], Any] = ShipmentRef) -> list[tuple]:
    """``shipments`` over a batch of rows.  A cell holding one plain number (nearly every
    cell) is checked and paired with its carrier here; anything else goes through
    ``shipments``.  Each shipment is ``make(waybill, carrier code, carrier text)``: a
    writer makes the tuples it stores without a ShipmentRef on the way."""
    codes: dict[str, str | None] = {}  # a batch names a handful of carriers
    waybill = _WAYBILL.fullmatch
    out: list[tuple] = []
    for cell, raw in zip(waybill_cells, carrier_cells):
        if not cell:
            out.append(())
        elif cell.isalnum() and cell.isascii():
            raw = raw or ""
            code = codes[raw] if raw in codes else codes.setdefault(raw, carrier_code(raw))
            out.append((make(cell, code, raw),) if waybill(cell) else ())
        else:
            found = shipments(cell, raw)
            out.append(found if make is ShipmentRef else tuple([make(*ref) for ref in found]))
    return out


class ShipmentCells(_LazyColumn):
    """A column of shipments kept as its waybill and carrier cells, parsed by
    ``shipments_column`` when first read.  Parsing them cannot fail a row, so a bulk
    import may leave it to its writing process while the parsing one, its critical
    path, goes on (``tracker.ingest.Shipments``)."""

    __slots__ = ("waybills", "carriers", "_parsed")

    def __init__(self, waybills: list[str | None], carriers: list[str | None]):
        self.waybills = waybills
        self.carriers = carriers
        self._parsed: list[tuple] | None = None

    @property
    def parsed(self) -> bool:
        return self._parsed is not None

    def _values(self) -> list[tuple]:
        if self._parsed is None:
            self._parsed = shipments_column(self.waybills, self.carriers)
        return self._parsed

    def __len__(self) -> int:
        return len(self.waybills)


def combined_shipments(cell: str | None) -> tuple[ShipmentRef, ...]:
    """ShipmentRefs from one "快递公司 单号" cell (Douyin 快递信息, JD), possibly several.

    A segment naming only a carrier ("中通快递, 7312…") lends its name to the next waybill;
    in a segment of several waybills each takes the name written before it, if any
    ("中通快递 7310… / 韵达快递 4625…"), else the one before that.
    """
    if not cell:
        return ()
    out: list[ShipmentRef] = []
    pending = ""
    for segment in _SEGMENT_SEPARATORS.split(cell):
        bills = [m for m in _WAYBILL_TOKEN.finditer(segment) if _is_waybill(m.group())]
        if not bills:
            pending = _carrier_text(segment) or pending
            continue
        cuts = [0, *(point for m in bills for point in m.span()), len(segment)]
        between = [_carrier_text(segment[a:b]) for a, b in zip(cuts[::2], cuts[1::2])]  # len(bills) + 1
        # names before their waybills ("中通快递 7310… / 韵达快递 4625…"), or after them
        # ("7310…(中通) YT12…(圆通)"); one name anywhere is every waybill's
        names = between[1:] if not between[0] and between[-1] else between[:-1]
        if sum(map(bool, between)) == 1:
            names = [next(filter(None, between))] * len(bills)
        for m, name in zip(bills, names):
            pending = name or pending
            if all(s.waybill != m.group() for s in out):
                out.append(ShipmentRef(m.group(), carrier_code(pending), pending))
        pending = ""
    return tuple(out)


def _carrier_text(text: str) -> str:
    """What a "快递公司 单号" cell writes beside its waybills, as the carrier's text."""
    return _NO_PREFIX.sub("", text.strip(_NAME_WRAPPERS + "-/／|")).strip(" :：")
