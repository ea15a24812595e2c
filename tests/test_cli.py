"""Command-line tools: creating users with a prompted or piped password."""
from partnernet.auth.models import User
from partnernet.auth.service import authenticate
from partnernet.extensions import db
from tests import factories


def test_users_create_reads_the_password_from_standard_input(app):
    partner = factories.partner()
    result = app.test_cli_runner().invoke(
        args=["users", "create", "Boss@Partner.CN", "--role", "partner_admin", "--partner", str(partner.id)],
        input="a long enough secret\n")
    assert result.exit_code == 0, result.output
    user = db.session.execute(db.select(User).where(User.email == "boss@partner.cn")).scalar_one()
    assert user.role == "partner_admin" and user.party_id == partner.id
    assert authenticate("boss@partner.cn", "a long enough secret") is not None
    assert "a long enough secret" not in user.password_hash


def test_users_create_refuses_a_partner_role_without_a_partner(app):
    result = app.test_cli_runner().invoke(
        args=["users", "create", "x@y.cn", "--role", "partner_admin"], input="a long enough secret\n")
    assert result.exit_code == 2
    assert "partner" in result.output
    assert db.session.execute(db.select(User).where(User.email == "x@y.cn")).scalar_one_or_none() is None


def test_users_create_refuses_a_short_password(app):
    result = app.test_cli_runner().invoke(
        args=["users", "create", "x@y.cn", "--role", "hq_agent"], input="short\n")
    assert result.exit_code == 2
    assert "password" in result.output


def test_hq_roles_are_bound_to_hq(app):
    result = app.test_cli_runner().invoke(
        args=["users", "create", "agent@hq.cn", "--role", "hq_agent"], input="a long enough secret\n")
    assert result.exit_code == 0, result.output
    user = db.session.execute(db.select(User).where(User.email == "agent@hq.cn")).scalar_one()
    assert user.party_id == factories.hq().id


def test_engineer_user_is_bound_to_an_engineer_of_the_same_partner(app):
    partner, other = factories.partner(), factories.partner()
    engineer = factories.engineer(other)
    refused = app.test_cli_runner().invoke(
        args=["users", "create", "e@p.cn", "--role", "engineer", "--partner", str(partner.id),
              "--engineer", str(engineer.id)], input="a long enough secret\n")
    assert refused.exit_code == 2
    accepted = app.test_cli_runner().invoke(
        args=["users", "create", "e@p.cn", "--role", "engineer", "--partner", str(other.id),
              "--engineer", str(engineer.id)], input="a long enough secret\n")
    assert accepted.exit_code == 0, accepted.output
