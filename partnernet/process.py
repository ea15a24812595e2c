"""How a long-running partnernet process (a web worker, the scheduler) sets Python's garbage collector.

A page such as the coverage map of China builds tens of thousands of short-lived objects. With the
interpreter's defaults (a young collection every 700 allocations) every such request ran dozens of
collections that walked everything the app holds, and every few requests a full one: at a million
tickets that was a third of the dashboard's and the map's time, and their slowest requests twice
their median (benchmarks/README.md). So, once the app is built: what exists then (models, compiled
templates, the region tables) lives as long as the process and is frozen out of the collector's
walks, and young collections run every 10,000 allocations instead of 700.
"""
import gc

THRESHOLDS = (10_000, 20, 20)


def tune_garbage_collector() -> None:
    """Call once the app is built (wsgi.py does). Cycles are still collected, only less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
