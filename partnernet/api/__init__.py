"""The JSON API /api/v1: bearer tokens, schemas that both validate and document, thin endpoints
over the services the UI calls. See docs/api.md for the contract and /api/v1/docs for the reference."""


def init_api(app):
    """Bind the API to the app: the OpenAPI document, the endpoints, the reference page, and
    the profile page where users manage their tokens."""
    from partnernet.api import audits, channels, customers, deliveries, escalations, feedback, fieldwork, me, network, regions, reports, scorecards, tickets  # noqa: F401  (routes on the blueprint)
    from partnernet.api.blueprint import blp
    from partnernet.api.docs import bp as docs_bp
    from partnernet.api.spec import create_api
    from partnernet.api.tokens_views import bp as profile_bp
    from partnernet.extensions import csrf

    api = create_api(app)
    csrf.exempt(blp)  # token requests carry no session, so no CSRF token either
    api.register_blueprint(blp)
    app.register_blueprint(docs_bp)
    app.register_blueprint(profile_bp)
    return api
