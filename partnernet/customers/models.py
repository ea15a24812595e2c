"""A customer in a region and its contracts (value, seller, paid-up service, SLA policy)."""
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from partnernet import scope
from partnernet.collation import SORT_KEY_LENGTH, name_sort_default, pinyin_key
from partnernet.db_types import UTCDateTime, utcnow
from partnernet.extensions import db

contract_product_line = sa.Table(
    "contract_product_line",
    db.metadata,
    sa.Column("contract_id", sa.ForeignKey("contract.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("product_line_id", sa.ForeignKey("product_line.id"), primary_key=True),
)


class Customer(db.Model):
    __tablename__ = "customer"
    __table_args__ = (
        # The customer list by name, a page at a time: Chinese readers' order (pinyin), others'.
        sa.Index("ix_customer_name_sort_id", "name_sort", "name", "id"),
        sa.Index("ix_customer_name_id", "name", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(128), index=True)
    # The name's pinyin key (partnernet.collation): Chinese readers' lists sort by it.
    name_sort: Mapped[str] = mapped_column(sa.String(SORT_KEY_LENGTH), default=name_sort_default,
                                           server_default="", index=True)
    region_code: Mapped[str] = mapped_column(sa.ForeignKey("region.code"), index=True)
    # The party that owns the account relationship (HQ for direct customers).
    sold_by_party_id: Mapped[int] = mapped_column(sa.ForeignKey("party.id"), index=True)
    contact_name: Mapped[str | None] = mapped_column(sa.String(64))
    contact_phone: Mapped[str | None] = mapped_column(sa.String(32))
    contact_email: Mapped[str | None] = mapped_column(sa.String(255))
    # Where the engineer goes on site, and how to find the room (building, floor, gate, parking).
    address: Mapped[str | None] = mapped_column(sa.String(255))
    location_notes: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    region = relationship("Region")
    sold_by = relationship("Party")
    contracts = relationship("Contract", back_populates="customer", order_by="Contract.starts_on")

    @validates("name")
    def _keep_name_sort(self, _key, name):
        self.name_sort = pinyin_key(name)
        return name


class Contract(db.Model):
    __tablename__ = "contract"
    __table_args__ = (
        sa.CheckConstraint("value > 0", name="value_positive"),
        sa.CheckConstraint(
            "service_paid_until IS NULL OR service_paid_until >= starts_on",
            name="paid_until_after_start",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(sa.ForeignKey("customer.id"), index=True)
    number: Mapped[str] = mapped_column(sa.String(32), unique=True)
    value: Mapped[Decimal] = mapped_column(sa.Numeric(14, 2))
    starts_on: Mapped[date]
    sold_by_party_id: Mapped[int] = mapped_column(sa.ForeignKey("party.id"), index=True)
    # Paid annual service fees cover service until this date; the first year is free anyway.
    service_paid_until: Mapped[date | None]
    sla_policy_id: Mapped[int] = mapped_column(sa.ForeignKey("sla_policy.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    customer = relationship("Customer", back_populates="contracts")
    sold_by = relationship("Party")
    sla_policy = relationship("SlaPolicy")
    product_lines = relationship("ProductLine", secondary=contract_product_line, order_by="ProductLine.id")


@scope.rule(Contract)
def _contract_in_scope(user):
    """A customer's contracts are seen by whoever sees the customer (partnernet.scope)."""
    return Contract.customer_id.in_(sa.select(Customer.id).where(scope.scope_clause(Customer, user)))
