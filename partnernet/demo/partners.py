"""The partners: branches in the provinces, the Hangzhou cast, joint ventures, franchisees and agents
with their coverage, status history and deliberate certification gaps."""
from datetime import date, timedelta

from partnernet.demo.atlas import PROVINCES, Atlas, short_name
from partnernet.demo.people import person, phone
from partnernet.demo.plan import (
    HANGZHOU, HANGZHOU_JOINT_VENTURE, QIANJIANG_AGENT, XIHU_AGENT, PartnerPlan, add_years, china_time, pick_lines,
)

PARTNER_COUNTS = {"joint_venture": 15, "franchisee": 35, "agent": 75}
CAPACITY = {"branch": (30, 60), "joint_venture": (20, 50), "franchisee": (10, 40), "agent": (5, 25)}
# Statuses other than active, per kind; every branch is active.
UNUSUAL_STATUSES = {
    "joint_venture": ["probation"],
    "franchisee": ["onboarding", "onboarding", "probation", "probation", "suspended", "terminated"],
    "agent": ["onboarding", "onboarding", "onboarding", "probation", "probation", "probation",
              "suspended", "suspended", "terminated", "terminated"],
}
COMPANY_WORDS = [
    ("云启", "yunqi"), ("数智", "shuzhi"), ("恒信", "hengxin"), ("博远", "boyuan"), ("汇通", "huitong"),
    ("智联", "zhilian"), ("新思", "xinsi"), ("华晟", "huasheng"), ("天成", "tiancheng"),
    ("锐达", "ruida"), ("正和", "zhenghe"), ("信达", "xinda"), ("金科", "jinke"), ("明道", "mingdao"),
    ("同创", "tongchuang"), ("鼎新", "dingxin"), ("睿思", "ruisi"), ("弘毅", "hongyi"),
    ("远景", "yuanjing"), ("安信", "anxin"), ("聚力", "juli"), ("卓越", "zhuoyue"), ("朗坤", "langkun"),
    ("易达", "yida"), ("捷科", "jieke"), ("中瑞", "zhongrui"), ("宏图", "hongtu"), ("领航", "linghang"),
    ("蓝海", "lanhai"), ("优联", "youlian"), ("万维", "wanwei"), ("创联", "chuanglian"),
    ("泰和", "taihe"), ("嘉禾", "jiahe"), ("瑞丰", "ruifeng"), ("星辰", "xingchen"),
]
INDUSTRIES = [("信息技术", "Information Technology"), ("软件", "Software"), ("科技", "Technology"),
              ("网络科技", "Network Technology")]
STREETS = ["人民路", "解放路", "中山路", "建设路", "文化路", "新华路", "学院路", "科技路", "创业路",
           "长江路", "黄河路", "滨江大道", "世纪大道", "高新大道", "文三路", "天府大道"]
STATUS_REASONS = {
    "probation": ["推诿率连续两个季度超过阈值", "超时未接单次数过多，整改期三个月", "客户投诉：现场服务未按约定到达"],
    "suspended": ["试用期内推诿率仍未改善", "持证工程师全部离职，暂停派单"],
    "terminated": ["合同到期未续签", "严重违约：售出后服务长期推回总部"],
}


class PartnerNames:
    """Unique company names in the 杭州云启信息技术有限公司 style, with an e-mail slug each."""

    def __init__(self):
        self.names, self.slugs = set(), set()

    def reserve(self, name, slug):
        assert name not in self.names and slug not in self.slugs, name
        self.names.add(name)
        self.slugs.add(slug)

    def company(self, rng, atlas, area) -> tuple[str, str, str]:
        city = atlas.regions[area]
        while True:
            word, word_py = rng.choice(COMPANY_WORDS)
            industry, industry_en = rng.choice(INDUSTRIES)
            name = f"{short_name(city.name)}{word}{industry}有限公司"
            slug = f"{city.pinyin}-{word_py}"
            if name not in self.names and slug not in self.slugs:
                self.reserve(name, slug)
                name_en = f"{city.pinyin.capitalize()} {word_py.capitalize()} {industry_en} Co., Ltd."
                return name, name_en, slug


def plan_partners(rng, atlas: Atlas, today: date) -> list[PartnerPlan]:
    names = PartnerNames()
    partners = []

    def new_partner(kind, name, name_en, slug, province, home, status, tiers, offset=None):
        contact, contact_py = person(rng)
        offset = offset if offset is not None else (
            rng.randint(5, 45) if status == "onboarding" else
            rng.randint(1500, 3500) if kind == "branch" else rng.randint(150, 2400))
        start = today - timedelta(days=offset)
        if kind == "branch":
            end = None  # a wholly owned subsidiary has no partner contract that runs out
        else:
            end = add_years(start, 3 * (offset // 1095 + 1))  # three-year terms, renewed so far
        county = rng.choice(atlas.leaves[home])
        address = "".join(atlas.regions[code].name for code in dict.fromkeys((province, home, county)))
        address += f"{rng.choice(STREETS)}{rng.randint(1, 999)}号"
        row = dict(
            kind=kind, name=name, name_en=name_en, status=status,
            capacity=rng.randint(*CAPACITY[kind]), province_code=province, address=address,
            contact_name=contact, contact_phone=phone(rng), contact_email=f"{contact_py}@{slug}.demo",
            contract_start=start, contract_end=end,
            tier_l1="L1" in tiers, tier_l2="L2" in tiers, tier_l3="L3" in tiers,
            created_at=china_time(start - timedelta(days=20), 10),
        )
        partner = PartnerPlan(row, slug, home, offset=offset)
        partner.events = plan_events(rng, partner, today)
        partners.append(partner)
        return partner

    def cover(partner, region, lines=None, tiers=None, ended=False):
        tiers = tiers or [t for t in ("L1", "L2", "L3") if partner.row["tier_" + t.lower()]]
        start_delay = rng.randint(0, min(60, partner.offset - 1))
        effective_from = partner.row["contract_start"] + timedelta(days=start_delay)
        effective_to = today - timedelta(days=rng.randint(30, 300)) if ended else None
        if ended:  # the history is older than the region's current coverage
            effective_from = partner.row["contract_start"]
        if partner.row["status"] == "terminated":  # its coverage ended with its contract
            effective_to = max(partner.row["contract_end"], effective_from)
        partner.coverage.append(dict(
            region_code=region, all_product_lines=lines is None, effective_from=effective_from,
            effective_to=effective_to, tier_l1="L1" in tiers, tier_l2="L2" in tiers,
            tier_l3="L3" in tiers, created_at=china_time(effective_from, 11), lines=lines or ()))

    # Branches: one per province with a branch, covering it all, every product line, every tier.
    for province in atlas.provinces:
        english, _weight, has_branch = PROVINCES[province]
        if not has_branch:
            continue
        region = atlas.regions[province]
        slug = english.lower().replace(" ", "-") + "-branch"
        name = f"{short_name(region.name)}分公司"
        names.reserve(name, slug)
        home = atlas.areas[province][0]
        branch = new_partner("branch", name, f"{english} Branch", slug, province, home, "active",
                             ("L1", "L2", "L3"))
        cover(branch, province)
        # Integration & secondary development is specialist work: in every other province (Zhejiang
        # among them) the branch has nobody certified on it, so the coverage map shows real gaps
        # there that the recruiting list must fill.
        if len([p for p in partners if p.kind == "branch"]) % 2 == 1 or province == "330000":
            branch.gap_line = "integration"

    # Hangzhou: a joint venture for the city, an agent for 西湖区 and 滨江区, a second agent on
    # probation overlapping it in 滨江区. Random partners stay out of Hangzhou to keep this clear.
    hangzhou_py = atlas.regions[HANGZHOU].pinyin
    names.reserve(HANGZHOU_JOINT_VENTURE, f"{hangzhou_py}-hengxin")
    joint_venture = new_partner(
        "joint_venture", HANGZHOU_JOINT_VENTURE, "Hangzhou Hengxin Software Co., Ltd.",
        f"{hangzhou_py}-hengxin", "330000", HANGZHOU, "active", ("L1", "L2", "L3"), offset=1600)
    joint_venture.lines = ("oa-core", "workflow", "mobile")
    cover(joint_venture, HANGZHOU, joint_venture.lines)
    names.reserve(XIHU_AGENT, "xihu-agent")
    xihu = new_partner("agent", XIHU_AGENT, "Hangzhou Xixi Information Technology Co., Ltd.",
                       "xihu-agent", "330000", HANGZHOU, "active", ("L1", "L2"), offset=900)
    xihu.lines = ("oa-core", "workflow", "mobile")
    for county in ("330106", "330108"):
        cover(xihu, county, xihu.lines)
    names.reserve(QIANJIANG_AGENT, f"{hangzhou_py}-qianjiang")
    qianjiang = new_partner("agent", QIANJIANG_AGENT, "Hangzhou Qianjiang Network Technology Co., Ltd.",
                            f"{hangzhou_py}-qianjiang", "330000", HANGZHOU, "probation", ("L1", "L2"),
                            offset=700)
    qianjiang.lines = ("oa-core", "workflow")
    for county in ("330108", "330109"):
        cover(qianjiang, county, qianjiang.lines)

    weights = [PROVINCES[p][1] for p in atlas.provinces]
    big_provinces = [p for p in atlas.provinces if PROVINCES[p][1] >= 3]

    def home_area(province):
        areas = [a for a in atlas.areas[province] if a != HANGZHOU]
        # The capital (the first city) draws three times as many partners as any other city.
        return rng.choices(areas, [3 if i == 0 else 1 for i in range(len(areas))])[0]

    def statuses(kind, count):
        listed = UNUSUAL_STATUSES[kind] + ["active"] * (count - len(UNUSUAL_STATUSES[kind]))
        rng.shuffle(listed)
        return listed

    def city_level(partner, province, extra):
        areas = [a for a in atlas.areas[province] if a not in (partner.home, HANGZHOU)]
        if partner.home == province:  # a municipality: a handful of districts instead of cities
            for county in rng.sample(atlas.leaves[province], rng.randint(2, 4)):
                cover(partner, county, partner.lines, coverage_tiers(partner))
            return
        cover(partner, partner.home, partner.lines, coverage_tiers(partner))
        for area in rng.sample(areas, min(len(areas), rng.randint(0, extra))):
            cover(partner, area, partner.lines, coverage_tiers(partner))

    def coverage_tiers(partner):
        tiers = [t for t in ("L1", "L2", "L3") if partner.row["tier_" + t.lower()]]
        return tiers[:-1] if len(tiers) > 1 and rng.random() < 0.2 else tiers

    # Joint ventures in the bigger markets, franchisees anywhere: city-level coverage.
    for kind, provinces, extra, full_tiers in (
            ("joint_venture", [rng.choices(big_provinces, [PROVINCES[p][1] for p in big_provinces])[0]
                               for _ in range(PARTNER_COUNTS["joint_venture"] - 1)], 2, 1.0),
            ("franchisee", [rng.choices(atlas.provinces, weights)[0]
                            for _ in range(PARTNER_COUNTS["franchisee"])], 1, 0.7)):
        for province, status in zip(provinces, statuses(kind, len(provinces))):
            home = home_area(province)
            name, name_en, slug = names.company(rng, atlas, home)
            tiers = ("L1", "L2", "L3") if rng.random() < full_tiers else ("L1", "L2")
            partner = new_partner(kind, name, name_en, slug, province, home, status, tiers)
            partner.lines = pick_lines(rng, rng.randint(2, 4))
            city_level(partner, province, extra)

    # Agents: one in every province, the rest where the market is; mostly 1–4 counties, some a city.
    count = PARTNER_COUNTS["agent"] - 2
    provinces = list(atlas.provinces) + rng.choices(atlas.provinces, weights, k=count - len(atlas.provinces))
    agents = []
    for province, status in zip(provinces, statuses("agent", count)):
        home = home_area(province)
        name, name_en, slug = names.company(rng, atlas, home)
        tiers = ("L1", "L2", "L3") if rng.random() < 0.25 else ("L1", "L2")
        agent = new_partner("agent", name, name_en, slug, province, home, status, tiers)
        agent.lines = pick_lines(rng, rng.choice((1, 2, 2, 3)))
        if rng.random() < 0.2 and home != province:
            cover(agent, home, agent.lines, coverage_tiers(agent))
        else:
            counties = atlas.leaves[home]
            for county in rng.sample(counties, min(len(counties), rng.choice((1, 1, 2, 2, 3, 4)))):
                cover(agent, county, agent.lines, coverage_tiers(agent))
        agents.append(agent)

    # History: a few partners used to cover a neighbouring region and no longer do.
    established = [p for p in partners if p.kind != "branch" and p.row["status"] == "active"
                   and p.offset >= 500 and p.name not in (XIHU_AGENT, HANGZHOU_JOINT_VENTURE)]
    for partner in rng.sample(established, 10):
        covered = {c["region_code"] for c in partner.coverage}
        level = atlas.regions[partner.coverage[0]["region_code"]].level
        pool = atlas.leaves[partner.home] if level == "county" else atlas.areas[partner.row["province_code"]]
        candidates = [code for code in pool if code not in covered and code != HANGZHOU]
        if candidates:
            cover(partner, rng.choice(candidates), partner.lines, ended=True)

    # "Certified before serving": a few agents cover a product line nobody of theirs is certified on.
    eligible = [a for a in agents if a.row["status"] == "active" and len(a.lines) >= 2]
    for agent in rng.sample(eligible, 5):
        agent.gap_line = rng.choice(agent.lines)
    return partners


def plan_events(rng, partner: PartnerPlan, today: date) -> list[dict]:
    """created, then onboarding → active, then the road to the partner's present status."""
    start = partner.row["contract_start"]
    status = partner.row["status"]
    events = [dict(kind="created", from_status=None, to_status="onboarding", reason=None,
                   at=partner.row["created_at"])]
    if status == "onboarding":
        return events
    activated = "分公司设立" if partner.kind == "branch" else "通过准入评估"
    events.append(dict(kind="status_changed", from_status="onboarding", to_status="active",
                       reason=activated, at=china_time(start, 10)))
    steps = {"probation": ["probation"], "suspended": ["probation", "suspended"],
             "terminated": ["probation", "suspended", "terminated"]}.get(status, [])
    # Days ago, most recent last; all within the partner's contract time (offset >= 150 days).
    days_ago = sorted(rng.sample(range(10, 140), len(steps)), reverse=True)
    previous = "active"
    for step, ago in zip(steps, days_ago):
        day = today - timedelta(days=ago)
        events.append(dict(kind="status_changed", from_status=previous, to_status=step,
                           reason=rng.choice(STATUS_REASONS[step]), at=china_time(day, 15)))
        previous = step
    if status == "terminated":
        partner.row["contract_end"] = today - timedelta(days=days_ago[-1])
    return events
