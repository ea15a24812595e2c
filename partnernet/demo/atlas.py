"""The mainland regions the plan draws from: provinces with their market weight, cities, counties,
and the short names (浙江, 杭州) company and customer names are built from."""
from dataclasses import dataclass

import sqlalchemy as sa

from partnernet.extensions import db
from partnernet.regions.models import Region

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
# Autonomous prefectures and regions carry the names of their peoples; a short name drops them.
PEOPLES = ("朝鲜", "土家", "苗", "侗", "布依", "藏", "羌", "彝", "傣", "景颇", "白", "哈尼", "壮",
           "傈僳", "回", "蒙古", "哈萨克", "柯尔克孜", "维吾尔", "畲", "满", "瑶", "黎", "土", "撒拉",
           "仡佬", "水", "毛南", "仫佬", "达斡尔", "鄂温克", "鄂伦春", "纳西", "拉祜", "佤", "普米",
           "独龙", "怒", "布朗", "保安", "东乡", "锡伯", "塔吉克", "裕固", "各")


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
