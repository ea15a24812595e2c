"""change log: HQ's changes to users, API tokens, settings, SLA policies, the calendar, customers and contracts

docs/design.md: every privileged action is an event with the acting user. Partners, coverage,
tickets and audit decisions had their history; these had none (a setting kept only its last
editor). Append-only like ticket_event and party_event.

Revision ID: 0010
Revises: 0009
"""
from alembic import op
import sqlalchemy as sa

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

KINDS = ("user_created", "user_changed", "password_set", "token_created", "token_revoked",
         "setting_changed", "sla_policy_changed", "calendar_day_set", "calendar_imported",
         "customer_created", "customer_changed", "contract_created", "contract_changed", "service_paid")


def upgrade():
    op.create_table(
        "change_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor_user_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("target", sa.String(length=255), nullable=True),
        sa.Column("data", sa.JSON(), nullable=True),
        sa.CheckConstraint("kind IN (%s)" % ", ".join(f"'{k}'" for k in KINDS), name=op.f("ck_change_event_kind_valid")),
        sa.ForeignKeyConstraint(["actor_user_id"], ["user.id"], name=op.f("fk_change_event_actor_user_id_user")),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f("fk_change_event_user_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change_event")),
    )
    with op.batch_alter_table("change_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_change_event_user_id"), ["user_id"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        # refuse_event_change() is 0001's, shared by the append-only tables.
        op.execute("CREATE TRIGGER change_event_append_only BEFORE UPDATE OR DELETE ON change_event "
                   "FOR EACH ROW EXECUTE FUNCTION refuse_event_change()")
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER change_event_no_{action.lower()} BEFORE {action} ON change_event "
                       f"BEGIN SELECT RAISE(ABORT, 'change_event is append-only'); END")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS change_event_append_only ON change_event")
    else:
        for action in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS change_event_no_{action}")
    with op.batch_alter_table("change_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_change_event_user_id"))
    op.drop_table("change_event")
