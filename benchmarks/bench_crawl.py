"""Every GET page and API endpoint of the app, as each role, over HTTP under gunicorn, at 1M tickets.

The routes come from the app's URL map (every GET rule but the static files), so that a new page
is measured, or listed as unreachable, without a change here. For each database (SQLite, then
PostgreSQL through pgcopy.py when it is there):

1. A working copy of generate.py's SCALE (default audit-1m: the full network of 2,000 partners
   and a year of 1,000,000 tickets). In it, once: a user of each role with a known password (HQ's
   hq_admin, hq_manager and hq_agent; the partner that holds the most tickets gets a
   partner_admin and an engineer, the engineer with the most of its tickets), an API token for
   each, a (disabled) robot channel for HQ and the partner, and an audit run over October 2026
   (so that the channel and audit pages have something to show).
2. gunicorn serves the product's wsgi:app with benchmarks/crawl_gunicorn.py: one sync worker,
   the clock frozen at bench_pages.NOW (30 October 2026), statements per request in a header.
3. Each role signs in through the sign-in form (pages) and uses its token (API). Every rule is
   requested as every role, its path filled with ids that role can see (its ticket, partner,
   customer, contract, engineer, certification, audit run and finding, region, user...). A role
   that answers 2xx/3xx has reached it; 401/403/404/405 is outside the role (409: outside the
   state of the ticket picked); anything else is an error. Measured once per
   scope: the first HQ role that reaches it, the partner_admin, the engineer (a route that
   answers signed out, only signed out).
4. Lists get variants: a page's GET form is filled one field at a time (a select with its first
   choice, a checkbox checked, a text box with a sample), each same-page link with another query
   (sorts, tabs) once, and a deep page reached by following Next DEEP times (untimed). An API list
   (one that takes `limit`, from the OpenAPI document) is requested with limit=20 and limit=200,
   each query parameter once, and a deep page by following next_cursor DEEP times.
5. Each URL once to warm up, then ROUNDS times, each followed by GET /login signed out (the
   sign-in page, the baseline measured in the same run). p50, p95, statements per request.
   An export (an answer that is a file) is served by a fresh worker (the crawl stops the worker,
   gunicorn starts another), warmed up by one request, and gets that worker's peak RSS: VmHWM of
   its pid after `echo 5 > /proc/<pid>/clear_refs` before each request. A URL whose ROUNDS take
   longer than --seconds stops there, after at least MIN_ROUNDS requests (one, when its warm-up
   took more than a MIN_ROUNDS-th of --seconds).

Targets: every page's p95 <= 10x the sign-in page's p50; an API list sends as many statements for
200 rows as for 20; every export's worker peaks under 150 MB. TARGET MISSED lines and the
unreachable routes are printed at the end; it never fails the build.

  .venv/bin/python benchmarks/bench_crawl.py [--scale audit-1m] [--rounds 20] [--seconds 30] [--deep 50]
                                             [--only sqlite|postgresql] [--match TEXT]
"""
import argparse
import html
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from benchmarks import generate  # noqa: E402
from benchmarks.bench_intake import app_env, free_port  # noqa: E402
from benchmarks.bench_pages import NOW, percentile  # noqa: E402

BIN = Path(sys.executable).parent
PAGE_RATIO = 10        # a page's p95 <= 10x the sign-in page's p50
EXPORT_MB = 150        # an export's worker peaks under this
PASSWORD = "crawl-bench-password-2026"
SIGN_IN = "/login"
MIN_ROUNDS = 5         # a URL is requested at least this many times, whatever --seconds
HQ_ROLES = ("hq_admin", "hq_manager", "hq_agent")
ROLES = HQ_ROLES + ("partner_admin", "engineer")
# Outside the role (or, 409, outside the state of the ticket picked): not an error.
OUTSIDE = (401, 403, 404, 405, 409)
PAGING = {"page", "after", "before", "cursor", "limit"}
EXPORT_TYPES = ("text/csv", "spreadsheetml", "application/pdf")
# What a text box or a query parameter is given, by its name (a list's `q` by its path, below).
SAMPLES = {"region": "330000", "province": "330000", "year": "2026", "month": "2026-09", "from": "2026-01",
           "to": "2026-10", "older_than_days": "7", "tickets": "offers", "product_line": "workflow"}
SEARCHES = {"customers": "客户0001", "users": "admin1", "regions": "杭州"}


# --- the working database ------------------------------------------------------------------------

def prepare(database_url: str) -> dict:
    """Users with a password and a token for every role, an audit run; the ids each role sees."""
    from partnernet import create_app
    from partnernet.audit.models import AuditRun
    from partnernet.audit.service import start_run
    from partnernet.auth.models import User
    from partnernet.auth.tokens import issue_token
    from partnernet.extensions import db
    from partnernet.notifications.models import NotificationChannel

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url})
    with app.app_context():
        from flask_migrate import upgrade
        upgrade()  # the copy is at the migrations' head already; a no-op then

        def one(sql, **params):
            return db.session.execute(sa.text(sql), params).scalar()

        hq = one("SELECT id FROM party WHERE kind = 'hq'")
        partner = one("SELECT t.owner_party_id FROM ticket t JOIN party p ON p.id = t.owner_party_id "
                      "WHERE p.kind <> 'hq' AND p.status = 'active' GROUP BY t.owner_party_id "
                      "ORDER BY count(*) DESC, t.owner_party_id LIMIT 1")
        engineer = one("SELECT engineer_id FROM ticket WHERE owner_party_id = :p AND engineer_id IS NOT NULL "
                       "GROUP BY engineer_id ORDER BY count(*) DESC, engineer_id LIMIT 1", p=partner)
        users, tokens = {}, {}
        for role in ROLES:
            email = f"crawl-{role.replace('_', '-')}@bench.crawl"
            user = db.session.execute(sa.select(User).where(User.email == email)).scalar_one_or_none()
            if user is None:
                user = User(email=email, name=f"Crawl {role}", role=role, locale="zh_CN", active=True,
                            party_id=hq if role in HQ_ROLES else partner,
                            engineer_id=engineer if role == "engineer" else None)
                db.session.add(user)
            user.set_password(PASSWORD)
            db.session.commit()
            users[role] = email
            tokens[role] = issue_token(user, "crawl", NOW)[1]
        if db.session.execute(sa.select(AuditRun.id).limit(1)).first() is None:
            started = time.perf_counter()
            start_run(date(2026, 10, 1), date(2026, 10, 28), None, "cli", None, NOW)
            print(f"  an audit run over October 2026 in {time.perf_counter() - started:.1f} s")

        for party in (hq, partner):
            if one("SELECT count(*) FROM notification_channel WHERE party_id = :p", p=party) == 0:
                db.session.add(NotificationChannel(
                    party_id=party, provider="wecom", name="crawl", enabled=False, created_at=NOW, updated_at=NOW,
                    webhook_url=f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=crawl-{party}"))
                db.session.commit()
        # A ticket the partner holds open, assigned to the engineer (an open one can be escalated).
        ticket = one("SELECT id FROM ticket WHERE owner_party_id = :p AND engineer_id = :e "
                     "ORDER BY status IN ('accepted', 'in_progress', 'waiting_on_customer') DESC, id DESC LIMIT 1",
                     p=partner, e=engineer)
        customer = one("SELECT customer_id FROM ticket WHERE id = :t", t=ticket)
        common = {
            "ticket_id": ticket, "customer_id": customer, "party_id": partner, "partner_id": partner,
            "engineer_id": engineer,
            "contract_id": one("SELECT min(id) FROM contract WHERE customer_id = :c", c=customer),
            "certification_id": one("SELECT min(id) FROM certification WHERE engineer_id = :e", e=engineer),
            "run_id": one("SELECT max(id) FROM audit_run"),
            "finding_id": one("SELECT max(id) FROM audit_finding WHERE party_id = :p", p=partner),
            "attachment_id": one("SELECT min(a.id) FROM attachment a JOIN ticket t ON t.id = a.ticket_id "
                                 "WHERE t.owner_party_id = :p", p=partner),
            "code": one("SELECT substr(region_code, 1, 2) || '0000' FROM ticket WHERE id = :t", t=ticket),
        }
        partner_user = one("SELECT min(id) FROM \"user\" WHERE party_id = :p AND role = 'partner_admin' "
                           "AND email NOT LIKE 'crawl-%'", p=partner)
        ids = {role: dict(common) for role in ROLES}
        for role in HQ_ROLES:
            ids[role]["user_id"] = partner_user
            ids[role]["channel_id"] = one("SELECT min(id) FROM notification_channel WHERE party_id = :p", p=hq)
        for role in ("partner_admin", "engineer"):
            ids[role]["user_id"] = one("SELECT id FROM \"user\" WHERE email = :e", e=users["engineer"])
            ids[role]["channel_id"] = one("SELECT min(id) FROM notification_channel WHERE party_id = :p",
                                          p=partner)
        ids["anonymous"] = dict(common)
        rules = [rule for rule in app.url_map.iter_rules()
                 if "GET" in rule.methods and rule.endpoint != "static"]
        db.session.remove()
        db.engine.dispose()
    print(f"  partner {partner}, engineer {engineer}, ticket {ticket}; {len(rules)} GET rules")
    return {"users": users, "tokens": tokens, "ids": ids, "rules": rules}


# --- the server and its clients ------------------------------------------------------------------

class Server:
    """gunicorn serving wsgi:app with crawl_gunicorn.py (one worker, clock frozen, statements counted)."""

    def __init__(self, database_url: str, log_path: Path):
        self.port = free_port()
        self.log = open(log_path, "w")
        env = app_env(database_url)
        self.proc = subprocess.Popen(
            [str(BIN / "gunicorn"), "wsgi:app", "-c", str(ROOT / "benchmarks" / "crawl_gunicorn.py"),
             "-b", f"127.0.0.1:{self.port}"], cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited ({self.proc.returncode}); see {log_path}")
            try:
                if httpx.get(self.base + SIGN_IN, timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"gunicorn did not answer within 120 s; see {log_path}")

    def fresh_worker(self, pid: int) -> int:
        """Stop the worker `pid` (gunicorn starts another one); the new worker's pid."""
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                new = int(httpx.get(self.base + SIGN_IN, timeout=30).headers.get("x-crawl-pid", pid))
                if new != pid:
                    return new
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError("gunicorn did not start a new worker within 120 s")

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base, follow_redirects=False, timeout=900)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def sign_in(client: httpx.Client, email: str) -> None:
    """Through the sign-in form, as a browser does: its CSRF token, then the POST."""
    page = client.get(SIGN_IN).text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or \
        re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    answer = client.post(SIGN_IN, data={"email": email, "password": PASSWORD, "csrf_token": token.group(1)})
    if answer.status_code != 302:
        raise RuntimeError(f"signing in as {email} answered {answer.status_code}")


# --- reading a page: its GET form, its links, its Next -------------------------------------------

class PageParts(HTMLParser):
    """The fields of a page's GET forms (name -> a value to try) and the hrefs of its links."""

    def __init__(self):
        super().__init__()
        self.fields, self.links = {}, []
        self._in_get_form, self._select = False, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._in_get_form = (a.get("method") or "get").lower() == "get"
        elif tag == "a" and a.get("href"):
            self.links.append(a["href"])
        elif not self._in_get_form or not a.get("name"):
            if tag == "option" and self._select and a.get("value") and self._select not in self.fields:
                self.fields[self._select] = a["value"]  # a select's first real choice
        elif tag == "select":
            self._select = a["name"]
        elif tag == "input" and a.get("type", "text") not in ("hidden", "submit", "button"):
            if a.get("type") in ("checkbox", "radio"):
                self.fields.setdefault(a["name"], a.get("value", "1"))
            else:
                self.fields.setdefault(a["name"], None)  # a text box: a sample by its name

    def handle_endtag(self, tag):
        if tag == "form":
            self._in_get_form = False
        elif tag == "select":
            self._select = None


NEXT_LINK = re.compile(r'<li class="page-item([^"]*)">\s*<a class="page-link"(?: rel="\w+")? href="([^"]+)"')


def next_url(page_html: str) -> str | None:
    """The Next of a pager (cursor or numbered): the last page link, unless it is disabled."""
    links = NEXT_LINK.findall(page_html)
    if not links or "disabled" in links[-1][0] or links[-1][1] == "#":
        return None
    return html.unescape(links[-1][1])


def sample(name: str, path: str, ids: dict) -> str | None:
    if name == "q":
        return next((text for part, text in SEARCHES.items() if part in path), "浙江")
    if name in ("region", "province") and ids.get("code"):
        return ids["code"]  # the province of the role's ticket
    if name in ("partner_id", "customer", "customer_id", "party_id"):
        return str(ids.get("customer_id" if name.startswith("customer") else "partner_id") or "") or None
    return SAMPLES.get(name)


def page_variants(path: str, page_html: str, ids: dict) -> list[tuple[str, str]]:
    """(label, url): each field of the page's GET form once, each same-page link with another query."""
    parts = PageParts()
    parts.feed(page_html)
    variants, seen = [], set()
    for name, value in parts.fields.items():
        value = value if value is not None else sample(name, path, ids)
        if value is not None:
            variants.append((f"{name}={value}", f"{path}?{urlencode({name: value})}"))
            seen.add((name,))
    for href in parts.links:
        link = urlsplit(html.unescape(href))
        query = [(k, v) for k, v in parse_qsl(link.query) if k not in PAGING]
        if link.path != path or not query:
            continue
        key = tuple(sorted(k if k not in ("sort", "view", "format", "status", "tab") else f"{k}={v}"
                           for k, v in query))
        if key not in seen:
            seen.add(key)
            variants.append(("&".join(f"{k}={v}" for k, v in query if k != "order"), f"{path}?{urlencode(query)}"))
    return variants


# --- requests --------------------------------------------------------------------------------------

class Broken:
    """What get() answers when the connection broke (a streamed body cut short by an error)."""
    status_code, headers = 599, {}

    def __init__(self, error):
        self.text = repr(error)


def get(client, url, headers):
    started = time.perf_counter()
    try:
        answer = client.get(url, headers=headers)
    except httpx.HTTPError as error:
        answer = Broken(error)
    return answer, (time.perf_counter() - started) * 1000


def memory_mb(pid: int, field: str = "VmHWM") -> float:
    """VmHWM (the peak RSS since the last reset) or VmRSS of a process, in MB."""
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(field + r":\s+(\d+) kB", f.read()).group(1)) / 1024


def reset_peak(pid: int) -> None:
    with open(f"/proc/{pid}/clear_refs", "w") as f:
        f.write("5")


def is_file(answer) -> bool:
    kind = answer.headers.get("content-type", "")
    return "attachment" in answer.headers.get("content-disposition", "") or any(t in kind for t in EXPORT_TYPES)


def measure(client, headers, url, anonymous, rounds, server, budget) -> dict:
    """Warm-up once, then ROUNDS times, each followed by the sign-in page signed out; a URL slower
    than BUDGET seconds for its ROUNDS stops after the budget (at least MIN_ROUNDS times). A file
    is served by a fresh worker (warmed up by one request), whose peak RSS is read after each."""
    answer, warm_ms = get(client, url, headers)
    # A URL whose one request takes more than a MIN_ROUNDS-th of the budget is timed once: at 30 s
    # a request, five would hold the crawl up for minutes to say what one says.
    minimum = MIN_ROUNDS if warm_ms * MIN_ROUNDS <= budget * 1000 else 1
    export = is_file(answer)
    pid = int(answer.headers.get("x-crawl-pid", "0"))
    fresh = None
    if export and pid:
        pid = server.fresh_worker(pid)
        fresh = memory_mb(pid, "VmRSS")  # a new worker that has answered one GET /login
        get(client, url, headers)
    times, statements, peaks, signin, errors = [], [], [], [], 0
    started = time.perf_counter()
    for n in range(rounds):
        if n >= minimum and time.perf_counter() - started > budget:
            break
        if export and pid:
            reset_peak(pid)
        answer, ms = get(client, url, headers)
        if export and pid:
            peaks.append(memory_mb(pid))
        times.append(ms)
        errors += answer.status_code >= 500
        statements.append(int(answer.headers.get("x-crawl-statements", "-1")))
        signin.append(get(anonymous, SIGN_IN, {})[1])
    return {"status": answer.status_code, "p50": statistics.median(times), "p95": percentile(times, 0.95),
            # the most common count: a token's last use is written once a minute, not every time
            "statements": statistics.mode(statements), "export": export,
            "peak": max(peaks) if peaks else None, "fresh": fresh,
            "signin": signin, "errors": errors, "n": len(times)}


# --- the crawl -------------------------------------------------------------------------------------

def path_of(rule, ids: dict) -> list[str] | None:
    """The rule's path(s) with the role's ids, one per choice of an any(...) part; None: an id is missing."""
    paths = [rule.rule]
    for name, converter in rule._converters.items():
        choices = sorted(getattr(converter, "items", ())) or [ids.get(name)]
        if choices == [None]:
            return None
        paths = [re.sub(r"<[^>]*\b" + name + ">", str(choice), p) for p in paths for choice in choices]
    return paths


def openapi_lists(client, token) -> dict:
    """{path template: [query parameter names]} of the API's GET operations that take `limit`."""
    spec = client.get("/api/v1/openapi.json", headers={"Authorization": f"Bearer {token}"}).json()
    prefix = "/api/v1" if not next(iter(spec["paths"])).startswith("/api/v1") else ""
    found = {}
    for template, operations in spec["paths"].items():
        names = [p["name"] for p in operations.get("get", {}).get("parameters", []) if p.get("in") == "query"]
        if "limit" in names:
            found[re.sub(r"\{(\w+)\}", r"\1", prefix + template)] = [(p["name"], p.get("schema", {}))
                                                                    for p in operations["get"]["parameters"]
                                                                    if p.get("in") == "query"]
    return found


def api_variants(path: str, parameters, ids: dict) -> list[tuple[str, str]]:
    """(label, url): 20 rows a page, then each query parameter once (with 20 rows)."""
    variants = [("limit=20", f"{path}?limit=20")]
    for name, schema in parameters:
        if name in PAGING:
            continue
        if schema.get("enum"):
            value = schema["enum"][0]
        elif schema.get("type") == "boolean":
            value = "true"
        else:
            value = sample(name, path, ids)
        if value is None:
            print(f"    (no sample for {path}?{name}=…: not requested)")
            continue
        variants.append((f"{name}={value}", f"{path}?{urlencode({name: value, 'limit': 20})}"))
    return variants


def deep(client, headers, url, api: bool, pages: int) -> tuple[str, int]:
    """The URL reached by following Next (a page) or next_cursor (the API) up to PAGES times."""
    followed = 0
    while followed < pages:
        answer, _ms = get(client, url, headers)
        if answer.status_code != 200:
            break
        if api:
            cursor = answer.json().get("next_cursor")
            following = f"{urlsplit(url).path}?{urlencode({'limit': 20, 'cursor': cursor})}" if cursor else None
        else:
            following = next_url(answer.text)
        if not following:
            break
        url, followed = following, followed + 1
    return url, followed


def crawl(label: str, database_url: str, args, workdir: Path) -> tuple[list, list, list]:
    print(f"\n[{label}] preparing users, tokens and ids…", flush=True)
    setup = prepare(database_url)
    server = Server(database_url, workdir / f"gunicorn-{label}.log")
    rows, unreachable, probes = [], [], []
    try:
        anonymous = server.client()
        clients, headers = {"anonymous": anonymous}, {"anonymous": {}}
        for role in ROLES:
            clients[role] = server.client()
            sign_in(clients[role], setup["users"][role])
            headers[role] = {}
        api_lists = openapi_lists(anonymous, setup["tokens"]["hq_admin"])
        started = time.perf_counter()
        for rule in sorted(setup["rules"], key=lambda r: r.rule):
            if args.match and args.match not in rule.rule:
                continue
            api = rule.rule.startswith("/api/")
            reached, outcomes = {}, []
            for role in ROLES + ("anonymous",):
                paths = path_of(rule, setup["ids"][role])
                if paths is None:
                    missing = [n for n, c in rule._converters.items()
                               if not getattr(c, "items", None) and setup["ids"][role].get(n) is None]
                    outcomes.append(f"{role}: no {', '.join(missing)}")
                    continue
                hdrs = {"Authorization": f"Bearer {setup['tokens'][role]}"} if api and role != "anonymous" else {}
                for path in paths:
                    answer, _ms = get(clients[role], path, hdrs)
                    status = answer.status_code
                    if status < 300 or (status < 400 and role != "anonymous"):
                        reached.setdefault(path, []).append((role, hdrs, answer))
                    elif status < 400 or status in OUTSIDE:  # signed out: a redirect to the sign-in page
                        outcomes.append(f"{role}: {status}")
                    else:
                        outcomes.append(f"{role} {path}: ERROR {status}")
                        unreachable.append((label, rule.rule, f"{role} {path}: {status} {answer.text[:120]!r}"))
            public = {path: [a for a in answers if a[0] == "anonymous"] for path, answers in reached.items()}
            if any(public.values()):
                reached = {path: answers for path, answers in public.items() if answers}
            if not reached:
                if not any(entry[1] == rule.rule for entry in unreachable):
                    unreachable.append((label, rule.rule, "; ".join(outcomes) or "no role"))
                continue
            for path, answers in reached.items():
                scopes = set()
                for role, hdrs, answer in answers:
                    scope = "hq" if role in HQ_ROLES else role
                    if scope in scopes:
                        continue
                    scopes.add(scope)
                    template = re.sub(r"<[^>]*?(\w+)>", r"\1", rule.rule)
                    variants = [("", path)]
                    if api and template in api_lists:
                        variants = api_variants(path, api_lists[template], setup["ids"][role])
                        variants.insert(1, ("limit=200", f"{path}?limit=200"))
                        variants.append(("deep", f"{path}?limit=20"))
                    elif not api and answer.status_code == 200 and "text/html" in answer.headers.get("content-type", ""):
                        variants += page_variants(path, answer.text, setup["ids"][role])
                        if next_url(answer.text):
                            variants.append(("deep", path))
                    for name, url in variants:
                        if name == "deep":
                            url, followed = deep(clients[role], hdrs, url, api, args.deep)
                            name = f"deep: Next x{followed}"
                        m = measure(clients[role], hdrs, url, anonymous, args.rounds, server, args.seconds)
                        m.update(db=label, rule=rule.rule, role=role, variant=name, url=url)
                        rows.append(m)
                        if m["errors"]:
                            unreachable.append((label, rule.rule, f"{role} {url}: {m['errors']} of {args.rounds} "
                                                                  f"answers were errors ({m['status']})"))
                        print(f"  {m['status']} {role:13} {url[:90]:90} p50 {m['p50']:8.1f}  p95 {m['p95']:8.1f}  "
                              f"stmts {m['statements']:4}  sign-in p50 {statistics.median(m['signin']):6.1f}"
                              + (f"  peak {m['peak']:.0f} MB (fresh {m['fresh']:.0f})" if m["peak"] else ""),
                              flush=True)
        print(f"[{label}] crawled in {time.perf_counter() - started:.0f} s")
    finally:
        server.stop()
    return rows, unreachable, probes


def report(label: str, rows: list, unreachable: list) -> list[str]:
    """The table of one database; returns its TARGET MISSED lines."""
    signin = statistics.median([ms for row in rows for ms in row["signin"]]) if rows else float("nan")
    print(f"\n### {label}: {len(rows)} URLs; sign-in page GET {SIGN_IN} p50 {signin:.1f} ms (the baseline)\n")
    print("| route | role | variant | status | n | p50 ms | p95 ms | p95 / sign-in p50 | statements | "
          "statements at 200 rows | peak RSS MB (a fresh worker) |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    missed = []
    by_key = {(r["rule"], r["role"], r["variant"]): r for r in rows}
    for r in rows:
        ratio = r["p95"] / signin
        at_200 = by_key.get((r["rule"], r["role"], "limit=200")) if r["variant"] == "limit=20" else None
        peak = f"{r['peak']:.0f} ({r['fresh']:.0f})" if r["peak"] else ""
        print(f"| `{r['rule']}` | {r['role']} | {r['variant'] or urlsplit(r['url']).path} | {r['status']} | {r['n']} | {r['p50']:.1f} | "
              f"{r['p95']:.1f} | {ratio:.1f} | {r['statements']} | {at_200['statements'] if at_200 else ''} | {peak} |")
        where = f"{label} {r['role']} {r['url']}"
        if r["export"]:
            if r["peak"] and r["peak"] >= EXPORT_MB:
                missed.append(f"TARGET MISSED {where}: the worker peaked at {r['peak']:.0f} MB >= {EXPORT_MB} MB "
                              f"(a fresh worker: {r['fresh']:.0f} MB)")
        elif ratio > PAGE_RATIO:
            missed.append(f"TARGET MISSED {where}: p95 {r['p95']:.0f} ms = {ratio:.1f}x the sign-in p50 "
                          f"(target <= {PAGE_RATIO}x)")
        if at_200 and at_200["statements"] != r["statements"]:
            missed.append(f"TARGET MISSED {where}: {r['statements']} statements for 20 rows, "
                          f"{at_200['statements']} for 200")
    return missed


def postgres_copy(args):
    """(URL, drop) of a working database made from pgcopy.py's cached copy of the scale (CREATE
    DATABASE … TEMPLATE: the cached copy stays as generated); None when there is no PostgreSQL."""
    sys.path.insert(0, str(ROOT / "benchmarks"))  # pgcopy imports generate as a top-level module
    try:
        import pgcopy
    except ImportError:
        print("\n[postgresql] SKIPPED: benchmarks/pgcopy.py is not there")
        return None
    import psycopg
    server = pgcopy.server_url(os.environ.get("TEST_POSTGRES_URL"))
    try:
        cached = sa.engine.make_url(pgcopy.ensure_postgres(args.scale, args.seed, server))
    except pgcopy.NoPostgres as error:
        print(f"\n[postgresql] SKIPPED: {error}")
        return None
    name = cached.database + "_scale_crawl"  # this branch's working copy
    admin_url = cached.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        started = time.perf_counter()
        for attempt in range(60):  # the template must have no other session while it is copied
            try:
                admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{cached.database}"')
                break
            except psycopg.errors.ObjectInUse:
                time.sleep(5)
        else:
            print(f"\n[postgresql] SKIPPED: {cached.database} stayed in use by other sessions")
            return None
    print(f"[postgresql] {cached.database} copied to {name} in {time.perf_counter() - started:.1f} s")

    def drop():
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return cached.set(database=name).render_as_string(hide_password=False), drop


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", default="audit-1m", choices=sorted(generate.SCALES))
    parser.add_argument("--seed", type=int, default=generate.DEFAULT_SEED)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30,
                        help=f"at most this long per URL (but at least {MIN_ROUNDS} requests)")
    parser.add_argument("--deep", type=int, default=50, help="Next links followed to the deep page")
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument("--match", help="only the rules whose path contains this")
    args = parser.parse_args(argv)
    print(f"bench_crawl: scale {args.scale}, {args.rounds} requests per URL, deep page after {args.deep} Next; "
          f"nproc {os.cpu_count()}, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    workdir = Path(tempfile.mkdtemp(prefix="partnernet-bench-crawl."))
    results = []
    try:
        if args.only in (None, "sqlite"):
            path = workdir / "crawl.sqlite"
            started = time.perf_counter()
            shutil.copyfile(generate.ensure_database(args.scale, args.seed), path)
            print(f"[sqlite] {args.scale} copied to {path} in {time.perf_counter() - started:.1f} s")
            results.append(("sqlite", *crawl("sqlite", f"sqlite:///{path}", args, workdir)[:2]))
        if args.only in (None, "postgresql"):
            copy = postgres_copy(args)
            if copy:
                url, drop = copy
                try:
                    results.append(("postgresql", *crawl("postgresql", url, args, workdir)[:2]))
                finally:
                    drop()
    finally:
        for leftover in workdir.glob("*.sqlite*"):
            leftover.unlink()
    missed = []
    for label, rows, unreachable in results:
        missed += report(label, rows, unreachable)
    print()
    for line in missed:
        print(line)
    for label, rows, unreachable in results:
        print(f"\n[{label}] unreachable routes ({len(unreachable)}): errors, or no role could reach them")
        for _label, rule, why in unreachable:
            print(f"  UNREACHABLE {rule}: {why}")
    print(f"\n{'no target missed' if not missed else f'{len(missed)} TARGET MISSED'}; "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}; gunicorn logs in {workdir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
