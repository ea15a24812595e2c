"""The demo network: ~150 partners over mainland China, their engineers, customers and contracts,
and a few months of ticket history in which some partners visibly push back.

Everything is drawn from one fixed random seed, with dates counted back from today in China, and
inserted only where its natural key is missing: seeding twice leaves the database as seeding once.
Tickets have no natural key: the history is inserted whole, once, when none of it is there.
"""
import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

import sqlalchemy as sa

from partnernet.auth.models import User
from partnernet.customers.models import Contract, Customer, contract_product_line
from partnernet.extensions import db
from partnernet.network.models import (
    Certification, Coverage, Engineer, Party, PartyEvent, ProductLine, coverage_product_line,
)
from partnernet.regions.models import Region
from partnernet.settings.models import SlaPolicy
from partnernet.tickets.models import Ticket, TicketEvent
from partnernet.timeclock import CHINA, today_in_china

DEMO_PASSWORD = "partnernet-demo"
SEED = 2260  # after GB/T 2260; any fixed number would do, changing it changes the whole demo

HQ = "<hq>"  # stands for the HQ party in the plan, whatever its name in the database

# Mainland provinces: English name, market weight (how many partners and customers it draws),
# and whether the vendor has a branch (分公司) there. Hong Kong, Macau and Taiwan are left out.
PROVINCES = {
    "110000": ("Beijing", 6, True), "120000": ("Tianjin", 3, True), "130000": ("Hebei", 5, True),
    "140000": ("Shanxi", 3, True), "150000": ("Inner Mongolia", 2, False),
    "210000": ("Liaoning", 3, True), "220000": ("Jilin", 2, False),
    "230000": ("Heilongjiang", 2, True), "310000": ("Shanghai", 6, True),
    "320000": ("Jiangsu", 9, True), "330000": ("Zhejiang", 8, True), "340000": ("Anhui", 5, True),
    "350000": ("Fujian", 5, True), "360000": ("Jiangxi", 3, True), "370000": ("Shandong", 8, True),
    "410000": ("Henan", 6, True), "420000": ("Hubei", 5, True), "430000": ("Hunan", 5, True),
    "440000": ("Guangdong", 10, True), "450000": ("Guangxi", 3, True), "460000": ("Hainan", 1, False),
    "500000": ("Chongqing", 4, True), "510000": ("Sichuan", 6, True), "520000": ("Guizhou", 3, True),
    "530000": ("Yunnan", 3, True), "540000": ("Tibet", 1, False), "610000": ("Shaanxi", 4, True),
    "620000": ("Gansu", 2, True), "630000": ("Qinghai", 1, False), "640000": ("Ningxia", 1, False),
    "650000": ("Xinjiang", 2, True),
}
PARTNER_COUNTS = {"joint_venture": 15, "franchisee": 35, "agent": 75}
ENGINEERS_PER_PARTNER = {"branch": (5, 8), "joint_venture": (4, 7), "franchisee": (3, 6), "agent": (2, 4)}
HQ_ENGINEERS = 15
CUSTOMERS = 1000
CAPACITY = {"branch": (30, 60), "joint_venture": (20, 50), "franchisee": (10, 40), "agent": (5, 25)}
# Statuses other than active, per kind; every branch is active.
UNUSUAL_STATUSES = {
    "joint_venture": ["probation"],
    "franchisee": ["onboarding", "onboarding", "probation", "probation", "suspended", "terminated"],
    "agent": ["onboarding", "onboarding", "onboarding", "probation", "probation", "probation",
              "suspended", "suspended", "terminated", "terminated"],
}
SALES_WEIGHT = {"branch": 3, "joint_venture": 2.5, "franchisee": 1.5, "agent": 1}

LINES = ("oa-core", "workflow", "mobile", "integration")
LINE_WEIGHTS = (6, 4, 3, 1)
LINE_ABBREVIATIONS = {"oa-core": "OA", "workflow": "WF", "mobile": "MB", "integration": "IN"}
CERTIFICATE_DAYS = 730  # a certificate is valid for two years

SURNAMES = [
    ("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"), ("杨", "yang"),
    ("黄", "huang"), ("赵", "zhao"), ("吴", "wu"), ("周", "zhou"), ("徐", "xu"), ("孙", "sun"),
    ("马", "ma"), ("朱", "zhu"), ("胡", "hu"), ("郭", "guo"), ("何", "he"), ("林", "lin"),
    ("高", "gao"), ("罗", "luo"), ("郑", "zheng"), ("梁", "liang"), ("谢", "xie"), ("宋", "song"),
    ("唐", "tang"), ("许", "xu"), ("韩", "han"), ("冯", "feng"), ("邓", "deng"), ("曹", "cao"),
    ("彭", "peng"), ("曾", "zeng"), ("肖", "xiao"), ("田", "tian"), ("董", "dong"), ("潘", "pan"),
    ("袁", "yuan"), ("蔡", "cai"), ("蒋", "jiang"), ("余", "yu"), ("杜", "du"), ("叶", "ye"),
    ("程", "cheng"), ("魏", "wei"), ("苏", "su"), ("吕", "lv"), ("丁", "ding"), ("沈", "shen"),
]
GIVEN = [
    ("伟", "wei"), ("芳", "fang"), ("娜", "na"), ("敏", "min"), ("静", "jing"), ("丽", "li"),
    ("强", "qiang"), ("磊", "lei"), ("军", "jun"), ("洋", "yang"), ("勇", "yong"), ("艳", "yan"),
    ("杰", "jie"), ("涛", "tao"), ("明", "ming"), ("超", "chao"), ("霞", "xia"), ("平", "ping"),
    ("刚", "gang"), ("华", "hua"), ("英", "ying"), ("建", "jian"), ("文", "wen"), ("辉", "hui"),
    ("玲", "ling"), ("鹏", "peng"), ("宇", "yu"), ("浩", "hao"), ("凯", "kai"), ("晨", "chen"),
    ("欣", "xin"), ("婷", "ting"), ("雪", "xue"), ("琳", "lin"), ("博", "bo"), ("佳", "jia"),
    ("俊", "jun"), ("帆", "fan"), ("昊", "hao"), ("睿", "rui"), ("思", "si"), ("雨", "yu"),
    ("子", "zi"), ("涵", "han"), ("泽", "ze"), ("嘉", "jia"), ("一", "yi"), ("晓", "xiao"),
    ("志", "zhi"), ("海", "hai"), ("亮", "liang"), ("斌", "bin"), ("峰", "feng"), ("宁", "ning"),
]
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
CHINESE_NUMERALS = "一二三四五六"
GOVERNMENT_OFFICES = [
    "人民政府办公室", "财政局", "住房和城乡建设局", "自然资源和规划局", "生态环境局", "教育局",
    "卫生健康委员会", "市场监督管理局", "人力资源和社会保障局", "交通运输局", "水利局", "农业农村局",
    "应急管理局", "医疗保障局", "统计局", "审计局", "档案馆", "公共资源交易中心", "政务服务中心",
]
CUSTOMER_INDUSTRIES = ["建设", "能源", "交通", "水务", "医药", "物流", "食品", "机械", "纺织", "化工",
                       "电力", "港务", "投资", "置业", "钢铁", "汽车", "建材", "农业", "文旅", "环保",
                       "电子", "燃气", "商贸", "粮油"]
CUSTOMER_WORDS = ["华", "东方", "新", "恒", "金", "长城", "中天", "宏达", "瑞", "永安", "正大", "天元",
                  "海", "国泰", "鸿运", "兴业", "通达", "联合", "万嘉", "富华"]
PUBLIC_BODIES = ["图书馆", "博物馆", "广播电视台", "住房公积金管理中心", "社会保险事业管理中心",
                 "疾病预防控制中心", "供水有限公司", "公交集团有限公司"]
# Autonomous prefectures and regions carry the names of their peoples; a short name drops them.
PEOPLES = ("朝鲜", "土家", "苗", "侗", "布依", "藏", "羌", "彝", "傣", "景颇", "白", "哈尼", "壮",
           "傈僳", "回", "蒙古", "哈萨克", "柯尔克孜", "维吾尔", "畲", "满", "瑶", "黎", "土", "撒拉",
           "仡佬", "水", "毛南", "仫佬", "达斡尔", "鄂温克", "鄂伦春", "纳西", "拉祜", "佤", "普米",
           "独龙", "怒", "布朗", "保安", "东乡", "锡伯", "塔吉克", "裕固", "各")
STATUS_REASONS = {
    "probation": ["推诿率连续两个季度超过阈值", "超时未接单次数过多，整改期三个月", "客户投诉：现场服务未按约定到达"],
    "suspended": ["试用期内推诿率仍未改善", "持证工程师全部离职，暂停派单"],
    "terminated": ["合同到期未续签", "严重违约：售出后服务长期推回总部"],
}
REVIEW_NOTES = {
    "rejected": ["证书编号无法在认证系统中核验", "扫描件不清晰，请重新上传", "证书持有人姓名与工程师档案不一致"],
    "revoked": ["复核发现考试成绩作废", "证书系冒用他人信息取得"],
}

# The partners the routing demo in Zhejiang is built around (see seed_demo's docstring).
ZHEJIANG_BRANCH = "浙江分公司"
HANGZHOU_JOINT_VENTURE = "杭州恒信软件有限公司"
XIHU_AGENT = "杭州西溪信息技术有限公司"
QIANJIANG_AGENT = "杭州钱江网络科技有限公司"
HANGZHOU = "330100"
# The push-back partner of the audit walk-through (see PUSH_BACK_PARTNERS): Lishui's on-site franchisee.
LISHUI_FRANCHISEE = "丽水同创科技有限公司"

# email, role, party (plan name), display name; the engineer user is the Xihu agent's first engineer.
DEMO_USERS = [
    ("admin@hq.demo", "hq_admin", HQ, "总部管理员"),
    ("manager@hq.demo", "hq_manager", HQ, "渠道经理"),
    ("agent@hq.demo", "hq_agent", HQ, "总部客服"),
    ("admin@xihu-agent.demo", "partner_admin", XIHU_AGENT, "西溪管理员"),
    ("admin@zhejiang-branch.demo", "partner_admin", ZHEJIANG_BRANCH, "浙江分公司管理员"),
    ("admin@hangzhou-jv.demo", "partner_admin", HANGZHOU_JOINT_VENTURE, "恒信管理员"),
    ("engineer@xihu-agent.demo", "engineer", XIHU_AGENT, None),
    ("admin@lishui-franchisee.demo", "partner_admin", LISHUI_FRANCHISEE, "丽水同创管理员"),
]


def has_partners() -> bool:
    """Whether any party other than HQ exists (then `seed-demo --if-empty` leaves the data alone)."""
    return db.session.execute(sa.select(sa.exists().where(Party.kind != "hq"))).scalar()


def demo_logins() -> list[tuple[str, str, str]]:
    """(email, role, party name) of the demo users present in the database, in a fixed order."""
    emails = [email for email, *_rest in DEMO_USERS]
    found = dict((row.email, (row.email, row.role, row.name)) for row in db.session.execute(
        sa.select(User.email, User.role, Party.name).join(Party, User.party_id == Party.id)
        .where(User.email.in_(emails))))
    return [found[email] for email in emails if email in found]


def seed_demo(today: date | None = None) -> dict:
    """Add the demo network where it is missing and return how many of each thing exist.

    In Zhejiang the routing has something to show: the branch covers the province, a joint venture
    covers Hangzhou, an agent (the demo partner_admin's) covers 西湖区 and 滨江区, and an agent on
    probation overlaps it in 滨江区. Everything else is spread over all 31 mainland provinces.

    The ticket history runs from the first day of the month three months back to yesterday: an
    audit of last month flags the PUSH_BACK_PARTNERS and the SOLD_NOT_SERVED_PARTNER, nobody else.
    """
    today = today or today_in_china()
    atlas = load_atlas()
    plan = build_plan(atlas, today)
    insert_plan(plan, today)
    if not has_history():
        insert_history(plan_history(load_network(atlas), today), china_time(today, 0))
    db.session.commit()
    return count_network()


def count_network() -> dict:
    def count(model, *where):
        return db.session.execute(sa.select(sa.func.count()).select_from(model).where(*where)).scalar_one()
    return {
        "partners": count(Party, Party.kind != "hq"),
        "coverage": count(Coverage),
        "engineers": count(Engineer),
        "certifications": count(Certification),
        "customers": count(Customer),
        "contracts": count(Contract),
        "users": count(User),
        "tickets": count(Ticket),
    }


# --- the regions the plan draws from ------------------------------------------------------------

def short_name(name: str) -> str:
    """浙江省 → 浙江, 杭州市 → 杭州, 恩施土家族苗族自治州 → 恩施, 新疆维吾尔自治区 → 新疆."""
    for suffix in ("特别行政区", "自治区", "自治州", "地区", "省", "市", "盟"):
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            stem = name[:-len(suffix)]
            if suffix.startswith("自治"):
                stem = strip_peoples(stem)
            return stem
    return name


def strip_peoples(stem: str) -> str:
    peoples = sorted(PEOPLES, key=len, reverse=True)
    while True:
        for people in peoples:
            ending = next((e for e in (people + "族", people) if stem.endswith(e)), None)
            if ending and len(stem) - len(ending) >= 2:
                stem = stem[:-len(ending)]
                break
        else:
            return stem


@dataclass
class Atlas:
    """The mainland regions as the plan needs them: provinces, their areas and leaf regions."""

    regions: dict  # code -> Region row (code, name, pinyin, level, parent_code)
    provinces: list[str]
    areas: dict  # province -> codes of its cities with counties, or [province] for municipalities
    leaves: dict  # province or city -> codes of the counties (or county-less cities) under it

    def city_of(self, code: str) -> str:
        """The city a county lies in; the province itself for a municipality's districts."""
        region = self.regions[code]
        return code if region.level != "county" else region.parent_code


def load_atlas() -> Atlas:
    rows = db.session.execute(sa.select(Region.code, Region.name, Region.pinyin, Region.level,
                                        Region.parent_code).order_by(Region.code)).all()
    regions = {row.code: row for row in rows}
    provinces = [row.code for row in rows if row.level == "province" and row.code in PROVINCES]
    leaves = {code: [] for code in regions}
    areas = {code: [] for code in provinces}
    for row in rows:
        if row.level == "county":
            leaves[row.parent_code].append(row.code)
            parent = regions[row.parent_code]
            if parent.level == "city":
                leaves[parent.parent_code].append(row.code)
    for row in rows:
        if row.level == "city" and row.parent_code in areas:
            if leaves[row.code]:
                areas[row.parent_code].append(row.code)
            else:  # a city without counties (东莞, 中山) is itself a leaf
                leaves[row.parent_code].append(row.code)
                leaves[row.code].append(row.code)
    for province in provinces:
        if not areas[province]:  # Beijing, Tianjin, Shanghai, Chongqing: districts under the province
            areas[province] = [province]
        leaves[province].sort()
    return Atlas(regions, provinces, areas, leaves)


# --- the plan: every row with its natural key, no ids yet ----------------------------------------

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


def phone(rng) -> str:
    return f"1{rng.choice('35789')}{rng.randint(0, 9)}-{rng.randint(0, 9999):04d}-{rng.randint(0, 9999):04d}"


def person(rng) -> tuple[str, str]:
    surname, surname_py = rng.choice(SURNAMES)
    given = rng.sample(GIVEN, rng.choice((1, 2, 2, 2)))
    return surname + "".join(g for g, _py in given), surname_py + "".join(py for _g, py in given)


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


def build_plan(atlas: Atlas, today: date) -> Plan:
    """The whole demo as plain rows. Random draws never depend on `today`, only dates do, so that
    the names and keys come out the same whichever day the demo is seeded."""
    rng = random.Random(SEED)
    partners = plan_partners(rng, atlas, today)
    engineers, certifications = plan_engineers(rng, partners, today)
    customers, contracts = plan_customers(rng, atlas, partners, today)
    users = plan_users(engineers, today)
    return Plan(partners, engineers, certifications, customers, contracts, users)


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


def plan_engineers(rng, partners: list[PartnerPlan], today: date) -> tuple[list, list]:
    engineers, certifications = [], []
    serial = iter(range(1, 1_000_000))
    teams = [(HQ, "hq", "hq", LINES, None, 3000)]
    teams += [(p.name, p.slug, p.kind, p.lines, p.gap_line, p.offset) for p in partners]
    for party, slug, kind, lines, gap_line, offset in teams:
        if party == XIHU_AGENT:
            size = 4
        else:
            size = HQ_ENGINEERS if kind == "hq" else rng.randint(*ENGINEERS_PER_PARTNER[kind])
        team, held = [], []
        for index in range(size):
            name, name_py = person(rng)
            email, n = f"{name_py}@{slug}.demo", 2
            while any(e["email"] == email for e in team):
                email, n = f"{name_py}{n}@{slug}.demo", n + 1
            joined = today - timedelta(days=rng.randint(1, max(1, offset - 1)))
            active = rng.random() < 0.96
            demo_engineer = party == XIHU_AGENT and index == 0  # the demo engineer user's record
            team.append(dict(party=party, name=name, phone=phone(rng), email=email,
                             active=active or demo_engineer, created_at=china_time(joined, 9, 30)))
            if demo_engineer:
                kinds = [("oa-core", "professional", "valid"), ("workflow", "associate", "expiring"),
                         ("mobile", "associate", "pending")]
            elif rng.random() < 0.1:
                kinds = []  # new hires, not certified yet
            else:
                weights = [4 if line in lines else 1 for line in LINES]
                count = rng.choices((1, 2, 3), (50, 35, 15))[0]
                kinds = [(line, rng.choices(("associate", "professional", "expert"), (50, 35, 15))[0],
                          certification_status(rng, line == gap_line))
                         for line in weighted_sample(rng, LINES, weights, count)]
            held += [plan_certification(rng, email, line, level, status, next(serial), today)
                     for line, level, status in kinds]
        # Every covered line but the deliberate gap has someone certified on it for a while yet:
        # an engineer without a certificate for the line gets one, else the first holder renews.
        for line in lines:
            if line == gap_line or any(c["line"] == line and c["category"] == "valid" for c in held):
                continue
            holders = [c["engineer"] for c in held if c["line"] == line]
            free = [e["email"] for e in team if e["email"] not in holders]
            certificate = plan_certification(
                rng, (free or holders)[0], line, "associate", "valid", next(serial), today)
            if free:
                held.append(certificate)
            else:
                held[next(i for i, c in enumerate(held) if c["line"] == line)] = certificate
        engineers += team
        certifications += held
    return engineers, certifications


def certification_status(rng, gap: bool) -> str:
    draw = rng.random()
    # Drawn a little below the targets for valid certificates (75% plus 5% expiring soon): the
    # top-up that keeps every covered line served adds valid ones.
    status = ("valid" if draw < 0.73 else "expiring" if draw < 0.78 else "expired" if draw < 0.865
              else "pending" if draw < 0.94 else "rejected" if draw < 0.975 else "revoked")
    if gap and status in ("valid", "expiring"):
        return "expired"
    return status


def plan_certification(rng, engineer_email, line, level, category, serial, today) -> dict:
    """One certificate; `category` is its status, with "expiring" a valid one running out soon."""
    if category == "valid":
        # Issued before the ticket history begins, so that whoever serves today served all along:
        # the drawn days to expiry are scaled into the range that allows it.
        days = rng.randint(31, CERTIFICATE_DAYS - 10)
        latest = CERTIFICATE_DAYS - 1 - (today - history_period(today)[0]).days
        expires_on = today + timedelta(days=31 + (days - 31) * (latest - 31) // (CERTIFICATE_DAYS - 10 - 31))
    elif category == "expiring":
        expires_on = today + timedelta(days=rng.randint(3, 28))
    elif category == "expired":
        expires_on = today - timedelta(days=rng.randint(1, 300))
    elif category == "pending":
        expires_on = today - timedelta(days=rng.randint(3, 25)) + timedelta(days=CERTIFICATE_DAYS)
    else:  # rejected, revoked
        expires_on = today - timedelta(days=rng.randint(30, 400)) + timedelta(days=CERTIFICATE_DAYS)
    issued_on = expires_on - timedelta(days=CERTIFICATE_DAYS)
    submitted_at = china_time(issued_on + timedelta(days=rng.randint(0, 2)), 14)
    reviewed_at, note = None, None
    if category != "pending":
        reviewed_at = submitted_at + timedelta(days=2, hours=rng.randint(0, 3))
    if category in REVIEW_NOTES:
        note = rng.choice(REVIEW_NOTES[category])
    if category == "revoked":
        reviewed_at = china_time(today - timedelta(days=rng.randint(5, 25)), 16)
    return dict(
        engineer=engineer_email, line=line, category=category, level=level,
        number=f"PN-{LINE_ABBREVIATIONS[line]}-{issued_on.year}-{serial:06d}",
        issued_on=issued_on, expires_on=expires_on,
        status="valid" if category == "expiring" else category,
        submitted_at=submitted_at, reviewed_at=reviewed_at, review_note=note,
    )


class CustomerNames:
    """Unique organisation names built from the region: hospitals, schools, offices, companies."""

    def __init__(self):
        self.names = set()

    def draw(self, rng, atlas: Atlas, region_code: str) -> str:
        county = atlas.regions[region_code].name
        city = atlas.regions[atlas.city_of(region_code)].name
        short = short_name(city)
        while True:
            kind = rng.choices(("hospital", "school", "office", "company", "bank", "public"),
                               (15, 12, 20, 40, 8, 5))[0]
            numeral = rng.choice(CHINESE_NUMERALS)
            place = rng.choice((city, county))
            name = {
                "hospital": rng.choice((f"{city}第{numeral}人民医院", f"{city}中医院", f"{city}妇幼保健院",
                                        f"{county}人民医院", f"{county}中医院")),
                "school": rng.choice((f"{short}职业技术学院", f"{short}师范学院", f"{short}理工学院",
                                      f"{city}第{numeral}中学", f"{county}第{numeral}中学")),
                "office": f"{place}{rng.choice(GOVERNMENT_OFFICES)}",
                "company": f"{short}{rng.choice(CUSTOMER_WORDS)}{rng.choice(CUSTOMER_INDUSTRIES)}"
                           f"{rng.choice(('集团有限公司', '有限公司', '股份有限公司'))}",
                "bank": rng.choice((f"{short}农村商业银行", f"{short}银行", f"{county}农村信用合作联社")),
                "public": f"{place}{rng.choice(PUBLIC_BODIES)}",
            }[kind]
            if name not in self.names:
                self.names.add(name)
                return name


def plan_customers(rng, atlas: Atlas, partners: list[PartnerPlan], today: date) -> tuple[list, list]:
    sellers = [p for p in partners if p.row["status"] != "onboarding"]
    seller_weights = [SALES_WEIGHT[p.kind] for p in sellers]
    province_weights = [PROVINCES[p][1] for p in atlas.provinces]
    names = CustomerNames()
    customers, contracts = [], []
    serial = iter(range(1, 1_000_000))
    for _ in range(CUSTOMERS):
        if rng.random() < 0.25:
            seller = None
            province = rng.choices(atlas.provinces, province_weights)[0]
            region = rng.choice(atlas.leaves[province])
        else:
            seller = rng.choices(sellers, seller_weights)[0]
            served = sorted({leaf for c in seller.coverage for leaf in (
                atlas.leaves[c["region_code"]] or [c["region_code"]])})
            pool = served if rng.random() < 0.7 else atlas.leaves[seller.row["province_code"]]
            region = rng.choice(pool)
        sold_by = seller.name if seller else HQ
        name = names.draw(rng, atlas, region)
        contact, _py = person(rng)
        offsets = sorted(rng.sample(range(30, 3 * 365), rng.choices((1, 2), (70, 30))[0]), reverse=True)
        first_met = today - timedelta(days=offsets[0] + rng.randint(0, 20))
        customers.append(dict(
            name=name, region_code=region, sold_by=sold_by, contact_name=contact, contact_phone=phone(rng),
            contact_email=None, created_at=china_time(first_met, 11)))
        for ordinal, offset in enumerate(offsets, start=1):
            contracts.append(plan_contract(rng, name, ordinal, sold_by, offset, next(serial), today))
    return customers, contracts


def plan_contract(rng, customer, ordinal, sold_by, offset, serial, today) -> dict:
    """A contract started `offset` days ago; after its free first year it is paid up or it lapsed."""
    starts_on = today - timedelta(days=offset)
    if rng.random() < 0.3:
        value = Decimal(rng.randint(80, 499) * 100)
    else:
        value = Decimal(1000 * int(50 + 750 * rng.random() ** 2))
    lines = pick_lines(rng, rng.choices((1, 2, 3), (45, 35, 20))[0])
    lapsed = rng.random() < 0.25
    paid_years = rng.randint(1, 3)
    if offset < 366:
        paid_until = None  # the first year of service is free
    elif lapsed and offset >= 400:
        # Paid for some years, then stopped: the last paid year ended before today.
        paid_until = add_years(starts_on, min(paid_years, (offset - 30) // 366))
    else:
        paid_until = add_years(starts_on, offset // 365 + 1)  # renewed through the coming year
    sla = "24x7" if value >= 300_000 and rng.random() < 0.6 else "business-hours"
    signed = starts_on - timedelta(days=rng.randint(1, 10))
    return dict(
        customer=customer, ordinal=ordinal, sold_by=sold_by, lines=lines, sla=sla,
        number=f"HT-{starts_on.year}-{serial:05d}", value=value, starts_on=starts_on,
        service_paid_until=paid_until, created_at=china_time(signed, 15))


def plan_users(engineers: list, today: date) -> list:
    first_xihu_engineer = next(e for e in engineers if e["party"] == XIHU_AGENT)
    created_at = china_time(today - timedelta(days=1), 9)
    users = []
    for email, role, party, name in DEMO_USERS:
        engineer = first_xihu_engineer["email"] if role == "engineer" else None
        users.append(dict(email=email, role=role, party=party, engineer=engineer, locale=None,
                          name=name or first_xihu_engineer["name"], created_at=created_at))
    return users


# --- writing the plan: insert what is missing, in bulk ------------------------------------------

def insert_missing(model, rows: list[dict], key: tuple[str, ...]) -> list[dict]:
    """Insert the rows whose natural key is not in the table yet; return them."""
    columns = [getattr(model, name) for name in key]
    existing = set(db.session.execute(sa.select(*columns)).all())
    new = [row for row in rows if tuple(row[name] for name in key) not in existing]
    if new:
        db.session.execute(sa.insert(model), new)
    return new


def ids_by(column, id_column, values) -> dict:
    values = list(values)
    found = {}
    for start in range(0, len(values), 500):
        found.update(db.session.execute(
            sa.select(column, id_column).where(column.in_(values[start:start + 500]))).all())
    return found


def without(row: dict, *keys) -> dict:
    return {k: v for k, v in row.items() if k not in keys}


def insert_plan(plan: Plan, today: date) -> None:
    hq_id = db.session.execute(sa.select(Party.id).where(Party.kind == "hq")).scalar_one()
    line_ids = dict(db.session.execute(sa.select(ProductLine.code, ProductLine.id)).all())
    sla_ids = dict(db.session.execute(sa.select(SlaPolicy.code, SlaPolicy.id)).all())

    insert_missing(Party, [p.row for p in plan.partners], ("name",))
    party_ids = ids_by(Party.name, Party.id, [p.name for p in plan.partners])
    party_ids[HQ] = hq_id

    insert_missing(PartyEvent, [
        dict(event, party_id=party_ids[p.name])  # no actor: the demo, not a user, made these
        for p in plan.partners for event in p.events], ("party_id", "kind", "to_status"))

    coverage = [dict(without(c, "lines"), party_id=party_ids[p.name])
                for p in plan.partners for c in p.coverage]
    lines_of = {(p.name, c["region_code"]): c["lines"] for p in plan.partners for c in p.coverage}
    new = insert_missing(Coverage, coverage, ("party_id", "region_code"))
    if new:
        names = {v: k for k, v in party_ids.items()}
        rows = db.session.execute(sa.select(Coverage.id, Coverage.party_id, Coverage.region_code).where(
            Coverage.party_id.in_({c["party_id"] for c in new}))).all()
        wanted = {(c["party_id"], c["region_code"]) for c in new}
        links = [dict(coverage_id=row.id, product_line_id=line_ids[line])
                 for row in rows if (row.party_id, row.region_code) in wanted
                 for line in lines_of[(names[row.party_id], row.region_code)]]
        if links:
            db.session.execute(sa.insert(coverage_product_line), links)

    insert_missing(Engineer, [dict(without(e, "party"), party_id=party_ids[e["party"]])
                              for e in plan.engineers], ("email",))
    engineer_ids = ids_by(Engineer.email, Engineer.id, [e["email"] for e in plan.engineers])
    insert_missing(Certification, [
        dict(without(c, "engineer", "line", "category"), engineer_id=engineer_ids[c["engineer"]],
             product_line_id=line_ids[c["line"]]) for c in plan.certifications],
        ("engineer_id", "product_line_id"))

    insert_missing(Customer, [dict(without(c, "sold_by"), sold_by_party_id=party_ids[c["sold_by"]])
                              for c in plan.customers], ("name",))
    customer_ids = ids_by(Customer.name, Customer.id, [c["name"] for c in plan.customers])
    # A customer's contracts are keyed by their order: the numbers carry the start year, which
    # moves with the day of seeding, while "the customer's second contract" does not.
    held = dict(db.session.execute(sa.select(Contract.customer_id, sa.func.count()).group_by(
        Contract.customer_id)).all())
    new = [c for c in plan.contracts if c["ordinal"] > held.get(customer_ids[c["customer"]], 0)]
    if new:
        db.session.execute(sa.insert(Contract), [
            dict(without(c, "customer", "ordinal", "sold_by", "lines", "sla"),
                 customer_id=customer_ids[c["customer"]], sold_by_party_id=party_ids[c["sold_by"]],
                 sla_policy_id=sla_ids[c["sla"]]) for c in new])
        contract_ids = ids_by(Contract.number, Contract.id, [c["number"] for c in new])
        db.session.execute(sa.insert(contract_product_line), [
            dict(contract_id=contract_ids[c["number"]], product_line_id=line_ids[line])
            for c in new for line in c["lines"]])

    existing = set(db.session.execute(sa.select(User.email)).scalars())
    for row in plan.users:
        if row["email"] in existing:
            continue
        user = User(**without(row, "party", "engineer"), party_id=party_ids[row["party"]],
                    engineer_id=engineer_ids.get(row["engineer"]))
        user.set_password(DEMO_PASSWORD)
        db.session.add(user)
    db.session.flush()


# --- the ticket history: a few months of tickets, routed and answered as the product would ------

HISTORY_NOTE = "演示数据：历史工单"  # on each history ticket's "created" event; its presence means seeded
HISTORY_MONTHS = 3  # the history starts on the first day of the month three months back
TICKETS_PER_WORKING_DAY = (40, 70)
FIRST_TICKET_HOUR, LAST_TICKET_HOUR = 9, 16  # tickets come in on working days, 09:00–16:00 in China
# The partners the audit is there to find, each with the share of its offers it declines or lets
# expire (it also returns some of what it accepts). All active, all in provinces whose branch takes
# what they push back; the Lishui franchisee is the one to put on probation in the walk-through.
PUSH_BACK_PARTNERS = {
    LISHUI_FRANCHISEE: 0.5,          # franchisee, 丽水 (Zhejiang), the only one there on-site (L3)
    "清远捷科网络科技有限公司": 0.45,  # franchisee, 清远 (Guangdong)
    "临沂锐达科技有限公司": 0.5,      # agent, two counties of 临沂 (Shandong)
    "衡水星辰科技有限公司": 0.55,     # franchisee, 衡水 and 承德 (Hebei)
}
PUSH_BACK_DECLINES = 0.6  # of a push-back, the share declined; the rest let expire
PUSH_BACK_RETURNS = 0.08  # of what a push-back partner accepts, the share it returns to HQ
# Everyone else answers nearly every offer: a decline or a missed deadline now and then.
USUAL_PUSH_BACK, USUAL_RETURNS = 0.035, 0.004
# A partner that sold what it cannot serve: large on-site contracts across Tibet, while it covers
# phone support in Lhasa only and Tibet has no branch, so its customers' tickets end at HQ.
SOLD_NOT_SERVED_PARTNER = "拉萨捷科软件有限公司"
# The push-back partners' territories and the sold-not-served partner's customers are busy: their
# customers call this many times as often, so that one month holds enough tickets for the audit to
# tell a pattern from noise.
BUSY = 5
RESOLUTION_MET = {"partner": 0.9, "push_back": 0.75, "hq": 0.93}
# What customers call about: the core platform most; integration, specialist work done with HQ, seldom.
CALLS_PER_LINE = {"oa-core": 6, "workflow": 4, "mobile": 3, "integration": 0.5}
SUBJECTS = {
    "oa-core": ["登录后首页空白", "公文流转卡在签收环节", "组织架构同步失败", "用户无法重置密码", "考勤数据未导入",
                "会议室预约冲突", "通知公告无法发布", "系统响应缓慢", "附件上传失败", "权限配置后仍不可见"],
    "workflow": ["审批节点无法提交", "表单字段计算错误", "流程退回后丢失意见", "报销流程无法发起", "会签节点超时未流转",
                 "表单打印格式错乱", "流程归档失败", "新建流程模板保存报错"],
    "mobile": ["移动端无法登录", "手机消息推送不到", "移动审批页面显示不全", "移动端签到定位不准", "企业微信集成后无法打开"],
    "integration": ["单点登录对接失败", "与财务系统数据不同步", "接口调用返回超时", "二次开发模块升级后报错",
                    "人事系统对接字段映射错误"],
}
RESOLUTION_NOTES = ["已远程处理，客户确认恢复正常", "调整配置后问题解决", "升级补丁后恢复", "已现场排查并修复",
                    "清理缓存后恢复", "修正权限设置，客户验证通过", "指导客户完成操作"]
DECLINE_NOTES = {
    "no_capacity": "工程师都在现场，暂时无法接单", "no_engineer_available": "本周工程师休假",
    "outside_expertise": "该问题不在我们的服务范围", "customer_unreachable": "客户电话无人接听",
    "not_our_region": "客户不在我们的服务区域", "other": "请总部安排",
}
RETURN_NOTES = {"beyond_our_skills": "问题超出我方能力，需总部支持", "needs_hq_development": "需要总部研发介入",
                "capacity": "人手不足，无法继续处理", "other": "转回总部处理"}


def has_history() -> bool:
    return db.session.execute(sa.select(sa.exists().where(
        TicketEvent.kind == "created", TicketEvent.note == HISTORY_NOTE))).scalar()


def history_period(today: date) -> tuple[date, date]:
    """From the first day of the month HISTORY_MONTHS back to yesterday."""
    month = today.month - 1 - HISTORY_MONTHS
    return date(today.year + month // 12, month % 12 + 1, 1), today - timedelta(days=1)


@dataclass
class Network:
    """The network as the history's routing sees it: plain rows, loaded once from the database."""

    hq_id: int
    parties: dict  # id -> PartyFacts
    coverage: dict  # region code -> [CoverageFacts]
    certificates: dict  # (party id, product line id) -> [(engineer id, issued_on, expires_on)]
    customers: list  # (id, region code, sold_by_party_id)
    contracts: dict  # customer id -> [ContractFacts], oldest first
    policies: dict  # sla_policy id -> SlaPolicy row (detached values only)
    line_codes: dict  # product line id -> code
    line_ids: dict  # code -> product line id
    chains: dict  # region code -> ((code, level), …) up to the province
    settings: dict

    def chain(self, code: str) -> tuple:
        return self.chains.get(code, ())


@dataclass
class PartyFacts:
    id: int
    name: str
    kind: str
    capacity: int
    tiers: frozenset
    statuses: list  # (since, status), oldest first, from the party's events

    def status_at(self, moment: datetime) -> str:
        current = "onboarding"
        for since, status in self.statuses:
            if since > moment:
                break
            current = status
        return current


@dataclass
class CoverageFacts:
    party_id: int
    region_code: str
    lines: frozenset | None  # None: all product lines
    tiers: frozenset
    effective_from: date
    effective_to: date | None

    def serves(self, line_id: int, day: date) -> bool:
        return (self.effective_from <= day and (self.effective_to is None or self.effective_to >= day)
                and (self.lines is None or line_id in self.lines))


@dataclass
class ContractFacts:
    id: int
    value: Decimal
    starts_on: date
    service_paid_until: date | None
    sla_policy_id: int
    line_codes: tuple


def load_network(atlas: Atlas) -> Network:
    from partnernet.settings.service import load_settings

    def tiers_of(row) -> frozenset:
        return frozenset(t for t in ("L1", "L2", "L3") if getattr(row, "tier_" + t.lower()))

    hq_id = db.session.execute(sa.select(Party.id).where(Party.kind == "hq")).scalar_one()
    statuses = {}
    for party_id, at, to_status in db.session.execute(
            sa.select(PartyEvent.party_id, PartyEvent.at, PartyEvent.to_status)
            .where(PartyEvent.to_status.is_not(None)).order_by(PartyEvent.at, PartyEvent.id)):
        statuses.setdefault(party_id, []).append((at, to_status))
    parties = {row.id: PartyFacts(row.id, row.name, row.kind, row.capacity or 0, tiers_of(row),
                                  statuses.get(row.id, []))
               for row in db.session.execute(sa.select(Party).where(Party.kind != "hq")).scalars()}

    lines_of = {}
    for coverage_id, line_id in db.session.execute(sa.select(coverage_product_line.c.coverage_id,
                                                             coverage_product_line.c.product_line_id)):
        lines_of.setdefault(coverage_id, set()).add(line_id)
    coverage = {}
    for row in db.session.execute(sa.select(Coverage).order_by(Coverage.id)).scalars():
        coverage.setdefault(row.region_code, []).append(CoverageFacts(
            row.party_id, row.region_code, None if row.all_product_lines else frozenset(lines_of.get(row.id, ())),
            tiers_of(row), row.effective_from, row.effective_to))

    # A certificate counts on the days it ran, whatever became of it since: "expired" now was valid
    # then. Pending, rejected and revoked ones never let anyone serve.
    certificates = {}
    for engineer_id, party_id, line_id, issued_on, expires_on in db.session.execute(
            sa.select(Engineer.id, Engineer.party_id, Certification.product_line_id, Certification.issued_on,
                      Certification.expires_on)
            .join(Certification, Certification.engineer_id == Engineer.id)
            .where(Engineer.active, Certification.status.in_(("valid", "expired")))
            .order_by(Engineer.id, Certification.id)):
        certificates.setdefault((party_id, line_id), []).append((engineer_id, issued_on, expires_on))

    line_codes = dict(db.session.execute(sa.select(ProductLine.id, ProductLine.code)).all())
    customers = [tuple(row) for row in db.session.execute(
        sa.select(Customer.id, Customer.region_code, Customer.sold_by_party_id).order_by(Customer.id))]
    contract_lines = {}
    for contract_id, line_id in db.session.execute(sa.select(contract_product_line.c.contract_id,
                                                             contract_product_line.c.product_line_id)):
        contract_lines.setdefault(contract_id, []).append(line_id)
    contracts = {}
    for row in db.session.execute(sa.select(Contract).order_by(Contract.starts_on, Contract.id)).scalars():
        contracts.setdefault(row.customer_id, []).append(ContractFacts(
            row.id, row.value, row.starts_on, row.service_paid_until, row.sla_policy_id,
            tuple(sorted(line_codes[line] for line in contract_lines.get(row.id, ())))))
    policies = {row.id: row for row in db.session.execute(sa.select(SlaPolicy)).scalars()}

    chains = {}
    for code in {region for _id, region, _seller in customers}:
        chain, current = [], code
        while current:
            region = atlas.regions[current]
            chain.append((region.code, region.level))
            current = region.parent_code
        chains[code] = tuple(chain)
    return Network(hq_id, parties, coverage, certificates, customers, contracts, policies, line_codes,
                   {code: line_id for line_id, code in line_codes.items()}, chains, load_settings())


class Loads:
    """How many tickets each party holds at a moment: accepted and not yet resolved or returned."""

    def __init__(self):
        self.held = {}  # party id -> [(accepted at, released at)]

    def hold(self, party_id: int, start: datetime, end: datetime | None) -> None:
        self.held.setdefault(party_id, []).append((start, end))

    def at(self, party_id: int, moment: datetime) -> int:
        held = [(s, e) for s, e in self.held.get(party_id, ()) if e is None or e > moment]
        self.held[party_id] = held
        return sum(1 for s, _e in held if s <= moment)


class TicketLife:
    """One ticket from intake to its last event before the cut-off: the events, and after each event
    that changes the ticket, the ticket's columns as the product's services would leave them."""

    def __init__(self, row: dict, policy: SlaPolicy):
        self.row = row  # the ticket's columns, changed as the events happen
        self.policy = policy  # the contract's SLA policy
        self.events = []  # (event row, the ticket's columns after it, or None when it changes none)
        self.declined, self.expired = set(), set()

    def add(self, kind: str, at: datetime, changes: dict | None = None, **event) -> None:
        if changes is not None:
            self.row.update(changes, updated_at=at)
        event = dict(dict(party_id=None, from_status=None, to_status=None, reason_code=None, note=None, data=None),
                     kind=kind, at=at, actor_user_id=None, **event)
        self.events.append((event, dict(self.row) if changes is not None else None))

    def until(self, cutoff: datetime) -> tuple[dict, list]:
        """The ticket as it stood at `cutoff`, and its events until then, in order."""
        kept = sorted((e for e in self.events if e[0]["at"] < cutoff), key=lambda e: e[0]["at"])
        row = next(snapshot for _event, snapshot in reversed(kept) if snapshot is not None)
        return row, [event for event, _snapshot in kept]


def plan_history(network: Network, today: date) -> list[TicketLife]:
    """Tickets on every working day of the history period, each lived through in time order."""
    from partnernet.settings.calendar import load_calendar

    rng = random.Random(f"{SEED}-history")
    first, last = history_period(today)
    calendar = load_calendar(first, today + timedelta(days=60))
    cutoff = china_time(today, 0)
    busy = busy_customers(network)
    loads, answers = Loads(), Answers(rng, network)
    lives = []
    day = first
    while day <= last:
        if calendar.is_working(day):
            callers = [(customer, [(c, contract_weight(c)) for c in network.contracts.get(customer[0], ())
                                   if c.starts_on <= day]) for customer in network.customers]
            callers = [(customer, running) for customer, running in callers if running]
            weights = [sum(w for _c, w in running) * (BUSY if customer[0] in busy else 1)
                       for customer, running in callers]
            count = rng.randint(*TICKETS_PER_WORKING_DAY)
            seconds = sorted(rng.randrange((LAST_TICKET_HOUR - FIRST_TICKET_HOUR) * 3600) for _ in range(count))
            for second in seconds:
                created = china_time(day, FIRST_TICKET_HOUR) + timedelta(seconds=second)
                customer, running = rng.choices(callers, weights)[0]
                life = open_ticket(rng, network, calendar, customer, running, created)
                live(rng, network, calendar, loads, answers, life, cutoff)
                lives.append(life)
        day += timedelta(days=1)
    return lives


def contract_weight(contract: ContractFacts) -> float:
    """How often a contract's customer calls about it: more for bigger contracts and by its lines."""
    size = 0.5 + min(float(contract.value), 600_000) / 200_000
    return size * sum(CALLS_PER_LINE[line] for line in contract.line_codes) / CALLS_PER_LINE["oa-core"]


def busy_customers(network: Network) -> set:
    """The customers in the push-back partners' territories, and the sold-not-served partner's."""
    by_name = {party.name: party.id for party in network.parties.values()}
    territories = {c.region_code for coverages in network.coverage.values() for c in coverages
                   if c.effective_to is None and network.parties[c.party_id].name in PUSH_BACK_PARTNERS}
    return {customer_id for customer_id, region_code, seller in network.customers
            if seller == by_name.get(SOLD_NOT_SERVED_PARTNER)
            or any(code in territories for code, _level in network.chain(region_code))}


class Answers:
    """How partners answer offers: each pushes back its share of them, spread evenly over time
    (a running quota from a random start), so that any month shows the partner's usual rate."""

    def __init__(self, rng, network: Network):
        self.rng, self.network = rng, network
        self.quota = {}

    def push_back(self, party_id: int) -> str | None:
        """None to accept; else "declined" or "offer_expired"."""
        name = self.network.parties[party_id].name
        share = PUSH_BACK_PARTNERS.get(name, USUAL_PUSH_BACK)
        quota = self.quota.get(party_id)
        if quota is None:
            quota = self.rng.random()
        quota += share
        self.quota[party_id] = quota % 1
        if quota < 1:
            return None
        declines = PUSH_BACK_DECLINES if name in PUSH_BACK_PARTNERS else 0.5
        return "declined" if self.rng.random() < declines else "offer_expired"

    def returns(self, party_id: int) -> bool:
        name = self.network.parties[party_id].name
        return self.rng.random() < (PUSH_BACK_RETURNS if name in PUSH_BACK_PARTNERS else USUAL_RETURNS)


def open_ticket(rng, network: Network, calendar, customer: tuple, running: list, created: datetime) -> TicketLife:
    """The ticket as intake opens it: contract, line, tier, billing, due times, the created event."""
    from partnernet.tickets.service import default_tier, entitlement

    customer_id, region_code, _seller = customer
    day = created.astimezone(CHINA).date()
    chosen = rng.choices([c for c, _w in running], [w for _c, w in running])[0]
    line = rng.choices(chosen.line_codes, [CALLS_PER_LINE[code] for code in chosen.line_codes])[0]
    line_id = network.line_ids[line]
    # As intake picks it: the latest started contract for the line.
    contract = max((c for c, _w in running if line in c.line_codes), key=lambda c: (c.starts_on, c.id))
    channel = rng.choices(("phone", "email", "im", "web", "api"), (40, 15, 20, 20, 5))[0]
    tier = "L1" if channel in ("phone", "im") and rng.random() < 0.4 else default_tier(contract, network.settings)
    billable, billable_reason = entitlement(contract, tier, day, network.settings)
    complexity = "simple" if rng.random() < 0.6 else "complex"
    policy = network.policies[contract.sla_policy_id]
    resolution = policy.resolution_complex_minutes if complexity == "complex" else policy.resolution_simple_minutes
    life = TicketLife(dict(
        customer_id=customer_id, contract_id=contract.id, region_code=region_code, product_line_id=line_id,
        complexity=complexity, channel=channel, tier=tier, billable=billable, billable_reason=billable_reason,
        subject=rng.choice(SUBJECTS[line]), description="", status="new", owner_party_id=None,
        offered_party_id=None, offer_deadline=None, hq_queue_cause=None, engineer_id=None, route=None,
        response_due_at=business_due(calendar, policy, created, policy.response_minutes),
        resolution_due_at=business_due(calendar, policy, created, resolution),
        responded_at=None, resolved_at=None, closed_at=None, paused_at=None, created_by_id=None,
        created_at=created, updated_at=created), policy)
    life.add("created", created, {}, to_status="new", note=HISTORY_NOTE,
             data={"tier": tier, "billable": billable, "billable_reason": billable_reason})
    return life


def business_due(calendar, row: SlaPolicy, start: datetime, minutes: int) -> datetime:
    from partnernet import sla
    from partnernet.settings.calendar import policy_of
    return sla.add_business_minutes(start, minutes, policy_of(row), calendar.is_working)


def certified_engineers_on(network: Network, party_id: int, line_id: int, day: date) -> list[int]:
    return sorted({engineer for engineer, issued_on, expires_on in network.certificates.get((party_id, line_id), ())
                   if issued_on <= day <= expires_on})


def route_ticket(network: Network, loads: Loads, life: TicketLife, moment: datetime):
    """routing.decide on the network as it stood at `moment`, as service.route would call it."""
    from partnernet import routing
    row = life.row
    day = moment.astimezone(CHINA).date()
    chain = network.chain(row["region_code"])
    levels = dict(chain)
    found = []
    for code, _level in chain:
        for coverage in network.coverage.get(code, ()):
            if not coverage.serves(row["product_line_id"], day):
                continue
            party = network.parties[coverage.party_id]
            found.append(routing.Candidate(
                party_id=party.id, name=party.name, kind=party.kind, status=party.status_at(moment),
                level=levels[code], region_code=code, tiers=coverage.tiers & party.tiers,
                certified=bool(certified_engineers_on(network, party.id, row["product_line_id"], day)),
                open_tickets=loads.at(party.id, moment), capacity=party.capacity))
    facts = routing.TicketFacts(product_line=network.line_codes[row["product_line_id"]], tier=row["tier"],
                                region_chain=tuple(code for code, _level in chain),
                                declined_by=frozenset(life.declined), expired_by=frozenset(life.expired))
    return routing.decide(facts, found, network.settings["kind_priority"], moment)


def live(rng, network: Network, calendar, loads: Loads, answers: Answers, life: TicketLife, cutoff: datetime) -> None:
    """Route the ticket, answer its offers, work it, and close it, as the product records each step."""
    row = life.row
    created = row["created_at"]
    deadline_minutes = int(network.settings["offer_deadline_minutes"])
    moment, status = created, "new"
    owner = None
    while True:  # offers until one is accepted, or the HQ queue
        decision = route_ticket(network, loads, life, moment)
        route = decision.as_dict()
        party_id = decision.offered_party_id
        if party_id is None:
            life.add("queued_to_hq", moment, dict(status="hq_queue", hq_queue_cause=decision.cause, route=route),
                     from_status=status, to_status="hq_queue", reason_code=decision.cause, data={"route": route})
            break
        deadline = business_due(calendar, life.policy, moment, deadline_minutes)  # as the product's offers
        life.add("offered", moment, dict(status="offered", offered_party_id=party_id, offer_deadline=deadline,
                                         hq_queue_cause=None, route=route),
                 party_id=party_id, from_status=status, to_status="offered",
                 data={"deadline": deadline.isoformat(), "route": route})
        answer = answers.push_back(party_id)
        closed = dict(status="new", offered_party_id=None, offer_deadline=None)
        if answer == "declined":
            moment += timedelta(minutes=rng.randint(2, 12), seconds=rng.randrange(60))
            reason = rng.choice(tuple(DECLINE_NOTES))
            life.add("declined", moment, closed, party_id=party_id, from_status="offered", to_status="new",
                     reason_code=reason, note=DECLINE_NOTES[reason])
            life.declined.add(party_id)
        elif answer == "offer_expired":
            moment = deadline + timedelta(seconds=rng.randrange(60))  # the expiry job runs every minute
            life.add("offer_expired", moment, closed, party_id=party_id, from_status="offered", to_status="new")
            life.expired.add(party_id)
        else:
            moment += timedelta(minutes=rng.randint(1, 13), seconds=rng.randrange(60))
            day = moment.astimezone(CHINA).date()
            engineer = rng.choice(certified_engineers_on(network, party_id, row["product_line_id"], day))
            life.add("accepted", moment, dict(status="accepted", owner_party_id=party_id, engineer_id=engineer,
                                              offered_party_id=None, offer_deadline=None,
                                              responded_at=row["responded_at"] or moment),
                     party_id=party_id, from_status="offered", to_status="accepted", data={"engineer_id": engineer})
            record_response(rng, life, moment)
            owner = party_id
            break
        status = "new"

    if owner is None:  # at HQ: an HQ agent takes it from the queue
        moment = hq_takes_it(rng, calendar, moment)
        take_at_hq(rng, network, life, moment)
        owner = network.hq_id
    elif answers.returns(owner):  # accepted, started, then handed back to HQ
        accepted = moment
        started = moment + timedelta(minutes=rng.randint(3, 30))
        life.add("status_changed", started, dict(status="in_progress"), party_id=owner, from_status="accepted",
                 to_status="in_progress")
        moment = started + timedelta(minutes=rng.randint(20, 120))
        reason = rng.choice(tuple(RETURN_NOTES))
        loads.hold(owner, accepted, moment)
        life.add("returned_to_hq", moment, None, party_id=owner, from_status="in_progress", to_status="hq_queue",
                 reason_code=reason, note=RETURN_NOTES[reason])
        life.add("queued_to_hq", moment, dict(status="hq_queue", hq_queue_cause="returned_by_partner",
                                              owner_party_id=None, engineer_id=None),
                 from_status="in_progress", to_status="hq_queue", reason_code="returned_by_partner")
        moment = hq_takes_it(rng, calendar, moment)
        take_at_hq(rng, network, life, moment)
        owner = network.hq_id
    resolved = work(rng, network, calendar, life, owner, moment)
    if owner != network.hq_id:
        loads.hold(owner, moment, resolved if resolved < cutoff else None)


def record_response(rng, life: TicketLife, moment: datetime) -> None:
    """response_met when answered in time; else the breach job recorded it when the target ran out."""
    due = life.row["response_due_at"]
    if moment <= due:
        life.add("response_met", moment, data={"due": due.isoformat(), "at": moment.isoformat()})
    else:
        life.add("response_breached", min(due + timedelta(seconds=rng.randrange(60)), moment),
                 data={"due": due.isoformat()})


def hq_takes_it(rng, calendar, queued: datetime) -> datetime:
    """When an HQ agent takes a queued ticket: within the hour, or if that is past 17:00 the next
    working morning (so the last day's late ones are still in the queue when the history ends)."""
    moment = queued + timedelta(minutes=rng.randint(3, 60), seconds=rng.randrange(60))
    if moment.astimezone(CHINA).time() <= time(17, 0):
        return moment
    day = moment.astimezone(CHINA).date() + timedelta(days=1)
    while not calendar.is_working(day):
        day += timedelta(days=1)
    return china_time(day, 9) + timedelta(minutes=rng.randint(0, 40), seconds=rng.randrange(60))


def take_at_hq(rng, network: Network, life: TicketLife, moment: datetime) -> None:
    row = life.row
    engineers = certified_engineers_on(network, network.hq_id, row["product_line_id"], moment.astimezone(CHINA).date())
    first_response = row["responded_at"] is None
    life.add("taken_by_hq", moment, dict(status="accepted", owner_party_id=network.hq_id,
                                         engineer_id=rng.choice(engineers) if engineers else None,
                                         responded_at=row["responded_at"] or moment),
             party_id=network.hq_id, from_status="hq_queue", to_status="accepted", reason_code=row["hq_queue_cause"])
    if first_response:
        record_response(rng, life, moment)


def work(rng, network: Network, calendar, life: TicketLife, owner: int, accepted: datetime) -> datetime:
    """in_progress, resolved within or past the resolution target, then closed; returns when resolved."""
    row = life.row
    policy = life.policy
    started = accepted + timedelta(minutes=rng.randint(2, 30), seconds=rng.randrange(60))
    if row["status"] == "accepted":
        life.add("status_changed", started, dict(status="in_progress"), party_id=owner, from_status="accepted",
                 to_status="in_progress")
    target = policy.resolution_complex_minutes if row["complexity"] == "complex" else policy.resolution_simple_minutes
    kind = ("hq" if owner == network.hq_id
            else "push_back" if network.parties[owner].name in PUSH_BACK_PARTNERS else "partner")
    share = rng.uniform(0.3, 0.95) if rng.random() < RESOLUTION_MET[kind] else rng.uniform(1.1, 2.5)
    resolved = max(business_due(calendar, policy, row["created_at"], max(1, round(target * share))),
                   started + timedelta(minutes=rng.randint(5, 20)))
    due = row["resolution_due_at"]
    if resolved > due:  # the breach job found it unresolved at the due time
        life.add("resolution_breached", min(due + timedelta(seconds=rng.randrange(60)), resolved),
                 data={"due": due.isoformat()})
    life.add("status_changed", resolved, dict(status="resolved", resolved_at=resolved), party_id=owner,
             from_status="in_progress", to_status="resolved", note=rng.choice(RESOLUTION_NOTES))
    if resolved <= due:
        life.add("resolution_met", resolved, data={"due": due.isoformat(), "at": resolved.isoformat()})
    closed = business_due(calendar, policy, resolved, rng.randint(60, 1200))
    life.add("status_changed", closed, dict(status="closed", closed_at=closed), party_id=owner,
             from_status="resolved", to_status="closed", note="客户确认关闭")
    return resolved


def insert_history(lives: list[TicketLife], cutoff: datetime) -> None:
    """The tickets and their events, in bulk: tickets first (their ids back in order), then events."""
    if not lives:
        return
    stood = [life.until(cutoff) for life in lives]
    tickets, events = Ticket.__table__, TicketEvent.__table__  # Core: plain executemany, no ORM
    ids = db.session.execute(sa.insert(tickets).returning(tickets.c.id, sort_by_parameter_order=True),
                             [row for row, _events in stood]).scalars().all()
    db.session.execute(sa.insert(events), [
        dict(event, ticket_id=ticket_id) for ticket_id, (_row, kept) in zip(ids, stood) for event in kept])
