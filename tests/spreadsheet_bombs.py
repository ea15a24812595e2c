"""Hostile spreadsheets, built on the fly and small on disk: the files an import must refuse quickly."""
import csv
import io
import zipfile
from xml.sax.saxutils import escape

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
    '</Types>')
ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'officeDocument" Target="xl/workbook.xml"/></Relationships>')
WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="partners" sheetId="1" r:id="rId1"/></sheets></workbook>')
WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'worksheet" Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'sharedStrings" Target="sharedStrings.xml"/></Relationships>')
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
HEADER = ("name", "kind", "province_code", "tiers")
CHUNK = 1024 * 1024


def inline_row(number: int, values) -> str:
    cells = "".join(f'<c r="{chr(65 + i)}{number}" t="inlineStr"><is><t>{escape(v)}</t></is></c>'
                    for i, v in enumerate(values))
    return f'<row r="{number}">{cells}</row>'


def workbook(sheet_rows, shared_strings) -> bytes:
    """An .xlsx from iterables of XML text (the sheet's rows, the shared strings' <si> items),
    written in pieces so that a huge part never sits in memory."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("_rels/.rels", ROOT_RELS)
        archive.writestr("xl/workbook.xml", WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        for name, start, pieces, end in (
                ("xl/worksheets/sheet1.xml", f'<worksheet xmlns="{MAIN}"><sheetData>', sheet_rows,
                 "</sheetData></worksheet>"),
                ("xl/sharedStrings.xml", f'<sst xmlns="{MAIN}">', shared_strings, "</sst>")):
            with archive.open(name, "w", force_zip64=True) as part:
                part.write(start.encode())
                for piece in pieces:
                    part.write(piece.encode() if isinstance(piece, str) else piece)
                part.write(end.encode())
    return out.getvalue()


def huge_shared_string(megabytes=200) -> bytes:
    """~205 kB on disk: a partners sheet whose first row's name is one shared string of `megabytes` MB."""
    def strings():
        yield "<si><t>"
        for _ in range(megabytes):
            yield b"A" * CHUNK
        yield "</t></si>"
    rows = [inline_row(1, HEADER), '<row r="2"><c r="A2" t="s"><v>0</v></c>'
            + "".join(f'<c r="{c}2" t="inlineStr"><is><t>{v}</t></is></c>'
                      for c, v in zip("BCD", ("agent", "330000", "L1")))
            + "</row>"]
    return workbook(rows, strings())


def many_rows(count=5_000_000) -> bytes:
    """A partners sheet of `count` rows after its header, every one the same shared string; rows
    need not carry their number (r="…"), so the part is one block repeated: 160 MB in ~0.2 MB."""
    row = '<row><c t="s"><v>0</v></c></row>'
    def rows():
        yield inline_row(1, HEADER)
        block = row * 10000
        for _ in range(count // 10000):
            yield block
        yield row * (count % 10000)
    return workbook(rows(), ["<si><t>代理商</t></si>"])


def huge_inline_cell(megabytes=200) -> bytes:
    """A sheet whose second row holds one inline string of `megabytes` MB (no shared strings at all)."""
    def rows():
        yield inline_row(1, HEADER)
        yield '<row r="2"><c r="A2" t="inlineStr"><is><t>'
        for _ in range(megabytes):
            yield b"B" * CHUNK
        yield "</t></is></c></row>"
    return workbook(rows(), [])


def csv_many_rows(count=1_000_000) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows([("代理商", "agent", "330000", "L1")] * count)
    return out.getvalue().encode()


def csv_huge_cell(characters=5_000_000) -> bytes:
    return ("name,kind,province_code,tiers\n" + "C" * characters + ",agent,330000,L1\n").encode()


def split_shared_string(megabytes=200) -> bytes:
    """One shared string of `megabytes` MB cut into runs of rich text of 1,000 characters each:
    no single text node is long, the string is."""
    def strings():
        yield "<si>"
        run = "<r><t>" + "D" * 1000 + "</t></r>"
        block = (run * 1000).encode()
        for _ in range(megabytes):
            yield block
        yield "</si>"
    rows = [inline_row(1, HEADER), '<row r="2"><c r="A2" t="s"><v>0</v></c></row>']
    return workbook(rows, strings())
