"""User administration by an hq_admin: roles, deactivation, a new password, and the guards."""
import sqlalchemy as sa

from partnernet.auth.tokens import issue_token
from partnernet.auth.models import User
from partnernet.extensions import db
from partnernet.timeclock import now_utc
from tests import factories


def test_deactivating_a_user_ends_their_session_and_tokens_at_once(app, login_as):
    leaver = factories.user("partner_admin", party=factories.partner())
    _token, secret = issue_token(leaver, "tool", now_utc())
    leaver_client = app.test_client()
    assert leaver_client.post("/login", data={"email": leaver.email, "password": factories.PASSWORD}).status_code == 302
    admin_client = login_as(factories.user("hq_admin"))
    response = admin_client.post(f"/users/{leaver.id}", data={"role": "partner_admin"})  # "active" unticked
    assert response.status_code == 302
    assert leaver_client.get("/tickets/").status_code == 302  # back to the sign-in page
    assert leaver_client.get("/api/v1/product-lines", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
    assert leaver_client.post("/login", data={"email": leaver.email, "password": factories.PASSWORD}).status_code != 302


def test_an_hq_user_changes_role_within_hq_and_a_partner_user_keeps_theirs(client, login_as, app):
    agent = factories.user("hq_agent")
    partner_admin = factories.user("partner_admin", party=factories.partner())
    login_as(factories.user("hq_admin"))
    assert client.post(f"/users/{agent.id}", data={"role": "hq_manager", "active": "y"}).status_code == 302
    assert client.post(f"/users/{partner_admin.id}", data={"role": "hq_admin", "active": "y"}).status_code == 422
    db.session.expire_all()
    assert (db.session.get(User, agent.id).role, db.session.get(User, partner_admin.id).role) == \
        ("hq_manager", "partner_admin")


def test_nobody_takes_away_their_own_rights_and_the_last_admin_stays(client, login_as, app):
    admin = factories.user("hq_admin")
    login_as(admin)
    for data in ({"role": "hq_agent", "active": "y"}, {"role": "hq_admin"}):
        assert client.post(f"/users/{admin.id}", data=data).status_code == 422
    other = factories.user("hq_admin")
    assert client.post(f"/users/{other.id}", data={"role": "hq_agent", "active": "y"}).status_code == 302
    db.session.expire_all()
    assert (db.session.get(User, admin.id).role, db.session.get(User, admin.id).active) == ("hq_admin", True)
    active_admins = db.session.execute(sa.select(sa.func.count()).select_from(User).where(
        User.role == "hq_admin", User.active)).scalar()
    assert active_admins >= 1


def test_a_new_password_set_by_an_admin_works_and_signs_the_user_out(app, login_as):
    forgetful = factories.user("hq_manager")
    their_client = app.test_client()
    their_client.post("/login", data={"email": forgetful.email, "password": factories.PASSWORD})
    admin_client = login_as(factories.user("hq_admin"))
    assert admin_client.post(f"/users/{forgetful.id}/password", data={"password": "short"}).status_code == 422
    assert admin_client.post(f"/users/{forgetful.id}/password",
                             data={"password": "a new and long secret"}).status_code == 302
    assert their_client.get("/tickets/").status_code == 302
    assert their_client.post("/login", data={"email": forgetful.email,
                                             "password": "a new and long secret"}).status_code == 302


def test_only_an_hq_admin_administers_users(client, login_as, app):
    target = factories.user("hq_agent")
    login_as(factories.user("hq_manager"))
    assert client.get("/users/").status_code == 403
    assert client.post(f"/users/{target.id}", data={"role": "hq_admin", "active": "y"}).status_code == 403
    db.session.expire_all()
    assert db.session.get(User, target.id).role == "hq_agent"


def test_the_list_finds_users_by_email_or_name(client, login_as, app):
    factories.user("hq_agent", name="王小明")
    login_as(factories.user("hq_admin"))
    page = client.get("/users/", query_string={"q": "小明"}).get_data(as_text=True)
    assert "王小明" in page and client.get("/users/", query_string={"q": "%"}).status_code == 200


def test_an_admin_creates_a_new_partners_first_login_and_an_hq_user_on_the_page(client, login_as, app):
    partner = factories.partner(name="温州新锐科技")
    admin = factories.user("hq_admin")
    login_as(admin)
    page = client.get("/users/new").get_data(as_text=True)
    assert 'value="engineer"' not in page  # engineers get theirs on their engineer page
    form = {"email": "Li.Na@WZ-Xinrui.example", "name": "李娜", "role": "partner_admin", "partner_id": str(partner.id),
            "password": "a long first secret"}
    for bad in ({"partner_id": ""}, {"partner_id": "abc"}, {"password": "short"}, {"email": "not-an-address"},
                {"role": "engineer"}, {"password": "li.na@wz-xinrui.example!"}):
        response = client.post("/users/new", data={**form, **bad})
        assert response.status_code == 422 and "invalid-feedback" in response.get_data(as_text=True), bad
    assert db.session.execute(sa.select(User).where(User.email == "li.na@wz-xinrui.example")).first() is None

    response = client.post("/users/new", data=form)
    assert response.status_code == 302
    user = db.session.execute(sa.select(User).where(User.email == "li.na@wz-xinrui.example")).scalar_one()
    assert (user.role, user.party_id, user.name) == ("partner_admin", partner.id, "李娜")
    assert client.post("/users/new", data=form).status_code == 422  # the same e-mail again
    # An HQ role belongs to HQ, whatever partner was picked.
    assert client.post("/users/new", data={**form, "email": "ops@hq.example", "role": "hq_agent"}).status_code == 302
    hq_user = db.session.execute(sa.select(User).where(User.email == "ops@hq.example")).scalar_one()
    assert hq_user.party.is_hq
    from partnernet.settings.models import ChangeEvent
    assert db.session.execute(sa.select(ChangeEvent.actor_user_id, ChangeEvent.kind).where(
        ChangeEvent.user_id == user.id)).all() == [(admin.id, "user_created")]
    # The new partner administrator signs in with the initial password.
    newcomer = app.test_client()
    assert newcomer.post("/login", data={"email": user.email, "password": "a long first secret"}).status_code == 302


def test_an_admin_cannot_give_an_easily_guessed_password_on_creation_or_reset(client, login_as, app):
    partner = factories.partner()
    target = factories.user("hq_agent")
    login_as(factories.user("hq_admin"))
    for guessable in ("aaaaaaaaaa", "1234567890"):
        response = client.post("/users/new", data={"email": "newcomer@example.com", "name": "新人", "role": "partner_admin",
                                                   "partner_id": str(partner.id), "password": guessable})
        assert response.status_code == 422 and "invalid-feedback" in response.get_data(as_text=True)
        assert client.post(f"/users/{target.id}/password", data={"password": guessable}).status_code == 422
    assert db.session.execute(sa.select(User).where(User.email == "newcomer@example.com")).first() is None
    db.session.expire_all()
    assert db.session.get(User, target.id).check_password(factories.PASSWORD)


def test_a_users_display_name_or_a_token_name_of_invisible_characters_is_refused(client, login_as, app):
    admin = factories.user("hq_admin")
    login_as(admin)
    response = client.post("/users/new", data={"email": "ops@hq.example", "name": "\u202e\u200d\ufeff",
                                               "role": "hq_agent", "password": "a long first secret"})
    assert response.status_code == 422 and "invalid-feedback" in response.get_data(as_text=True)
    assert db.session.execute(sa.select(User).where(User.email == "ops@hq.example")).first() is None
    cli = app.test_cli_runner().invoke(args=["users", "create", "cli@hq.example", "--role", "hq_agent",
                                             "--name", "\u200b\u2060"], input="a long first secret\n")
    assert cli.exit_code == 2 and "name" in cli.output
    from partnernet.errors import ValidationFailed
    import pytest
    with pytest.raises(ValidationFailed):
        issue_token(admin, "\u202e\u200d\ufeff", now_utc())


def token_answers(app, *secrets) -> list[int]:
    return [app.test_client().get("/api/v1/product-lines", headers={"Authorization": f"Bearer {secret}"}).status_code
            for secret in secrets]


def test_deactivating_a_user_revokes_their_tokens_so_reactivating_does_not_bring_them_back(app, login_as):
    from partnernet.auth.models import ApiToken
    from partnernet.settings.models import ChangeEvent
    leaver = factories.user("hq_agent")
    phone, _phone_secret = issue_token(leaver, "phone", now_utc())
    laptop, laptop_secret = issue_token(leaver, "laptop", now_utc())
    admin = factories.user("hq_admin")
    admin_client = login_as(admin)
    assert admin_client.post(f"/users/{leaver.id}", data={"role": "hq_agent"}).status_code == 302  # deactivated
    assert admin_client.post(f"/users/{leaver.id}", data={"role": "hq_agent", "active": "y"}).status_code == 302
    assert token_answers(app, laptop_secret) == [401]
    db.session.expire_all()
    assert all(token.revoked_at is not None for token in db.session.execute(
        sa.select(ApiToken).where(ApiToken.user_id == leaver.id)).scalars())
    revoked = db.session.execute(sa.select(ChangeEvent.actor_user_id, ChangeEvent.target, ChangeEvent.data).where(
        ChangeEvent.kind == "token_revoked").order_by(ChangeEvent.id)).all()
    assert revoked == [(admin.id, "phone", {"token_id": phone.id}), (admin.id, "laptop", {"token_id": laptop.id})]
    # A token issued after coming back works.
    _token, fresh = issue_token(leaver, "new phone", now_utc())
    assert token_answers(app, fresh) == [200]


def test_deactivating_from_the_command_line_revokes_the_tokens_too(app):
    leaver = factories.user("hq_agent")
    _token, secret = issue_token(leaver, "script", now_utc())
    runner = app.test_cli_runner()
    assert runner.invoke(args=["users", "deactivate", leaver.email]).exit_code == 0
    assert runner.invoke(args=["users", "activate", leaver.email]).exit_code == 0
    assert token_answers(app, secret) == [401]
