import sys, cProfile, pstats
sys.argv = [sys.argv[0], "index,prebuilt,settings", "--tickets", "10", "--warmup", "0"]
sys.path.insert(0, "/work/main/benchmarks")
import runpy
# reuse the variant definitions without running main
src = open("/work/main/benchmarks/_scratch_variants.py").read().replace("sys.exit(b.main(argv))", "")
ns = {"__name__": "variants"}
exec(compile(src, "variants", "exec"), ns)
b = ns["b"]; generate = b.generate
from partnernet.extensions import db
from partnernet.tickets import service
from partnernet.tickets.models import Ticket
(generate.DATA_DIR / "work").mkdir(exist_ok=True)
scale = b.Scale("tenth", generate.ensure_database("tenth"), generate.DATA_DIR / "work")
scale.add_new_tickets(600, 2026)
for spec in scale.specs[:100]:
    scale.measure_one(spec, True, False)
pr = cProfile.Profile()
for spec in scale.specs[100:600]:
    with scale.app.app_context():
        t = db.session.get(Ticket, spec[0])
        pr.enable(); service.route(t, b.NOW); pr.disable()
        db.session.rollback()
st = pstats.Stats(pr); st.sort_stats("tottime").print_stats(25)
st.sort_stats("cumulative").print_stats(25)
scale.close()
