import sys, time
sys.path.insert(0, "/work/main/benchmarks")
import bench_routing as b, generate
from partnernet.extensions import db
import sqlalchemy as sa
from sqlalchemy import event
(generate.DATA_DIR / "work").mkdir(exist_ok=True)
scale = b.Scale("full", generate.ensure_database("full"), generate.DATA_DIR / "work")
scale.add_new_tickets(300, 2026)
# time each statement
stats = {}
with scale.app.app_context():
    eng = db.engine
    @event.listens_for(eng, "before_cursor_execute")
    def before(conn, cursor, statement, params, context, executemany):
        conn.info["t"] = time.perf_counter()
    @event.listens_for(eng, "after_cursor_execute")
    def after(conn, cursor, statement, params, context, executemany):
        d = time.perf_counter() - conn.info["t"]
        key = " ".join(statement.split())[:150]
        stats.setdefault(key, []).append(d)
for spec in scale.specs[:300]:
    scale.measure_one(spec, True, True)
for k, v in sorted(stats.items(), key=lambda kv: -sum(kv[1])):
    print(f"{len(v):5d} {sum(v)/len(v)*1000:8.3f} ms  {k}")
scale.close()
