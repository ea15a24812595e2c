"""The service report as a PDF, by WeasyPrint (Pango draws the text; Debian's fonts-noto-cjk the
Chinese). A server without Pango answers 503 with what to install, not a 500."""
import os

from flask import current_app
from flask_babel import gettext as _

from partnernet.config import ROOT
from partnernet.errors import DomainError

STYLESHEET = os.path.join(ROOT, "static", "css", "report.css")


class PdfUnavailable(DomainError):
    status, code = 503, "pdf_unavailable"


def refuse_fetching(url: str, *args, **kwargs):
    """The report's HTML is rendered from our own data: it loads nothing (no file, no URL)."""
    raise ValueError(f"the report loads no resource ({url})")


def render_pdf(html: str) -> bytes:
    try:
        import weasyprint
    except (ImportError, OSError) as error:  # OSError: cffi cannot load Pango's libraries
        current_app.logger.error("PDFs are unavailable: WeasyPrint cannot load: %s", error)
        raise PdfUnavailable(_("PDFs cannot be made on this server (it needs Pango and the CJK fonts: Debian's "
                               "libpango-1.0-0, libpangoft2-1.0-0 and fonts-noto-cjk). Use the printable page "
                               "and your browser's Print instead.")) from None
    return weasyprint.HTML(string=html, url_fetcher=refuse_fetching).write_pdf(
        stylesheets=[weasyprint.CSS(filename=STYLESHEET)])
