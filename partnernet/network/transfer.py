"""Bulk import and export of partners, coverage, engineers and certifications as CSV or XLSX.

Files use natural keys (partner name, region code, product line code, certificate number), never
internal ids, so an export from one database imports into another; a file may also name its
columns in Chinese and its values by the labels the pages show, product lines and regions by name.
An import is planned first — every row becomes a planned write (a new row's cells, an update's
changes before → after) or errors naming its spreadsheet row and cell — and written only when no
row has an error, in one transaction, with its history (ImportRecord, ImportedRow).
"""
import csv
import hashlib
import io
import re
import sys
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property

import sqlalchemy as sa
from flask_babel import force_locale, gettext as _
from sqlalchemy.orm import selectinload

from partnernet.config import LANGUAGES
from partnernet.cursors import decode_cursor, encode_cursor
from partnernet.db_types import MAX_ID
from partnernet.errors import Conflict, NotFound, ValidationFailed
from partnernet.extensions import db
from partnernet.labels import LABELS, label
from partnernet.names import read_name
from partnernet.network import service
from partnernet.network.models import (CERTIFICATION_LEVELS, CERTIFICATION_STATUSES, PARTNER_KINDS,
                                       PARTY_STATUSES, TIERS, Certification, Coverage, Engineer, ImportedRow,
                                       ImportRecord, Party, PartyEvent, ProductLine, coverage_product_line)
from partnernet.regions.models import LEVELS, Region

KINDS = ("partners", "coverage", "engineers", "certifications")
FORMATS = ("csv", "xlsx")
MAX_FILE_BYTES = 10 * 1024 * 1024
ERRORS_SHOWN = 200

COLUMNS = {
    "partners": ("name", "name_en", "kind", "status", "province_code", "capacity", "tiers", "contact_name",
                 "contact_phone", "contact_email", "address", "contract_start", "contract_end"),
    "coverage": ("partner", "region_code", "product_lines", "tiers", "effective_from", "effective_to"),
    "engineers": ("partner", "name", "email", "phone", "active"),
    "certifications": ("partner", "engineer", "engineer_email", "product_line", "level", "number",
                       "issued_on", "expires_on", "status"),
}
REQUIRED = {
    "partners": ("name", "kind", "province_code", "tiers"),
    "coverage": ("partner", "region_code", "product_lines", "tiers", "effective_from"),
    "engineers": ("partner", "name"),
    "certifications": ("partner", "engineer", "product_line", "level", "number", "issued_on", "expires_on"),
}
# The longest text each column's database field holds (PostgreSQL enforces it, SQLite does not).
MAX_LENGTHS = {"name": 128, "name_en": 128, "contact_name": 64, "contact_phone": 32, "contact_email": 255,
               "address": 255, "phone": 32, "email": 255, "number": 64}
ENGINEER_NAME_LENGTH = 64
DEFAULT_CAPACITY = 20
MAX_CAPACITY = 10000

DATE_PATTERN = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T]00:00(?::00)?)?$")
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
LIST_SEPARATOR = re.compile(r"[|,，、;]")
# The columns' Chinese names, which a file may use instead of the codes: the first is the one the
# Chinese template writes (the words the pages use), the others are accepted as well.
HEADERS_ZH = {
    "partners": {"name": ("名称", "合作伙伴名称"), "name_en": ("英文名称",), "kind": ("类型",), "status": ("状态",),
                 "province_code": ("省份", "省", "省份代码"), "capacity": ("接单容量", "容量"),
                 "tiers": ("服务层级", "服务级别"), "contact_name": ("联系人",), "contact_phone": ("联系电话",),
                 "contact_email": ("联系邮箱", "联系人邮箱"), "address": ("地址",),
                 "contract_start": ("合同开始日期",), "contract_end": ("合同结束日期",)},
    "coverage": {"partner": ("合作伙伴",), "region_code": ("区域", "地区", "区域代码"), "product_lines": ("产品线",),
                 "tiers": ("服务层级", "服务级别"), "effective_from": ("生效日期",), "effective_to": ("失效日期",)},
    "engineers": {"partner": ("合作伙伴",), "name": ("姓名", "工程师"), "email": ("邮箱",), "phone": ("电话",),
                  "active": ("在岗", "启用")},
    "certifications": {"partner": ("合作伙伴",), "engineer": ("工程师",), "engineer_email": ("工程师邮箱",),
                       "product_line": ("产品线",), "level": ("级别",), "number": ("证书编号",),
                       "issued_on": ("发证日期",), "expires_on": ("到期日期",), "status": ("状态",)},
}
HEADER_LANGUAGES = ("zh", "en")
YES = ("1", "yes", "y", "true", "是")
NO = ("0", "no", "n", "false", "否")
# A cell starting with one of these is a formula to a spreadsheet; CSV export quotes it with "'".
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


# --- reading a file ------------------------------------------------------------------------------
# A file is read as a stream and refused (ValidationFailed, 422) as soon as it passes a limit, before
# it can take the server's memory or minutes: the rows, a cell's length and, for a workbook, what
# its zip unpacks to. The defaults are in ImportLimits; config.py reads them from the environment.

MEGABYTE = 1024 * 1024
MAX_COLUMNS = 32            # read at most this many columns of a row (the widest kind has 13)
EXCERPT_CHARACTERS = 40     # an error message quotes at most this much of a value
XLSX_CHUNK = MEGABYTE


@dataclass(frozen=True)
class ImportLimits:
    rows: int = 200_000               # data rows, under the header
    cell_characters: int = 1_000      # the longest column of ours holds 255
    unpacked_megabytes: int = 256     # an .xlsx's parts, unzipped, together

    @classmethod
    def from_config(cls, config) -> "ImportLimits":
        return cls(config["IMPORT_MAX_ROWS"], config["IMPORT_MAX_CELL_CHARACTERS"],
                   config["IMPORT_MAX_UNPACKED_MB"])


def excerpt(value) -> str:
    """The start of a value for a message: never a whole 200 MB cell."""
    text = cell_text(value)
    return text if len(text) <= EXCERPT_CHARACTERS else text[:EXCERPT_CHARACTERS] + "…"


def number_text(count: int) -> str:
    return f"{count:,}"


def too_many_rows(limits: ImportLimits) -> ValidationFailed:
    return ValidationFailed(_("The file has more than %(count)s rows; split it into files of at most %(count)s "
                              "rows.", count=number_text(limits.rows)))


def cell_too_long(limits: ImportLimits, value: str, row: int | None = None) -> ValidationFailed:
    if row is None:
        return ValidationFailed(_("A cell of the file is longer than %(count)s characters: %(value)s",
                                  count=number_text(limits.cell_characters), value=excerpt(value)))
    return ValidationFailed(_("Row %(row)d has a cell longer than %(count)s characters: %(value)s",
                              row=row, count=number_text(limits.cell_characters), value=excerpt(value)))


@dataclass
class Sheet:
    """The rows of an uploaded file: `rows` are (spreadsheet row number, {column: cell text})."""
    columns: list[str]
    rows: list[tuple[int, dict]]


def file_format_of(filename: str) -> str | None:
    extension = (filename or "").rsplit(".", 1)[-1].lower()
    return extension if extension in FORMATS else None


def read_sheet(content: bytes, file_format: str, limits: ImportLimits = ImportLimits()) -> Sheet:
    """Parse a CSV (UTF-8 with or without BOM, or GB18030) or an XLSX file's first sheet, every
    cell as text, within `limits`."""
    records = read_xlsx(content, limits) if file_format == "xlsx" else read_csv(content, limits)
    header = next(records, None)
    if header is None or not any(c.strip() for c in header[1]):
        raise ValidationFailed(_("The file is empty: the first row must name the columns."))
    columns = [c.strip().lower().replace(" ", "_") for c in header[1]]
    check_cells(header[1], 1, limits)
    rows = []
    for number, record in records:  # the header is row 1, as the spreadsheet shows it
        if number - 1 > limits.rows:
            raise too_many_rows(limits)
        check_cells(record, number, limits)
        if not any(c.strip() for c in record):
            continue
        rows.append((number, {column: record[i] if i < len(record) else ""
                              for i, column in enumerate(columns) if column}))
    return Sheet(columns, rows)


def check_cells(record: list[str], number: int, limits: ImportLimits) -> None:
    for cell in record:
        if len(cell) > limits.cell_characters:
            raise cell_too_long(limits, cell, number)


def read_csv(content: bytes, limits: ImportLimits):
    """(row number, [cell text]) for each line; the file is at most MAX_FILE_BYTES."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = content.decode("gb18030")  # what Excel in Chinese saves as "CSV"
        except UnicodeDecodeError:
            raise ValidationFailed(_("The file is not a CSV file in UTF-8 or GB18030.")) from None
    if "\x00" in text:  # UTF-16 read as GB18030, or binary: not text (nor storable in PostgreSQL)
        raise ValidationFailed(_("The file is not a CSV file in UTF-8 or GB18030."))
    first_line = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=first_line.count)
    if text.count("\n") > limits.rows + 1 and csv_records(text, delimiter) - 1 > limits.rows:
        raise too_many_rows(limits)  # counted before any row is kept (a cell may hold a line break)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    number = 0
    while True:
        try:
            record = next(reader, None)
        except csv.Error:  # a cell over the csv module's own limit (128 kB), far above ours
            line = text.split("\n", reader.line_num)[reader.line_num - 1] if reader.line_num else ""
            raise cell_too_long(limits, max(line.split(delimiter), key=len), number + 1) from None
        if record is None:
            return
        number += 1
        yield number, record


def csv_records(text: str, delimiter: str) -> int:
    try:
        return sum(1 for _ in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error:
        return 0  # the rows are read next, and that cell refused there


def read_xlsx(content: bytes, limits: ImportLimits):
    """(row number, [cell text]) for each row of the first sheet, read by openpyxl as a stream
    (read-only mode), after the zip's parts have been checked (check_workbook_parts)."""
    from openpyxl import load_workbook
    check_workbook_parts(content, limits)
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()  # some writers record wrong dimensions; read every row there is
        rows = sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS)
        for number, row in enumerate(rows, start=1):
            cells = [cell_text(value) for value in row]
            while cells and not cells[-1]:
                cells.pop()  # the row as wide as it is, not as MAX_COLUMNS
            yield number, cells
    except ValidationFailed:
        raise
    except Exception:  # openpyxl raises many kinds for a file that is not a workbook
        raise ValidationFailed(_("The file is not an Excel workbook (.xlsx).")) from None


def check_workbook_parts(content: bytes, limits: ImportLimits) -> None:
    """Refuse a workbook that would take memory or minutes to read, reading its zip as a stream.

    - What its parts unpack to, as the zip's directory declares it (zipfile never unpacks more than
      declared: a part that lies fails its CRC), is at most limits.unpacked_megabytes.
    - No text or attribute in any part runs longer than a cell may (one 200 MB shared string is
      refused after its first kilobytes), and no shared string is longer than a cell: openpyxl
      keeps every shared string in memory, even in read-only mode.
    - No part holds more rows, or more cells, than an import reads: openpyxl's read-only sheet
      scans a whole sheet for its size when the file does not state it.
    """
    import zipfile
    import zlib
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
        parts = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise ValidationFailed(_("The file is not an Excel workbook (.xlsx).")) from None
    if sum(part.file_size for part in parts) > limits.unpacked_megabytes * MEGABYTE:
        raise ValidationFailed(_("The workbook unpacks to more than %(size)s MB; an import file may hold at "
                                 "most %(size)s MB of data.", size=number_text(limits.unpacked_megabytes)))
    try:
        for part in parts:
            with archive.open(part) as stream:
                check_part(stream, limits)
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, NotImplementedError, RuntimeError):
        # RuntimeError: an encrypted part; NotImplementedError: a compression zipfile does not know
        raise ValidationFailed(_("The file is not an Excel workbook (.xlsx).")) from None


def check_part(stream, limits: ImportLimits) -> None:
    # A cell's text is at most `cell_characters` characters of up to 8 bytes each ("&#x1F600;"
    # aside, an escaped character is at most 6). Text between two "<" (a tag, or a text node)
    # longer than `window` spans a whole aligned window of that size with no "<" in it.
    window = limits.cell_characters * 8 + 1024
    max_rows, max_cells = limits.rows + 1, (limits.rows + 1) * MAX_COLUMNS
    rows = cells = 0
    run = 0          # the bytes since the last "<", carried from one chunk to the next
    tail = b""       # the last bytes of the previous chunk, for the counts' patterns
    strings = None
    first = True
    while chunk := stream.read(XLSX_CHUNK):
        if first and re.search(rb"<(?:\w+:)?sst[\s>]", chunk[:1024]):
            strings = SharedStringsCheck(limits)  # the shared strings, held in memory by openpyxl
        first = False
        if strings:
            strings.feed(chunk)
        first_tag = chunk.find(b"<")
        if (run + (len(chunk) if first_tag < 0 else first_tag)) > window:
            raise cell_too_long(limits, text_after_tag(tail + chunk[:max(first_tag, 0) + 200]))
        for start in range(max(first_tag, 0), len(chunk) - window + 1, window):
            if chunk.find(b"<", start, start + window) < 0:
                raise cell_too_long(limits, text_after_tag(chunk[max(chunk.rfind(b"<", 0, start), 0):start + 200]))
        last_tag = chunk.rfind(b"<")
        run = run + len(chunk) if last_tag < 0 else len(chunk) - last_tag - 1
        joined = tail + chunk
        rows += sum(joined.count(p) for p in (b"<row ", b"<row>", b"<row/", b":row "))
        cells += sum(joined.count(p) for p in (b"<c ", b"<c>", b"<c/", b":c "))
        tail = chunk[-5:]
        rows -= sum(tail.count(p) for p in (b"<row ", b"<row>", b"<row/", b":row "))  # counted again next time
        cells -= sum(tail.count(p) for p in (b"<c ", b"<c>", b"<c/", b":c "))
        if rows > max_rows:
            raise too_many_rows(limits)
        if cells > max_cells:
            raise ValidationFailed(_("The file has more than %(count)s cells (%(rows)s rows of %(columns)d "
                                     "columns).", count=number_text(max_cells), rows=number_text(limits.rows),
                                     columns=MAX_COLUMNS))
    if strings:
        strings.close()


def text_after_tag(data: bytes) -> str:
    """The start of the text in `data`, after a tag's ">" if there is one."""
    text = data.split(b">", 1)[-1] if b">" in data[:200] else data
    return text[:EXCERPT_CHARACTERS * 4 + 4].decode("utf-8", "ignore")


class SharedStringsCheck:
    """Streams the shared strings table through expat and refuses a string longer than a cell,
    however it is cut into runs of rich text, before openpyxl joins it in memory."""

    def __init__(self, limits: ImportLimits):
        from xml.parsers import expat
        self.limits, self.length, self.start = limits, 0, []
        self.in_text = self.in_phonetic = 0  # inside <t>; inside <rPh>, phonetic hints that are not the string
        self.parser = expat.ParserCreate(namespace_separator=" ")
        self.parser.StartElementHandler = self.started
        self.parser.EndElementHandler = self.ended
        self.parser.CharacterDataHandler = self.text
        self.expat_error = expat.ExpatError

    def started(self, name, _attributes):
        tag = name.rsplit(" ", 1)[-1]
        if tag == "si":
            self.length, self.start = 0, []
        elif tag == "t":
            self.in_text += 1
        elif tag == "rPh":
            self.in_phonetic += 1

    def ended(self, name):
        tag = name.rsplit(" ", 1)[-1]
        if tag == "t":
            self.in_text -= 1
        elif tag == "rPh":
            self.in_phonetic -= 1

    def text(self, data):
        if self.in_text and not self.in_phonetic:
            self.length += len(data)
            if len(self.start) < EXCERPT_CHARACTERS + 1:
                self.start.append(data[:EXCERPT_CHARACTERS + 1])
            if self.length > self.limits.cell_characters:
                raise cell_too_long(self.limits, "".join(self.start))

    def feed(self, chunk: bytes) -> None:
        try:
            self.parser.Parse(chunk, False)
        except self.expat_error:
            raise ValidationFailed(_("The file is not an Excel workbook (.xlsx).")) from None

    def close(self) -> None:
        try:
            self.parser.Parse(b"", True)
        except self.expat_error:
            raise ValidationFailed(_("The file is not an Excel workbook (.xlsx).")) from None


def cell_text(value) -> str:
    """A cell as text: XLSX numbers lose a spurious '.0', dates become ISO dates."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


# --- checking rows -------------------------------------------------------------------------------

@dataclass
class RowError:
    row: int
    column: str
    message: str


@dataclass
class PlannedRow:
    row: int
    action: str          # create, update or unchanged
    values: dict
    target: object = None  # the existing object an update changes
    changes: dict = field(default_factory=dict)  # an update's {column: [before, after]}


@dataclass
class Plan:
    kind: str
    rows: list[PlannedRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    lookups: object = None  # the Lookups the rows were checked against
    import_id: int | None = None  # the ImportRecord of a confirmed import

    def count(self, action: str) -> int:
        return sum(1 for r in self.rows if r.action == action)

    @property
    def counts(self) -> dict:
        return {"rows": len(self.rows) + len({e.row for e in self.errors if e.row > 1}),
                "create": self.count("create"), "update": self.count("update"),
                "unchanged": self.count("unchanged"), "errors": len(self.errors)}


class ImportRejected(ValidationFailed):
    """The file has errors; nothing was written. The plan names every bad row."""

    def __init__(self, plan: Plan):
        super().__init__(_("The file has %(count)d errors; nothing was imported.", count=len(plan.errors)))
        self.plan = plan


class RowReader:
    """One row's cells (text, as read_sheet reads them) as typed values; each problem is recorded
    against its column."""

    def __init__(self, number: int, cells: dict, errors: list[RowError]):
        self.number, self.cells, self.errors = number, cells, errors
        self.failed = False

    def error(self, column: str, message: str) -> None:
        self.failed = True
        self.errors.append(RowError(self.number, column, message))

    def has(self, column: str) -> bool:
        """Is the column in the file at all? (An empty cell is there, and clears a value.)"""
        return column in self.cells

    def raw(self, column: str) -> str:
        return self.cells.get(column, "").strip()  # every cell was read as text (read_sheet)

    def text(self, column: str, required=False, max_length=None) -> str | None:
        value = self.raw(column)
        if value[:1] == "'" and value[1:2] in FORMULA_STARTS:
            value = value[1:]  # the quote our CSV export puts before formula-like text
        if not value:
            if required:
                self.error(column, _("Required."))
            return None
        max_length = max_length or MAX_LENGTHS.get(column)
        if max_length and len(value) > max_length:
            self.error(column, _("At most %(count)d characters.", count=max_length))
        return value

    def name(self, column: str, required=False, max_length=None) -> str | None:
        """A name as the pages and the API keep it (names.read_name)."""
        value = cell_text(self.raw(column)).strip()
        if value[:1] == "'" and value[1:2] in FORMULA_STARTS:
            value = value[1:]
        name, problem = read_name(value, max_length or MAX_LENGTHS[column], required)
        if problem:
            self.error(column, problem)
        return name

    def choice(self, column: str, choices, required=False) -> str | None:
        """One of `choices`, written as its code or its label in Chinese or English (labels.LABELS,
        as the pages show it)."""
        value = self.text(column, required)
        if value is None:
            return None
        code = words_for(choices).get(spoken(value))
        if code is None:
            self.error(column, _("Unknown value %(value)s; use one of: %(choices)s.",
                                 value=excerpt(value), choices=", ".join(f"{label(c)} ({c})" for c in choices)))
        return code

    def day(self, column: str, required=False) -> date | None:
        value = self.raw(column)
        if not value:
            if required:
                self.error(column, _("Required."))
            return None
        match = DATE_PATTERN.match(value)
        try:
            return date(*(int(part) for part in match.groups())) if match else date.fromisoformat(value)
        except ValueError:
            self.error(column, _("Not a date: %(value)s (write YYYY-MM-DD).", value=excerpt(value)))
            return None

    def whole_number(self, column: str, low: int, high: int) -> int | None:
        value = self.text(column)
        if value is None:
            return None
        try:
            number = int(value)
        except ValueError:
            number = None
        if number is None or not low <= number <= high:
            self.error(column, _("Must be a whole number from %(low)d to %(high)d.", low=low, high=high))
            return None
        return number

    def flag(self, column: str, default: bool) -> bool:
        value = (self.text(column) or "").lower()
        if not value:
            return default
        if value in YES or value in NO:
            return value in YES
        self.error(column, _("Write yes or no."))
        return default

    def tiers(self, column: str) -> list[str]:
        value = self.text(column, required=True)
        parts = [p.strip().upper() for p in LIST_SEPARATOR.split(value or "") if p.strip()]
        unknown = [p for p in parts if p not in TIERS]
        if unknown:
            self.error(column, _("Unknown tier %(tier)s; use L1, L2, L3.", tier=excerpt(", ".join(unknown))))
        return [t for t in TIERS if t in parts]

    def email(self, column: str) -> str | None:
        value = self.text(column)
        if value is not None and not EMAIL_PATTERN.match(value):
            self.error(column, _("Not an e-mail address."))
        return value


def spoken(text: str) -> str:
    """A word as a file may write it: any case, any run of spaces (NFKC: full-width letters are letters)."""
    return " ".join(unicodedata.normalize("NFKC", text).lower().split())


_words: dict[tuple, dict[str, str]] = {}


def words_for(codes) -> dict[str, str]:
    """Each code by itself, by its Chinese label and by its English label (spoken)."""
    codes = tuple(codes)
    if codes not in _words:
        words = {}
        for language in LANGUAGES:
            with force_locale(language):
                words.update({spoken(str(LABELS[c])): c for c in codes if c in LABELS})
        words.update({spoken(c): c for c in codes})
        _words[codes] = words
    return _words[codes]


class Lookups:
    """The reference tables an import checks against, each read once (never a query per row)."""

    @cached_property
    def regions(self) -> dict[str, tuple]:
        """Every region: code -> (name, level, parent code)."""
        return {code: (name, level, parent) for code, name, level, parent in db.session.execute(
            sa.select(Region.code, Region.name, Region.level, Region.parent_code))}

    @cached_property
    def region_levels(self) -> dict[str, str]:
        return {code: level for code, (_name, level, _parent) in self.regions.items()}

    @cached_property
    def region_names(self) -> dict[str, list[str]]:
        """Region codes by name: its own (西湖区), under its city (杭州市西湖区), in full (浙江省杭州市西湖区)."""
        found = {}
        for code in self.regions:
            chain, at = [], code
            while at:
                name, _level, at = self.regions[at]
                chain.insert(0, name)
            for start in range(len(chain)):
                found.setdefault("".join(chain[start:]), []).append(code)
            if len(chain) == 3:  # a county under its province, the city left out (浙江省西湖区)
                found.setdefault(chain[0] + chain[2], []).append(code)
        return found

    def region_name(self, code: str) -> str:
        """How a region is told apart from its namesakes: with its parent's name (北京市朝阳区)."""
        name, _level, parent = self.regions[code]
        return self.regions[parent][0] + name if parent else name

    def region(self, reader: RowReader, column: str, levels=LEVELS) -> str | None:
        """A region's code, from a cell holding its code or its name; an unknown or ambiguous name is
        an error that names the regions it could be."""
        value = reader.text(column, required=True)
        if value is None:
            return None
        if value in self.regions:
            if self.region_levels[value] in levels:
                return value
            codes = []
        else:
            codes = [c for c in dict.fromkeys(self.region_names.get("".join(value.split()), []))
                     if self.region_levels[c] in levels]
        if len(codes) == 1:
            return codes[0]
        if len(codes) > 1:
            reader.error(column, _("%(name)s matches %(count)d regions: %(regions)s.", name=excerpt(value),
                                   count=len(codes), regions=", ".join(f"{c} {self.region_name(c)}" for c in codes)))
        elif levels == ("province",):
            reader.error(column, _("%(code)s is not a province's region code or name.", code=excerpt(value)))
        else:
            reader.error(column, _("Unknown region %(code)s.", code=excerpt(value)))
        return None

    @cached_property
    def product_lines(self) -> dict[str, ProductLine]:
        """Every product line by its code, its Chinese name and its English name (spoken)."""
        found = {}
        for line in db.session.execute(sa.select(ProductLine).order_by(ProductLine.code)).scalars():
            for word in (line.name_en, line.name_zh, line.code):
                found[spoken(word)] = line
        return found

    @cached_property
    def product_line_codes(self) -> list[str]:
        return sorted({line.code for line in self.product_lines.values()})

    @cached_property
    def parties(self) -> dict[str, Party]:
        """Every party by name as a file's name cell reads (names.read_name), HQ included (so a
        partner cannot take HQ's name)."""
        return {read_name(party.name, sys.maxsize)[0] or party.name: party
                for party in db.session.execute(sa.select(Party)).scalars()}

    def partner(self, reader: RowReader, column="partner") -> Party | None:
        name = reader.name(column, required=True, max_length=MAX_LENGTHS["name"])
        party = self.parties.get(name) if name else None
        if name and (party is None or party.is_hq):
            reader.error(column, _("No partner is called %(name)s.", name=excerpt(name)))
            return None
        return party

    @cached_property
    def engineers(self) -> dict[tuple, list[Engineer]]:
        """Engineers by (party id, name), each list in id order."""
        found = {}
        for engineer in db.session.execute(sa.select(Engineer).order_by(Engineer.id)).scalars():
            found.setdefault((engineer.party_id, engineer.name), []).append(engineer)
        return found

    @cached_property
    def coverage_keys(self) -> set[tuple]:
        statement = sa.select(Coverage).options(selectinload(Coverage.product_lines))
        return {coverage_key(c.party_id, c.region_code, None if c.all_product_lines else c.product_lines,
                             c.tiers, c.effective_from, c.effective_to)
                for c in db.session.execute(statement).scalars()}

    @cached_property
    def certificates(self) -> tuple[set, set]:
        """(every certification's full key, the (product line, number) pairs taken — not by rejected ones)."""
        rows = db.session.execute(sa.select(
            Certification.engineer_id, Certification.product_line_id, Certification.level, Certification.number,
            Certification.issued_on, Certification.expires_on, Certification.status)).all()
        return ({tuple(r) for r in rows}, {(r.product_line_id, r.number) for r in rows if r.status != "rejected"})


def coverage_key(party_id, region_code, lines, tiers, effective_from, effective_to) -> tuple:
    codes = None if lines is None else tuple(sorted(line.code for line in lines))
    return (party_id, region_code, codes, tuple(tiers), effective_from, effective_to)


def headers(kind: str, language: str) -> list[str]:
    """A template's header row: the columns' Chinese names ("zh") or their codes ("en")."""
    return [HEADERS_ZH[kind][c][0] for c in COLUMNS[kind]] if language == "zh" else list(COLUMNS[kind])


def column_named(kind: str, header: str) -> str:
    """The column a header names, by its code or one of its Chinese names (else the header itself)."""
    for column, names in HEADERS_ZH[kind].items():
        if header in names:
            return column
    return header


def in_columns(kind: str, sheet: Sheet) -> Sheet:
    """The sheet with its headers read as the columns' codes."""
    named = {header: column_named(kind, header) for header in sheet.columns}
    if all(header == column for header, column in named.items()):
        return sheet
    return Sheet([named[h] for h in sheet.columns],
                 [(number, {named[h]: text for h, text in cells.items()}) for number, cells in sheet.rows])


def plan_import(kind: str, sheet: Sheet) -> Plan:
    """Check every row against the database and the rows above it; write nothing."""
    plan = Plan(kind)
    known, required = COLUMNS[kind], REQUIRED[kind]
    sheet = in_columns(kind, sheet)
    for column in sheet.columns:
        if column and column not in known:
            plan.errors.append(RowError(1, column, _("Unknown column; the columns are: %(columns)s.", columns=", ".join(
                f"{c} ({HEADERS_ZH[kind][c][0]})" for c in known))))
    for column in required:
        if column not in sheet.columns:
            plan.errors.append(RowError(1, column, _("This column is missing.")))
    if len(set(c for c in sheet.columns if c)) != len([c for c in sheet.columns if c]):
        plan.errors.append(RowError(1, "", _("A column appears twice.")))
    if plan.errors:
        return plan
    lookups, seen = Lookups(), {}
    plan.lookups = lookups
    check_row = ROW_CHECKS[kind]
    for number, cells in sheet.rows:
        reader = RowReader(number, cells, plan.errors)
        planned = check_row(reader, lookups, seen)
        if planned is not None and not reader.failed:
            plan.rows.append(planned)
    return plan


def check_duplicate(reader: RowReader, seen: dict, key, column: str) -> None:
    if key in seen:
        reader.error(column, _("Same as row %(row)d.", row=seen[key]))
    else:
        seen[key] = reader.number


def check_partner_row(reader: RowReader, lookups: Lookups, seen: dict) -> PlannedRow | None:
    # The rules of service.check_partner, against tables read once.
    values = {
        "name": reader.name("name", required=True),
        "name_en": reader.name("name_en"),
        "kind": reader.choice("kind", PARTNER_KINDS, required=True),
        "province_code": lookups.region(reader, "province_code", ("province",)),
        "capacity": reader.whole_number("capacity", 1, MAX_CAPACITY),
        "tiers": reader.tiers("tiers"),
        "contact_name": reader.name("contact_name"),
        "contact_phone": reader.text("contact_phone"),
        "contact_email": reader.email("contact_email"),
        "address": reader.text("address"),
        "contract_start": reader.day("contract_start"),
        "contract_end": reader.day("contract_end"),
    }
    status = reader.choice("status", PARTY_STATUSES)
    start, end = values["contract_start"], values["contract_end"]
    if start and end and end < start:
        reader.error("contract_end", _("The contract must end after it starts."))
    name = values["name"]
    if not name:
        return None
    check_duplicate(reader, seen, name, "name")
    party = lookups.parties.get(name)
    if party is None:
        values["capacity"] = values["capacity"] or DEFAULT_CAPACITY
        values["status"] = status or "onboarding"
        return PlannedRow(reader.number, "create", values)
    if party.is_hq:
        reader.error("name", _("This is HQ's name."))
        return None
    # An update changes the columns the file has; one without the contact columns keeps them.
    values = {field: value for field, value in values.items() if reader.has(field)}
    if values.get("capacity") is None:
        values["capacity"] = party.capacity
    values["status"] = status or party.status
    if values["status"] != party.status and values["status"] not in service.allowed_transitions(party.status):
        reader.error("status", _("A partner cannot go from %(from)s to %(to)s.",
                                 **{"from": party.status, "to": values["status"]}))
    changes = partner_changes(party, values)
    return PlannedRow(reader.number, "update" if changes else "unchanged", values, party, changes)


def partner_changes(party: Party, values: dict) -> dict:
    """{field: [before, after]} for each field the row changes, the values as the partner's
    "updated" event records them, computed from the columns the write sends (partner_columns)."""
    columns = service.partner_columns(values)
    changes = {}
    for name in service.PARTNER_FIELDS:
        if name in values:
            before, after = service.partner_value(party, name), partner_value_after(party, columns, name)
            if before != after:
                changes[name] = [before, after]
    if values["status"] != party.status:
        changes["status"] = [party.status, values["status"]]
    return changes


def plain(value):
    return value.isoformat() if isinstance(value, date) else value


def check_coverage_row(reader: RowReader, lookups: Lookups, seen: dict) -> PlannedRow | None:
    party = lookups.partner(reader)
    region_code = lookups.region(reader, "region_code")
    lines = product_lines_of(reader, lookups)
    tiers = reader.tiers("tiers")
    if party is not None and tiers and not set(tiers) <= set(party.tiers):
        reader.error("tiers", _("The partner does not offer %(tiers)s.",
                                tiers=", ".join(sorted(set(tiers) - set(party.tiers)))))
    effective_from = reader.day("effective_from", required=True)
    effective_to = reader.day("effective_to")
    if effective_from and effective_to and effective_to < effective_from:
        reader.error("effective_to", _("Coverage must end after it starts."))
    if reader.failed:
        return None
    key = coverage_key(party.id, region_code, lines, tiers, effective_from, effective_to)
    check_duplicate(reader, seen, key, "region_code")
    values = {"party": party, "region_code": region_code, "product_lines": lines, "tiers": tiers,
              "effective_from": effective_from, "effective_to": effective_to}
    return PlannedRow(reader.number, "unchanged" if key in lookups.coverage_keys else "create", values)


def product_lines_of(reader: RowReader, lookups: Lookups) -> list[ProductLine] | None:
    """None for all product lines, else the lines named."""
    value = reader.text("product_lines", required=True)
    if value is None or value.lower() in ("all", "全部"):
        return None
    words = [spoken(c) for c in LIST_SEPARATOR.split(value) if c.strip()]
    unknown = [w for w in words if w not in lookups.product_lines]
    if unknown or not words:
        reader.error("product_lines", _("Unknown product line %(code)s; write all or codes such as %(codes)s.",
                                        code=excerpt(", ".join(unknown)), codes="|".join(lookups.product_line_codes)))
        return None
    return sorted({lookups.product_lines[w] for w in words}, key=lambda line: line.code)


def check_engineer_row(reader: RowReader, lookups: Lookups, seen: dict) -> PlannedRow | None:
    party = lookups.partner(reader)
    name = reader.name("name", required=True, max_length=ENGINEER_NAME_LENGTH)
    email = reader.email("email")
    email = email.lower() if email else None
    values = {"name": name, "email": email, "phone": reader.text("phone"), "active": reader.flag("active", True)}
    if reader.failed:
        return None
    check_duplicate(reader, seen, (party.id, name, email), "name")
    values["party"] = party
    matches = [e for e in lookups.engineers.get((party.id, name), []) if e.email == email]
    if not matches:
        return PlannedRow(reader.number, "create", values)
    engineer = matches[0]
    # An update changes the columns the file has: without `phone` or `active` they stay as they are.
    values["phone"] = values["phone"] if reader.has("phone") else engineer.phone
    values["active"] = values["active"] if reader.has("active") else engineer.active
    changes = {column: [getattr(engineer, column), values[column]] for column in ("phone", "active")
               if getattr(engineer, column) != values[column]}
    return PlannedRow(reader.number, "update" if changes else "unchanged", values, engineer, changes)


def find_engineer(reader: RowReader, lookups: Lookups, party: Party) -> Engineer | None:
    name = reader.name("engineer", required=True, max_length=ENGINEER_NAME_LENGTH)
    email = reader.email("engineer_email")
    if not name or party is None:
        return None
    candidates = lookups.engineers.get((party.id, name), [])
    if email:
        candidates = [e for e in candidates if e.email == email.lower()]
    elif len(candidates) > 1:
        candidates = [e for e in candidates if e.email is None]
    if not candidates:
        reader.error("engineer", _("%(partner)s has no engineer %(name)s%(email)s.", partner=party.name, name=excerpt(name),
                                   email=f" <{excerpt(email)}>" if email else ""))
        return None
    if len(candidates) > 1:
        reader.error("engineer_email", _("Several engineers are called %(name)s; give the e-mail.", name=excerpt(name)))
        return None
    return candidates[0]


def check_certification_row(reader: RowReader, lookups: Lookups, seen: dict) -> PlannedRow | None:
    party = lookups.partner(reader)
    engineer = find_engineer(reader, lookups, party)
    code = reader.text("product_line", required=True)
    line = lookups.product_lines.get(spoken(code)) if code else None
    if code and line is None:
        reader.error("product_line", _("Unknown product line %(code)s.", code=excerpt(code)))
    values = {
        "level": reader.choice("level", CERTIFICATION_LEVELS, required=True),
        "number": reader.text("number", required=True),
        "issued_on": reader.day("issued_on", required=True),
        "expires_on": reader.day("expires_on", required=True),
        "status": reader.choice("status", CERTIFICATION_STATUSES) or "pending",
    }
    if values["issued_on"] and values["expires_on"] and values["expires_on"] <= values["issued_on"]:
        reader.error("expires_on", _("The expiry date must be after the issue date."))
    if reader.failed:
        return None
    key = (engineer.id, line.id, values["level"], values["number"], values["issued_on"], values["expires_on"],
           values["status"])
    values.update(party=party, engineer=engineer, product_line=line)
    every_key, numbers_taken = lookups.certificates
    if key in every_key:
        check_duplicate(reader, seen, key, "number")
        return PlannedRow(reader.number, "unchanged", values)
    if values["status"] != "rejected":
        number_key = ("number", line.id, values["number"])
        if (line.id, values["number"]) in numbers_taken:
            reader.error("number", _("Certificate number %(number)s is already registered for %(line)s.",
                                     number=excerpt(values["number"]), line=line.code))
            return None
        check_duplicate(reader, seen, number_key, "number")
    else:
        check_duplicate(reader, seen, key, "number")
    return PlannedRow(reader.number, "create", values)


ROW_CHECKS = {"partners": check_partner_row, "coverage": check_coverage_row,
              "engineers": check_engineer_row, "certifications": check_certification_row}


# --- what a plan shows: the preview's rows, and the import's history ------------------------------

def written_cells(kind: str, planned: PlannedRow) -> dict:
    """A row to create as it will be written: {column: value}, with codes, lists and ISO dates."""
    values = planned.values
    if kind == "partners":
        return {column: plain(values[column]) for column in COLUMNS[kind] if column in values}
    if kind == "coverage":
        lines = values["product_lines"]
        return {"partner": values["party"].name, "region_code": values["region_code"],
                "product_lines": "all" if lines is None else [line.code for line in lines], "tiers": values["tiers"],
                "effective_from": plain(values["effective_from"]), "effective_to": plain(values["effective_to"])}
    if kind == "engineers":
        return {"partner": values["party"].name, **{c: values[c] for c in ("name", "email", "phone", "active")}}
    engineer = values["engineer"]
    return {"partner": values["party"].name, "engineer": engineer.name, "engineer_email": engineer.email,
            "product_line": values["product_line"].code,
            **{c: plain(values[c]) for c in ("level", "number", "issued_on", "expires_on", "status")}}


def subject_of(kind: str, planned: PlannedRow) -> str:
    """What a row is about, as a person names it: the partner, the engineer, the certificate."""
    values = planned.values
    if kind == "partners":
        return values.get("name") or planned.target.name
    if kind == "engineers":
        email = f" <{values['email']}>" if values.get("email") else ""
        return f"{values['party'].name} · {values['name']}{email}"
    if kind == "certifications":
        return f"{values['party'].name} · {values['engineer'].name} · {values['number']}"
    return values["party"].name


def planned_entry(plan: Plan, planned: PlannedRow) -> dict:
    """A planned row for the preview and the history: a new row's cells, or an update's changes
    ({column: [before, after]}), exactly what the write sends."""
    entry = {"row": planned.row, "action": planned.action, "subject": subject_of(plan.kind, planned)}
    if planned.action == "create":
        entry["cells"] = written_cells(plan.kind, planned)
    elif planned.action == "update":
        entry["changes"] = planned.changes
    regions = {column: plan.lookups.region_name(code) for column in ("region_code", "province_code")
               for code in [planned.values.get(column)] if code}
    if regions:
        entry["regions"] = regions  # the names beside the codes
    return entry


def preview_entries(plan: Plan, sheet: Sheet) -> list[dict]:
    """Every data row of the file in its order: planned (planned_entry), or with errors, its cells
    as read and each error beside its column."""
    errors = {}
    for error in plan.errors:
        if error.row > 1:
            errors.setdefault(error.row, []).append([error.column, error.message])
    planned = {row.row: row for row in plan.rows}
    entries = []
    for number, cells in in_columns(plan.kind, sheet).rows:
        if number in errors:
            entries.append({"row": number, "action": "error", "errors": errors[number],
                            "cells": {c: cells[c] for c in COLUMNS[plan.kind] if c in cells}})
        elif number in planned:
            entries.append(planned_entry(plan, planned[number]))
    return entries


def record_import(plan: Plan, actor_id: int | None, now: datetime, filename: str | None, sha256: str | None) -> int:
    """Keep a written import in the history, with every row it created or updated."""
    record = ImportRecord(at=now, actor_user_id=actor_id, kind=plan.kind, filename=(filename or "")[:255] or None,
                          sha256=sha256, created=plan.count("create"), updated=plan.count("update"))
    db.session.add(record)
    db.session.flush()
    insert_rows(ImportedRow.__table__, [
        {"import_id": record.id, "row": entry["row"], "action": entry["action"], "subject": entry["subject"][:255],
         "data": {key: entry[key] for key in ("cells", "changes", "regions") if key in entry}}
        for entry in (planned_entry(plan, planned) for planned in plan.rows if planned.action != "unchanged")])
    return record.id


# --- the history: confirmed imports, newest first, keyset-paged -------------------------------------

HISTORY_PAGE_SIZE = 50
IMPORTED_ROWS_PAGE_SIZE = 100


def history_cursor(record: ImportRecord) -> str:
    """Where the page after `record` starts (cursors.encode_cursor: opaque to its reader)."""
    return encode_cursor("i", f"{record.at.isoformat()}~{record.id}")


def history_key(cursor: str | None) -> tuple | None:
    """The (at, id) history_cursor wrote; a cursor it did not write is refused (ValidationFailed)."""
    value = decode_cursor(cursor, "i")
    if value is None:
        return None
    at, _sep, id_ = value.rpartition("~")
    try:
        at, id_ = datetime.fromisoformat(at), int(id_)
    except ValueError:
        at = None
    if at is None or at.tzinfo is None or not 0 <= id_ <= MAX_ID:
        raise ValidationFailed("Invalid cursor.", {"cursor": "Not a cursor of this list."})
    return at, id_


def import_history(after_key: tuple | None = None, limit: int = HISTORY_PAGE_SIZE) -> tuple[list, str | None]:
    """(a page of imports, newest first, after `after_key`; the cursor of the next page or None)."""
    statement = (sa.select(ImportRecord).options(selectinload(ImportRecord.actor))
                 .order_by(ImportRecord.at.desc(), ImportRecord.id.desc()).limit(limit + 1))
    if after_key is not None:
        at, id_ = after_key
        statement = statement.where(sa.or_(ImportRecord.at < at, sa.and_(ImportRecord.at == at, ImportRecord.id < id_)))
    records = list(db.session.execute(statement).scalars())
    return records[:limit], history_cursor(records[limit - 1]) if len(records) > limit else None


def import_record(import_id: int) -> ImportRecord:
    record = db.session.get(ImportRecord, import_id)
    if record is None:
        raise NotFound(_("No such import."))
    return record


def imported_rows(import_id: int, after_row: int = 0, limit: int = IMPORTED_ROWS_PAGE_SIZE) -> tuple[list, int | None]:
    """(a page of the rows an import wrote, in the file's order after spreadsheet row `after_row`;
    the row the next page follows, or None)."""
    rows = list(db.session.execute(
        sa.select(ImportedRow).where(ImportedRow.import_id == import_id, ImportedRow.row > after_row)
        .order_by(ImportedRow.row).limit(limit + 1)).scalars())
    return rows[:limit], rows[limit - 1].row if len(rows) > limit else None


# --- writing -------------------------------------------------------------------------------------

def preview(kind: str, content: bytes, file_format: str, limits: ImportLimits = ImportLimits()) -> tuple[Sheet, Plan]:
    """What importing this file would do, and the file's rows as read (for the confirmation to
    use, so that the file is parsed once). Reads only."""
    sheet = read_sheet(content, file_format, limits)
    plan = plan_import(kind, sheet)
    db.session.rollback()  # end the read transaction; nothing was changed
    return sheet, plan


def run_import(kind: str, content: bytes, file_format: str, actor_id: int | None, now: datetime,
               dry_run: bool = False, limits: ImportLimits = ImportLimits(), filename: str | None = None) -> Plan:
    """Read a file and import it: import_sheet."""
    return import_sheet(kind, read_sheet(content, file_format, limits), actor_id, now, dry_run,
                        filename=filename, sha256=hashlib.sha256(content).hexdigest())


def import_sheet(kind: str, sheet: Sheet, actor_id: int | None, now: datetime, dry_run: bool = False,
                 filename: str | None = None, sha256: str | None = None) -> Plan:
    """Check the rows again (the database may have changed since a preview) and write every row in
    one transaction, with the import's history (record_import), or nothing (ImportRejected)."""
    plan = plan_import(kind, sheet)
    if plan.errors:
        db.session.rollback()
        raise ImportRejected(plan)
    if dry_run:
        db.session.rollback()
        return plan
    try:
        WRITERS[kind]([r for r in plan.rows if r.action != "unchanged"], actor_id, now)
        plan.import_id = record_import(plan, actor_id, now, filename, sha256)
        db.session.commit()
    except sa.exc.IntegrityError:
        db.session.rollback()  # someone wrote a clashing row since the check: nothing of ours stays
        raise Conflict(_("The data changed while importing; nothing was imported. Try again.")) from None
    except Exception:
        db.session.rollback()
        raise
    return plan


# Each writer sends its rows to the database as a few executemany statements (SQLAlchemy Core),
# in the import's one transaction, with the events the same changes made by hand would record.

def insert_returning_ids(table: sa.Table, rows: list[dict]) -> list[int]:
    """Insert rows in bulk; their new ids, in the rows' order."""
    if not rows:
        return []
    statement = sa.insert(table).returning(table.c.id, sort_by_parameter_order=True)
    return list(db.session.execute(statement, rows).scalars())


def insert_rows(table: sa.Table, rows: list[dict]) -> None:
    if rows:
        db.session.execute(sa.insert(table), rows)


def update_rows(table: sa.Table, rows: list[dict]) -> None:
    """UPDATE … WHERE id = :row_id for each row (every row with the same columns)."""
    if rows:
        columns = [key for key in rows[0] if key != "row_id"]
        statement = (sa.update(table).where(table.c.id == sa.bindparam("row_id"))
                     .values({column: sa.bindparam(column) for column in columns}))
        db.session.execute(statement, rows)


def event_row(party_id: int, kind: str, actor_id, now, data=None) -> dict:
    return {"party_id": party_id, "at": now, "actor_user_id": actor_id, "kind": kind, "from_status": None,
            "to_status": None, "reason": "import", "data": data}


def partner_value_after(party: Party, columns: dict, field: str):
    """service.partner_value of `party` once `columns` are written."""
    if field == "tiers":
        return [tier for tier in TIERS if columns.get("tier_" + tier.lower(), party.offers(tier))]
    value = columns.get(field, getattr(party, field))
    return value.isoformat() if isinstance(value, date) else value


def write_partners(rows: list[PlannedRow], actor_id, now) -> None:
    parties, events = Party.__table__, PartyEvent.__table__
    creates = [r.values for r in rows if r.action == "create"]
    new_rows = [dict(service.partner_columns(values), status=values["status"], created_at=now) for values in creates]
    insert_rows(parties, new_rows)
    # Their ids by their (unique) names, in one query: RETURNING with the rows' order would make
    # SQLite insert one row per statement.
    ids = dict(db.session.execute(sa.select(parties.c.name, parties.c.id)).all()) if new_rows else {}
    created_events = [event_row(ids[row["name"]], "created", actor_id, now, {"status": row["status"]})
                      for row in new_rows]
    updates, updated_events, moves = [], [], []
    for planned in rows:
        if planned.action != "update":
            continue
        party, values = planned.target, planned.values
        columns = service.partner_columns(values)
        changed = {field: change for field, change in planned.changes.items() if field != "status"}
        updates.append(dict(columns, row_id=party.id))
        if changed:
            updated_events.append(event_row(party.id, "updated", actor_id, now, changed))
        if values["status"] != party.status:
            moves.append((party, values["status"]))
    update_rows(parties, updates)
    insert_rows(events, updated_events + created_events)
    for party, status in moves:  # rare, and a partner that stops serving loses its live offers
        db.session.expire(party)  # read again: its columns were just written past the ORM
        service.set_status(party, status, "import", actor_id, now)


def write_coverage(rows: list[PlannedRow], actor_id, now) -> None:
    added = []
    for planned in rows:
        values = planned.values
        added.append({"party_id": values["party"].id, "region_code": values["region_code"],
                      "all_product_lines": values["product_lines"] is None,
                      "effective_from": values["effective_from"], "effective_to": values["effective_to"],
                      **{"tier_" + tier.lower(): tier in values["tiers"] for tier in TIERS}})
    ids = insert_returning_ids(Coverage.__table__, added)
    insert_rows(coverage_product_line, [{"coverage_id": coverage_id, "product_line_id": line.id}
                                        for coverage_id, planned in zip(ids, rows)
                                        for line in planned.values["product_lines"] or []])
    insert_rows(PartyEvent.__table__, [
        event_row(coverage["party_id"], "coverage_added", actor_id, now, {
            "coverage_id": coverage_id, "region_code": coverage["region_code"],
            "tiers": [tier for tier in TIERS if coverage["tier_" + tier.lower()]],
            "product_lines": None if lines is None else [line.code for line in lines]})
        for coverage_id, coverage, lines in zip(ids, added, (r.values["product_lines"] for r in rows))])


def write_engineers(rows: list[PlannedRow], actor_id, now) -> None:
    insert_rows(Engineer.__table__, [
        {"party_id": r.values["party"].id, "name": r.values["name"], "email": r.values["email"],
         "phone": r.values["phone"], "active": r.values["active"]} for r in rows if r.target is None])
    updated = [r for r in rows if r.target is not None]
    update_rows(Engineer.__table__, [{"row_id": r.target.id, "phone": r.values["phone"], "active": r.values["active"]}
                                     for r in updated])
    service.logins_follow({r.target.id: r.values["active"] for r in updated}, actor_id, now)


def write_certifications(rows: list[PlannedRow], actor_id, now) -> None:
    rows_written = []
    for planned in rows:
        values = planned.values
        reviewed = values["status"] != "pending"  # migrated from HQ's own records: already reviewed
        rows_written.append({
            "engineer_id": values["engineer"].id, "product_line_id": values["product_line"].id,
            "level": values["level"], "number": values["number"], "issued_on": values["issued_on"],
            "expires_on": values["expires_on"], "status": values["status"], "submitted_at": now,
            "reviewed_at": now if reviewed else None, "reviewed_by_id": actor_id if reviewed else None})
    insert_rows(Certification.__table__, rows_written)


WRITERS = {"partners": write_partners, "coverage": write_coverage,
           "engineers": write_engineers, "certifications": write_certifications}


# --- export --------------------------------------------------------------------------------------

STREAM_BATCH = 1000  # rows fetched from the server-side cursor at a time


def streamed(statement):
    """The statement's rows through a server-side cursor, STREAM_BATCH at a time: an export of
    any size holds one batch in memory, never the table."""
    return db.session.execute(statement.execution_options(yield_per=STREAM_BATCH))


def export_rows(kind: str, partners) -> Iterator[list]:
    """The rows of `kind` belonging to the partners `partners` (a select of Party) selects, one
    at a time."""
    if kind == "partners":
        for party in streamed(partners).scalars():
            yield [party_cell(party, column) for column in COLUMNS["partners"]]
        return
    party_ids = partners.with_only_columns(Party.id).order_by(None)
    if kind == "coverage":
        statement = (sa.select(Coverage, Party.name).join(Party, Party.id == Coverage.party_id)
                     .where(Coverage.party_id.in_(party_ids))
                     .options(selectinload(Coverage.product_lines))
                     .order_by(Party.name, Coverage.region_code, Coverage.effective_from, Coverage.id))
        for c, party_name in streamed(statement):
            yield [party_name, c.region_code,
                   "all" if c.all_product_lines else "|".join(sorted(line.code for line in c.product_lines)),
                   "|".join(c.tiers), c.effective_from, c.effective_to]
        return
    if kind == "engineers":
        statement = (sa.select(Party.name, Engineer.name, Engineer.email, Engineer.phone, Engineer.active)
                     .join(Party, Party.id == Engineer.party_id)
                     .where(Engineer.party_id.in_(party_ids))
                     .order_by(Party.name, Engineer.name, Engineer.email, Engineer.id))
        for party_name, name, email, phone, active in streamed(statement):
            yield [party_name, name, email, phone, "yes" if active else "no"]
        return
    statement = (sa.select(Party.name, Engineer.name, Engineer.email, ProductLine.code, Certification.level,
                           Certification.number, Certification.issued_on, Certification.expires_on,
                           Certification.status)
                 .join(Engineer, Engineer.id == Certification.engineer_id)
                 .join(Party, Party.id == Engineer.party_id)
                 .join(ProductLine, ProductLine.id == Certification.product_line_id)
                 .where(Engineer.party_id.in_(party_ids))
                 .order_by(Party.name, Engineer.name, Engineer.email, ProductLine.code, Certification.number,
                           Certification.issued_on, Certification.id))
    for row in streamed(statement):
        yield list(row)


def party_cell(party: Party, column: str):
    if column == "tiers":
        return "|".join(party.tiers)
    return getattr(party, column)


@dataclass
class Export:
    """A table to write as CSV or XLSX, its rows read as they are written: a CSV is streamed as
    the response body, an XLSX written by openpyxl's write-only mode to a file."""
    title: str  # the XLSX sheet's name
    columns: list
    rows: Iterable[list]
    csv_cell: Callable = None  # a value as CSV text; by default csv_cell
    xlsx_cells: Callable = None  # (sheet, row) -> the row's cells; by default xlsx_cell of each value

    def csv_chunks(self) -> Iterator[bytes]:
        """UTF-8 with a BOM, so that Excel shows Chinese, a few hundred lines at a time."""
        cell = self.csv_cell or csv_cell
        out = io.StringIO(newline="")
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(self.columns)
        yield "\ufeff".encode() + take(out)
        for n, row in enumerate(self.rows, 1):
            writer.writerow([cell(value) for value in row])
            if n % 500 == 0:
                yield take(out)
        yield take(out)

    def write_xlsx(self, handle) -> None:
        from openpyxl import Workbook
        workbook = Workbook(write_only=True)  # rows go to a temporary file as they are appended
        sheet = workbook.create_sheet(self.title[:31])
        sheet.append(list(self.columns))
        for row in self.rows:
            sheet.append(self.xlsx_cells(sheet, row) if self.xlsx_cells else [xlsx_cell(sheet, v) for v in row])
        workbook.save(handle)

    def write(self, handle, file_format: str) -> None:
        if file_format == "xlsx":
            self.write_xlsx(handle)
        else:
            for chunk in self.csv_chunks():
                handle.write(chunk)

    def content(self, file_format: str) -> bytes:
        out = io.BytesIO()
        self.write(out, file_format)
        return out.getvalue()


def take(out: io.StringIO) -> bytes:
    """What the CSV writer wrote since the last take, as UTF-8."""
    text = out.getvalue()
    out.seek(0)
    out.truncate()
    return text.encode("utf-8")


def export_of(kind: str, partners) -> Export:
    return Export(kind, list(COLUMNS[kind]), export_rows(kind, partners))


def export_file(kind: str, file_format: str, partners) -> bytes:
    return export_of(kind, partners).content(file_format)


def csv_cell(value) -> str:
    """Formula-like text is quoted with "'"."""
    text = cell_text(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def xlsx_cell(sheet, value):
    """A cell whose text stays text, even when it starts with "="; the control characters XML
    cannot hold (a pasted BEL, an escape sequence) are left out rather than failing the file."""
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    if isinstance(value, str):
        cell = WriteOnlyCell(sheet, value=ILLEGAL_CHARACTERS_RE.sub("", value))
        cell.data_type = "s"
        return cell
    return WriteOnlyCell(sheet, value=value)
