"""Bulk import (upload → preview → confirm) and export of what the partner list shows."""
import json
import os
import re
import secrets
import time
from dataclasses import dataclass

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from partnernet.roles import MANAGER_ROLES
from partnernet.errors import DomainError
from partnernet.labels import label
from partnernet.network import service, transfer
from partnernet.network.views import partner_filters
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


@dataclass
class StoredPlan:
    """What the preview shows: the plan made when the file was uploaded."""
    kind: str
    counts: dict
    errors: list  # the first ERRORS_SHOWN


def upload_directory() -> str:
    return os.path.join(current_app.instance_path, "imports")


def import_limits() -> transfer.ImportLimits:
    return transfer.ImportLimits.from_config(current_app.config)


def store_upload(content: bytes, file_format: str, kind: str = "partners") -> str:
    """Read and plan an upload once, and keep both until it is confirmed (outside the session
    cookie), forgetting day-old ones. The file's first line is the plan the preview shows, the
    second the rows the confirmation imports: reloading the preview reads one short line."""
    sheet, plan = transfer.preview(kind, content, file_format, import_limits())
    directory = upload_directory()
    os.makedirs(directory, exist_ok=True)
    for name in os.listdir(directory):
        path = os.path.join(directory, name)
        if TOKEN.match(name) and os.path.getmtime(path) < time.time() - STALE_SECONDS:
            os.remove(path)
    token = f"{secrets.token_hex(16)}.plan"
    summary = {"kind": kind, "counts": plan.counts,
               "errors": [[e.row, e.column, e.message] for e in plan.errors[:transfer.ERRORS_SHOWN]]}
    with open(os.path.join(directory, token), "w", encoding="utf-8") as handle:
        handle.write(json.dumps(summary, ensure_ascii=False) + "\n")
        handle.write(json.dumps({"columns": sheet.columns, "rows": sheet.rows}, ensure_ascii=False) + "\n")
    return token


def stored_path(token: str) -> str:
    path = os.path.join(upload_directory(), token)
    if not TOKEN.match(token) or not os.path.exists(path):
        abort(404)
    return path


def load_plan(kind: str, token: str) -> StoredPlan:
    with open(stored_path(token), encoding="utf-8") as handle:
        summary = json.loads(handle.readline())
    if summary["kind"] != kind:
        abort(404)
    return StoredPlan(kind, summary["counts"], [transfer.RowError(*error) for error in summary["errors"]])


def load_sheet(kind: str, token: str) -> transfer.Sheet:
    with open(stored_path(token), encoding="utf-8") as handle:
        if json.loads(handle.readline())["kind"] != kind:
            abort(404)
        stored = json.loads(handle.readline())
    return transfer.Sheet(stored["columns"], [(number, cells) for number, cells in stored["rows"]])


def render_import_page(status=200, file_error=None):
    return render_template("network/import.html", kinds=transfer.KINDS, columns=transfer.COLUMNS,
                           required=transfer.REQUIRED, max_megabytes=transfer.MAX_FILE_BYTES // (1024 * 1024),
                           selected=request.values.get("kind", "partners"), file_error=file_error), status


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
        token = store_upload(content, file_format, kind)
    except DomainError as error:  # not a file we read, or past a limit: said at once, on the form
        return render_import_page(error.status, error.message)
    return redirect(url_for("transfer.preview", kind=kind, token=token))


@bp.get(f"/import/{KIND}/<token>")
@login_required
def preview(kind, token):
    require_role(current_user, *MANAGER_ROLES)
    return render_template("network/import_preview.html", plan=load_plan(kind, token), token=token,
                           errors_shown=transfer.ERRORS_SHOWN)


@bp.post(f"/import/{KIND}/<token>")
@login_required
def confirm(kind, token):
    require_role(current_user, *MANAGER_ROLES)
    sheet = load_sheet(kind, token)
    try:
        plan = transfer.import_sheet(kind, sheet, current_user.id, now_utc())
    except transfer.ImportRejected as rejected:
        flash(rejected.message, "danger")
        return render_template("network/import_preview.html", plan=rejected.plan, token=token,
                               errors_shown=transfer.ERRORS_SHOWN), 422
    except DomainError as error:
        flash(error.message, "danger")
        return redirect(url_for("transfer.preview", kind=kind, token=token))
    os.remove(os.path.join(upload_directory(), token))
    counts = plan.counts
    flash(_("Imported %(kind)s: %(create)d created, %(update)d updated, %(unchanged)d unchanged.",
            kind=label(kind), create=counts["create"], update=counts["update"], unchanged=counts["unchanged"]), "success")
    return redirect(url_for("network.partners") if kind == "partners" else url_for("transfer.import_page", kind=kind))


@bp.get(f"/import/template/{TABLE}.{FORMAT}")
@login_required
def template(table, format):
    """An empty file with the columns: the export of an empty list."""
    require_role(current_user, *MANAGER_ROLES)
    nothing = service.partner_list_statement(today_in_china()).where(sa.false())
    return download(format, transfer.export_of(table, nothing), f"partnernet-{table}-template")


@bp.get(f"/export/{TABLE}.{FORMAT}")
@login_required
def export(table, format):
    """The partners the list shows for the same filters, or their coverage, engineers or certifications."""
    require_role(current_user, *MANAGER_ROLES)
    today = today_in_china()
    partners = service.partner_list_statement(today, **partner_filters())
    return download(format, transfer.export_of(table, partners),
                    f"partnernet-{table}-{today:%Y%m%d}")
