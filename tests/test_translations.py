"""Both catalogues are complete: every string marked in the sources is in zh_CN (translated) and en.

The messages are extracted afresh from the current sources (babel.cfg, the same command as
`make extract-messages`), so a string someone marked but forgot to translate fails here.
Fix a failure with `make extract-messages`, translate the new zh_CN entries, then `make`.
"""
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from babel import Locale
from babel.messages.pofile import read_po

from partnernet.config import LANGUAGES

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "partnernet" / "translations"

# %(name)s, %(n)d, %s, %.1f, %% ... : what gettext(..., **variables) fills in.
PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[#0 +-]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[diouxXeEfFgGcrsa%]")


def catalogue_path(locale: str) -> Path:
    """Where Flask-Babel finds the catalogue of `locale`.

    Flask-Babel loads str(Locale.parse(locale)): Babel adds the script to Chinese, so the
    zh_CN catalogue must live in zh_Hans_CN/ (a zh_CN/ folder is silently never loaded).
    """
    return TRANSLATIONS / str(Locale.parse(locale)) / "LC_MESSAGES" / "messages.po"


def load(path: Path):
    with open(path, "rb") as f:
        return read_po(f)


def placeholders(text: str) -> Counter:
    return Counter(PLACEHOLDER.findall(text))


def forms(value) -> tuple:
    """A message's id or string as a tuple: one item, or one per plural form."""
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


@pytest.fixture(scope="module")
def source_messages(tmp_path_factory):
    """Every translatable message in the current sources, extracted into a temporary .pot."""
    pot = tmp_path_factory.mktemp("extract") / "messages.pot"
    result = subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg", "-k", "_l",
         "-o", str(pot), "."],
        cwd=ROOT, capture_output=True, text=True,
    )
    assert result.returncode == 0, f"pybabel extract failed:\n{result.stderr}"
    template = load(pot)
    messages = [m for m in template if m.id]
    assert messages, "no translatable strings were extracted: is babel.cfg right?"
    return messages


@pytest.fixture(scope="module")
def zh():
    return load(catalogue_path("zh_CN"))


@pytest.fixture(scope="module")
def en():
    return load(catalogue_path("en"))


def where(message) -> str:
    return ", ".join(f"{file}:{line}" for file, line in message.locations[:3])


@pytest.mark.parametrize("locale", LANGUAGES)
def test_every_language_has_a_catalogue_where_flask_babel_looks(locale):
    assert catalogue_path(locale).is_file(), f"no catalogue for {locale} at {catalogue_path(locale)}"


def test_extraction_reads_only_our_sources(source_messages):
    files = {file for m in source_messages for file, _line in m.locations}
    strays = sorted(f for f in files if not (f.startswith("partnernet/") or f.startswith("templates/")))
    assert not strays, f"strings extracted from outside partnernet/ and templates/: {strays}"


def test_every_source_string_has_a_chinese_translation(source_messages, zh):
    missing = []
    for source in source_messages:
        entry = zh.get(source.id)
        if entry is None:
            missing.append(f"not in the catalogue: {source.id!r} ({where(source)})")
        elif entry.fuzzy:
            missing.append(f"fuzzy: {source.id!r} ({where(source)})")
        elif not all(s.strip() for s in forms(entry.string)):
            missing.append(f"untranslated: {source.id!r} ({where(source)})")
    assert not missing, (
        f"{len(missing)} of {len(source_messages)} strings lack a zh_CN translation "
        "(run `make extract-messages`, translate, `make`):\n  " + "\n  ".join(missing))


def test_chinese_translations_keep_the_placeholders(zh):
    wrong = []
    for entry in zh:
        if not entry.id or not any(forms(entry.string)):
            continue
        expected = placeholders(forms(entry.id)[-1])  # Chinese has one plural form: the plural one
        for text in forms(entry.string):
            if placeholders(text) != expected:
                wrong.append(f"{entry.id!r} -> {text!r}: expected {sorted(expected.elements())}, "
                             f"got {sorted(placeholders(text).elements())}")
    assert not wrong, "placeholders differ between msgid and zh_CN msgstr:\n  " + "\n  ".join(wrong)


def test_every_source_string_is_in_the_english_catalogue(source_messages, en):
    # An empty English msgstr is fine: the English source string is shown.
    missing = [f"{m.id!r} ({where(m)})" for m in source_messages if m.id not in en]
    fuzzy = [repr(entry.id) for entry in en if entry.id and entry.fuzzy]
    assert not missing, f"{len(missing)} strings are not in the en catalogue:\n  " + "\n  ".join(missing)
    assert not fuzzy, "fuzzy entries in the en catalogue:\n  " + "\n  ".join(fuzzy)


@pytest.mark.parametrize("locale, plural_forms", [
    ("zh_CN", "nplurals=1; plural=0;"),
    ("en", "nplurals=2; plural=(n != 1);"),
])
def test_plural_forms_are_right(locale, plural_forms):
    catalogue = load(catalogue_path(locale))
    assert catalogue.plural_forms == plural_forms
    assert not catalogue.fuzzy, f"the {locale} catalogue header is marked fuzzy"
