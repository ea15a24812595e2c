"""How a long-running process (a web worker, the scheduler) sets Python's garbage collector: what
exists once the app is built is frozen out of the collector's walks, and young collections run
every 10,000 allocations instead of 700 (why, with the figures: benchmarks/README.md, session 3)."""
import gc

THRESHOLDS = (10_000, 20, 20)


def tune_garbage_collector() -> None:
    """Call once the app is built (wsgi.py does). Cycles are still collected, only less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
