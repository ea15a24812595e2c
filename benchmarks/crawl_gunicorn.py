"""gunicorn settings for bench_crawl.py: `gunicorn wsgi:app -c benchmarks/crawl_gunicorn.py -b …`.

The product's own app (wsgi:app), one sync worker (the crawl sends one request at a time, and the
export's peak memory is then that worker's), and in the worker, after the app is loaded:
- the app's clock frozen at bench_pages.NOW (30 October 2026, near the end of the data's year);
- every answer carries `X-Crawl-Statements` (the SQL statements the request sent, counted by a
  `before_cursor_execute` listener; a streamed body's later statements are not in it) and
  `X-Crawl-Pid` (the worker's pid, whose memory the crawl reads from /proc).
Nothing here is part of the product package."""
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

workers = 1
timeout = 900  # an export of the whole network takes seconds; the crawl waits for it


def post_worker_init(worker):
    import sqlalchemy as sa

    from benchmarks.bench_pages import NOW, freeze_clock

    app = sys.modules["wsgi"].app
    freeze_clock(NOW)
    statements = [0]

    def count(*_args):
        statements[0] += 1

    def start_counting():
        statements[0] = 0

    def report(response):
        response.headers["X-Crawl-Statements"] = str(statements[0])
        response.headers["X-Crawl-Pid"] = str(os.getpid())
        return response

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", count)
    # First before any other before_request function, last after every other after_request one
    # (Flask runs after_request functions in reverse order), so that all of a request is counted.
    app.before_request_funcs.setdefault(None, []).insert(0, start_counting)
    app.after_request_funcs.setdefault(None, []).insert(0, report)
