"""Signing in and out, each role's home page, scope (404 outside it) and CSRF."""
import re

import pytest

from partnernet import create_app
from partnernet.config import ConfigError
from partnernet.extensions import db, limiter
from tests import factories
from tests.factories import PASSWORD


def test_login_with_the_right_password_reaches_the_home_page(client, app):
    user = factories.user("hq_manager")
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/", follow_redirects=True).status_code == 200
    assert db.session.get(type(user), user.id).last_login_at is not None


def test_login_is_case_insensitive_on_the_email(client, app):
    user = factories.user("hq_agent")
    response = client.post("/login", data={"email": user.email.upper(), "password": PASSWORD})
    assert response.status_code == 302


def test_login_with_a_wrong_password_is_refused_with_a_message(client, app):
    user = factories.user("hq_manager")
    response = client.post("/login", data={"email": user.email, "password": "wrong password!"})
    assert response.status_code == 200
    assert "The e-mail or the password is wrong." in response.get_data(as_text=True) or \
        "邮箱或密码错误" in response.get_data(as_text=True)
    assert client.get("/hq").status_code == 302  # still signed out


def test_inactive_user_cannot_sign_in(client, app):
    user = factories.user("hq_agent", active=False)
    assert client.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 200


def test_logout_ends_the_session(client, login_as, app):
    login_as(factories.user("hq_admin"))
    assert client.get("/hq").status_code == 200
    assert client.post("/logout").status_code == 302
    response = client.get("/hq")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_anonymous_user_is_sent_to_login(client, app):
    response = client.get("/partners/1")
    assert response.status_code == 302 and "/login?next=" in response.headers["Location"]


def test_login_never_redirects_to_another_site(client, app):
    user = factories.user("hq_admin")
    response = client.post("/login", data={"email": user.email, "password": PASSWORD,
                                           "next": "https://evil.example/"})
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize("target", ["/tickets/\r\nX:y", "/tickets/\nSet-Cookie:x=1", "/hq\x7f", "/\\evil.example",
                                    "/\\/evil.example"])
def test_a_next_target_with_control_characters_or_a_backslash_falls_back_to_home(client, app, target):
    """A CR/LF in `next` would split the Location header (500); a backslash reads as `//` to
    browsers (another host). Either way the user lands on the home page, signed in."""
    user = factories.user("hq_admin")
    form = client.get("/login", query_string={"next": target})
    assert form.status_code == 200
    response = client.post("/login", data={"email": user.email, "password": PASSWORD, "next": target})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert client.get("/hq").status_code == 200


def test_the_language_switch_refuses_a_next_target_with_control_characters(client, app):
    response = client.post("/language", data={"locale": "en", "next": "/tickets/\r\nX:y"})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert client.post("/language", data={"locale": "en", "next": "/partners?page=2"}).headers["Location"] == \
        "/partners?page=2"


@pytest.mark.parametrize("role, home", [
    ("hq_admin", "/hq"), ("hq_manager", "/hq"), ("hq_agent", "/hq"),
    ("partner_admin", "/partner"), ("engineer", "/me"),
])
def test_every_role_reaches_its_home_page(client, login_as, app, role, home):
    partner = factories.partner()
    if role == "engineer":
        user = factories.user(role, engineer_=factories.engineer(partner))
    elif role == "partner_admin":
        user = factories.user(role, party=partner)
    else:
        user = factories.user(role)
    login_as(user)
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"] == home
    assert client.get(home).status_code == 200


def test_partner_admin_cannot_open_an_hq_home(client, login_as, app):
    login_as(factories.user("partner_admin", party=factories.partner()))
    assert client.get("/hq").status_code == 403


def test_partner_admin_sees_own_partner_but_gets_404_for_another(client, login_as, app):
    own, other = factories.partner(), factories.partner(name="别家公司")
    login_as(factories.user("partner_admin", party=own))
    assert client.get(f"/partners/{own.id}").status_code == 200
    response = client.get(f"/partners/{other.id}")
    assert response.status_code == 404
    assert "别家公司" not in response.get_data(as_text=True)
    assert client.get("/partners/999999").status_code == 404  # absent looks the same


def test_hq_sees_every_partner(client, login_as, app):
    other = factories.partner()
    login_as(factories.user("hq_agent"))
    assert client.get(f"/partners/{other.id}").status_code == 200


def test_language_choice_sticks_to_the_user(client, login_as, app):
    user = factories.user("hq_admin")
    login_as(user)
    client.post("/language", data={"locale": "en", "next": "/hq"})
    assert db.session.get(type(user), user.id).locale == "en"
    assert "Network at a glance" in client.get("/hq").get_data(as_text=True)
    client.post("/language", data={"locale": "zh_CN", "next": "/hq"})
    assert "Network at a glance" not in client.get("/hq").get_data(as_text=True)


def test_browser_language_is_the_default(client, app):
    english = client.get("/login", headers={"Accept-Language": "en-US,en;q=0.9"}).get_data(as_text=True)
    chinese = client.get("/login", headers={"Accept-Language": "zh-CN,zh;q=0.9"}).get_data(as_text=True)
    assert "Sign in to partnernet" in english
    assert "Sign in to partnernet" not in chinese


@pytest.fixture
def csrf_client(database_url):
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "TESTING": True})
    with app.app_context():
        yield app.test_client()
        db.session.remove()
        db.engine.dispose()


def test_a_post_without_csrf_token_is_refused(csrf_client):
    user = factories.user("hq_admin")
    response = csrf_client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 400
    assert "session" not in response.headers.get("Set-Cookie", "") or "_user_id" not in response.get_data(as_text=True)
    assert csrf_client.get("/hq").status_code == 302  # not signed in


def test_a_post_with_the_csrf_token_from_the_form_signs_in(csrf_client):
    user = factories.user("hq_admin")
    page = csrf_client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = csrf_client.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    assert csrf_client.get("/hq").status_code == 200


def test_missing_secret_key_outside_development_stops_start_up(monkeypatch):
    monkeypatch.setenv("PARTNERNET_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app()


def test_app_starts_on_an_empty_database_and_says_to_migrate(tmp_path):
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/empty.sqlite", "TESTING": True,
                      "WTF_CSRF_ENABLED": False})
    client = app.test_client()
    assert client.get("/login").status_code == 200
    response = client.post("/login", data={"email": "a@b.cn", "password": "whatever12345"})
    assert response.status_code == 503
    assert "db upgrade" in response.get_data(as_text=True)


def test_app_starts_on_a_migrated_database(client, app):
    assert client.get("/login").status_code == 200


def test_failed_sign_ins_are_throttled_per_account(client, app):
    user = factories.user("hq_agent")
    for _ in range(10):
        assert client.post("/login", data={"email": user.email, "password": "wrong password!"}).status_code == 200
    blocked = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert blocked.status_code == 429
    assert "15" in blocked.get_data(as_text=True)
    other = factories.user("hq_agent")
    assert client.post("/login", data={"email": other.email, "password": PASSWORD}).status_code == 302


def test_guessing_from_one_address_does_not_lock_the_real_user_out_elsewhere(app):
    user = factories.user("hq_agent")
    attacker, owner = app.test_client(), app.test_client()
    attacker.environ_base["REMOTE_ADDR"] = "203.0.113.7"
    owner.environ_base["REMOTE_ADDR"] = "198.51.100.20"
    for _ in range(10):
        assert attacker.post("/login", data={"email": user.email, "password": "wrong password!"}).status_code == 200
    assert attacker.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 429
    assert owner.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 302


def test_guessing_one_account_from_many_addresses_is_throttled_too(app):
    user = factories.user("hq_agent")
    for n in range(50):
        guesser = app.test_client()
        guesser.environ_base["REMOTE_ADDR"] = f"203.0.113.{n // 9 + 1}"  # 9 tries per address: under 10
        assert guesser.post("/login", data={"email": user.email, "password": "wrong password!"}).status_code == 200
    owner = app.test_client()
    owner.environ_base["REMOTE_ADDR"] = "198.51.100.20"
    assert owner.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 429


def test_behind_a_trusted_proxy_each_client_is_limited_by_its_own_address(database_url):
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "TESTING": True, "WTF_CSRF_ENABLED": False,
                      "TRUSTED_PROXIES": 1, "RATELIMIT_STORAGE_URI": "memory://"})
    with app.app_context():
        limiter.reset()
        email = factories.user("hq_agent").email
    client = app.test_client()  # every request comes from the proxy's address
    for _ in range(10):
        client.post("/login", data={"email": email, "password": "wrong password!"},
                    headers={"X-Forwarded-For": "203.0.113.7"})
    assert client.post("/login", data={"email": email, "password": PASSWORD},
                       headers={"X-Forwarded-For": "203.0.113.7"}).status_code == 429
    assert client.post("/login", data={"email": email, "password": PASSWORD},
                       headers={"X-Forwarded-For": "198.51.100.20"}).status_code == 302


def test_trusted_proxies_must_be_a_number(monkeypatch, tmp_path):
    from partnernet.config import from_environment
    monkeypatch.setenv("TRUSTED_PROXIES", "yes")
    with pytest.raises(ConfigError, match="TRUSTED_PROXIES"):
        from_environment(str(tmp_path))


def test_failed_sign_ins_are_throttled_per_address(client, app):
    for n in range(30):
        client.post("/login", data={"email": f"nobody{n}@example.com", "password": "wrong password!"})
    user = factories.user("hq_agent")
    assert client.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 429


def test_successful_sign_ins_do_not_count(client, app):
    user = factories.user("hq_agent")
    for _ in range(12):
        assert client.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 302
        client.post("/logout")


def test_changing_the_password_signs_out_every_other_session(app):
    user = factories.user("hq_agent")
    laptop, phone = app.test_client(), app.test_client()
    for browser in (laptop, phone):
        assert browser.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 302
    response = laptop.post("/password", data={"current_password": PASSWORD, "new_password": "a brand new secret",
                                               "confirmation": "a brand new secret"})
    assert response.status_code == 302
    assert laptop.get("/hq").status_code == 200        # this browser stays signed in
    assert phone.get("/hq").status_code == 302         # the other one is signed out
    assert phone.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 200
    assert phone.post("/login", data={"email": user.email, "password": "a brand new secret"}).status_code == 302


def test_a_weak_or_mistyped_new_password_is_refused(client, login_as, app):
    user = factories.user("hq_agent")
    login_as(user)
    for data in ({"current_password": "wrong", "new_password": "a brand new secret", "confirmation": "a brand new secret"},
                 {"current_password": PASSWORD, "new_password": "short", "confirmation": "short"},
                 {"current_password": PASSWORD, "new_password": user.email + "x", "confirmation": user.email + "x"},
                 {"current_password": PASSWORD, "new_password": "a brand new secret", "confirmation": "another one!!"}):
        assert client.post("/password", data=data).status_code == 422
    assert db.session.get(type(user), user.id).check_password(PASSWORD)


TOO_EASY = {"en": "This password is too easy to guess", "zh_CN": "这个密码太容易被猜到"}


@pytest.mark.parametrize("locale", ["en", "zh_CN"])
@pytest.mark.parametrize("guessable", ["aaaaaaaaaa", "1234567890", "qwertyuiop", "password123", "xiaomingwang2"])
def test_an_easily_guessed_new_password_is_refused_with_a_message_in_the_users_language(
        client, login_as, app, guessable, locale):
    """Ten characters are not enough: repeats, runs, keyboard rows, common passwords and the user's
    own name are guessed first. (The name: `Wang Xiaoming`.)"""
    user = factories.user("hq_agent", name="Wang Xiaoming", email="wang.xiaoming@example.com", locale=locale)
    login_as(user)
    response = client.post("/password", data={"current_password": PASSWORD, "new_password": guessable,
                                              "confirmation": guessable})
    assert response.status_code == 422
    assert TOO_EASY[locale] in response.get_data(as_text=True)
    assert db.session.get(type(user), user.id).check_password(PASSWORD)
