"""Security headers on every page: no inline scripts, no framing, no sniffing."""
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


def test_session_cookie_is_httponly_and_samesite(client, app):
    user = factories.user("hq_agent")
    response = client.post("/login", data={"email": user.email, "password": factories.PASSWORD})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
