"""People's names (with pinyin for their e-mail addresses) and mobile numbers, drawn at random."""

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


def phone(rng) -> str:
    return f"1{rng.choice('35789')}{rng.randint(0, 9)}-{rng.randint(0, 9999):04d}-{rng.randint(0, 9999):04d}"


def person(rng) -> tuple[str, str]:
    surname, surname_py = rng.choice(SURNAMES)
    given = rng.sample(GIVEN, rng.choice((1, 2, 2, 2)))
    return surname + "".join(g for g, _py in given), surname_py + "".join(py for _g, py in given)
