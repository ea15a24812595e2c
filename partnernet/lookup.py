"""What a person types to find a row: its number or a part of its name (the pickers' searches),
and the id a picker put in a hidden field."""
from partnernet.db_types import MAX_ID


def is_number(text: str) -> bool:
    """ASCII digits a column can hold ("²" is a digit to str.isdigit, not to int())."""
    return text.isascii() and text.isdigit() and int(text) <= MAX_ID


def number_or_name(query: str, id_column, name_column):
    """The condition: the row with that number, else rows whose name contains the text."""
    return id_column == int(query) if is_number(query) else name_column.contains(query, autoescape=True)


def chosen_id(text: str | None) -> int | None:
    """A picker's hidden field: None when nothing is chosen, 0 (matches no row) for anything but
    a number."""
    text = (text or "").strip()
    if not text:
        return None
    return int(text) if is_number(text) else 0
