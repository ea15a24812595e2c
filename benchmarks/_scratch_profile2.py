import sys, time, cProfile, pstats
sys.path.insert(0, "/work/main/benchmarks")
import bench_routing as b, generate
from partnernet.extensions import db
from partnernet.tickets import service
from partnernet.tickets.models import Ticket
(generate.DATA_DIR / "work").mkdir(exist_ok=True)
scale = b.Scale(sys.argv[1], generate.ensure_database(sys.argv[1]), generate.DATA_DIR / "work")
scale.add_new_tickets(600, 2026)
for spec in scale.specs[:100]:
    scale.measure_one(spec, True, False)
pr = cProfile.Profile()
with scale.app.app_context():
    for spec in scale.specs[100:600]:
        with scale.app.app_context():
            t = db.session.get(Ticket, spec[0])
            pr.enable(); service.route(t, b.NOW); pr.disable()
            db.session.rollback()
st = pstats.Stats(pr); st.sort_stats("cumulative").print_stats(45)
scale.close()
