"""Schema changes more than one migration makes: the list of kinds a ticket event may have.

A feature that records a new kind of ticket event widens ticket_event's check constraint. On
PostgreSQL the constraint is dropped and created again. On SQLite, where a check cannot be altered,
the table's stored definition is edited in place: SQLite's documented procedure for loosening a
constraint (https://www.sqlite.org/lang_altertable.html, "making other kinds of table schema
changes"), which leaves the rows, indexes and triggers as they are, so it takes no time however
many events there are (rebuilding the table would copy every one)."""
import re

from alembic import op

EVENT_KIND_CHECK = "ck_ticket_event_kind_valid"


def set_ticket_event_kinds(kinds) -> None:
    """Make ticket_event's kind check allow exactly `kinds`."""
    check = "kind IN (%s)" % ", ".join(f"'{kind}'" for kind in kinds)
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.drop_constraint(op.f(EVENT_KIND_CHECK), "ticket_event", type_="check")
        op.create_check_constraint(op.f(EVENT_KIND_CHECK), "ticket_event", check)
        return
    table_sql = bind.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'ticket_event'").scalar_one()
    changed, found = re.subn(rf"CONSTRAINT {EVENT_KIND_CHECK} CHECK \(kind IN \([^)]*\)\)",
                             f"CONSTRAINT {EVENT_KIND_CHECK} CHECK ({check})", table_sql)
    if found != 1:
        raise RuntimeError(f"ticket_event's {EVENT_KIND_CHECK} not found in: {table_sql}")
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar_one()
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    bind.exec_driver_sql("UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'ticket_event'",
                         (changed,))
    bind.exec_driver_sql(f"PRAGMA schema_version = {version + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema = OFF")
