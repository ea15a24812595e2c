"""How names sort for their reader: Chinese readers by pinyin (丽水, 临沂, 上海), English readers as
written. Partners and customers keep their name's pinyin key in a column (`name_sort`), written with
the name, so that paginated lists sort in the database; short lists sort in Python by the same key."""
import unicodedata

from pypinyin import Style, lazy_pinyin

from partnernet.labels import reads_chinese

SORT_KEY_LENGTH = 255


def pinyin_key(name: str | None) -> str:
    """丽水 → li2shui3: each Chinese syllable with its tone (5 for the neutral one), other text lower
    case. The tone digit closes every syllable, so li2shui3 comes before lin2yi2 as in a dictionary,
    in any collation; spaces are left out because some collations ignore them and others do not."""
    text = unicodedata.normalize("NFKC", name or "")
    syllables = lazy_pinyin(text, style=Style.TONE3, neutral_tone_with_five=True)
    return "".join("".join(syllables).lower().split())[:SORT_KEY_LENGTH]


def name_sort_default(context) -> str:
    """The column default of `name_sort` for Core inserts (bulk imports, the demo): the row's name's key."""
    return pinyin_key(context.get_current_parameters().get("name"))


def by_name(name, name_sort) -> tuple:
    """ORDER BY terms for a list of names in the reader's order (the caller adds its id last)."""
    return (name_sort, name) if reads_chinese() else (name,)


def sorted_by_name(items, name=lambda item: item.name) -> list:
    """A short list (one partner's engineers, a run's findings) in the reader's order."""
    if reads_chinese():
        return sorted(items, key=lambda item: (pinyin_key(name(item)), name(item)))
    return sorted(items, key=name)
