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


def test_an_admin_who_forgot_their_password_gets_a_new_one_from_the_command_line(app):
    admin = factories.user("hq_admin")
    result = app.test_cli_runner().invoke(args=["users", "set-password", admin.email], input="a brand new secret\n")
    assert result.exit_code == 0, result.output
    assert authenticate(admin.email, "a brand new secret") is not None
    refused = app.test_cli_runner().invoke(args=["users", "set-password", admin.email], input="short\n")
    assert refused.exit_code == 2 and "password" in refused.output


def test_users_are_deactivated_and_activated_from_the_command_line_but_not_the_last_admin(app):
    admins = db.session.execute(db.select(User).where(User.role == "hq_admin", User.active)).scalars().all()
    agent = factories.user("hq_agent")
    runner = app.test_cli_runner()
    assert runner.invoke(args=["users", "deactivate", agent.email]).exit_code == 0
    assert authenticate(agent.email, factories.PASSWORD) is None
    assert runner.invoke(args=["users", "activate", agent.email]).exit_code == 0
    assert authenticate(agent.email, factories.PASSWORD) is not None
    last = admins[0] if admins else factories.user("hq_admin")
    for other in admins[1:]:
        assert runner.invoke(args=["users", "deactivate", other.email]).exit_code == 0
    refused = runner.invoke(args=["users", "deactivate", last.email])
    assert refused.exit_code == 2 and "last active hq_admin" in refused.output
    assert runner.invoke(args=["users", "deactivate", "nobody@example.com"]).exit_code == 2


def test_the_command_line_refuses_an_easily_guessed_password_too(app):
    admin = factories.user("hq_admin")
    runner = app.test_cli_runner()
    created = runner.invoke(args=["users", "create", "x@y.cn", "--role", "hq_agent"], input="1234567890\n")
    assert created.exit_code == 2 and "password" in created.output
    assert db.session.execute(db.select(User).where(User.email == "x@y.cn")).scalar_one_or_none() is None
    reset = runner.invoke(args=["users", "set-password", admin.email], input="aaaaaaaaaa\n")
    assert reset.exit_code == 2 and "password" in reset.output
    assert authenticate(admin.email, factories.PASSWORD) is not None
