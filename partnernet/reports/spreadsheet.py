"""A report as a file the way offices read it: headings in the reader's language, instants as dates
and times in China, numbers as numbers; an XLSX with its header row frozen and columns wide enough.
Rows are read as they are written (partnernet.web.download streams them), so a file of a million
tickets holds one batch in memory."""
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from partnernet.network.transfer import Export, csv_cell, xlsx_cell
from partnernet.timeclock import CHINA

DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
FORMATS = {"datetime": DATETIME_FORMAT, "date": "yyyy-mm-dd", "number": "0", "hours": "0.0", "rate": "0.0%"}


@dataclass
class Column:
    heading: object        # a lazy string (_l): written in the reader's language when the file is
    kind: str = "text"     # text, datetime, date, number, hours or rate
    width: int = 12        # in characters (a Chinese character is about two)


def local(value: datetime) -> datetime:
    """An instant as the wall-clock time in China, without a zone (what a spreadsheet's cell holds)."""
    return value.astimezone(CHINA).replace(tzinfo=None)


def csv_text(value, kind: str) -> str:
    if value is None:
        return ""
    if kind == "datetime":
        return local(value).strftime("%Y-%m-%d %H:%M")
    if kind == "date":
        return value.isoformat()
    if kind == "hours":
        return f"{float(value):.1f}"
    if kind == "rate":
        return f"{float(value) * 100:.1f}%"
    if kind == "number":
        return str(value)
    return csv_cell(str(value))


class Spreadsheet:
    """A table of typed columns, written as CSV (UTF-8 with a BOM) or XLSX (openpyxl write-only);
    the headings are translated when the file is written, for the reader of the request."""

    def __init__(self, title: str, columns: list[Column], rows: Iterable[list]):
        self.title, self.columns, self.rows = title, columns, rows

    def headings(self) -> list[str]:
        return [str(column.heading) for column in self.columns]

    def csv_chunks(self) -> Iterator[bytes]:
        kinds = [column.kind for column in self.columns]
        rows = ([csv_text(value, kind) for value, kind in zip(row, kinds)] for row in self.rows)
        return Export(self.title, self.headings(), rows, csv_cell=str).csv_chunks()

    def write_xlsx(self, handle) -> None:
        from openpyxl import Workbook
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.styles import Font
        from openpyxl.utils import get_column_letter

        workbook = Workbook(write_only=True)  # rows go to a temporary file as they are appended
        sheet = workbook.create_sheet(self.title[:31])
        sheet.freeze_panes = "A2"
        for index, column in enumerate(self.columns, 1):
            sheet.column_dimensions[get_column_letter(index)].width = column.width
        bold = Font(bold=True)
        headings = []
        for heading in self.headings():
            cell = WriteOnlyCell(sheet, value=heading)
            cell.font = bold
            headings.append(cell)
        sheet.append(headings)
        kinds = [column.kind for column in self.columns]
        for row in self.rows:
            sheet.append([self.xlsx_value(sheet, value, kind) for value, kind in zip(row, kinds)])
        workbook.save(handle)

    def content(self, file_format: str) -> bytes:
        """The whole file (the CLI, the tests): pages stream it through partnernet.web.download."""
        out = io.BytesIO()
        if file_format == "xlsx":
            self.write_xlsx(out)
        else:
            for chunk in self.csv_chunks():
                out.write(chunk)
        return out.getvalue()

    @staticmethod
    def xlsx_value(sheet, value, kind: str):
        from openpyxl.cell import WriteOnlyCell
        if value is None:
            return None
        if kind == "text" or not isinstance(value, (int, float, Decimal, date)):
            return xlsx_cell(sheet, str(value))
        if isinstance(value, datetime):
            value = local(value)
        elif isinstance(value, Decimal):
            value = float(value)
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = FORMATS[kind]
        return cell
