"""The layout every page shares: the icon browsers ask for on every page."""
import re

from tests import factories


def test_the_icon_is_served_where_browsers_ask_and_every_page_links_it(client, login_as, app):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.data[:4] == b"\x00\x00\x01\x00" and response.mimetype in ("image/vnd.microsoft.icon", "image/x-icon")
    svg = client.get("/static/favicon.svg")
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml" and b"<svg" in svg.data
    for response in (client.get("/login"), login_as(factories.user("hq_admin")).get("/hq")):
        icons = re.findall(r'<link rel="icon"[^>]*href="([^"]+)"', response.get_data(as_text=True))
        assert icons and all(client.get(href).status_code == 200 for href in icons), icons
