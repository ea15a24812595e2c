"""pinyin sort keys for partners' and customers' names: Chinese readers' lists sort by pinyin

Partners and customers are listed a page at a time, so their order must come from the database;
no collation that ships with SQLite or every PostgreSQL knows pinyin. Each row keeps its name's
pinyin key (partnernet.collation.pinyin_key: 丽水 → li2shui3), written with the name; the rows
already there are keyed here.

Revision ID: 0011_pinyin_sort
Revises: 0010
"""
import sqlalchemy as sa
from alembic import op

from partnernet.collation import SORT_KEY_LENGTH, pinyin_key

revision = "0011_pinyin_sort"
down_revision = "0010"
branch_labels = None
depends_on = None

TABLES = ("party", "customer")


def upgrade():
    connection = op.get_bind()
    for name in TABLES:
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.add_column(sa.Column("name_sort", sa.String(length=SORT_KEY_LENGTH), server_default="",
                                          nullable=False))
        table = sa.table(name, sa.column("id", sa.Integer), sa.column("name", sa.String),
                         sa.column("name_sort", sa.String))
        rows = [{"row_id": row_id, "key": pinyin_key(row_name)}
                for row_id, row_name in connection.execute(sa.select(table.c.id, table.c.name))]
        if rows:
            connection.execute(table.update().where(table.c.id == sa.bindparam("row_id"))
                               .values(name_sort=sa.bindparam("key")), rows)
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.create_index(batch_op.f(f"ix_{name}_name_sort"), ["name_sort"], unique=False)


def downgrade():
    for name in TABLES:
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f"ix_{name}_name_sort"))
            batch_op.drop_column("name_sort")
