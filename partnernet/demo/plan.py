"""The plan's common ground: the fixed seed, the product lines, the partners the walk-throughs are
built around, the shapes of a planned partner and of the whole plan, and the dates it counts in."""
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

from partnernet.timeclock import CHINA

SEED = 2260  # after GB/T 2260; any fixed number would do, changing it changes the whole demo

HQ = "<hq>"  # stands for the HQ party in the plan, whatever its name in the database

LINES = ("oa-core", "workflow", "mobile", "integration")
LINE_WEIGHTS = (6, 4, 3, 1)

# The partners the routing demo in Zhejiang is built around (see seed_demo's docstring).
ZHEJIANG_BRANCH = "浙江分公司"
HANGZHOU_JOINT_VENTURE = "杭州恒信软件有限公司"
XIHU_AGENT = "杭州西溪信息技术有限公司"
QIANJIANG_AGENT = "杭州钱江网络科技有限公司"
HANGZHOU = "330100"
# The push-back partner of the audit walk-through (see push_back.PUSH_BACK_PARTNERS): Lishui's on-site franchisee.
LISHUI_FRANCHISEE = "丽水同创科技有限公司"

HISTORY_MONTHS = 3  # the history starts on the first day of the month three months back


@dataclass
class PartnerPlan:
    row: dict
    slug: str
    home: str  # the area (city, or municipality) the partner sits in
    lines: tuple = LINES  # product lines it covers
    coverage: list = field(default_factory=list)  # coverage rows plus "lines"
    events: list = field(default_factory=list)
    gap_line: str | None = None  # a covered product line with deliberately no valid certificate
    offset: int = 0  # days since contract start

    @property
    def name(self) -> str:
        return self.row["name"]

    @property
    def kind(self) -> str:
        return self.row["kind"]


@dataclass
class Plan:
    partners: list
    engineers: list  # rows with "party" (plan name) in place of party_id
    certifications: list  # rows with "engineer" (email) and "line" (code)
    customers: list  # rows with "sold_by"
    contracts: list  # rows with "customer", "ordinal", "sold_by", "lines", "sla"
    users: list


def china_time(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=CHINA).astimezone(timezone.utc)


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def weighted_sample(rng, items, weights, k):
    """k distinct items, each pick weighted."""
    items, weights, picked = list(items), list(weights), []
    for _ in range(min(k, len(items))):
        index = rng.choices(range(len(items)), weights)[0]
        picked.append(items.pop(index))
        weights.pop(index)
    return picked


def pick_lines(rng, k) -> tuple:
    chosen = weighted_sample(rng, LINES, LINE_WEIGHTS, k)
    return tuple(line for line in LINES if line in chosen)


def history_period(today: date) -> tuple[date, date]:
    """From the first day of the month HISTORY_MONTHS back to yesterday."""
    month = today.month - 1 - HISTORY_MONTHS
    return date(today.year + month // 12, month % 12 + 1, 1), today - timedelta(days=1)
