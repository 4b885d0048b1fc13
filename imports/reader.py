"""Bytes to rows of cells: the only part of ``imports`` that opens the file.

    path ─► size limit ─► sniff the first bytes ─┬─ text ─► encoding from the first chunk
                                                 │          ─► csv.reader, streamed (memory flat)
                                                 └─ zip ──► central directory checks (bomb, members)
                                                            ─► calamine (fast, whole sheet in memory)
                                                               or openpyxl read_only (streamed) when the
                                                               sheet is too big for the memory budget
    ─► RowSource: (row number, cells) in file order, progress(), close()

Row numbers are what a spreadsheet shows: 1-based, title and header rows included.  For
CSV a record is one row even when a quoted cell holds newlines (that is how Excel shows
it), so the number is the record count, not the physical line.  A quote that never closes
would swallow the lines after it: such a record is read again line by line, or refused.  (A decode error in a
UTF-16 file, decoded as a stream, is reported at the row being read, which can be a few
rows early.)

Anything that makes the whole file unusable raises ``RejectedFile`` with one line,
Chinese then English; the caller rolls back the batch.
"""
from __future__ import annotations

import codecs
import csv
import io
import os
import re
import zipfile
import zlib
from collections import deque
from collections.abc import Iterable, Iterator
from functools import lru_cache, partial
from itertools import chain, repeat
from pathlib import Path
from typing import Any, AnyStr

CHUNK = 64 * 1024  # the encoding is decided from this much
BLOCK = 64 * 1024  # CSV bytes decoded at once
# One physical CSV line at most (bytes; characters in UTF-16): an export's lines are a few KB,
# and a file without line breaks must be refused without reading it whole into memory.
MAX_LINE = 4 * 1024**2
# A record over more lines than this is a quote that never closed, not a message with line breaks.
MAX_RECORD_LINES = 100
MAX_ZIP_MEMBERS = 1000
MAX_TOTAL_UNCOMPRESSED = 8 * 1024**3
MAX_RATIO = 200  # uncompressed : compressed, for a member over BIG_MEMBER
BIG_MEMBER = 8 * 1024**2
# Above this much sheet XML (cells + shared strings, uncompressed) calamine would hold more
# than about 1 GB; stream with openpyxl instead.  Measured with bench/bench_parse.py.
CALAMINE_XML_BUDGET = 400 * 1024**2
# calamine holds a sheet as a dense grid of 32-byte cells from its first to its last used row
# and column, however few cells the file has: one stray cell at XFD1048576 asks for 550 GB and
# the process aborts.  The same ~1 GB as CALAMINE_XML_BUDGET, in cells.
CALAMINE_GRID_BUDGET = 1024**3 // 32
SCAN_BLOCK = 1024**2  # sheet XML inflated at once by the grid scan

_XLSX_SUFFIXES = (".xlsx", ".xlsm")
_CSV_SUFFIXES = (".csv", ".txt", ".tsv")
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")

Cells = list[Any]
# (row number, cells, the record's raw bytes when the source has them: CSV in UTF-8 or GB18030)
Row = tuple[int, Cells, bytes | None]


def _rejected(zh: str, en: str, row: int | None) -> "RejectedFile":
    return RejectedFile(zh, en, row=row)


class RejectedFile(Exception):
    """The file as a whole cannot be imported.  ``str()`` is one line: Chinese (English)."""

    def __init__(self, zh: str, en: str, *, row: int | None = None):
        self._parts = (zh, en)
        if row is not None:
            zh, en = f"第 {row} 行：{zh}", f"row {row}: {en}"
        super().__init__(f"{zh} ({en})")
        self.row = row

    def __reduce__(self):  # crosses from the parsing process to the writing one intact
        return _rejected, (*self._parts, self.row)


class RowSource:
    """Rows of one file in order; ``progress()`` is the fraction read so far."""

    encoding: str | None = None
    engine = ""
    sheet: str | None = None
    rows: Iterator[Row]

    def progress(self) -> float:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


def open_rows(path: str | os.PathLike, max_bytes: int) -> RowSource:
    """Check the file and open it as rows; raises ``RejectedFile`` before any row."""
    path = Path(path)
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            head = f.read(CHUNK)
    except OSError as err:
        raise RejectedFile("无法读取文件", f"cannot read the file: {err.strerror or err}") from err
    if size > max_bytes:
        raise RejectedFile(f"文件太大：{size:,} 字节，上限 {max_bytes:,}",
                           f"file too large: {size:,} bytes, limit {max_bytes:,}")
    if size <= len(head) and not head.strip(b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"):  # blanks, BOMs
        raise RejectedFile("文件是空的", "the file is empty")
    suffix = path.suffix.lower()
    if head.startswith(_OLE_MAGIC):
        raise RejectedFile("这是旧版 .xls 或加密的 Excel 文件，请另存为 .xlsx 或 CSV",
                           "old .xls or password-protected Excel file: save it as .xlsx or CSV")
    if head.startswith(_ZIP_MAGIC):
        if suffix in _CSV_SUFFIXES:
            raise RejectedFile("扩展名是 CSV，内容却是压缩包/Excel", "named .csv but it is a zip/xlsx file")
        return _open_xlsx(path, max_bytes)
    if suffix in _XLSX_SUFFIXES:
        raise RejectedFile("扩展名是 xlsx，内容却不是 Excel 文件", "named .xlsx but it is not an xlsx (zip) file")
    encoding = detect_encoding(head, complete=size <= len(head))
    return CsvSource(path, encoding, size, head)


# --- CSV ------------------------------------------------------------------------------


def detect_encoding(head: bytes, *, complete: bool) -> str:
    """UTF-8 (with or without BOM), UTF-16 with BOM, or GB18030 (the GBK superset; the
    byte 0x80 is cp936's €).

    Decided from the first chunk, strictly: a chunk that is neither, or that decodes to
    control characters (binary junk, UTF-16 without BOM), rejects the file.
    """
    if head.startswith(codecs.BOM_UTF8):
        candidates = ("utf-8-sig",)
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ("utf-16",)
    elif head.count(b"\x00") > len(head) // 200:  # a stray NUL or two is dropped later; UTF-16 is half NULs
        raise RejectedFile("无法识别的编码：像是二进制文件或没有 BOM 的 UTF-16",
                           "unknown encoding: binary data or UTF-16 without a BOM")
    else:
        candidates = ("utf-8", "gb18030")
    for encoding in candidates:
        try:
            text = codecs.getincrementaldecoder(encoding)(errors=_errors(encoding)).decode(head, final=complete)
        except UnicodeDecodeError:
            continue
        if len(_CONTROL.findall(text)) > len(text) // 200:
            break
        return encoding
    raise RejectedFile("无法识别的编码（支持 UTF-8、GBK/GB18030）",
                       "unknown or undecodable encoding (UTF-8 and GBK/GB18030 are supported)")


def _cp936_euro(err: UnicodeDecodeError) -> tuple[str, int]:
    """The byte 0x80 where a GB18030 character should start is €: Windows "ANSI" (cp936)
    and Java's GBK write it so, and GB18030 has no such byte.  Any other error stands."""
    if isinstance(err, UnicodeDecodeError) and err.object[err.start] == 0x80:  # never a GB18030 lead byte
        return "€", err.start + 1
    raise err


codecs.register_error("imports.cp936_euro", _cp936_euro)


def _errors(encoding: str) -> str:
    return "imports.cp936_euro" if encoding == "gb18030" else "strict"


class CsvSource(RowSource):
    engine = "csv"

    def __init__(self, path: Path, encoding: str, size: int, head: bytes):
        self.encoding = encoding
        self._size = max(size, 1)
        self._raw = path.open("rb")
        self._line_bytes: deque[bytes] | None = None  # each line's bytes, read but not yet a record's
        if encoding == "utf-16":  # a newline byte can sit inside a UTF-16 character: decode as a stream
            stream = io.TextIOWrapper(self._raw, encoding=encoding, errors="strict", newline="")
            lines: Iterator[str] = map(_checked_line, iter(partial(stream.readline, MAX_LINE), ""))
        else:
            if encoding == "utf-8-sig":
                self._raw.seek(len(codecs.BOM_UTF8))
            self._line_bytes = deque()
            self._decode = partial(codecs.getdecoder(encoding.removesuffix("-sig")), errors=_errors(encoding))
            lines = self._decoded_lines(self._decode)
        first_line = head.split(b"\n", 1)[0]
        self._delimiter = "\t" if b"\t" in first_line and b"," not in first_line else ","
        self.rows = self._iter(csv.reader(lines, delimiter=self._delimiter))

    def _decoded_lines(self, decode) -> Iterator[str]:
        """Lines for csv.reader, decoded a block at a time (a line at a time costs a third
        of a bare parse more).  A block is cut after its last newline byte, which is never
        part of a UTF-8 or GB18030 character.  A block that does not decode is decoded
        again line by line, so the error points at the exact record.  Each line's bytes
        wait in ``_line_bytes`` for the record they make."""
        rest = b""  # the start of a line that the last block cut: it grows until its newline
        while block := self._raw.read(BLOCK):
            if rest:
                block = rest + block
                if len(block) >= MAX_LINE and block.find(b"\n", 0, MAX_LINE) < 0:
                    raise _line_too_long()
            cut = block.rfind(b"\n") + 1
            rest = block[cut:]
            if cut:
                whole = block[:cut] if rest else block
                line_bytes = whole.split(b"\n")
                line_bytes.pop()  # what follows the last newline: nothing
                self._line_bytes.extend(line_bytes)
                yield from _lines(decode, whole)
        if rest:
            self._line_bytes.append(rest)
            yield from _lines(decode, rest)

    def _iter(self, reader: Any) -> Iterator[Row]:
        n = offset = 0  # offset: records an unclosed quote had swallowed, read again
        line_bytes = self._line_bytes
        try:
            if line_bytes is None:
                for n, cells in enumerate(reader, 1):
                    yield n, cells, None
                return
            taken = width = 0  # lines csv.reader has made records of; the last one-line record's cells
            for n, cells in enumerate(reader, 1):
                lines = reader.line_num - taken
                taken += lines
                if lines == 1:
                    width = len(cells)
                    yield n + offset, cells, line_bytes.popleft()
                    continue
                raw = [line_bytes.popleft() for _ in range(lines)]  # a quoted cell held newlines
                if len(cells) == width and lines <= MAX_RECORD_LINES:
                    yield n + offset, cells, b"\n".join(raw)
                else:
                    yield from self._unclosed_quote(raw, n + offset, width)
                    offset += lines - 1
        except UnicodeDecodeError as err:
            raise RejectedFile(f"无法按 {self.encoding} 解码", f"cannot be decoded as {self.encoding}",
                               row=n + offset + 1) from err
        except csv.Error as err:
            raise RejectedFile("CSV 结构损坏", f"broken CSV: {err}", row=n + offset + 1) from err

    def _unclosed_quote(self, raw: list[bytes], n: int, width: int) -> Iterator[Row]:
        """A record whose quote swallowed the lines after it, read again line by line: its first
        line with the quote that never closed kept as a character, then the lines after it as
        the records they are.  Refused, naming the row and the lines swallowed, unless every
        record so read has the width of the rows before it."""
        text = [_decoded_line(self._decode, line + b"\n") for line in raw]
        records = [(_literal_quote(text[0], self._delimiter), raw[:1])]
        rest = csv.reader(text[1:], delimiter=self._delimiter)
        taken = 0
        for cells in rest:
            records.append((cells, raw[1 + taken:1 + rest.line_num]))
            taken = rest.line_num
        if any(cells and len(cells) != width or len(lines) > MAX_RECORD_LINES for cells, lines in records):
            raise RejectedFile(f"引号没有闭合，这一行之后的 {len(raw) - 1} 行被并进了一个单元格",
                               f"a quote that never closes swallows the {len(raw) - 1} lines after this one", row=n)
        for n, (cells, lines) in enumerate(records, n):
            yield n, cells, b"\n".join(lines)

    def progress(self) -> float:
        if self._raw.closed:
            return 1.0
        return min(self._raw.tell() / self._size, 1.0)

    def close(self) -> None:
        self._raw.close()


def _literal_quote(line: str, delimiter: str) -> Cells:
    """The cells of a line whose last cell opens a quote the line never closes (so that cell
    holds the rest of the line), with that quote read as a plain character."""
    cells = next(csv.reader([line], delimiter=delimiter))
    rest = next(csv.reader([cells[-1]], delimiter=delimiter, quoting=csv.QUOTE_NONE), [""])
    return [*cells[:-1], '"' + rest[0], *rest[1:]]


def _line_too_long() -> RejectedFile:
    size = f"{MAX_LINE // 1024**2} MB"
    return RejectedFile(f"有一行超过 {size}，不是订单导出文件", f"a line longer than {size}: not an order export")


def _lines(decode, block: bytes) -> Iterable[str]:
    """The lines of a block of whole lines, each with its newline, as csv.reader reads them.

    ``splitlines`` is the fast way, but it also breaks at \\r, \\x0b … \\u2029, which csv.reader
    must see inside a line: it is only used when its count of lines says it broke at newlines only.
    """
    try:
        text = decode(block)[0]
    except UnicodeDecodeError:
        return map(_decoded_line, repeat(decode), _split_at_newlines(block, b"\n"))  # raises at the bad line
    if "\x00" in text:
        text = _without_nul(text)
    lines = text.splitlines(keepends=True)
    if len(lines) != text.count("\n") + (text[-1:] != "\n"):
        lines = _split_at_newlines(text, "\n")
    return lines


def _split_at_newlines(text: AnyStr, newline: AnyStr) -> list[AnyStr]:
    """``text`` cut after each newline, which each line keeps."""
    lines = text.split(newline)
    last = lines.pop()
    lines = [line + newline for line in lines]
    if last:
        lines.append(last)
    return lines


def _decoded_line(decode, line: bytes) -> str:
    text = decode(line)[0]
    return _without_nul(text) if "\x00" in text else text


def _checked_line(line: str) -> str:
    if len(line) == MAX_LINE and line[-1:] != "\n":
        raise _line_too_long()
    return _without_nul(line)


def _without_nul(line: str) -> str:
    """A line without NUL characters: junk that no database text column accepts (PostgreSQL
    refuses the whole statement), never part of what an export means."""
    return line.replace("\x00", "")


# --- XLSX -----------------------------------------------------------------------------


def check_zip(path: Path, max_bytes: int) -> int:
    """Validate an xlsx's zip directory before anything is decompressed.

    Returns the uncompressed size of the worksheet and shared-string XML, which decides
    between calamine and streaming.
    """
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as err:
        raise RejectedFile("Excel 文件已损坏或不完整", f"corrupt or truncated xlsx: {err}") from err
    if len(infos) > MAX_ZIP_MEMBERS:
        raise RejectedFile(f"压缩包内文件过多（{len(infos)} 个）", f"too many zip members ({len(infos)})")
    total = sum(i.file_size for i in infos)
    if total > min(20 * max_bytes, MAX_TOTAL_UNCOMPRESSED):
        raise RejectedFile(f"解压后过大（{total:,} 字节），疑似压缩炸弹",
                           f"declared uncompressed size {total:,} bytes: zip bomb suspected")
    for i in infos:
        if i.file_size > BIG_MEMBER and i.file_size > MAX_RATIO * max(i.compress_size, 1):
            raise RejectedFile(f"压缩比异常（{i.filename}），疑似压缩炸弹",
                               f"compression ratio over {MAX_RATIO}:1 in {i.filename}: zip bomb suspected")
    names = {i.filename for i in infos}
    if "xl/workbook.xml" not in names:
        raise RejectedFile("压缩包里没有 Excel 工作簿", "a zip file without an Excel workbook (xl/workbook.xml)")
    return sum(i.file_size for i in infos
               if i.filename.startswith("xl/worksheets/") or i.filename == "xl/sharedStrings.xml")


def _open_xlsx(path: Path, max_bytes: int) -> RowSource:
    xml_size = check_zip(path, max_bytes)
    if xml_size > CALAMINE_XML_BUDGET or not calamine_fits(path):
        return OpenpyxlSource(path)
    return CalamineSource(path)


def calamine_fits(path: Path) -> bool:
    """Whether calamine can hold this workbook in its memory budget: checked on the XML
    itself, since calamine allocates what the file claims before it reads what it holds.

    Refuses a shared-string table that claims more strings than its bytes can hold and a
    sheet whose used cells span more rows × columns than the budget.  False for a sheet
    written without cell references (``<c>`` without ``r=``, allowed but rare): its extent
    is not known without parsing every cell, so openpyxl streams it instead.
    """
    try:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():  # every member: the workbook's links may name any of them
                with zf.open(info) as member:
                    head = member.read(4096)
                    if b"<worksheet" in head:
                        if not _grid_fits(head, member, info.filename):
                            return False
                    elif b":worksheet" in head or any(mark in head for mark in _UTF16_MARKS):
                        return False  # cells written as <x:c>, or XML in UTF-16: too rare to scan for
                    elif b"sst" in head:
                        _check_shared_strings(head, info.file_size)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as err:
        raise _corrupt(err) from err
    return True


_UTF16_MARKS = tuple(word.encode(encoding) for word in ("worksheet", "sst") for encoding in ("utf-16-le", "utf-16-be"))
_UNIQUE_COUNT = re.compile(rb'<(?:\w+:)?sst\b[^>]*\suniqueCount\s*=\s*["\']\s*([0-9]+)')


def _check_shared_strings(head: bytes, size: int) -> None:
    """calamine reserves ``uniqueCount`` strings up front; each ``<si/>`` takes 5 bytes at least."""
    claimed = _UNIQUE_COUNT.search(head)
    if claimed and int(claimed[1]) > size // 5:
        raise RejectedFile(f"共享字符串表声称有 {int(claimed[1]):,} 个字符串，文件里放不下，疑似恶意文件",
                           f"the shared-string table claims {int(claimed[1]):,} strings, more than its "
                           f"{size:,} bytes can hold: a hostile file")


_ROW_TAG = b'<row r="'
_REF = re.compile(rb'<c r="([A-Z]+)0*([0-9]+)"')


def _grid_fits(head: bytes, member: Any, name: str) -> bool:
    """Scan a sheet's XML for the extent of its cell references, without parsing it.

    One regex per block finds only the cells outside the extent known so far: right of the
    widest column met, or below the last ``<row r=`` tag read rounded up at its leading digit
    (200,001 → 299,999: a cheap regex, and at most twice the rows).  A sheet whose rows come
    in order thus costs one regex pass over its XML, about as long as inflating it.
    """
    rows = columns = 0
    rest = head
    for block in chain(iter(partial(member.read, SCAN_BLOCK), b""), (b"",)):
        data = rest + block
        cut = data.rfind(b">") + 1 if block else len(data)
        if block and not cut:
            if len(data) > MAX_LINE:
                raise RejectedFile("Excel 表格 XML 损坏", f"corrupt sheet XML in {name}: no tag end in {MAX_LINE:,} bytes")
            rest = data
            continue
        data, rest = data[:cut], data[cut:]
        last_row = data.rfind(_ROW_TAG)
        if last_row >= 0:
            digits = data[last_row + len(_ROW_TAG):data.find(b'"', last_row + len(_ROW_TAG))]
            rows = max(rows, int(digits) if digits.isdigit() else 0)
        for outside in _outside(_rounded_up(rows), columns).finditer(data):
            ref = _REF.match(data, outside.start())
            if ref is None:  # a cell without a reference the scan reads
                return False
            rows, columns = max(rows, int(ref[2])), max(columns, _column_number(ref[1]))
    if _rounded_up(rows) * columns > CALAMINE_GRID_BUDGET:
        raise RejectedFile(f"工作表 {name} 的单元格范围过大（到第 {rows:,} 行、第 {columns:,} 列），疑似恶意文件",
                           f"the used range of {name} reaches row {rows:,} and column {columns:,}: "
                           f"over {CALAMINE_GRID_BUDGET:,} cells, a hostile or broken file")
    return True


def _rounded_up(rows: int) -> int:
    """The largest number with the digits of ``rows`` after its leading one: 200,001 → 299,999."""
    digits = str(rows)
    return int(digits[0] + "9" * (len(digits) - 1))


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number


@lru_cache(maxsize=64)
def _outside(rows: int, columns: int) -> re.Pattern[bytes]:
    """Cells referenced below row ``rows`` or right of column ``columns``, and cells without
    a reference the scan reads (``<c>``, ``<c/>``, ``r`` not the first attribute, not ``r="A1"``).
    Shaped so that a cell inside fails in few steps: that is most of the scan's time."""
    letters = ""
    while columns:
        columns, left = divmod(columns - 1, 26)
        letters = chr(65 + left) + letters
    wider = _greater(letters, "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "[A-Z]", "[A-Z]")
    lower = _greater(str(rows) if rows else "", "0123456789", "[0-9]", "[1-9]")
    return re.compile(rf'<c(?: r="(?:{wider}|[A-Z]++0*+(?:{lower})[0-9]*")|[>/\t\r\n]| (?!r="[A-Z]))'.encode())


def _greater(limit: str, alphabet: str, any_one: str, first: str) -> str:
    """A regex for the starts of the strings over ``alphabet`` that count more than ``limit``:
    longer, or as long and greater at the first difference."""
    greater = [f"{first}{any_one}{{{len(limit)}}}"]
    for i, char in enumerate(limit):
        above = alphabet[alphabet.index(char) + 1:]
        if above:
            greater.append(f"{limit[:i]}[{above[0]}-{above[-1]}]{any_one}{{{len(limit) - i - 1}}}")
    return "|".join(greater)


def _corrupt(err: BaseException, row: int | None = None) -> RejectedFile:
    return RejectedFile("Excel 文件已损坏", f"corrupt xlsx: {type(err).__name__}: {err}", row=row)


class CalamineSource(RowSource):
    """The whole sheet decoded by calamine (Rust): ~4 s and ~500 MB for 200k × 32."""

    engine = "calamine"

    def __init__(self, path: Path):
        from python_calamine import CalamineError, CalamineWorkbook

        try:
            self._book = CalamineWorkbook.from_path(str(path))
            if not self._book.sheet_names:
                raise RejectedFile("Excel 文件里没有工作表", "the xlsx has no worksheet")
            sheet = self._book.get_sheet_by_index(_first_visible(self._book))
        except (CalamineError, zipfile.BadZipFile, ValueError, OSError) as err:
            raise _corrupt(err) from err
        self.sheet = sheet.name
        self._height = sheet.end[0] + 1 if sheet.end else 1
        self._done = 0
        self.rows = self._iter(sheet.iter_rows())

    def _iter(self, rows: Iterator[Cells]) -> Iterator[Row]:
        """iter_rows starts at the sheet's row 1 (empty rows above the used range come
        empty), so the count of rows read is the sheet's row number."""
        for self._done, cells in enumerate(rows, 1):
            yield self._done, cells, None

    def progress(self) -> float:
        return min(self._done / self._height, 1.0)

    def close(self) -> None:
        self._book.close()


def _first_visible(book: Any) -> int:
    from python_calamine import SheetVisibleEnum

    for index, meta in enumerate(book.sheets_metadata):
        if meta.visible == SheetVisibleEnum.Visible:
            return index
    return 0


class OpenpyxlSource(RowSource):
    """openpyxl read_only: slower than calamine but memory stays flat on huge sheets."""

    engine = "openpyxl"

    def __init__(self, path: Path):
        import openpyxl

        try:
            self._book = openpyxl.load_workbook(path, read_only=True, data_only=True)
            sheet = next(ws for ws in self._book.worksheets if ws.sheet_state == "visible")
        except StopIteration:
            raise RejectedFile("Excel 文件里没有工作表", "the xlsx has no worksheet") from None
        except Exception as err:  # openpyxl raises many kinds (KeyError, XML errors) for one cause
            raise _corrupt(err) from err
        self.sheet = sheet.title
        self._height = max(sheet.max_row or 1, 1)
        sheet.reset_dimensions()  # a wrong <dimension> would otherwise cut the rows short
        self._done = 0
        self.rows = self._iter(sheet)

    def _iter(self, sheet: Any) -> Iterator[Row]:
        n = 0
        try:
            for n, row in enumerate(sheet.iter_rows(values_only=True), 1):  # gaps come as empty rows
                self._done = n
                yield n, ["" if v is None else v for v in row], None
        except (zipfile.BadZipFile, zlib.error, EOFError, KeyError, ValueError, SyntaxError) as err:
            # SyntaxError covers xml.etree's ParseError
            raise _corrupt(err, n + 1) from err

    def progress(self) -> float:
        return min(self._done / self._height, 1.0)

    def close(self) -> None:
        self._book.close()
