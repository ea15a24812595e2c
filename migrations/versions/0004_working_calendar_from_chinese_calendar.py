"""working calendar: every day of every year the chinese-calendar package knows (2004–2026 in 1.11.0)

Each day is stored, working or not, with the holiday's Chinese name or 调休 for a make-up working
day, source 'package'. Years the package does not know fall back to Monday–Friday until HQ
imports them (`flask --app wsgi calendar import FILE`).

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

from partnernet.settings.calendar import seed_from_package

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    seed_from_package(op.get_bind())


def downgrade():
    op.execute(sa.text("DELETE FROM calendar_day WHERE source = 'package'"))
