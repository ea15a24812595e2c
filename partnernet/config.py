"""Settings from the environment, with working defaults for a developer's machine."""
import ipaddress
import os
from pathlib import Path
from urllib.parse import urlsplit

from limits import parse_many

ROOT = Path(__file__).resolve().parent.parent
LANGUAGES = ["zh_CN", "en"]
DEVELOPMENT_SECRET = "dev-only-not-secret"


class ConfigError(RuntimeError):
    """The environment does not describe a runnable app."""


def default_database_url(instance_path: str) -> str:
    return "sqlite:///" + os.path.join(instance_path, "partnernet.sqlite")


def rate(name: str, default: str) -> str:
    """A rate limit from the environment, in Flask-Limiter's notation ("600 per minute", "10/second")."""
    value = os.environ.get(name, default)
    try:
        if parse_many(value):
            return value
    except ValueError:
        pass
    raise ConfigError(f"{name} must be a rate such as {default!r}, not {value!r}")


def whole_number(name: str, default: int) -> int:
    value = os.environ.get(name, str(default)).replace("_", "").replace(",", "")
    if not value.isdigit() or int(value) < 1:
        raise ConfigError(f"{name} must be a whole number of at least 1, not {os.environ.get(name)!r}")
    return int(value)


# The group robots' own hosts (partnernet/notifications/providers.py), the default allow-list.
OFFICIAL_ROBOT_HOSTS = {
    "wecom": ("qyapi.weixin.qq.com",),
    "dingtalk": ("oapi.dingtalk.com",),
    "feishu": ("open.feishu.cn", "open.larksuite.com"),
}


def loopback_origin(entry: str) -> tuple[str, int] | None:
    """("127.0.0.1", 8080) for a robot allow-list entry "http://127.0.0.1:8080" (a test's fake robot
    server), None for a host name. Plain HTTP is only ever allowed to a loopback address."""
    if "://" not in entry:
        return None
    parts = urlsplit(entry)
    try:
        loopback = ipaddress.ip_address(parts.hostname or "").is_loopback
        port = parts.port
    except ValueError:
        loopback, port = False, None
    if parts.scheme != "http" or not loopback or port is None or parts.path not in ("", "/"):
        raise ValueError(f"a robot host is a host name (HTTPS) or http://127.0.0.1:<port>, not {entry!r}")
    return parts.hostname, port


def robot_hosts() -> dict[str, tuple[str, ...]]:
    """Where each group robot's webhook may point: the provider's own hosts unless
    ROBOT_HOSTS_WECOM / _DINGTALK / _FEISHU (comma-separated) say otherwise. An entry is a host
    name, reached over HTTPS, or http://127.0.0.1:<port> for a fake robot server on this machine."""
    hosts = {}
    for provider, official in OFFICIAL_ROBOT_HOSTS.items():
        name = f"ROBOT_HOSTS_{provider.upper()}"
        entries = tuple(e.strip() for e in os.environ.get(name, ",".join(official)).split(",") if e.strip())
        for entry in entries:
            try:
                loopback_origin(entry)
            except ValueError as error:
                raise ConfigError(f"{name}: {error}") from None
        hosts[provider] = entries
    return hosts


def from_environment(instance_path: str) -> dict:
    env = os.environ.get("PARTNERNET_ENV", "development")
    secret = os.environ.get("SECRET_KEY")
    if not secret:
        if env == "production":
            raise ConfigError(
                "SECRET_KEY is not set. Set SECRET_KEY to a long random string "
                "(for example: python -c 'import secrets; print(secrets.token_hex(32))') "
                "or set PARTNERNET_ENV=development for a local run."
            )
        secret = DEVELOPMENT_SECRET
    url = os.environ.get("DATABASE_URL") or default_database_url(instance_path)
    if url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url[len("postgres://"):]
    elif url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    secure_cookies = os.environ.get("SESSION_COOKIE_SECURE", "1" if env == "production" else "0") == "1"
    proxies = os.environ.get("TRUSTED_PROXIES", "0")
    if not proxies.isdigit():
        raise ConfigError(f"TRUSTED_PROXIES must be a whole number of proxies in front of the app, not {proxies!r}")
    return {
        "ENV_NAME": env,
        "SECRET_KEY": secret,
        "SQLALCHEMY_DATABASE_URI": url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": secure_cookies,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": secure_cookies,
        "BABEL_DEFAULT_LOCALE": "zh_CN",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
        "LANGUAGES": LANGUAGES,
        "WTF_CSRF_TIME_LIMIT": None,
        # The largest request: an import file of 10 MB (network/transfer.py) and its form around it.
        # Larger is refused with 413 before it is read; form fields other than files stay under
        # Flask's MAX_FORM_MEMORY_SIZE (500 kB).
        "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,
        # The bulk import's limits (network/transfer.py ImportLimits): a file past one is refused
        # with 422 naming it, within seconds, before it is read whole.
        "IMPORT_MAX_ROWS": whole_number("IMPORT_MAX_ROWS", 200_000),
        "IMPORT_MAX_CELL_CHARACTERS": whole_number("IMPORT_MAX_CELL_CHARACTERS", 1_000),
        "IMPORT_MAX_UNPACKED_MB": whole_number("IMPORT_MAX_UNPACKED_MB", 256),
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", "memory://"),
        "RATELIMIT_HEADERS_ENABLED": False,
        # The JSON API's limits (per process with memory://): requests per token, requests per client
        # address (whatever the token), and tokens that authenticate nobody per address. Over a
        # limit the API answers 429 with Retry-After.
        "API_RATE_LIMIT_PER_TOKEN": rate("API_RATE_LIMIT_PER_TOKEN", "600 per minute"),
        "API_RATE_LIMIT_PER_ADDRESS": rate("API_RATE_LIMIT_PER_ADDRESS", "1200 per minute"),
        "API_FAILED_TOKENS_PER_ADDRESS": rate("API_FAILED_TOKENS_PER_ADDRESS", "20 per minute"),
        # How many reverse proxies stand in front of the app: their X-Forwarded-For/-Proto/-Host
        # are believed that many hops deep, so that sign-in limits count each client's own address.
        "TRUSTED_PROXIES": int(proxies),
        # E-mail for notifications; without SMTP_HOST they stay in the app only.
        "SMTP_HOST": os.environ.get("SMTP_HOST"),
        "SMTP_PORT": int(os.environ.get("SMTP_PORT", "25")),
        "SMTP_USER": os.environ.get("SMTP_USER"),
        "SMTP_PASSWORD": os.environ.get("SMTP_PASSWORD"),
        "SMTP_FROM": os.environ.get("SMTP_FROM", "partnernet@localhost"),
        "SMTP_STARTTLS": os.environ.get("SMTP_STARTTLS", "0") == "1",
        # The hosts a WeCom, DingTalk or Feishu group robot's webhook may be on (robot_hosts above).
        "ROBOT_HOSTS": robot_hosts(),
        # Cards a group robot takes in any minute (the providers': 20); past it the rest are folded
        # into one digest card.
        "ROBOT_PER_MINUTE": int(os.environ.get("ROBOT_PER_MINUTE", "20")),
        # The address customers reach the app at (https://service.example.com): the confirmation
        # links e-mailed by the scheduler start with it. Without it, links are only given on the
        # ticket page, to copy.
        "PUBLIC_URL": os.environ.get("PUBLIC_URL", "").rstrip("/"),
        # The customer's confirmation page, per client address: no sign-in, so guessing is slowed.
        "CONFIRMATION_RATE_LIMIT": rate("CONFIRMATION_RATE_LIMIT", "30 per 10 minutes"),
    }
