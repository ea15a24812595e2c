"""Customers to and from CSV or XLSX: name (the natural key), region, seller, contacts, address and
location notes. Read, planned and written like the network's files (partnernet.network.transfer):
every row checked first, with an error naming its spreadsheet row, then all rows or none; an
update changes only the columns the file has. Each row goes through the customer pages' rules
(customers.service.checked_customer)."""
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _

from partnernet.customers.models import Customer
from partnernet.customers.service import checked_customer, readable
from partnernet.errors import ValidationFailed
from partnernet.extensions import db
from partnernet.network import transfer
from partnernet.network.models import Party
from partnernet.settings import changes

KIND = "customers"
COLUMNS = ("name", "region_code", "sold_by", "contact_name", "contact_phone", "contact_email", "address",
           "location_notes")
REQUIRED = ("name", "region_code")
CHUNK = 500


# --- export --------------------------------------------------------------------------------------

def export_rows():
    """Every customer, by name, one at a time; `sold_by` is the partner's name, empty when HQ sold it."""
    statement = (sa.select(Customer.name, Customer.region_code, Party.kind, Party.name, Customer.contact_name,
                           Customer.contact_phone, Customer.contact_email, Customer.address,
                           Customer.location_notes)
                 .join(Party, Party.id == Customer.sold_by_party_id)
                 .order_by(Customer.name_sort, Customer.name, Customer.id))
    for name, region_code, seller_kind, seller, *rest in transfer.streamed(statement):
        yield [name, region_code, "" if seller_kind == "hq" else seller, *rest]


def export() -> transfer.Export:
    return transfer.Export(KIND, list(COLUMNS), export_rows())


def export_file(file_format: str) -> bytes:
    return export().content(file_format)


# --- import --------------------------------------------------------------------------------------

def by_name(model, column, names) -> dict:
    """{name: row} for the names given, in chunks (a file may name many thousands)."""
    names, found = list(names), {}
    for start in range(0, len(names), CHUNK):
        found.update((getattr(row, column), row) for row in db.session.execute(
            sa.select(model).where(getattr(model, column).in_(names[start:start + CHUNK]))).scalars())
    return found


def plan_import(sheet: transfer.Sheet) -> transfer.Plan:
    """Check every row against the database and the rows above it; write nothing."""
    plan = transfer.Plan(KIND)
    for column in sheet.columns:
        if column and column not in COLUMNS:
            plan.errors.append(transfer.RowError(1, column, _("Unknown column; the columns are: %(columns)s.",
                                                              columns=", ".join(COLUMNS))))
    for column in REQUIRED:
        if column not in sheet.columns:
            plan.errors.append(transfer.RowError(1, column, _("This column is missing.")))
    if plan.errors:
        return plan
    names = {cells.get("name", "").strip() for _number, cells in sheet.rows}
    existing = by_name(Customer, "name", names)
    sellers = {party.name: party for party in by_name(Party, "name", {
        cells.get("sold_by", "").strip() for _number, cells in sheet.rows} - {""}).values() if not party.is_hq}
    seen = {}
    for number, cells in sheet.rows:
        planned = plan_row(number, cells, sheet.columns, existing, sellers, seen, plan.errors)
        if planned is not None:
            plan.rows.append(planned)
    return plan


def plan_row(number, cells, columns, existing, sellers, seen, errors) -> transfer.PlannedRow | None:
    name = cells.get("name", "").strip()
    customer = existing.get(name)
    values = {field: getattr(customer, field) for field in ("name", "region_code", "contact_name", "contact_phone",
                                                            "contact_email", "address", "location_notes")} \
        if customer else {}
    values["sold_by_partner_id"] = None if customer is None or customer.sold_by.is_hq else customer.sold_by_party_id
    for column in columns:
        if column in ("", "sold_by"):
            continue
        values[column] = cells.get(column, "")
    failed = False
    if "sold_by" in columns:
        seller = cells.get("sold_by", "").strip()
        if seller and seller not in sellers:
            errors.append(transfer.RowError(number, "sold_by", _("No partner of that name.")))
            failed = True
        values["sold_by_partner_id"] = sellers[seller].id if seller in sellers else None
    if name and name in seen:
        errors.append(transfer.RowError(number, "name", _("Also on row %(row)d.", row=seen[name])))
        failed = True
    seen.setdefault(name, number)
    try:
        checked = checked_customer(values)
    except ValidationFailed as refused:
        for field, message in refused.fields.items():
            errors.append(transfer.RowError(number, "sold_by" if field == "sold_by_partner_id" else field, str(message)))
        return None
    if failed:
        return None
    if customer is None:
        return transfer.PlannedRow(number, "create", checked)
    changed = {field: value for field, value in checked.items() if getattr(customer, field) != value}
    return transfer.PlannedRow(number, "update" if changed else "unchanged", changed, customer)


def import_customers(content: bytes, file_format: str, actor_id: int | None, now: datetime, dry_run: bool = False,
                     limits: transfer.ImportLimits = transfer.ImportLimits()) -> transfer.Plan:
    """Plan the file and, when no row has an error (else ImportRejected) and not `dry_run`, write
    it in one transaction, each customer created or changed in the change log."""
    plan = plan_import(transfer.read_sheet(content, file_format, limits))
    if plan.errors:
        raise transfer.ImportRejected(plan)
    if dry_run:
        return plan
    for row in plan.rows:
        if row.action == "create":
            customer = Customer(**row.values, created_at=now)
            db.session.add(customer)
            db.session.flush()
            changes.record("customer_created", actor_id, now, target=customer.name, customer_id=customer.id,
                           region_code=customer.region_code, sold_by_party_id=customer.sold_by_party_id)
        elif row.action == "update":
            changes.record("customer_changed", actor_id, now, target=row.target.name, customer_id=row.target.id,
                           **readable({field: [getattr(row.target, field), value] for field, value in row.values.items()}))
            for field, value in row.values.items():
                setattr(row.target, field, value)
    db.session.commit()
    return plan
