"""What every page and the API share at the edge of a request: reading what it carries (a search,
a list's cursors, a posted id, an id in a path, a day) and showing a service's refusal on a form. Nothing here
knows a feature; views and API endpoints of every feature import it."""
import tempfile
from datetime import date

from flask import Response, flash, redirect, request, send_file, stream_with_context, url_for
from flask_babel import gettext as _
from werkzeug.routing import BaseConverter

from partnernet.db_types import MAX_ID
from partnernet.errors import DomainError

# The days a form or the API accepts: date arithmetic on them (periods turned into instants) cannot overflow.
FIRST_DAY, LAST_DAY = date(1970, 1, 1), date(2099, 12, 31)


def search_text() -> str:
    """?q= of a search box or a picker, trimmed and at most 50 characters."""
    return request.args.get("q", "").strip()[:50]


def page_cursors() -> tuple[str | None, str | None]:
    """?after= and ?before= of a list paged by cursor (cursors.cursor_page, tickets.queries.list_page)."""
    return request.args.get("after") or None, request.args.get("before") or None


def first_page_instead(endpoint: str, **values):
    """A link from before the lists paged by cursor (?page=N): the list's first page, with the same
    filters, and a word on why when it asked for a later one."""
    args = request.args.to_dict()
    if args.pop("page") not in ("", "1"):
        flash(_("This list no longer has numbered pages: here is its first page. Use Next and "
                "Previous to move on."), "info")
    return redirect(url_for(endpoint, **values, **args))


def query_id(name: str) -> int | None:
    """An id from the query string (?customer=12): None when absent or not a whole number, 0
    (which no row has) for a number no row can have (beyond what a column holds, or below 1)."""
    value = request.args.get(name, type=int)
    return value if value is None or 1 <= value <= MAX_ID else 0


def posted_id(name: str) -> int | None:
    """An id from the form; None when it is not one a row can have (the service then refuses it)."""
    value = request.form.get(name, type=int)
    return value if value is not None and 1 <= value <= MAX_ID else None


class IdConverter(BaseConverter):
    """A row id in a path (pages' <int:…>, the API's <id:…>). Digits beyond the ids a column can
    hold name nothing: they become 0, which no row has, so the endpoint answers 404 (rather than
    the database an overflow, or the router a 405 for a path another method's rule would have matched)."""

    regex = r"[0-9]{1,12}"
    weight = 50

    def to_python(self, value):
        number = int(value)
        return number if 1 <= number <= MAX_ID else 0

    def to_url(self, value):
        return str(int(value))


def show_errors(form, error: DomainError, field_names: dict | None = None) -> None:
    """A service's refusal on the form's page, each thing said once: a field's message under the
    field (`field_names` maps the service's names to the form's where they differ); the general
    message in a banner only when no field of the form shows why."""
    shown, elsewhere = False, []
    for name, message in error.fields.items():
        name = (field_names or {}).get(name, name)
        if form is not None and name in form:
            form[name].errors = list(form[name].errors) + [message]
            shown = True
        else:
            elsewhere.append(str(message))
    if not shown:
        flash(error.message or " ".join(elsewhere), "danger")
    elif elsewhere:
        flash(" ".join(elsewhere), "danger")


# Flask adds "; charset=utf-8" to a text/* type itself (the files are UTF-8, with a BOM for Excel).
MIMETYPES = {"csv": "text/csv",
             "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def download(file_format: str, export, name: str):
    """The export as an attachment, written as it is sent: a CSV streamed as the response body;
    an XLSX (a zip, written whole) built in a temporary file, which is deleted once sent."""
    if file_format == "csv":
        response = Response(stream_with_context(export.csv_chunks()), mimetype=MIMETYPES["csv"])
        response.headers.set("Content-Disposition", "attachment", filename=f"{name}.csv")
        return response
    handle = tempfile.TemporaryFile()
    export.write_xlsx(handle)
    handle.seek(0)
    return send_file(handle, mimetype=MIMETYPES[file_format], as_attachment=True, download_name=f"{name}.{file_format}")
