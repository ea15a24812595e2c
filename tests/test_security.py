"""Security headers on every page (no inline scripts, no framing, no sniffing) and the cookies of a sign-in."""
import re
from tests import factories


def test_pages_carry_a_strict_content_security_policy(client, login_as, app):
    for response in (client.get("/login"), login_as(factories.user("hq_admin")).get("/hq")):
        policy = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy
        assert "frame-ancestors 'none'" in policy
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "same-origin"
        assert "<script>" not in response.get_data(as_text=True)


def test_no_template_carries_inline_script_or_style_which_the_policy_would_block():
    """The policy allows scripts and styles from the app's own files only: an inline one is
    silently dropped by the browser (a form's width, a handler), so none may be written."""
    from pathlib import Path
    root = Path(__file__).resolve().parent.parent / "templates"
    offending = [f"{path.relative_to(root)}:{n}" for path in sorted(root.rglob("*.html"))
                 for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                 if re.search(r'\sstyle=|<style|<script(?![^>]*\bsrc=)|\son[a-z]+=', line)]
    assert offending == []


def test_session_cookie_is_httponly_and_samesite(client, app):
    user = factories.user("hq_agent")
    response = client.post("/login", data={"email": user.email, "password": factories.PASSWORD})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_in_production_the_session_and_remember_cookies_are_secure_httponly_and_samesite(
        monkeypatch, database_url):
    from partnernet import create_app
    from partnernet.extensions import db, limiter
    monkeypatch.setenv("PARTNERNET_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "a-production-secret")
    monkeypatch.delenv("SESSION_COOKIE_SECURE", raising=False)
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "WTF_CSRF_ENABLED": False})
    with app.app_context():
        limiter.reset()
        user = factories.user("hq_agent")
        response = app.test_client().post("/login", data={"email": user.email, "password": factories.PASSWORD,
                                                          "remember": "y"}, base_url="https://partnernet.example")
        cookies = {header.split("=", 1)[0]: header for header in response.headers.getlist("Set-Cookie")}
        db.session.remove()
        db.engine.dispose()
    assert {"session", "remember_token"} <= cookies.keys()
    for cookie in (cookies["session"], cookies["remember_token"]):
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_a_session_planted_before_sign_in_carries_nothing_into_the_signed_in_session(client, app):
    user = factories.user("hq_agent")
    with client.session_transaction() as planted:
        planted["planted_by_someone_else"] = "known value"
    client.post("/login", data={"email": user.email, "password": factories.PASSWORD})
    with client.session_transaction() as session:
        assert "planted_by_someone_else" not in session
        assert session.get("_user_id", "").startswith(f"{user.id}:")  # signed in, as this user
