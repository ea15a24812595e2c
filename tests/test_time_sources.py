"""One clock: the app and its tests read time only through partnernet.timeclock, so that the clock
sweep (.ci/clock-sweep) and a test's fixed NOW mean the same thing everywhere."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The machine's date and zone: date.today(), datetime.now() / utcnow() / today(), time.localtime().
MACHINE_CLOCK = re.compile(r"\bdate\.today\(|\bdatetime\.(now|utcnow|today)\(|\btime\.localtime\(")


def readers_of_the_machine_clock(*folders: str) -> list[str]:
    found = []
    for folder in folders:
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path == ROOT / "partnernet" / "timeclock.py" or path == Path(__file__).resolve():
                continue  # the one place that reads it; this file's own examples
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if MACHINE_CLOCK.search(line.split("#")[0]):
                    found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    return found


def test_the_app_reads_the_time_only_through_its_clock():
    assert readers_of_the_machine_clock("partnernet") == []


def test_tests_and_benchmarks_take_the_time_from_the_apps_clock_or_fix_it():
    assert readers_of_the_machine_clock("tests", "benchmarks") == []


def test_the_rule_sees_a_reader_of_the_machine_date():
    assert MACHINE_CLOCK.search("expires_on=date.today() + timedelta(days=265)")
    assert MACHINE_CLOCK.search("NOW = datetime.now(timezone.utc)")
    assert not MACHINE_CLOCK.search("today = today_in_china(now)")
