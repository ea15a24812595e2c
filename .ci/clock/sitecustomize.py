"""The clock sweep's moved clock (.ci/clock-sweep puts this folder on PYTHONPATH).

Every Python process the tests start (pytest, the scheduler, gunicorn) reads the wall clock
CLOCK_SWEEP_OFFSET seconds away from the machine's, through time-machine, and the clock goes on
ticking from there. Every process moves by the same offset, so they agree with one another. The
monotonic clock is left alone, so sleeps and timeouts stay true.
"""
import os

_offset = os.environ.get("CLOCK_SWEEP_OFFSET")
if _offset:
    import time

    import time_machine

    time_machine.travel(time.time() + float(_offset), tick=True).start()
