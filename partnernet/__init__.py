"""partnernet: HQ's service-partner network, ticket routing, SLA clocks and push-back audits.

create_app() builds the app from the environment and registers each feature's parts. The features
are imported inside create_app and the register_* functions, so that importing a pure module such
as partnernet.routing does not load the whole app.
"""
import os

from flask import Flask

from partnernet import config
from partnernet.extensions import babel, csrf, db, limiter, login_manager, migrate
from partnernet.i18n import refresh_babel, select_locale


def create_app(overrides: dict | None = None) -> Flask:
    from partnernet.api import init_api
    from partnernet.errors import register_error_handlers
    from partnernet.security import register_input_checks, register_security_headers
    from partnernet.templating import register_template_helpers

    app = new_app()
    register_url_converters(app)  # before any blueprint adds its rules
    app.config.update(config.from_environment(app.instance_path))
    app.config.update(overrides or {})
    register_extensions(app)
    register_blueprints(app)
    init_api(app)
    register_error_handlers(app)
    register_security_headers(app)
    register_input_checks(app)
    register_template_helpers(app)
    register_commands(app)
    trust_proxies(app)
    return app


def new_app() -> Flask:
    """The Flask object, with its instance, template and static folders at the project's root."""
    root = str(config.ROOT)
    app = Flask(
        __name__,
        instance_path=os.path.join(root, "instance"),
        template_folder=os.path.join(root, "templates"),
        static_folder=os.path.join(root, "static"),
    )
    os.makedirs(app.instance_path, exist_ok=True)
    # Browsers ask for /favicon.ico on every page, whatever the page links: it is a static file.
    app.add_url_rule("/favicon.ico", "static", defaults={"filename": "favicon.ico"})
    return app


def register_url_converters(app):
    """A row id in a page's path (<int:…>) as in the API's: digits no column holds answer 404, not
    a database overflow."""
    from partnernet.web import IdConverter
    app.url_map.converters["int"] = IdConverter


def register_extensions(app):
    """Database, migrations, sign-in, CSRF, rate limits and translations, bound to this app."""
    root = str(config.ROOT)
    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(root, "migrations"), render_as_batch=True)
    login_manager.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=select_locale, default_translation_directories=os.path.join(root, "partnernet", "translations"))
    # Flask-Babel caches the language on `g`; an app context shared by several requests (tests,
    # CLI calls into views) must still pick each request's own language.
    app.before_request(refresh_babel)
    from partnernet import models  # noqa: F401  (every table registered before use)


def register_blueprints(app):
    """The pages, feature by feature."""
    from partnernet.audit.views import bp as audit_bp
    from partnernet.auth.views import bp as auth_bp
    from partnernet.home.views import bp as home_bp
    from partnernet.customers.views import bp as customers_bp
    from partnernet.feedback.views import bp as feedback_bp
    from partnernet.network.views import bp as network_bp
    from partnernet.notifications.views import bp as notifications_bp
    from partnernet.notifications.channel_views import bp as channels_bp
    from partnernet.tickets.views import bp as tickets_bp
    from partnernet.network.transfer_views import bp as transfer_bp
    from partnernet.regions.views import bp as regions_bp
    from partnernet.settings.views import bp as settings_bp
    from partnernet.auth.users_views import bp as users_bp
    from partnernet.fieldwork.views import bp as fieldwork_bp
    from partnernet.scorecards.views import bp as scorecards_bp
    from partnernet.reports.views import bp as reports_bp
    for blueprint in (auth_bp, home_bp, network_bp, customers_bp, tickets_bp, notifications_bp, transfer_bp,
                      regions_bp, settings_bp, users_bp, audit_bp, feedback_bp, fieldwork_bp, scorecards_bp,
                      channels_bp, reports_bp):
        app.register_blueprint(blueprint)


def register_commands(app):
    """`flask --app wsgi …`: each feature adds its own commands."""
    from partnernet import commands
    from partnernet.audit import commands as audit_commands
    from partnernet.auth import commands as auth_commands
    from partnernet.customers import commands as customers_commands
    from partnernet.demo import commands as demo_commands
    from partnernet.network import commands as network_commands
    from partnernet.reports import commands as reports_commands
    from partnernet.regions import commands as regions_commands
    from partnernet.settings import commands as settings_commands
    for feature in (auth_commands, demo_commands, regions_commands, settings_commands,
                    audit_commands, commands, network_commands, customers_commands, reports_commands):
        feature.init_app(app)


def trust_proxies(app):
    """Behind TRUSTED_PROXIES reverse proxies, the client's address and scheme are the forwarded ones."""
    if app.config.get("TRUSTED_PROXIES"):
        from werkzeug.middleware.proxy_fix import ProxyFix
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
