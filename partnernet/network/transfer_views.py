"""Bulk import (upload → preview → confirm), the history of confirmed imports, and export of what
the partner list shows."""
import hashlib
import io
import json
import os
import re
import secrets
import time
from dataclasses import dataclass

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from partnernet.db_types import MAX_ID
from partnernet.errors import DomainError
from partnernet.labels import LABELS, label, reads_chinese
from partnernet.network import service, transfer
from partnernet.network.views import partner_filters
from partnernet.roles import MANAGER_ROLES
from partnernet.scope import require_role
from partnernet.timeclock import now_utc, today_in_china
from partnernet.web import download

bp = Blueprint("transfer", __name__)

KIND = "<any(partners, coverage, engineers, certifications):kind>"
# Exports take the partner list's query arguments, one of which is `kind` (branch, agent…).
TABLE = "<any(partners, coverage, engineers, certifications):table>"
FORMAT = "<any(csv, xlsx):format>"  # url_for(..., format="csv")
# An upload waiting for confirmation, parsed and planned once: instance/imports/<32 hex digits>.plan
TOKEN = re.compile(r"^[0-9a-f]{32}\.plan$")
STALE_SECONDS = 24 * 3600
PREVIEW_PAGE_SIZE = 100
# What the preview lists: every row, the rows with errors, the rows to create or update.
PREVIEW_FILTERS = {"all": lambda entry: True, "errors": lambda entry: entry["action"] == "error",
                   "changes": lambda entry: entry["action"] in ("create", "update")}


@dataclass
class StoredPlan:
    """What the preview shows: the plan made when the file was uploaded."""
    kind: str
    counts: dict
    errors: list  # the file's own errors (its header row), or all errors when a confirmation was refused
    filename: str = ""
    totals: dict = None  # entries per filter


@dataclass
class PreviewPage:
    show: str
    number: int
    pages: int
    entries: list



def preview_page_number() -> int:
    """?page= of a preview: the preview is a plan held for this upload (at most the import's row
    limit), so it pages by number; 1 unless a whole number from 1 on."""
    return max(request.args.get("page", 1, type=int), 1)


def upload_directory() -> str:
    return os.path.join(current_app.instance_path, "imports")


def import_limits() -> transfer.ImportLimits:
    return transfer.ImportLimits.from_config(current_app.config)


def store_upload(content: bytes, file_format: str, kind: str = "partners", filename: str = "") -> str:
    """Read and plan an upload once, and keep both until it is confirmed (outside the session
    cookie), forgetting day-old ones. The file's first line is the plan's summary, with where each
    page of the preview starts; then one line per page of PREVIEW_PAGE_SIZE rows for each filter;
    last the rows as read, which the confirmation imports. A page of the preview reads two lines."""
    sheet, plan = transfer.preview(kind, content, file_format, import_limits())
    directory = upload_directory()
    os.makedirs(directory, exist_ok=True)
    for name in os.listdir(directory):
        path = os.path.join(directory, name)
        if TOKEN.match(name) and os.path.getmtime(path) < time.time() - STALE_SECONDS:
            os.remove(path)
    entries = transfer.preview_entries(plan, sheet)
    body, pages, totals = io.BytesIO(), {}, {}
    for show, wanted in PREVIEW_FILTERS.items():
        chosen = [entry for entry in entries if wanted(entry)]
        totals[show], pages[show] = len(chosen), []
        if show != "all" and len(chosen) == len(entries):  # the filter leaves out nothing: the same pages
            pages[show] = pages["all"]
            continue
        for start in range(0, len(chosen), PREVIEW_PAGE_SIZE):
            pages[show].append(body.tell())
            body.write(json_line(chosen[start:start + PREVIEW_PAGE_SIZE]))
    sheet_at = body.tell()
    body.write(json_line({"columns": sheet.columns, "rows": sheet.rows}))
    summary = {"kind": kind, "filename": filename, "sha256": hashlib.sha256(content).hexdigest(),
               "counts": plan.counts, "totals": totals, "pages": pages, "sheet": sheet_at,
               "errors": [[e.row, e.column, e.message] for e in plan.errors if e.row <= 1]}
    token = f"{secrets.token_hex(16)}.plan"
    with open(os.path.join(directory, token), "wb") as handle:
        handle.write(json_line(summary))
        handle.write(body.getvalue())
    return token


def json_line(value) -> bytes:
    return (json.dumps(value, ensure_ascii=False) + "\n").encode("utf-8")


def stored_path(token: str) -> str:
    path = os.path.join(upload_directory(), token)
    if not TOKEN.match(token) or not os.path.exists(path):
        abort(404)
    return path


def read_stored(kind: str, token: str, line=None) -> tuple[dict, object]:
    """The stored summary, and the line at offset `line` (counted from the end of the summary)."""
    with open(stored_path(token), "rb") as handle:
        summary = json.loads(handle.readline())
        if summary["kind"] != kind:
            abort(404)
        if line is None:
            return summary, None
        handle.seek(handle.tell() + line)
        return summary, json.loads(handle.readline())


def load_plan(kind: str, token: str) -> StoredPlan:
    summary, _line = read_stored(kind, token)
    return StoredPlan(kind, summary["counts"], [transfer.RowError(*error) for error in summary["errors"]],
                      summary["filename"], summary["totals"])


def load_page(kind: str, token: str, show: str, number: int) -> PreviewPage:
    summary, _line = read_stored(kind, token)
    offsets = summary["pages"][show]
    number = min(max(number, 1), max(len(offsets), 1))
    entries = read_stored(kind, token, offsets[number - 1])[1] if offsets else []
    return PreviewPage(show, number, len(offsets), entries)


def load_sheet(kind: str, token: str) -> tuple[transfer.Sheet, dict]:
    """The rows read at upload, and the summary (the file's name and hash)."""
    summary, _line = read_stored(kind, token)
    summary, stored = read_stored(kind, token, summary["sheet"])
    return transfer.Sheet(stored["columns"], [(number, cells) for number, cells in stored["rows"]]), summary


def template_language() -> str:
    """The templates' headers: ?language= on the import page, else Chinese for a Chinese reader."""
    chosen = request.args.get("language")
    return chosen if chosen in transfer.HEADER_LANGUAGES else "zh" if reads_chinese() else "en"


def render_import_page(status=200, file_error=None):
    return render_template("network/import.html", kinds=transfer.KINDS, columns=transfer.COLUMNS,
                           headers_zh=transfer.HEADERS_ZH, required=transfer.REQUIRED,
                           max_megabytes=transfer.MAX_FILE_BYTES // (1024 * 1024),
                           selected=request.values.get("kind", "partners"), file_error=file_error,
                           language=template_language()), status


@bp.get("/import")
@login_required
def import_page():
    require_role(current_user, *MANAGER_ROLES)
    return render_import_page()


@bp.post("/import")
@login_required
def upload():
    require_role(current_user, *MANAGER_ROLES)
    kind = request.form.get("kind", "")
    too_large = _("The file is larger than %(size)d MB.", size=transfer.MAX_FILE_BYTES // (1024 * 1024))
    if (request.content_length or 0) > transfer.MAX_FILE_BYTES + 64 * 1024:
        return render_import_page(413, too_large)
    upload = request.files.get("file")
    file_format = transfer.file_format_of(upload.filename if upload else "")
    if kind not in transfer.KINDS or file_format is None:
        return render_import_page(422, _("Choose what to import and a .csv or .xlsx file."))
    content = upload.read(transfer.MAX_FILE_BYTES + 1)
    if len(content) > transfer.MAX_FILE_BYTES:
        return render_import_page(413, too_large)
    try:
        token = store_upload(content, file_format, kind, os.path.basename(upload.filename))
    except DomainError as error:  # not a file we read, or past a limit: said at once, on the form
        return render_import_page(error.status, error.message)
    return redirect(url_for("transfer.preview", kind=kind, token=token))


def render_preview(plan: StoredPlan, token: str, page: PreviewPage | None, status=200):
    return render_template("network/import_preview.html", plan=plan, token=token, page=page,
                           errors_shown=transfer.ERRORS_SHOWN, filters=PREVIEW_FILTERS,
                           headers_zh=transfer.HEADERS_ZH[plan.kind], shown=shown_value), status


@bp.get(f"/import/{KIND}/<token>")
@login_required
def preview(kind, token):
    require_role(current_user, *MANAGER_ROLES)
    show = request.args.get("show", "all")
    show = show if show in PREVIEW_FILTERS else "all"
    return render_preview(load_plan(kind, token), token, load_page(kind, token, show, preview_page_number()))


@bp.post(f"/import/{KIND}/<token>")
@login_required
def confirm(kind, token):
    require_role(current_user, *MANAGER_ROLES)
    sheet, summary = load_sheet(kind, token)
    try:
        plan = transfer.import_sheet(kind, sheet, current_user.id, now_utc(), filename=summary["filename"],
                                     sha256=summary["sha256"])
    except transfer.ImportRejected as rejected:
        flash(rejected.message, "danger")
        refused = StoredPlan(kind, rejected.plan.counts, rejected.plan.errors, summary["filename"])
        return render_preview(refused, token, None, 422)
    except DomainError as error:
        flash(error.message, "danger")
        return redirect(url_for("transfer.preview", kind=kind, token=token))
    os.remove(os.path.join(upload_directory(), token))
    counts = plan.counts
    flash(_("Imported %(kind)s: %(create)d created, %(update)d updated, %(unchanged)d unchanged.",
            kind=label(kind), create=counts["create"], update=counts["update"], unchanged=counts["unchanged"]), "success")
    return redirect(url_for("transfer.import_record", import_id=plan.import_id))


def shown_value(column: str, value) -> str:
    """A value of the preview or the history as a reader reads it: a code by its label, a list
    joined with |, yes or no, nothing for an empty cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list):
        return "|".join(str(v) for v in value)
    if column in ("kind", "status", "level") and value in LABELS:
        return f"{label(value)} ({value})"
    if value == "all" and column == "product_lines":
        return _("all product lines")
    return str(value)


@bp.get("/imports")
@login_required
def history():
    """HQ's confirmed imports, newest first."""
    require_role(current_user, *MANAGER_ROLES)
    try:
        after = transfer.history_key(request.args.get("after"))
    except DomainError:  # a cursor we did not write: the first page
        after = None
    records, next_cursor = transfer.import_history(after)
    return render_template("network/import_history.html", records=records, next_cursor=next_cursor,
                           paged=after is not None)


@bp.get("/imports/<int:import_id>")
@login_required
def import_record(import_id):
    """What one import wrote: each row created, and each row updated with its cells before → after."""
    require_role(current_user, *MANAGER_ROLES)
    record = transfer.import_record(import_id)
    after = min(max(request.args.get("after", 0, type=int), 0), MAX_ID)
    rows, next_row = transfer.imported_rows(record.id, after)
    return render_template("network/import_record.html", record=record, rows=rows, next_row=next_row,
                           paged=after > 0, headers_zh=transfer.HEADERS_ZH[record.kind], shown=shown_value)


@bp.get(f"/import/template/{TABLE}.{FORMAT}")
@login_required
def template(table, format):
    """An empty file with the columns, named in Chinese or by their codes (template_language)."""
    require_role(current_user, *MANAGER_ROLES)
    language = template_language()
    empty = transfer.Export(table, transfer.headers(table, language), [])
    return download(format, empty, f"partnernet-{table}-template-{language}")


@bp.get(f"/export/{TABLE}.{FORMAT}")
@login_required
def export(table, format):
    """The partners the list shows for the same filters, or their coverage, engineers or certifications."""
    require_role(current_user, *MANAGER_ROLES)
    today = today_in_china()
    partners = service.partner_list_statement(today, **partner_filters())
    return download(format, transfer.export_of(table, partners),
                    f"partnernet-{table}-{today:%Y%m%d}")
