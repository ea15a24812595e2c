"""Names people type (customers, partners, engineers, contacts, users, tokens): kept in one form,
and refused when nothing of them would show. The pages, the API and the import all read them here."""
import unicodedata

from flask_babel import gettext as _

# Letters and symbols by their category that are drawn as nothing: the Hangul fillers (U+FFA0
# becomes U+1160 in NFKC) and the blank braille pattern.
BLANK_CHARACTERS = frozenset("\u115f\u1160\u3164\u2800")


def shows_nothing(char: str) -> bool:
    """White space, a format character (bidi controls, zero-width joiners, the byte-order mark), a
    control character or a blank letter."""
    return char.isspace() or unicodedata.category(char) in ("Cf", "Cc") or char in BLANK_CHARACTERS


def visible(char: str) -> bool:
    """A letter, a digit, a punctuation mark or a symbol that is drawn (a combining mark alone is not)."""
    return unicodedata.category(char)[0] in "LNPS" and char not in BLANK_CHARACTERS


def read_name(text: str | None, max_length: int, required: bool = True) -> tuple[str | None, str | None]:
    """(the name as stored, None) or (None, what is wrong with it). Stored: NFKC (full-width Ａ is A,
    so one name has one spelling), with nothing that shows nothing at either end. Blank: None, or
    "required"; typed but with no visible character at all: refused, whether required or not."""
    text = unicodedata.normalize("NFKC", text or "")
    start, end = 0, len(text)
    while start < end and shows_nothing(text[start]):
        start += 1
    while end > start and shows_nothing(text[end - 1]):
        end -= 1
    name = text[start:end]
    if not any(visible(char) for char in name):
        if text.strip() or name:
            return None, _("A name needs at least one visible character.")
        return None, _("A name is required.") if required else None
    if len(name) > max_length:
        return None, _("At most %(count)d characters.", count=max_length)
    return name, None
