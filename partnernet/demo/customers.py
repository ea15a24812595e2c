"""The customers, sold by HQ or by a partner, and their contracts: small and large, free in their
first year, then paid up or lapsed; each with an address where on-site service goes."""
import random
from datetime import date, timedelta
from decimal import Decimal

from partnernet.demo.atlas import PROVINCES, Atlas, short_name
from partnernet.demo.people import person, phone
from partnernet.demo.plan import HQ, XIHU_AGENT, PartnerPlan, add_years, china_time, pick_lines

CUSTOMERS = 1000
SALES_WEIGHT = {"branch": 3, "joint_venture": 2.5, "franchisee": 1.5, "agent": 1}
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
STREETS = ["人民路", "解放路", "中山路", "建设路", "文化路", "新华路", "和平路", "学院路", "环城北路", "湖滨路",
           "科技路", "迎宾大道", "工业园路", "滨江大道", "体育场路", "长江路"]
BUILDINGS = ["行政楼", "综合楼", "办公楼", "信息中心", "1 号楼", "2 号楼", "A 座", "B 座"]
LOCATION_NOTES = ["东门进，访客在门卫处登记", "地下车库 B2 有访客车位", "信息科在三楼，先到前台换证",
                  "机房在负一楼，需信息科陪同", "工作日 8:30–17:30 可上门，午休 12:00–13:30"]
# The walk-through: a simple question from a ¥68,000 customer in 西湖区 (on-site service
# included), which 西溪 accepts at L2 and escalates to L3. Added after the history (its draws stay).
WALK_CUSTOMER = "杭州西湖文旅投资集团有限公司"
PUBLIC_BODIES = ["图书馆", "博物馆", "广播电视台", "住房公积金管理中心", "社会保险事业管理中心",
                 "疾病预防控制中心", "供水有限公司", "公交集团有限公司"]


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
            contact_email=None, created_at=china_time(first_met, 11), **site(atlas, region, name)))
        for ordinal, offset in enumerate(offsets, start=1):
            contracts.append(plan_contract(rng, name, ordinal, sold_by, offset, next(serial), today))
    return customers, contracts


def site(atlas: Atlas, region_code: str, name: str) -> dict:
    """A customer's address in its region, and sometimes how to find the room. Drawn from a random
    generator of the customer's own: the plan's other draws (and so the whole demo) stay as they were."""
    rng = random.Random(f"address:{name}")
    county = atlas.regions[region_code]
    city = atlas.regions[atlas.city_of(region_code)]
    province = atlas.regions[city.parent_code] if city.level == "city" else city
    places = "".join(dict.fromkeys(region.name for region in (province, city, county)))
    address = f"{places}{rng.choice(STREETS)}{rng.randint(1, 399)}号{rng.choice(BUILDINGS)}"
    return {"address": address, "location_notes": rng.choice(LOCATION_NOTES) if rng.random() < 0.4 else None}


def plan_walk_customer(today: date) -> tuple[dict, dict]:
    """The walk-through's customer in 西湖区, sold by 西溪, and its ¥68,000 contract in its free year."""
    starts_on = today - timedelta(days=120)
    customer = dict(name=WALK_CUSTOMER, region_code="330106", sold_by=XIHU_AGENT, contact_name="陈静",
                    contact_phone="138-0571-6800", contact_email="chenjing@xihu-wenlv.example",
                    address="浙江省杭州市西湖区天目山路 398 号 3 号楼 5 楼", location_notes="东门进，访客车位在 B2；信息中心在 5 楼",
                    created_at=china_time(starts_on - timedelta(days=20), 11))
    contract = dict(customer=WALK_CUSTOMER, ordinal=1, sold_by=XIHU_AGENT, lines=("oa-core", "workflow", "mobile"),
                    sla="business-hours", number=f"HT-{starts_on.year}-90001", value=Decimal(68000),
                    starts_on=starts_on, service_paid_until=None, created_at=china_time(starts_on - timedelta(days=3), 15))
    return customer, contract


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
