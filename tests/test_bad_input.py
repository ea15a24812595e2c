"""Bad input (issue 9, item 8): every form and endpoint, fed oversize fields, wrong types, unknown
enum values, dates out of order, unicode edge cases (emoji, RTL, zero-width, NUL, lone surrogates),
SQL and HTML metacharacters and spreadsheet formulas, answers with a clear error or a safe echo:
never a 500, never a stored or reflected script, and a refused submission changes nothing.

The forms are found, not listed: every GET page the app registers is fetched as each role (with
the authorization matrix's world and URL values), every <form method=post> on it is parsed with
the standard library's HTML parser, and each field is submitted with each nasty value while the
other fields keep valid values. A test fails if a POST rule of the UI has no form on any page.
Whether a request changed the database is seen by the engine: an INSERT, UPDATE or DELETE that a
COMMIT made permanent.

Product bugs these tests found and that live in files other teams are changing are pinned in
KNOWN_BUGS (a 500 tolerated for one exact input); an entry that no longer fails fails the test.
"""
import io
import json
import logging
import os
import re
import time
import traceback
from collections import Counter
from datetime import date, timedelta
from html.parser import HTMLParser
from urllib.parse import urlencode, urlsplit

import pytest
import sqlalchemy as sa
from markupsafe import escape

from partnernet.extensions import db, limiter
from partnernet.fieldwork.models import Visit
from partnernet.timeclock import today_in_china
from tests import factories as f
from tests.factories import PASSWORD
from tests.test_authorization_matrix import NOW, build_world, url_values

# --------------------------------------------------------------------------------------------
# The nasty values.

SCRIPT = "<script>alert(1)</script>"
ATTRIBUTE = '"><img src=x onerror=alert(1)>'
HTML_PAYLOADS = (SCRIPT, ATTRIBUTE)

NASTY_TEXT = {
    "oversize": "x" * 100_000,
    "oversize_cjk": "长" * 3_000,
    "emoji_rtl_zero_width": "😀👨‍👩‍👧‍👦\u202eevil\u202c שלום مرحبا\u200b\u200d\ufeff",
    "nul": "a\x00b",
    "control": "\x01\x07\x1b[31m\x7f",
    "lone_surrogate": "\ud800x",   # not UTF-8: the form body carries the bytes ED A0 80
    "sql": "' OR '1'='1'; DROP TABLE party; --",
    "script": SCRIPT,
    "attribute": ATTRIBUTE,
    "formula": '=HYPERLINK("http://evil.example","x")',
    "blank": " \t\r\n ",
}
NASTY_NUMBER = {
    "letters": "abc", "negative": "-1", "zero": "0", "beyond_int64": "9223372036854775808",
    "huge": "99999999999999999999", "float": "1.5", "exponent": "1e309", "nan": "NaN",
    "superscript_two": "²", "hex": "0x10",
}
NASTY_DATE = {
    "month_13": "2026-13-45", "feb_30": "2026-02-30", "year_1": "0001-01-01", "year_9999": "9999-12-31",
    "zeros": "0000-00-00", "five_digit_year": "99999-01-01", "words": "yesterday",
}
NASTY_CHOICE = {
    "unknown": "bogus", "script": SCRIPT, "oversize": "x" * 10_000, "nul": "a\x00b",
    "sql_quote": "' OR '1'='1' --", "lone_surrogate": "\ud800",
}


def values_for(kind: str, options=()) -> dict:
    """The nasty values for a field of this HTML input type (a choice of ids gets numbers too)."""
    if kind in ("select", "checkbox", "radio"):
        numeric = options and all(option.isdigit() for option in options)
        return {**NASTY_CHOICE, **NASTY_NUMBER} if numeric else NASTY_CHOICE
    if kind in ("number",):
        return {**NASTY_NUMBER, "script": SCRIPT, "nul": "1\x00", "oversize": "9" * 10_000}
    if kind in ("date", "time"):
        return {**NASTY_DATE, "script": SCRIPT, "nul": "2026-01-01\x00", "oversize": "2" * 10_000}
    if kind == "hidden":
        return {**NASTY_TEXT, **NASTY_NUMBER}
    return NASTY_TEXT


# --------------------------------------------------------------------------------------------
# Counting what was tried, for the summary.

TRIED = Counter()      # "form inputs", "query strings", "api requests", "uploads", ...
FORMS, ENDPOINTS = set(), set()   # UI forms (their POST endpoints); "METHOD endpoint" of everything else


def note_endpoint(app, method: str, path: str) -> None:
    endpoint, _args = app.url_map.bind("localhost").match(urlsplit(path).path, method=method)
    ENDPOINTS.add(f"{method} {endpoint}")


@pytest.fixture(scope="module", autouse=True)
def summary(request):
    started = time.monotonic()
    yield
    total = sum(TRIED.values())
    endpoints = {e for e in ENDPOINTS if e.split(" ", 1)[1] not in FORMS or not e.startswith("POST")}
    line = (f"bad input: {total} bad inputs over {len(FORMS)} forms and {len(endpoints)} other endpoints "
            f"({', '.join(f'{n} {k}' for k, n in sorted(TRIED.items()))}) in {time.monotonic() - started:.1f} s")
    reporter = request.config.pluginmanager.getplugin("terminalreporter")
    capture = request.config.pluginmanager.getplugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():  # shown with -q too, outside the captured output
            reporter.write_line("")
            reporter.write_line(line)


# --------------------------------------------------------------------------------------------
# Seeing writes: an INSERT/UPDATE/DELETE made permanent by a COMMIT.

class WriteWatch:
    def __init__(self, engine):
        self.engine, self.pending, self.committed = engine, [], []
        sa.event.listen(engine, "before_cursor_execute", self.execute)
        sa.event.listen(engine, "commit", self.commit)
        sa.event.listen(engine, "rollback", self.rollback)

    def execute(self, conn, cursor, statement, parameters, context, executemany):
        verb = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else ""
        if verb in ("INSERT", "UPDATE", "DELETE", "REPLACE"):
            self.pending.append(" ".join(statement.split())[:120])

    def commit(self, conn):
        self.committed += self.pending
        self.pending = []

    def rollback(self, conn):
        self.pending = []

    def reset(self):
        self.pending, self.committed = [], []

    def close(self):
        sa.event.remove(self.engine, "before_cursor_execute", self.execute)
        sa.event.remove(self.engine, "commit", self.commit)
        sa.event.remove(self.engine, "rollback", self.rollback)


@pytest.fixture
def writes(app):
    watch = WriteWatch(db.engine)
    yield watch
    watch.close()


# --------------------------------------------------------------------------------------------
# Forms on a page.

class Form:
    def __init__(self, action, method, enctype):
        self.action, self.method, self.enctype = action, method, enctype
        self.fields = []        # [name, kind, value, options]: in document order

    def __repr__(self):
        return f"<form {self.method} {self.action} {[f[0] for f in self.fields]}>"


class FormParser(HTMLParser):
    """Every <form> with its named inputs, selects (with their options) and textareas."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms, self.form, self.select, self.textarea = [], None, None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.form = Form(a.get("action") or "", (a.get("method") or "get").lower(), a.get("enctype") or "")
            self.forms.append(self.form)
        elif self.form is None:
            return
        elif tag == "input" and a.get("name"):
            kind = (a.get("type") or "text").lower()
            if kind in ("submit", "button", "image", "reset"):
                return
            if kind in ("checkbox", "radio"):
                value = a.get("value", "on") if "checked" in a else None
                self.form.fields.append([a["name"], kind, value, [a.get("value", "on")]])
            else:
                self.form.fields.append([a["name"], kind, a.get("value", ""), []])
        elif tag == "select" and a.get("name"):
            self.select = [a["name"], "select", None, []]
            self.form.fields.append(self.select)
        elif tag == "option" and self.select is not None:
            value = a.get("value", "")
            self.select[3].append(value)
            if "selected" in a or self.select[2] is None:
                self.select[2] = value
        elif tag == "textarea" and a.get("name"):
            self.textarea = [a["name"], "textarea", "", []]
            self.form.fields.append(self.textarea)

    def handle_data(self, data):
        if self.textarea is not None:
            self.textarea[2] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.form = None
        elif tag == "select":
            self.select = None
        elif tag == "textarea":
            self.textarea = None


def forms_of(page: str) -> list[Form]:
    parser = FormParser()
    parser.feed(page)
    return parser.forms


def merged_fields(form: Form) -> dict:
    """name -> (kind, [default values], options): checkboxes of one name become one multi-valued field."""
    merged = {}
    for name, kind, value, options in form.fields:
        if name in merged:
            old_kind, values, old_options = merged[name]
            merged[name] = (old_kind, values + ([value] if value is not None else []), old_options + options)
        else:
            merged[name] = (kind, [value] if value is not None else [], list(options))
    return merged


# --------------------------------------------------------------------------------------------
# Encoding a form body ourselves, so that a lone surrogate travels as the invalid UTF-8 a
# browser or a script could send (the test client would refuse to encode it).

def encode(value) -> bytes:
    return value.encode("utf-8", "surrogatepass") if isinstance(value, str) else value


def form_body(pairs) -> bytes:
    return urlencode([(encode(k), encode(v)) for k, v in pairs]).encode("ascii")


def multipart_body(pairs, files=()) -> tuple[bytes, str]:
    boundary = "----partnernet-bad-input-boundary"
    out = io.BytesIO()
    for name, value in pairs:
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode())
        out.write(encode(value) + b"\r\n")
    for name, filename, content, content_type in files:
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '.encode()
                  + b'filename="' + encode(filename) + b'"\r\n'
                  + f"Content-Type: {content_type}\r\n\r\n".encode())
        out.write(content + b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


def post_form(client, action, pairs, multipart=False, files=()):
    if multipart or files:
        body, content_type = multipart_body(pairs, files)
    else:
        body, content_type = form_body(pairs), "application/x-www-form-urlencoded"
    return client.post(action, data=body, content_type=content_type)


# --------------------------------------------------------------------------------------------
# The world: the authorization matrix's two partners, their engineers, customers, tickets, an
# audit run with a finding each, and a user of every role; plus tickets in the states whose
# pages carry the remaining forms (offered to A: accept, decline; queued at HQ: take, re-route,
# offer by hand).

ROLE_ORDER = ("hq_admin", "partner_admin", "engineer", "anonymous")


def offered_ticket(w) -> int:
    return f.ticket(w.cust_a, status="offered", offered_party_id=w.a.id, tier="L1",
                    offer_deadline=NOW + timedelta(hours=2)).id


def accepted_ticket(w) -> int:
    return f.ticket(w.cust_a, status="accepted", owner_party_id=w.a.id, engineer_id=w.eng_a.id, tier="L1").id


def resolved_ticket(w) -> int:
    return f.ticket(w.cust_a, status="resolved", owner_party_id=w.a.id, engineer_id=w.eng_a.id, tier="L1",
                    resolved_at=NOW).id


def confirmation_page(w) -> str:
    """A resolved ticket's customer page, with a fresh link (an accepted answer uses one up)."""
    from partnernet.feedback.service import issue_link
    from partnernet.tickets.models import Ticket
    ticket = db.session.get(Ticket, resolved_ticket(w))
    token, _link = issue_link(ticket, w.users["hq_admin"], NOW)
    return f"/confirm/{ticket.id}/{token}"


def queued_ticket(w) -> int:
    return f.ticket(w.cust_a, status="hq_queue", hq_queue_cause="no_coverage", tier="L1").id


def checked_in_visit(w) -> int:
    """A visit on A's ticket, its engineer on site: the check-out form's page (an engineer of its own,
    who has no other visit open)."""
    from partnernet.fieldwork import visits
    engineer = f.engineer(w.a)
    f.certification(engineer)
    ticket = db.session.get(f.Ticket, accepted_ticket(w))
    visit = visits.plan(ticket, w.users["partner_admin"], engineer.id, NOW + timedelta(hours=1),
                        NOW + timedelta(hours=2), NOW)
    return visits.check_in(visit, w.users["partner_admin"], NOW + timedelta(hours=1)).id


def fresh_finding(w) -> int:
    from partnernet.audit.models import AuditFinding, AuditRun
    from decimal import Decimal
    run = f.save(AuditRun(period_start=today_in_china() - timedelta(days=30), period_end=today_in_china() - timedelta(days=1),
                          threshold=Decimal("0.5"), min_offers=1, sold_not_served_threshold=Decimal("0.5"),
                          triggered_by="ui", created_by_id=w.users["hq_admin"].id))
    return f.save(AuditFinding(run_id=run.id, party_id=w.a.id, offered=4, accepted=1, declined=3, flagged=True,
                               flag_reasons=["push_back"])).id


@pytest.fixture
def cheap_passwords(monkeypatch):
    """Hash passwords with few rounds: the forms here check a password a few hundred times, and
    what is tested is the handling of the input, not the strength of the hash."""
    from werkzeug.security import generate_password_hash
    from partnernet.auth import models
    monkeypatch.setattr(models, "generate_password_hash",
                        lambda password: generate_password_hash(password, method="pbkdf2:sha256:1000"))


@pytest.fixture
def world(app, cheap_passwords, tmp_path):
    app.instance_path = str(tmp_path)  # the files the forms upload (attachments) go with the test
    w = build_world(app)
    w.offered, w.queued = offered_ticket(w), queued_ticket(w)
    w.on_site = checked_in_visit(w)
    extend_world(app, w)
    w.clients = {}
    for role in ROLE_ORDER:
        client = app.test_client()
        if role != "anonymous":
            sign_in(client, w.users[role])
        w.clients[role] = client
    yield w
    # The files this test's requests left in the instance folder: uploads waiting for confirmation
    # and certificate scans (the instance folder is shared, so only ours, by name).
    from partnernet.network import certifications
    from partnernet.network.models import Certification
    db.session.rollback()
    scans = db.session.execute(
        sa.select(Certification.scan_path).where(Certification.scan_path.is_not(None))).scalars()
    paths = [os.path.join(certifications.scan_directory(), os.path.basename(scan)) for scan in scans]
    paths += [os.path.join(app.instance_path, "imports", w.upload_token)] + w.scan_files + w.created_files
    for path in paths:
        if os.path.exists(path):
            os.remove(path)


def sign_in(client, user, password=PASSWORD):
    limiter.reset()
    response = client.post("/login", data={"email": user.email, "password": password})
    assert response.status_code == 302, "sign-in failed"
    return client


def page_urls(app, w, role):
    """Every GET page of the UI with the caller's own objects, and the extra tickets' pages."""
    adapter = app.url_map.bind("localhost")
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static" or rule.endpoint.startswith(("api_v1.", "api")):
            continue
        urls.append((rule.endpoint, adapter.build(rule.endpoint, url_values(w, rule, role, "own"), method="GET")))
    for ticket_id in (w.offered, w.queued, db.session.get(Visit, w.on_site).ticket_id):
        urls.append(("tickets.detail", adapter.build("tickets.detail", {"ticket_id": ticket_id})))
    return urls + extra_pages(w)


def crawl_forms(app, w) -> dict:
    """endpoint -> (role, page, Form): the first role (ROLE_ORDER) that sees a POST form for it."""
    adapter = app.url_map.bind("localhost")
    found = {}
    for role in ROLE_ORDER:
        client = w.clients[role]
        for _endpoint, url in page_urls(app, w, role):
            response = client.get(url)
            db.session.rollback()
            if response.status_code != 200 or not response.mimetype == "text/html":
                continue
            for form in forms_of(response.get_data(as_text=True)):
                if form.method != "post":
                    continue
                action = urlsplit(form.action or url)
                try:
                    endpoint, _args = adapter.match(action.path, method="POST")
                except Exception:
                    continue
                form.action = action.path + (f"?{action.query}" if action.query else "")
                found.setdefault(endpoint, (role, url, form))
    return found


def extend_world(app, w):
    """What the remaining forms need to appear: an engineer without a sign-in, a pending
    certification, an unread notification, an upload waiting for confirmation."""
    from partnernet.notifications.service import notify
    w.eng_without_login = f.engineer(w.a)
    w.pending_cert = f.certification(w.eng_a, "mobile", status="pending").id
    notify(w.users["hq_admin"], "offer", "bad-input", lambda: ("一条通知", "正文"), None, NOW)
    db.session.commit()
    from partnernet.network.transfer_views import store_upload
    w.valid_upload = store_upload(partner_csv("导入伙伴").encode("utf-8"), "csv")
    w.created_files = [os.path.join(app.instance_path, "imports", w.valid_upload)]
    w.resolved, w.confirm_page = resolved_ticket(w), confirmation_page(w)


def partner_csv(name: str) -> str:
    return f"name,kind,province_code,tiers\n{name},agent,330000,L1|L2\n"


def extra_pages(w):
    return [("network.engineer", f"/engineers/{w.eng_without_login.id}"),
            ("transfer.preview", f"/import/partners/{w.valid_upload}"),
            ("tickets.detail", f"/tickets/{w.resolved}"), ("feedback.confirm", w.confirm_page)]


# --------------------------------------------------------------------------------------------
# Submitting a form: valid values for every field, one field replaced by a nasty value.

def valid_fill(w, n: int) -> dict:
    """A valid value by field name, for fields a page leaves empty; `n` keeps unique fields unique."""
    today = today_in_china()
    return {
        "name": f"好名字{n}", "number": f"BAD-{n:05d}", "email": f"bad{n}@example.com",
        "contact_email": f"contact{n}@example.com", "capacity": "10", "province_code": "330000",
        "tiers": ["L1"], "region_code": "330102", "effective_from": today.isoformat(),
        "issued_on": (today - timedelta(days=10)).isoformat(), "expires_on": (today + timedelta(days=300)).isoformat(),
        "note": "好的", "reason": "好的", "text": "好的", "subject": "无法登录", "customer_id": str(w.cust_a.id),
        "password": "correct horse battery staple", "current_password": PASSWORD, "new_password": PASSWORD,
        "confirmation": PASSWORD, "day": today.isoformat(), "party_id": str(w.a.id),
    }


# Valid values one form needs whatever its page shows (a sign-in that exists, an unused e-mail).
FILL_BY_ENDPOINT = {
    "auth.login": lambda w, n: {"email": w.users["engineer"].email, "password": PASSWORD},
    "network.create_engineer_login": lambda w, n: {"email": f"login{n}@example.com"},
}


def valid_calendar_csv() -> bytes:
    return "date,is_working,note\n2031-10-01,0,国庆节\n2031-09-28,1,调休\n".encode("utf-8")


# A valid file for a form whose file is required: (field, filename, content, content type).
FILE_BY_ENDPOINT = {
    "transfer.upload": lambda n: ("file", "partners.csv", partner_csv(f"上传伙伴{n}").encode("utf-8"), "text/csv"),
    "settings.import_calendar": lambda n: ("file", "calendar.csv", valid_calendar_csv(), "text/csv"),
}


def baseline(form: Form, w, n: int, endpoint: str = "") -> dict:
    """name -> list of values: the page's own values, empty ones filled with valid ones."""
    fill = valid_fill(w, n)
    forced = FILL_BY_ENDPOINT.get(endpoint, lambda w, n: {})(w, n)
    values = {}
    for name, (kind, defaults, _options) in merged_fields(form).items():
        if kind == "file":
            continue
        if kind == "textarea":
            defaults = [d.lstrip("\r\n") for d in defaults]  # a browser drops the newline after <textarea>
        if not any(d.strip() for d in defaults) and name in fill:
            filled = fill[name]
            defaults = filled if isinstance(filled, list) else [filled]
        values[name] = [forced[name]] if name in forced else defaults
    return values


def pairs_of(values: dict) -> list:
    return [(name, value) for name, listed in values.items() for value in listed]


def flashes(client) -> list:
    with client.session_transaction() as session:
        return list(session.get("_flashes", []))


def clear_flashes(client) -> None:
    with client.session_transaction() as session:
        session.pop("_flashes", None)


def refused(response, flashed) -> bool:
    """A refusal the user sees: an error status, a page re-rendered with field errors or a red
    message, or a redirect with a red message."""
    if response.status_code >= 400:
        return True
    if any(category in ("danger", "error") for category, _message in flashed):
        return True
    if response.status_code == 200:
        page = response.get_data(as_text=True)
        return "invalid-feedback" in page or "alert-danger" in page
    return False


class ErrorLog(logging.Handler):
    """The last unhandled exception the app logged: its type, message and innermost app frame."""
    last = ""

    def emit(self, record):
        if record.exc_info:
            kind, error, trace = record.exc_info
            frames = [frame for frame in traceback.extract_tb(trace) if "/partnernet/" in frame.filename]
            where = (f"{frames[-1].filename.split('/partnernet/')[-1]}:{frames[-1].lineno} {frames[-1].name}"
                     if frames else "")
            ErrorLog.last = f"[{kind.__name__}: {str(error)[:120]} at {where}]"


def last_error() -> str:
    text, ErrorLog.last = ErrorLog.last, ""
    return text


@pytest.fixture(autouse=True)
def error_log(app):
    handler = ErrorLog()
    app.logger.addHandler(handler)
    yield handler
    app.logger.removeHandler(handler)


class Findings:
    """What went wrong, collected so that one run reports every problem at once."""

    def __init__(self):
        self.problems, self.known_seen = [], set()
        self.accepted_with_writes = 0  # the write watch's own check: accepted forms do write

    def server_error(self, key, detail):
        if key in KNOWN_BUGS:
            self.known_seen.add(key)
        else:
            self.problems.append(f"500 {key}: {detail}")

    def check_known(self, keys_tried):
        for key in KNOWN_BUGS:
            if key in keys_tried and key not in self.known_seen:
                self.problems.append(f"FIXED? {key} no longer answers 500; remove it from KNOWN_BUGS")

    def assert_none(self):
        assert not self.problems, f"{len(self.problems)} problems:\n  " + "\n  ".join(self.problems[:60])


def raw_payload_in(body: str, value) -> bool:
    return isinstance(value, str) and any(p in value for p in HTML_PAYLOADS) and any(
        p in body for p in HTML_PAYLOADS if p in value)


def submit_and_check(app, w, client, action, pairs, key, found: Findings, watch, multipart=False,
                     files=(), value=None, expect_refusal=False):
    """POST once; check: no 500, no raw script in the answer or the page it leads to, and a refusal
    wrote nothing. Returns True when the submission was accepted."""
    watch.reset()
    TRIED["form inputs"] += 1
    try:
        response = post_form(client, action, pairs, multipart=multipart, files=files)
    except Exception as error:  # an error handler that failed too
        db.session.rollback()
        found.server_error(key, f"POST {action} raised {type(error).__name__}: {str(error)[:200]}")
        return False
    db.session.rollback()
    if response.status_code >= 500:
        found.server_error(key, f"POST {action} -> {response.status_code} {last_error()}")
        clear_flashes(client)
        return False
    flashed = flashes(client)
    was_refused = refused(response, flashed)
    if was_refused and watch.committed:
        found.problems.append(f"refused but written {key}: {watch.committed[:3]}")
    found.accepted_with_writes += bool(not was_refused and watch.committed)
    if expect_refusal and not was_refused:
        found.problems.append(f"accepted, should be refused {key}: {response.status_code} {action}")
    body = response.get_data(as_text=True)
    if raw_payload_in(body, value):
        found.problems.append(f"raw script in the answer {key}")
    if response.status_code in (301, 302, 303) and isinstance(value, str) and any(p in value for p in HTML_PAYLOADS):
        location = urlsplit(response.headers["Location"])
        if not location.netloc or location.netloc == "localhost":
            followed = client.get(location.path + (f"?{location.query}" if location.query else ""))
            db.session.rollback()
            if followed.status_code >= 500:
                found.server_error(key, f"GET {location.path} after the POST -> {followed.status_code}")
            elif raw_payload_in(followed.get_data(as_text=True), value):
                found.problems.append(f"raw script on the page after {key}: {location.path}")
    location = urlsplit(response.headers.get("Location", "")).path
    upload = re.match(r"^/import/\w+/([0-9a-f]{32}\.plan)$", location)
    if upload:
        w.created_files.append(os.path.join(app.instance_path, "imports", upload.group(1)))
    clear_flashes(client)
    return not was_refused


# After an accepted submission, put the form's object back in the state its form needs, so the
# next nasty value meets the same validation (returns the new action URL, or None: unchanged).

def restore_party_status(w):
    from partnernet.network.models import Party
    for party_id in (w.a.id, w.b.id):
        db.session.get(Party, party_id).status = "active"
    db.session.commit()


def new_coverage(w):
    return f"/coverage/{f.coverage(w.a, region_code='330106', tiers=['L1']).id}/end"


def new_spare_token(w):
    from partnernet.auth.tokens import issue_token
    return f"/profile/tokens/{issue_token(w.users['hq_admin'], 'spare', NOW)[0].id}/revoke"


def new_upload(app, w):
    from partnernet.network.transfer_views import store_upload
    token = store_upload(partner_csv(f"导入伙伴{len(w.created_files)}").encode("utf-8"), "csv")
    w.created_files.append(os.path.join(app.instance_path, "imports", token))
    return f"/import/partners/{token}"


def reset_password(w, client):
    user = w.users["hq_admin"]
    db.session.refresh(user)
    user.set_password(PASSWORD)
    db.session.commit()


RESETS = {
    "tickets.accept": lambda app, w, c: f"/tickets/{offered_ticket(w)}/accept",
    "tickets.decline": lambda app, w, c: f"/tickets/{offered_ticket(w)}/decline",
    "tickets.change_status": lambda app, w, c: f"/tickets/{accepted_ticket(w)}/status",
    "tickets.reassign": lambda app, w, c: f"/tickets/{accepted_ticket(w)}/reassign",
    "tickets.return_to_hq": lambda app, w, c: f"/tickets/{accepted_ticket(w)}/return",
    "tickets.take": lambda app, w, c: f"/tickets/{queued_ticket(w)}/take",
    "tickets.reroute": lambda app, w, c: f"/tickets/{queued_ticket(w)}/reroute",
    "tickets.offer_by_hand": lambda app, w, c: f"/tickets/{queued_ticket(w)}/offer",
    "fieldwork.check_out": lambda app, w, c: f"/visits/{checked_in_visit(w)}/check-out",
    "feedback.confirm": lambda app, w, c: confirmation_page(w),
    "audit.decide": lambda app, w, c: (restore_party_status(w), f"/findings/{fresh_finding(w)}/decision")[1],
    "network.change_status": lambda app, w, c: restore_party_status(w),
    "network.end_coverage": lambda app, w, c: new_coverage(w),
    "network.create_engineer_login": lambda app, w, c: f"/engineers/{f.engineer(w.a).id}/login",
    "network.review_certification": lambda app, w, c: (
        f"/certifications/{f.certification(w.eng_a, 'mobile', status='pending').id}/review"),
    "profile.revoke_token": lambda app, w, c: new_spare_token(w),
    "transfer.confirm": lambda app, w, c: new_upload(app, w),
    "auth.password": lambda app, w, c: reset_password(w, c),
    "auth.logout": lambda app, w, c: sign_in(c, w.users["hq_admin"]) and None,
    "auth.login": lambda app, w, c: c.post("/logout") and None,
}

NASTY_FILES = {
    "binary": ("scan.pdf", bytes(range(256)) * 8, "application/pdf"),
    "script_name": (SCRIPT + ".pdf", b"%PDF-1.4 x", "application/pdf"),
    "nul_name": ("a\x00b.pdf", b"%PDF-1.4 x", "application/pdf"),
    "surrogate_name": ("\ud800.csv", b"name\n", "text/csv"),
    "no_name": ("", b"", "application/octet-stream"),
    "traversal_name": ("../../../etc/passwd.csv", b"name,kind\n", "text/csv"),
}

# Product bugs found here whose fix is not in yet: (endpoint, input label, role) -> where it lives.
# The 500 is tolerated for exactly this input; an entry that no longer fails fails the test.
KNOWN_BUGS: dict = {}


def test_every_form_answers_every_nasty_value_with_an_error_or_a_safe_echo(app, world, writes):
    w = world
    forms = crawl_forms(app, w)
    ui_posts = {r.endpoint for r in app.url_map.iter_rules()
                if "POST" in r.methods and not r.endpoint.startswith(("api_v1.", "api"))}
    assert ui_posts <= set(forms), f"POST rules with no form on any page: {sorted(ui_posts - set(forms))}"
    found, keys, n = Findings(), set(), 0
    for endpoint, (role, _page, form) in sorted(forms.items()):
        FORMS.add(endpoint)
        client, action = w.clients[role], form.action
        if endpoint in RESETS:  # an earlier form may have used up the shared object (a ticket's offer)
            action = RESETS[endpoint](app, w, client) or action
        multipart = form.enctype.startswith("multipart")
        fields = merged_fields(form)
        targets = [(name, kind, options) for name, (kind, _d, options) in fields.items() if name != "csrf_token"]
        targets.append(("unexpected_field", "text", []))
        for name, kind, options in targets:
            nasty = ({label: ("file", spec) for label, spec in NASTY_FILES.items()} if kind == "file"
                     else {label: ("value", v) for label, v in values_for(kind, options).items()})
            if kind != "file":
                nasty["missing"] = ("missing", None)
                nasty["twice"] = ("twice", "x")
            for label, (how, value) in nasty.items():
                n += 1
                values = baseline(form, w, n, endpoint)
                files = [FILE_BY_ENDPOINT[endpoint](n)] if endpoint in FILE_BY_ENDPOINT else []
                if how == "value":
                    values[name] = [value]
                elif how == "missing":
                    values.pop(name, None)
                elif how == "twice":
                    values[name] = list(values.get(name) or ["x"]) * 2 + ["x"]
                elif how == "file":
                    files = [(name,) + value]
                key = (endpoint, name, label)
                keys.add(key)
                # 100,000 characters fit no field a person types in: each must say so.
                typed = kind in ("text", "textarea", "email", "password", "number", "date", "time")
                accepted = submit_and_check(app, w, client, action, pairs_of(values), key, found, writes,
                                            multipart=multipart, files=files,
                                            value=value if how == "value" else None,
                                            expect_refusal=label == "oversize" and typed
                                            and name not in ("next", "unexpected_field"))
                if accepted and endpoint in RESETS:
                    action = RESETS[endpoint](app, w, client) or action
        # Dates (and times) out of order: the later one first.
        ordered = [name for name, (kind, _d, _o) in fields.items() if kind in ("date", "time")]
        if len(ordered) >= 2:
            n += 1
            values = baseline(form, w, n, endpoint)
            first, second = ordered[0], ordered[1]
            later = "17:00" if fields[first][0] == "time" else (today_in_china() + timedelta(days=20)).isoformat()
            earlier = "09:00" if fields[first][0] == "time" else (today_in_china() - timedelta(days=20)).isoformat()
            values[first], values[second] = [later], [earlier]
            key = (endpoint, f"{first}>{second}", "out_of_order")
            keys.add(key)
            accepted = submit_and_check(app, w, client, action, pairs_of(values), key, found, writes,
                                        multipart=multipart, expect_refusal=True)
            if accepted and endpoint in RESETS:
                action = RESETS[endpoint](app, w, client) or action
    # Whatever was accepted is now stored: every page must still show it (no 500, no raw script).
    for role in ("hq_admin", "partner_admin", "engineer"):
        if role == "hq_admin":
            sign_in(w.clients[role], w.users[role])
        for endpoint, url in page_urls(app, w, role):
            response = w.clients[role].get(url)
            db.session.rollback()
            key = (endpoint, "page after the forms", role)
            keys.add(key)
            if response.status_code >= 500:
                found.server_error(key, f"GET {url} -> {response.status_code} {last_error()}")
            elif response.mimetype == "text/html" and any(p in response.get_data(as_text=True)
                                                          for p in HTML_PAYLOADS):
                found.problems.append(f"raw script on {url} as {role}")
    assert found.accepted_with_writes > 100, "the write watch should see the accepted forms' writes"
    found.check_known(keys)
    found.assert_none()


# --------------------------------------------------------------------------------------------
# Query strings: every GET page with nasty values of the parameters its view reads (found in the
# source of the view and of the functions it calls), plus the usual suspects.

QUERY_ALWAYS = ("page", "per_page", "sort", "order", "status", "q", "date_from", "date_to", "unknown")
QUERY_VALUES = {
    "negative": "-1", "zero": "0", "beyond_page": "99999999", "huge": "99999999999999999999", "letters": "abc",
    "superscript_two": "²", "markup": ATTRIBUTE + SCRIPT, "sql": "' OR 1=1; -- %_\\", "oversize": "x" * 10_000,
    "nul": "a\x00b", "lone_surrogate": "\ud800",
}
ARG_NAME = re.compile(r"""args\.get\(\s*["'](\w+)["']|args\[\s*["'](\w+)["']\s*\]""")


def names_read(function, depth=3, seen=None) -> set:
    """The query parameter names `function` reads, following calls into partnernet's own code."""
    import inspect
    seen = set() if seen is None else seen
    if function in seen or depth < 0:
        return set()
    seen.add(function)
    try:
        source = inspect.getsource(function)
    except (OSError, TypeError):
        return set()
    names = {a or b for a, b in ARG_NAME.findall(source)}
    if "paginate(" in source:  # Flask-SQLAlchemy reads ?page= and ?per_page= itself
        names |= {"page", "per_page"}
    module = inspect.getmodule(function)
    for called in set(re.findall(r"\b([A-Za-z_]\w*)(?:\.(\w+))?\(", source)):
        target = module.__dict__.get(called[0])
        if called[1] and (inspect.isclass(target) or inspect.ismodule(target)):
            target = getattr(target, called[1], None)
        if inspect.ismethod(target):
            target = target.__func__
        if inspect.isfunction(target) and (target.__module__ or "").startswith("partnernet"):
            names |= names_read(target, depth - 1, seen)
    return names


def query_strings(names) -> list[tuple[str, str]]:
    """(label, query string): each name the view reads with each nasty value; then every name at
    once (with the usual suspects the view ignores) with markup, a huge number and an oversize
    value; then dates out of order."""
    out = []
    for name in sorted(names):
        for label, value in QUERY_VALUES.items():
            out.append((f"{name}={label}", urlencode([(name, encode(value))])))
    everything = sorted(set(names) | set(QUERY_ALWAYS))
    for label in ("markup", "huge", "oversize", "lone_surrogate"):
        out.append((f"all={label}", urlencode([(name, encode(QUERY_VALUES[label])) for name in everything])))
    out.append(("dates out of order",
                "date_from=2026-12-31&date_to=2026-01-01&period_start=2026-12-31&period_end=2026-01-01"))
    return out


def test_every_page_answers_nasty_query_strings_without_a_500_or_a_reflected_script(app, world):
    w = world
    found, keys = Findings(), set()
    for role in ("hq_admin", "partner_admin"):
        client = w.clients[role]
        pages = {}
        for endpoint, url in page_urls(app, w, role):
            pages.setdefault(endpoint, url)
        for endpoint, url in sorted(pages.items()):
            if client.get(url).status_code not in (200, 302):  # not this role's page
                db.session.rollback()
                continue
            db.session.rollback()
            names = names_read(app.view_functions[endpoint])
            if role != "hq_admin" and not names:
                continue  # nothing the view reads: HQ's pass covered it
            ENDPOINTS.add(f"GET {endpoint}")
            for label, query in query_strings(names):
                key = (endpoint, label, role)
                keys.add(key)
                response = client.get(url, query_string=query)
                db.session.rollback()
                TRIED["query strings"] += 1
                if response.status_code >= 500:
                    found.server_error(key, f"GET {url}?{query[:60]} -> {response.status_code} {last_error()}")
                elif response.mimetype in ("text/html", "application/json") and raw_payload_in(
                        response.get_data(as_text=True), ATTRIBUTE + SCRIPT):
                    found.problems.append(f"reflected script on {url} with {label}")
    found.check_known(keys)
    found.assert_none()


# --------------------------------------------------------------------------------------------
# Path parameters: ids no row can have, beyond int64, negative; codes and tokens that are not.

PATH_VALUES = {
    "zero": "0", "beyond_int32": "2147483648", "beyond_int64": "9223372036854775808",
    "huge": "99999999999999999999", "negative": "-1", "letters": "abc", "script": "%3Cscript%3E",
    "nul": "%00", "traversal": "..%2F..%2Fetc%2Fpasswd", "lone_surrogate": "%ED%A0%80", "oversize": "9" * 5000,
}
PATH_ARGUMENT = re.compile(r"<(?:[^:>]+:)?([^>]+)>")


def test_every_route_answers_nasty_path_parameters_with_a_4xx(app, world):
    w = world
    found, keys = Findings(), set()
    headers = {"Authorization": f"Bearer {w.tokens['hq_admin']}"}
    api_client = app.test_client()
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.arguments or rule.endpoint == "static":
            continue
        api = rule.endpoint.startswith("api_v1.")
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            ENDPOINTS.add(f"{method} {rule.endpoint}")
            for label, value in PATH_VALUES.items():
                for argument in rule.arguments:
                    own = url_values(w, rule, "hq_admin", "own")
                    path = PATH_ARGUMENT.sub(lambda m: value if m.group(1) == argument else
                                             str(own[m.group(1)]), rule.rule)
                    key = (rule.endpoint, method, argument, label)
                    keys.add(key)
                    if api:
                        response = api_client.open(path, method=method, headers=headers, json={})
                    else:
                        response = w.clients["hq_admin"].open(path, method=method, data={})
                    db.session.rollback()
                    TRIED["path parameters"] += 1
                    if response.status_code >= 500:
                        found.server_error(key, f"{method} {path[:80]} -> {response.status_code} {last_error()}")
                    elif api and response.status_code >= 400:
                        error = (response.get_json(silent=True) or {}).get("error", {})
                        if not {"code", "message", "fields"} <= set(error):
                            found.problems.append(f"not the API's error shape: {method} {path[:80]}")
    found.check_known(keys)
    found.assert_none()


# --------------------------------------------------------------------------------------------
# Request size: a limit is set, and a request over it is a clear 413 (a page, or the API's JSON).

def test_a_request_size_limit_is_set_and_a_larger_request_is_a_clear_413(app, world):
    w = world
    limit = app.config["MAX_CONTENT_LENGTH"]
    assert limit and 10 * 1024 * 1024 < limit <= 64 * 1024 * 1024, "MAX_CONTENT_LENGTH: a sane request size limit"
    too_large = b"x" * (limit + 1)
    before = row_counts()
    page = w.clients["hq_admin"].post("/partners/new", data=too_large,
                                      content_type="application/x-www-form-urlencoded")
    db.session.rollback()
    assert page.status_code == 413 and page.mimetype == "text/html"
    assert "The request is too large." in page.get_data(as_text=True) or "请求过大" in page.get_data(as_text=True)
    # A multipart form's text field over Flask's MAX_FORM_MEMORY_SIZE (500 kB), the body under the limit.
    field = w.clients["hq_admin"].post("/partners/new", data={"name": "名" * 300_000},
                                       content_type="multipart/form-data")
    db.session.rollback()
    assert field.status_code == 413 and field.mimetype == "text/html"
    headers = {"Authorization": f"Bearer {w.tokens['hq_admin']}", "Content-Type": "application/json"}
    api = app.test_client().post("/api/v1/partners", data=b'{"name": "' + too_large + b'"}', headers=headers)
    db.session.rollback()
    assert api.status_code == 413
    assert api.get_json()["error"]["code"] == "payload_too_large" and api.get_json()["error"]["message"]
    assert row_counts() == before
    TRIED["oversized requests"] += 3
    ENDPOINTS.update({"POST network.new_partner", "POST api_v1.create_partner"})


def row_counts() -> dict:
    """Rows per table: what a refused request must leave as it was."""
    counts = {}
    for table in db.metadata.sorted_tables:
        if table.name in ("region", "calendar_day"):
            continue
        counts[table.name] = db.session.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
    db.session.rollback()
    return counts


# --------------------------------------------------------------------------------------------
# Uploads: the partner network's import (upload → preview → confirm) and the calendar's import,
# with files that are not what they say.

def xlsx_of(rows) -> bytes:
    from openpyxl import Workbook
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def bad_files(kind_header: str, good_row: str) -> dict:
    """name -> (filename, content): each a file an import must refuse clearly or take safely."""
    import random
    noise = bytes(random.Random(8).randrange(256) for _ in range(4096))
    return {
        "binary garbage": ("data.csv", noise),
        "binary garbage as xlsx": ("data.xlsx", noise),
        "a zip that is no workbook": ("data.xlsx", b"PK\x03\x04" + noise),
        "a workbook named .csv": ("data.csv", xlsx_of([kind_header.split(",")])),
        "GBK": ("data.csv", f"{kind_header}\n{good_row}\n".encode("gbk")),
        "UTF-16": ("data.csv", f"{kind_header}\n{good_row}\n".encode("utf-16")),
        "empty": ("data.csv", b""),
        "header only": ("data.csv", f"{kind_header}\n".encode()),
        "missing columns": ("data.csv", "name\n某某\n".encode()),
        "unknown columns": ("data.csv", "名字,种类,<script>alert(1)</script>\n1,2,3\n".encode()),
        "NUL in a cell": ("data.csv", f"{kind_header}\n{good_row}\x00\n".encode()),
        "a cell over the csv module's field limit": ("data.csv", f"{kind_header}\n{'x' * 200_000},1\n".encode()),
        "an unclosed quote": ("data.csv", f'{kind_header}\n"{good_row}\n'.encode()),
        "markup and formulas in cells": ("data.csv", (
            f"{kind_header}\n" + ",".join([ATTRIBUTE, "=cmd|' /C calc'!A0", SCRIPT, "+1", "-1", "@SUM(1)"]) + "\n"
        ).encode()),
        "lone surrogate bytes": ("data.csv", f"{kind_header}\n".encode() + b"\xed\xa0\x80,x\n"),
        "a path as the file name": ("../../../../etc/passwd.csv", f"{kind_header}\n{good_row}\n".encode()),
        "a script as the file name": (SCRIPT + ".csv", f"{kind_header}\n{good_row}\n".encode()),
        "no extension": ("data", f"{kind_header}\n{good_row}\n".encode()),
    }


IMPORT_SAMPLES = {
    "partners": ("name,kind,province_code,tiers", "上传测试伙伴,agent,330000,L1|L2"),
    "coverage": ("partner,region_code,product_lines,tiers,effective_from", "甲伙伴,330106,all,L1,2026-01-01"),
    "engineers": ("partner,name,email", "甲伙伴,上传工程师,up@example.com"),
    "certifications": ("partner,engineer,product_line,level,number,issued_on,expires_on",
                       "甲伙伴,工程师,workflow,associate,UP-1,2026-01-01,2027-01-01"),
}


def test_imports_refuse_broken_files_clearly_and_change_nothing(app, world):
    w = world
    client = w.clients["hq_admin"]
    found, keys = Findings(), set()
    ENDPOINTS.update({"POST transfer.upload", "GET transfer.preview", "POST transfer.confirm",
                      "POST settings.import_calendar"})
    for kind, (header, row) in IMPORT_SAMPLES.items():
        for label, (filename, content) in bad_files(header, row).items():
            key = (kind, label)
            keys.add(key)
            before = row_counts()
            TRIED["uploads"] += 1
            body, content_type = multipart_body([("kind", kind)], [("file", filename, content, "text/csv")])
            response = client.post("/import", data=body, content_type=content_type)
            db.session.rollback()
            steps = [("upload", response)]
            if response.status_code == 302 and "/import/" in response.headers["Location"]:
                preview_url = urlsplit(response.headers["Location"]).path
                w.created_files.append(os.path.join(app.instance_path, "imports", preview_url.rsplit("/", 1)[1]))
                preview = client.get(preview_url)
                db.session.rollback()
                steps.append(("preview", preview))
                if preview.status_code == 200 and "invalid-feedback" not in preview.get_data(as_text=True):
                    steps.append(("confirm", client.post(preview_url)))
                    db.session.rollback()
            for step, answer in steps:
                if answer.status_code >= 500:
                    found.server_error(key, f"{step} -> {answer.status_code} {last_error()}")
                elif raw_payload_in(answer.get_data(as_text=True), SCRIPT + ATTRIBUTE):
                    found.problems.append(f"raw script on the {step} page of {key}")
            confirmed = steps[-1][0] == "confirm" and steps[-1][1].status_code == 302
            if not confirmed and row_counts() != before:
                found.problems.append(f"refused but written: {key}")
            clear_flashes(client)
    # The calendar: the same broken files, and one over the 1 MB it reads.
    from partnernet.settings.models import CalendarDay
    calendar_files = bad_files("date,is_working,note", "2031-10-01,0,国庆节")
    calendar_files["over 1 MB"] = ("calendar.csv", b"date,is_working,note\n" + b"2031-10-01,0,x\n" * 80_000)
    for label, (filename, content) in calendar_files.items():
        key = ("calendar", label)
        keys.add(key)
        TRIED["uploads"] += 1
        days = db.session.execute(sa.select(sa.func.count(), sa.func.max(CalendarDay.updated_at))).one()
        body, content_type = multipart_body([], [("file", filename, content, "text/csv")])
        response = client.post("/settings/calendar/import", data=body, content_type=content_type)
        db.session.rollback()
        flashed = flashes(client)
        clear_flashes(client)
        if response.status_code >= 500:
            found.server_error(key, f"-> {response.status_code} {last_error()}")
            continue
        if refused(response, flashed) and db.session.execute(
                sa.select(sa.func.count(), sa.func.max(CalendarDay.updated_at))).one() != days:
            found.problems.append(f"refused but written: {key}")
        if any(SCRIPT in str(message) for _category, message in flashed):
            page = client.get("/settings/calendar")
            if raw_payload_in(page.get_data(as_text=True), SCRIPT):
                found.problems.append(f"raw script in the calendar page's messages: {key}")
        db.session.rollback()
    found.check_known(keys)
    found.assert_none()


# --------------------------------------------------------------------------------------------
# The API: what schemathesis (tests/test_api_fuzz.py) does not send — bodies that are not JSON
# objects, the wrong content type, 1 MB and deeply nested bodies, NUL and lone surrogates inside
# strings, numbers as strings, ids beyond int64, crafted cursors — each a 400/404/409/413/415/422
# in the error shape of docs/api.md, and a refused request changes nothing.

API_BODIES = {
    "malformed JSON": (b'{"name": ', "application/json"),
    "a JSON array": (b'[{"name": "x"}]', "application/json"),
    "a JSON string": (b'"x"', "application/json"),
    "JSON null": (b"null", "application/json"),
    "a JSON number": (b"42", "application/json"),
    "an empty body": (b"", "application/json"),
    "not UTF-8": (b'{"name": "\xff\xfe"}', "application/json"),
    "deeply nested": (b"[" * 100_000 + b"]" * 100_000, "application/json"),
    "NaN": (b'{"threshold": NaN, "period_start": "2026-01-01", "period_end": "2026-01-31"}', "application/json"),
    "a form body": (b"name=x&kind=agent", "application/x-www-form-urlencoded"),
    "text/plain": (b'{"name": "x"}', "text/plain"),
    "no content type": (b'{"name": "x"}', None),
    "XML": (b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>", "application/xml"),
}


def nasty_json_values(valid):
    """Replacements for one field, by the type of its valid value."""
    out = {"null": None, "an object": {"$gt": ""}, "a list": [valid], "a boolean": True}
    if isinstance(valid, bool):
        out.update({"a string": "true", "a number": 1})
    elif isinstance(valid, int):
        out.update({"a numeric string": str(valid), "beyond int64": 9223372036854775808, "negative": -1,
                    "zero": 0, "a float": 1.5, "huge": 10**30, "1e309 (infinity)": 1e309})
    elif isinstance(valid, str):
        out.update({"NUL": "a\u0000b", "lone surrogate": "\ud800", "oversize": "x" * 100_000,
                    "a number": 5, "script": SCRIPT, "sql": "' OR 1=1; --", "formula": "=1+1",
                    "emoji": "😀\u202e\u200b", "blank": " "})
    elif isinstance(valid, list):
        out.update({"an empty list": [], "a list of numbers": [1, 2], "a long list": ["L1"] * 10_000,
                    "NUL inside": ["a\u0000"], "a string": "L1"})
    return out


def json_bytes(value) -> bytes:
    """JSON as a client could send it: lone surrogates escaped (\\ud800), infinity as 1e309."""
    return json.dumps(value, ensure_ascii=True).replace("Infinity", "1e309").encode("ascii")


API_ROLE = {"api_v1.accept_offer": "partner_admin", "api_v1.decline_offer": "partner_admin",
            "api_v1.return_to_hq": "partner_admin"}

# Dates out of order in API bodies: (endpoint, body overrides) that must be refused.
API_DATES_OUT_OF_ORDER = {
    "api_v1.run_audit": {"period_start": "2026-03-01", "period_end": "2026-02-01"},
    "api_v1.add_coverage": {"effective_from": "2027-03-01", "effective_to": "2027-02-01"},
    "api_v1.submit_certification": {"issued_on": "2026-03-01", "expires_on": "2026-02-01"},
    "api_v1.create_partner": {"contract_start": "2026-03-01", "contract_end": "2026-02-01"},
}


def api_error_shape(response) -> bool:
    error = (response.get_json(silent=True) or {}).get("error")
    return isinstance(error, dict) and {"code", "message", "fields"} <= set(error) and bool(error["message"])


def test_the_api_refuses_what_schemathesis_does_not_send_in_its_error_shape(app, world, writes):
    from tests.test_authorization_matrix import api_body
    w = world
    client = app.test_client()
    found, keys = Findings(), set()
    adapter = app.url_map.bind("localhost")
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.endpoint.startswith("api_v1."):
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS", "GET"}):
            role = API_ROLE.get(rule.endpoint, "hq_admin")
            headers = {"Authorization": f"Bearer {w.tokens[role]}"}
            ENDPOINTS.add(f"{method} {rule.endpoint}")

            def send(label, body, content_type, expect_refusal=True):
                if rule.arguments & {"ticket_id"}:
                    values = {"ticket_id": offered_ticket(w) if role == "partner_admin" else queued_ticket(w)}
                else:
                    values = url_values(w, rule, role, "own")
                url = adapter.build(rule.endpoint, values, method=method)
                key = (rule.endpoint, method, label)
                keys.add(key)
                writes.reset()
                TRIED["api requests"] += 1
                call_headers = dict(headers, **({"Content-Type": content_type} if content_type else {}))
                response = client.open(url, method=method, data=body, headers=call_headers)
                db.session.rollback()
                if response.status_code >= 500:
                    found.server_error(key, f"{method} {url} -> {response.status_code} {last_error()}")
                elif response.status_code >= 400:
                    if not api_error_shape(response):
                        found.problems.append(f"not the error shape: {key} {response.status_code}")
                    if writes.committed and not all("api_token" in s for s in writes.committed):
                        found.problems.append(f"refused but written: {key}: {writes.committed[:2]}")
                elif expect_refusal:
                    found.problems.append(f"accepted: {key} -> {response.status_code}")
                return response.status_code

            valid = api_body(w, rule.endpoint, "own")
            # An operation that takes no body, or none of whose fields is required, may ignore one.
            lenient = not valid or send("an empty object", b"{}", "application/json", expect_refusal=False) < 400
            for label, (body, content_type) in API_BODIES.items():
                send(label, body, content_type, expect_refusal=not lenient)
            send("1 MB body", json_bytes(dict(valid, name="x" * (1024 * 1024))), "application/json",
                 expect_refusal=bool(valid))
            send("an unknown field", json_bytes(dict(valid, is_admin=True)), "application/json",
                 expect_refusal=bool(valid))
            for field, value in valid.items():
                for label, nasty in nasty_json_values(value).items():
                    # Some replacements are valid for some fields (an empty note, a number as a
                    # string is refused by strict fields only): such a request may succeed.
                    send(f"{field}: {label}", json_bytes(dict(valid, **{field: nasty})), "application/json",
                         expect_refusal=False)
            if rule.endpoint in API_DATES_OUT_OF_ORDER:
                send("dates out of order", json_bytes(dict(valid, **API_DATES_OUT_OF_ORDER[rule.endpoint])),
                     "application/json")
    found.check_known(keys)
    found.assert_none()


def cursor(text: str) -> str:
    import base64
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


API_QUERY_VALUES = {
    **QUERY_VALUES, "a float": "1.5", "1e3": "1e3", "true": "true", "blank": "",
    "cursor: key beyond int64": cursor("k:99999999999999999999"), "cursor: negative key": cursor("k:-1"),
    "cursor: letters": cursor("k:abc"), "cursor: huge offset": cursor("o:99999999999"),
    "cursor: another list's": cursor("o:5"), "cursor: no kind": cursor(":1"), "cursor: not base64": "!!!*",
    "cursor: script": cursor("k:" + SCRIPT), "cursor: NUL": cursor("k:1\x00"),
}


def test_api_lists_answer_nasty_query_strings_in_the_error_shape(app, world):
    """Every query parameter the OpenAPI document lists, for every GET operation, with nasty values
    and crafted cursors; plus an unknown parameter and dates out of order."""
    w = world
    client = app.test_client()
    document = client.get("/api/v1/openapi.json").get_json()
    headers = {"Authorization": f"Bearer {w.tokens['hq_admin']}"}
    found, keys = Findings(), set()
    adapter = app.url_map.bind("localhost")
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("api_v1.") or "GET" not in rule.methods:
            continue
        url = adapter.build(rule.endpoint, url_values(w, rule, "hq_admin", "own"))
        template = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
        parameters = document["paths"][template]["get"].get("parameters", [])
        names = [p["name"] for p in parameters if p["in"] == "query"]
        ENDPOINTS.add(f"GET {rule.endpoint}")
        queries = [(f"{name}={label}", urlencode([(name, encode(value))]))
                   for name in names for label, value in API_QUERY_VALUES.items()]
        queries += [("unknown parameter", "stauts=open"),
                    ("dates out of order", "date_from=2026-12-31&date_to=2026-01-01"),
                    ("everything twice", urlencode([(n, "1") for n in names] * 2))]
        for label, query in queries:
            key = (rule.endpoint, label)
            keys.add(key)
            TRIED["api query strings"] += 1
            response = client.get(url, query_string=query, headers=headers)
            db.session.rollback()
            if response.status_code >= 500:
                found.server_error(key, f"GET {url}?{query[:60]} -> {response.status_code} {last_error()}")
            elif response.status_code >= 400 and not api_error_shape(response):
                found.problems.append(f"not the error shape: {key} {response.status_code}")
    found.check_known(keys)
    found.assert_none()


# --------------------------------------------------------------------------------------------
# Stored script: names, subjects and notes full of markup (and spreadsheet formulas), saved
# through the real forms, come back escaped on every page that shows them, for every role;
# exports neutralise formulas.

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def post_ok(client, url, data, what):
    response = client.post(url, data=data)
    db.session.rollback()
    assert response.status_code in (200, 302), f"{what}: {response.status_code}"
    flashed = flashes(client)
    clear_flashes(client)
    assert not refused(response, flashed), f"{what} was refused: {flashed} {response.status_code}"
    return response


def store_markup_everywhere(app, w) -> dict:
    """Save markup through the forms; returns value -> the URLs that must show it escaped."""
    from partnernet.network.models import Engineer
    hq, partner = w.clients["hq_admin"], w.clients["partner_admin"]
    shown = {}
    name = '=HYPERLINK("http://evil.example")\x07' + SCRIPT  # a pasted control character too
    post_ok(hq, f"/partners/{w.a.id}/edit", {
        "name": name, "name_en": ATTRIBUTE, "kind": "agent", "province_code": "330000", "capacity": "10",
        "tiers": ["L1", "L2", "L3"], "contact_name": "@SUM(1)" + SCRIPT[:20], "contact_phone": "+86 1",
        "contact_email": "", "address": "-1+1 \x07 " + ATTRIBUTE, "contract_start": "", "contract_end": ""},
        "editing the partner")
    shown[name] = [f"/partners/{w.a.id}", "/partners/", f"/tickets/{w.ticket_a}", f"/audits/{w.run.id}",
                   f"/findings/{w.finding_a.id}"]
    shown[ATTRIBUTE] = [f"/partners/{w.a.id}"]
    engineer_name = "=1+1" + ATTRIBUTE
    post_ok(hq, f"/partners/{w.a.id}/engineers/new", {"name": engineer_name, "phone": "-5", "email": "", "active": "y"},
            "adding an engineer")
    engineer = db.session.execute(sa.select(Engineer).where(Engineer.name == engineer_name)).scalar_one()
    post_ok(hq, f"/engineers/{engineer.id}/login", {"email": "markup@example.com", "password": "correct horse battery"},
            "giving the engineer a sign-in")
    number = "=2+2" + SCRIPT
    post_ok(hq, f"/engineers/{engineer.id}/certifications", {
        "product_line": "workflow", "level": "associate", "number": number,
        "issued_on": (today_in_china() - timedelta(days=5)).isoformat(),
        "expires_on": (today_in_china() + timedelta(days=300)).isoformat()}, "submitting a certification")
    shown[engineer_name] = [f"/engineers/{engineer.id}", f"/partners/{w.a.id}"]
    shown[number] = [f"/engineers/{engineer.id}", "/certifications/review"]
    # A customer through the API, a ticket through the intake form.
    customer_name = "@cmd " + SCRIPT
    headers = {"Authorization": f"Bearer {w.tokens['hq_admin']}"}
    customer = app.test_client().post("/api/v1/customers", json={"name": customer_name, "region_code": "330106"},
                                      headers=headers).get_json()
    app.test_client().post(f"/api/v1/customers/{customer['id']}/contracts", headers=headers, json={
        "product_lines": ["workflow"], "value": "80000.00", "starts_on": (today_in_china() - timedelta(days=10)).isoformat()})
    subject = SCRIPT + ATTRIBUTE
    opened = post_ok(hq, "/tickets/new", {"customer_id": str(customer["id"]), "product_line": "workflow",
                                          "complexity": "simple", "tier": "L1", "channel": "web", "subject": subject,
                                          "description": "+" + SCRIPT * 3}, "opening a ticket")
    ticket_url = urlsplit(opened.headers["Location"]).path
    shown[subject] = [ticket_url, "/tickets/"]
    shown[customer_name] = [ticket_url]
    # The partner's notes on tickets, HQ's on a partner and an offer.
    notes = {}
    offered = offered_ticket(w)
    notes["decline"] = "-decline " + SCRIPT
    post_ok(partner, f"/tickets/{offered}/decline", {"reason_code": "other", "note": notes["decline"]}, "declining")
    shown[notes["decline"]] = [f"/tickets/{offered}"]
    worked = accepted_ticket(w)
    notes["status"] = "=status " + ATTRIBUTE
    post_ok(partner, f"/tickets/{worked}/status", {"status": "in_progress", "note": notes["status"]}, "working")
    notes["return"] = "+return " + SCRIPT
    post_ok(partner, f"/tickets/{worked}/return", {"reason_code": "other", "note": notes["return"]}, "returning")
    shown[notes["status"]] = shown[notes["return"]] = [f"/tickets/{worked}"]
    notes["override"] = "@override " + SCRIPT
    queued = queued_ticket(w)
    post_ok(hq, f"/tickets/{queued}/offer", {"party_id": str(w.b.id), "override_reason": notes["override"]}, "offering")
    shown[notes["override"]] = [f"/tickets/{queued}"]
    notes["status reason"] = "-reason " + ATTRIBUTE
    post_ok(hq, f"/partners/{w.b.id}/status", {"status": "probation", "reason": notes["status reason"]},
            "changing a status")
    shown[notes["status reason"]] = [f"/partners/{w.b.id}"]
    # The audit: HQ's decision and the partner's answer.
    notes["decision"] = "=decision " + SCRIPT
    post_ok(hq, f"/findings/{w.finding_a.id}/decision", {"decision": "warning", "note": notes["decision"]}, "deciding")
    notes["answer"] = "+answer " + ATTRIBUTE
    post_ok(partner, f"/findings/{w.finding_a.id}/responses", {"text": notes["answer"]}, "answering")
    shown[notes["decision"]] = shown[notes["answer"]] = [f"/findings/{w.finding_a.id}"]
    # Settings and the profile.
    notes["calendar"] = SCRIPT[:30]
    post_ok(hq, "/settings/calendar/day", {"day": "2031-05-05", "is_working": "off", "note": notes["calendar"]},
            "a calendar note")
    shown[notes["calendar"]] = ["/settings/calendar?year=2031"]
    notes["token"] = "=token" + SCRIPT[:30]
    post_ok(hq, "/profile/tokens", {"name": notes["token"]}, "naming a token")
    shown[notes["token"]] = ["/profile"]
    w.markup_ticket_pages = [ticket_url, f"/tickets/{offered}", f"/tickets/{worked}", f"/tickets/{queued}"]
    w.markup_engineer = engineer.id
    return shown


def test_stored_markup_is_escaped_on_every_page_and_exports_neutralise_formulas(app, world):
    w = world
    shown = store_markup_everywhere(app, w)
    problems, seen_escaped = [], Counter()
    pages = 0
    for role in ("hq_admin", "hq_manager", "hq_agent", "partner_admin", "engineer"):
        client = w.clients.get(role) or sign_in(app.test_client(), w.users[role])
        urls = {url for _endpoint, url in page_urls(app, w, role)}
        urls |= set(w.markup_ticket_pages) | {f"/engineers/{w.markup_engineer}", "/settings/calendar?year=2031",
                                             f"/partners/{w.b.id}", "/notifications/", "/certifications/review"}
        urls |= {url for listed in shown.values() for url in listed}
        for url in sorted(urls):
            response = client.get(url)
            db.session.rollback()
            pages += 1
            TRIED["pages checked for stored markup"] += 1
            if response.status_code >= 500:
                problems.append(f"500 on {url} as {role}: {last_error()}")
                continue
            if response.mimetype not in ("text/html", "application/json"):
                continue
            body = response.get_data(as_text=True)
            for payload in HTML_PAYLOADS:
                if payload in body:
                    problems.append(f"raw {payload!r} on {url} as {role}")
            if response.mimetype == "text/html":
                for value, urls_showing in shown.items():
                    if str(escape(value)) in body:
                        seen_escaped[value] += 1
                        if role == "hq_admin" and url in urls_showing:
                            seen_escaped[(value, url)] += 1
    for value, urls_showing in shown.items():
        for url in urls_showing:
            if not seen_escaped[(value, url)]:
                problems.append(f"{value[:40]!r} is not shown (escaped) on {url}")
    problems += export_problems(app, w, shown)
    assert not problems, f"{len(problems)} problems over {pages} pages:\n  " + "\n  ".join(problems[:60])


def export_problems(app, w, shown) -> list[str]:
    """Every export that can carry a stored name or note: CSV cells never start like a formula,
    XLSX cells are never formulas, and the names are there."""
    from openpyxl import load_workbook
    client = w.clients["hq_admin"]
    problems = []
    exports = [f"/export/{table}.{fmt}" for table in ("partners", "coverage", "engineers", "certifications")
               for fmt in ("csv", "xlsx")]
    exports += [f"/audits/{w.run.id}.csv", f"/audits/{w.run.id}.xlsx",
                "/coverage?product_line=mobile&region=330100&format=csv", "/coverage?product_line=mobile&format=csv"]
    partner_name = next(value for value in shown if value.startswith("=HYPERLINK"))
    found_name = False
    for url in exports:
        note_endpoint(app, "GET", url)
        TRIED["exports checked"] += 1
        response = client.get(url)
        db.session.rollback()
        if response.status_code != 200:
            problems.append(f"{url}: {response.status_code} {last_error()}")
            continue
        if url.endswith(".xlsx"):
            sheet = load_workbook(io.BytesIO(response.data)).worksheets[0]
            cells = [cell for row in sheet.iter_rows() for cell in row]
            problems += [f"{url}: a formula in {c.coordinate}: {str(c.value)[:40]}"
                         for c in cells if c.data_type == "f"]
            values = [str(c.value) for c in cells if c.value is not None]
        else:
            import csv
            text = response.data.decode("utf-8-sig")
            values = [cell for row in csv.reader(io.StringIO(text)) for cell in row]
            problems += [f"{url}: a cell a spreadsheet takes for a formula: {cell[:40]!r}"
                         for cell in values if cell.startswith(FORMULA_STARTS)]
        found_name |= any(partner_name in value for value in values)
        if url.startswith("/coverage") and not any(partner_name in value for value in values):
            problems.append(f"{url}: the partner's name is not in the gaps file (it should be listed as covering)")
    if not found_name:
        problems.append("the partner's name is in no export")
    return problems


# --------------------------------------------------------------------------------------------
# A line break in a ticket's subject reaches an e-mail header.

class FakeSmtp:
    sent = []

    def __init__(self, *args, **kwargs):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def send_message(self, message):
        FakeSmtp.sent.append(message)


def test_a_line_break_in_a_ticket_subject_does_not_stop_the_outbox(app, world, monkeypatch):
    from partnernet.notifications import service as notifications
    from partnernet.notifications.models import Notification
    w = world
    app.config.update(SMTP_HOST="127.0.0.1")
    monkeypatch.setattr(notifications.smtplib, "SMTP", FakeSmtp)
    FakeSmtp.sent = []
    TRIED["e-mail headers"] += 1
    post_ok(w.clients["hq_admin"], "/tickets/new", {
        "customer_id": str(w.cust_a.id), "product_line": "workflow", "complexity": "simple", "tier": "L1",
        "channel": "web", "subject": "无法登录\r\nBcc: someone@example.com", "description": ""}, "opening a ticket")
    pending = db.session.execute(sa.select(sa.func.count()).where(Notification.status == "pending")).scalar_one()
    assert pending, "the offer should have queued an e-mail to the partner's administrator"
    notifications.deliver_pending(NOW)
    assert all("\n" not in str(message["Subject"]) for message in FakeSmtp.sent)


# --------------------------------------------------------------------------------------------
# Property-based: any text in a partner's name (the form) and in a ticket's subject and
# description (the API) is refused clearly or stored and shown back escaped; any query string
# on the partner list and the region search is answered without a 500.

from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

NASTY_CHARACTERS = st.one_of(
    st.characters(),
    st.sampled_from(["\ud800", "\udfff", "\x00", "\x07", "\u202e", "\u200b", "\ufeff", "<", ">", '"', "'", "&",
                     "%", "_", "\\", "=", "+", "\r", "\n", "😀", "长"]),
)
NASTY_STRINGS = st.one_of(
    st.text(NASTY_CHARACTERS, max_size=150),
    st.sampled_from([SCRIPT, ATTRIBUTE, "' OR '1'='1", "=1+1", " ", "x" * 129]),
    st.builds(lambda a, b: a + SCRIPT + b, st.text(NASTY_CHARACTERS, max_size=20),
              st.text(NASTY_CHARACTERS, max_size=20)),
)
PROPERTY_SETTINGS = settings(max_examples=40, deadline=None, derandomize=True, database=None,
                             suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@PROPERTY_SETTINGS
@given(name=NASTY_STRINGS, name_en=NASTY_STRINGS)
def test_any_partner_name_is_refused_or_shown_back_escaped(app, world, name, name_en):
    from partnernet.network.models import Party
    client = world.clients["hq_admin"]
    FORMS.add("network.new_partner")
    TRIED["property examples"] += 1
    response = post_form(client, "/partners/new", [
        ("name", name), ("name_en", name_en), ("kind", "agent"), ("province_code", "330000"), ("capacity", "5"),
        ("tiers", "L1")])
    db.session.rollback()
    clear_flashes(client)
    assert response.status_code < 500, last_error()
    assert not raw_payload_in(response.get_data(as_text=True), name + name_en)
    if response.status_code == 302 and "/partners/" in response.headers["Location"]:
        party_id = int(urlsplit(response.headers["Location"]).path.rstrip("/").rsplit("/", 1)[1])
        party = db.session.get(Party, party_id)
        for path, query in ((f"/partners/{party_id}", None), ("/partners/", {"q": party.name[:50]})):
            page = client.get(path, query_string=query).get_data(as_text=True)
            assert str(escape(party.name)) in page, path
            assert not any(p in page for p in HTML_PAYLOADS), path
        db.session.rollback()


@PROPERTY_SETTINGS
@given(subject=NASTY_STRINGS, description=NASTY_STRINGS)
def test_any_ticket_subject_through_the_api_is_refused_in_the_error_shape_or_kept_as_sent(
        app, world, subject, description):
    w = world
    headers = {"Authorization": f"Bearer {w.tokens['hq_admin']}", "Content-Type": "application/json"}
    ENDPOINTS.add("POST api_v1.open_ticket")
    TRIED["property examples"] += 1
    body = json_bytes({"customer_id": w.cust_a.id, "product_line": "workflow", "complexity": "simple",
                       "subject": subject, "description": description})
    response = app.test_client().post("/api/v1/tickets", data=body, headers=headers)
    db.session.rollback()
    assert response.status_code in (201, 422), (response.status_code, response.get_data(as_text=True)[:300])
    if response.status_code == 422:
        assert api_error_shape(response) and set(response.get_json()["error"]["fields"]) <= {"subject", "description"}
        return
    ticket = app.test_client().get(f"/api/v1/tickets/{response.get_json()['id']}", headers=headers).get_json()
    assert (ticket["subject"], ticket["description"].strip()) == (subject.strip(), description.strip())  # trimmed only
    page = w.clients["hq_admin"].get(f"/tickets/{ticket['id']}").get_data(as_text=True)
    db.session.rollback()
    assert not any(p in page for p in HTML_PAYLOADS)


@PROPERTY_SETTINGS
@given(query=st.dictionaries(st.sampled_from(["q", "kind", "status", "province", "product_line", "uncertified",
                                              "sort", "order", "page", "per_page", "x"]), NASTY_STRINGS, max_size=4))
def test_any_query_string_on_the_partner_list_and_the_region_search_is_answered(app, world, query):
    client = world.clients["hq_admin"]
    for path in ("/partners/", "/regions/", "/regions/search.json", "/customers/search.json"):
        note_endpoint(app, "GET", path)
        TRIED["property examples"] += 1
        response = client.get(path, query_string=urlencode([(k, encode(v)) for k, v in query.items()]))
        db.session.rollback()
        assert response.status_code < 500, (path, query, last_error())
        assert not raw_payload_in(response.get_data(as_text=True), "".join(query.values())) or \
            response.mimetype == "application/json"


# --------------------------------------------------------------------------------------------
# CSRF: the tests' app runs without it (conftest.py); with it on, as in production, a form whose
# token is missing, forged, oversize or binary is a clear 400 and changes nothing.

NASTY_CSRF = {"missing": None, "empty": "", "forged": "IjAwMDAi.aaaaaa.bbbbbbbbbbbbbbbbbbbbbbbbbbb",
              "oversize": "x" * 100_000, "lone surrogate": "\ud800", "script": SCRIPT}


def csrf_token_of(page: str) -> str:
    return next(f[2] for form in forms_of(page) for f in form.fields if f[0] == "csrf_token")


def test_a_nasty_csrf_token_is_a_clear_400_and_changes_nothing(app, world, database_url):
    from partnernet import create_app
    w = world
    guarded = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "TESTING": True, "WTF_CSRF_ENABLED": True})
    forms = crawl_forms(app, w)
    before = row_counts()
    problems = []
    with guarded.app_context():
        client = guarded.test_client()
        token = csrf_token_of(client.get("/login").get_data(as_text=True))
        assert client.post("/login", data={"email": w.users["hq_admin"].email, "password": PASSWORD,
                                           "csrf_token": token}).status_code == 302
        for endpoint, (_role, _page, form) in sorted(forms.items()):
            for label, value in NASTY_CSRF.items():
                pairs = [(name, default) for name, (_k, defaults, _o) in merged_fields(form).items()
                         if name != "csrf_token" for default in defaults[:1]]
                if value is not None:
                    pairs.append(("csrf_token", value))
                TRIED["csrf tokens"] += 1
                response = post_form(client, form.action, pairs, multipart=form.enctype.startswith("multipart"))
                db.session.rollback()
                if response.status_code != 400 or response.mimetype != "text/html":
                    problems.append(f"{endpoint} with a {label} CSRF token: {response.status_code}")
        db.session.remove()
        db.engine.dispose()
    assert row_counts() == before
    assert not problems, "\n".join(problems)
