"""The group robots of WeCom, DingTalk and Feishu: their addresses, a short card as each one's
request (signed where the provider signs), and what their answer means. Plain functions: the
delivery job calls them with the time, the channel's address and secret, and the card.

Provider documentation: WeCom 群机器人配置说明 (developer.work.weixin.qq.com/document/path/91770),
DingTalk 自定义机器人 (open.dingtalk.com, "自定义机器人安全设置" and "发送群消息"), Feishu 自定义机器人
使用指南 (open.feishu.cn/document/client-docs/bot-v3/add-custom-bot).
"""
import base64
import hashlib
import hmac
import json
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import parse_qs, quote_plus, urlsplit

import httpx
from flask_babel import lazy_gettext as _l

# The providers' own hosts are the default allow-list (config ROBOT_HOSTS may replace it per provider).
from partnernet.config import OFFICIAL_ROBOT_HOSTS as OFFICIAL_HOSTS, loopback_origin

WECOM, DINGTALK, FEISHU = "wecom", "dingtalk", "feishu"
PROVIDERS = (WECOM, DINGTALK, FEISHU)

# Each robot takes about 20 messages a minute; past that it answers one of these codes in a 200.
RATE_LIMIT_CODES = {
    WECOM: {45009},
    DINGTALK: {130101},
    FEISHU: {9499, 11232},
}

TIMEOUT = httpx.Timeout(5.0, connect=3.0)

# httpx logs each request's URL at INFO (httpcore its steps at DEBUG): a robot's URL holds its key
# or token and DingTalk's signature, which are never logged.
for _noisy in ("httpx", "httpcore"):
    logging.getLogger(_noisy).setLevel(logging.WARNING)


@dataclass(frozen=True)
class Card:
    """What a group reads: a title, a few short lines, and a link to the page (its label in the
    reader's language)."""
    title: str
    lines: tuple[str, ...] = ()
    link: str | None = None
    link_label: str = ""


@dataclass(frozen=True)
class RobotRequest:
    """One POST with a JSON body. The url holds the robot's key or token: it is a secret too."""
    url: str
    body: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Answer:
    """What the provider said: delivered, or a failure with its code and message; a rate-limited
    failure tells the caller to fold what remains into a digest."""
    ok: bool
    code: int | None = None
    message: str = ""
    rate_limited: bool = False


class InvalidWebhook(ValueError):
    """An address or secret a channel may not have; the message is for the form."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


# --- Addresses and secrets ---------------------------------------------------------------------

# The path of each provider's webhook, and where its key or token sits in the address.
WEBHOOK_PATHS = {
    WECOM: re.compile(r"/cgi-bin/webhook/send"),
    DINGTALK: re.compile(r"/robot/send"),
    FEISHU: re.compile(r"/open-apis/bot/v2/hook/[A-Za-z0-9._~-]{8,128}"),
}
TOKEN_QUERY = {WECOM: "key", DINGTALK: "access_token"}
TOKEN = re.compile(r"[A-Za-z0-9._~-]{8,128}")
EXAMPLES = {
    WECOM: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…",
    DINGTALK: "https://oapi.dingtalk.com/robot/send?access_token=…",
    FEISHU: "https://open.feishu.cn/open-apis/bot/v2/hook/…",
}
PROVIDER_NAMES = {WECOM: _l("WeCom"), DINGTALK: _l("DingTalk"), FEISHU: _l("Feishu")}


def check_webhook_url(provider: str, url: str, allowed: tuple[str, ...] | list[str]) -> str:
    """The address, stripped, if it is this provider's webhook on an allowed host; otherwise
    InvalidWebhook saying what is wrong. `allowed` is the provider's allow-list from config: host
    names reached over HTTPS on port 443, or loopback origins written http://127.0.0.1:<port>."""
    if provider not in PROVIDERS:
        raise InvalidWebhook(_l("Choose WeCom, DingTalk or Feishu."))
    url = (url or "").strip()
    example = {"example": EXAMPLES[provider], "provider": PROVIDER_NAMES[provider]}
    try:
        parts = urlsplit(url)
        host, port = (parts.hostname or "").lower(), parts.port
    except ValueError:
        raise InvalidWebhook(_l("This is not a web address. A %(provider)s robot's address looks like "
                                "%(example)s", **example)) from None
    if parts.username is not None or parts.password is not None or parts.fragment:
        raise InvalidWebhook(_l("A %(provider)s robot's address has no user name, password or #part: "
                                "it looks like %(example)s", **example))
    loopbacks = [origin for origin in map(loopback_origin, allowed) if origin]
    if parts.scheme == "http" and (host, port) in loopbacks:
        pass  # a fake robot server on this machine, allowed by the configuration (tests)
    elif parts.scheme != "https":
        raise InvalidWebhook(_l("A robot's address must start with https:// — a %(provider)s robot's address "
                                "looks like %(example)s", **example))
    elif host not in [entry.lower() for entry in allowed if "://" not in entry] or port not in (None, 443):
        raise InvalidWebhook(_l("This address is not on %(provider)s's own servers (%(hosts)s). Copy the "
                                "robot's address from the group's settings: it looks like %(example)s",
                                hosts=", ".join(entry for entry in allowed if "://" not in entry) or "—",
                                **example))
    if not WEBHOOK_PATHS[provider].fullmatch(parts.path):
        raise InvalidWebhook(_l("This is not a %(provider)s robot's address: it looks like %(example)s",
                                **example))
    if provider in TOKEN_QUERY:
        tokens = parse_qs(parts.query).get(TOKEN_QUERY[provider], [])
        if len(tokens) != 1 or not TOKEN.fullmatch(tokens[0]):
            raise InvalidWebhook(_l("The address lacks the robot's %(name)s: copy the whole address, "
                                    "it looks like %(example)s", name=TOKEN_QUERY[provider], **example))
    elif parts.query:
        raise InvalidWebhook(_l("A %(provider)s robot's address ends with its token, with nothing after "
                                "it: it looks like %(example)s", **example))
    return url


SECRETS = {
    DINGTALK: re.compile(r"SEC[A-Za-z0-9]{16,128}"),
    FEISHU: re.compile(r"[A-Za-z0-9]{16,64}"),
}


def check_secret(provider: str, secret: str | None) -> str | None:
    """The signing secret, stripped (None when none is needed or given); InvalidWebhook when it
    cannot be one. WeCom's robot has no secret (its key is in the address); DingTalk's starts
    with SEC and Feishu's is letters and digits. A robot set to sign refuses unsigned messages, so
    DingTalk's secret is required (its keyword or IP safeguards cannot be met from here)."""
    secret = (secret or "").strip() or None
    if provider == WECOM:
        if secret:
            raise InvalidWebhook(_l("A WeCom robot has no signing secret: its key is in the address. "
                                    "Leave the secret empty."))
        return None
    if provider == DINGTALK and secret is None:
        raise InvalidWebhook(_l("Give the DingTalk robot's signing secret (安全设置 → 加签): it starts with SEC."))
    if secret is None:
        return None
    if provider == DINGTALK and not SECRETS[DINGTALK].fullmatch(secret):
        raise InvalidWebhook(_l("A DingTalk signing secret is SEC followed by letters and digits, with no spaces "
                                "(安全设置 → 加签)."))
    if provider == FEISHU and not SECRETS[FEISHU].fullmatch(secret):
        raise InvalidWebhook(_l("A Feishu signing secret is 16 to 64 letters and digits (安全设置 → 签名校验)."))
    return secret


# --- Signatures --------------------------------------------------------------------------------

def dingtalk_signature(timestamp_ms: int, secret: str) -> str:
    """DingTalk: HMAC-SHA256 of "timestamp\\nsecret" keyed with the secret, base64 (not yet
    url-encoded)."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def feishu_signature(timestamp_s: int, secret: str) -> str:
    """Feishu: "timestamp\\nsecret" is the HMAC-SHA256 KEY, over an empty message, base64."""
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


# --- Requests ----------------------------------------------------------------------------------

def one_line(text: str) -> str:
    """A line of the card stays one line: a ticket's text cannot add lines or headings."""
    return " ".join(str(text).split())


def markdown(card: Card, line_break: str) -> str:
    lines = [f"**{one_line(card.title)}**", *(one_line(line) for line in card.lines)]
    if card.link:
        lines.append(f"[{one_line(card.link_label) or card.link}]({card.link})")
    return line_break.join(lines)


def wecom_request(url: str, card: Card) -> RobotRequest:
    return RobotRequest(url, {"msgtype": "markdown", "markdown": {"content": markdown(card, "\n")}})


def dingtalk_request(url: str, secret: str | None, card: Card, now: datetime) -> RobotRequest:
    # DingTalk's markdown needs a blank line (or two trailing spaces) to break a line.
    body = {"msgtype": "markdown", "markdown": {"title": one_line(card.title), "text": markdown(card, "\n\n")}}
    if secret:
        timestamp = int(now.timestamp() * 1000)
        sign = quote_plus(dingtalk_signature(timestamp, secret))
        url = f"{url}{'&' if '?' in url else '?'}timestamp={timestamp}&sign={sign}"
    return RobotRequest(url, body)


def feishu_request(url: str, secret: str | None, card: Card, now: datetime) -> RobotRequest:
    elements = [{"tag": "div", "text": {"tag": "lark_md", "content": "\n".join(one_line(line) for line in card.lines)}}]
    if card.link:
        elements.append({"tag": "action", "actions": [{
            "tag": "button", "type": "primary", "url": card.link,
            "text": {"tag": "plain_text", "content": one_line(card.link_label) or card.link}}]})
    body = {"msg_type": "interactive", "card": {
        "config": {"wide_screen_mode": True},
        "header": {"title": {"tag": "plain_text", "content": one_line(card.title)}},
        "elements": elements}}
    if secret:
        timestamp = int(now.timestamp())
        body = {"timestamp": str(timestamp), "sign": feishu_signature(timestamp, secret), **body}
    return RobotRequest(url, body)


def build_request(provider: str, url: str, secret: str | None, card: Card, now: datetime) -> RobotRequest:
    """The request that posts `card` to the robot at `url`, signed at `now` when there is a secret."""
    if provider == WECOM:
        return wecom_request(url, card)
    if provider == DINGTALK:
        return dingtalk_request(url, secret, card, now)
    if provider == FEISHU:
        return feishu_request(url, secret, card, now)
    raise ValueError(f"unknown robot provider {provider!r}")


# --- Answers -----------------------------------------------------------------------------------

def parse_answer(provider: str, status: int, text: str) -> Answer:
    """These robots answer errors inside an HTTP 200: {"errcode": …, "errmsg": …} (WeCom,
    DingTalk) or {"code": …, "msg": …} (Feishu; older bots {"StatusCode": 0, …}). Only code 0
    is delivered."""
    try:
        answer = json.loads(text)
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        return Answer(False, None, f"HTTP {status}: {one_line(text)[:200] or 'no answer'}", status == 429)
    if provider == FEISHU:
        code = answer.get("code", answer.get("StatusCode"))
        message = answer.get("msg", answer.get("StatusMessage", ""))
    else:
        code, message = answer.get("errcode"), answer.get("errmsg", "")
    if not isinstance(code, int):
        return Answer(False, None, f"HTTP {status}: {one_line(text)[:200]}", status == 429)
    if code == 0 and status == 200:
        return Answer(True, 0, str(message))
    limited = code in RATE_LIMIT_CODES[provider] or status == 429
    return Answer(False, code, f"{code} {one_line(str(message))}".strip(), limited)


def send(provider: str, url: str, secret: str | None, card: Card, now: datetime,
         client: httpx.Client | None = None) -> Answer:
    """Post the card and say what the provider answered. A network error is a failed Answer too;
    its message never holds the address (the key or token in it is a secret)."""
    request = build_request(provider, url, secret, card, now)
    try:
        if client is None:
            with httpx.Client(timeout=TIMEOUT, follow_redirects=False) as own:
                response = own.post(request.url, json=request.body)
        else:
            response = client.post(request.url, json=request.body, timeout=TIMEOUT)
    except httpx.HTTPError as error:
        message = f"{type(error).__name__}: {error}"
        for secret_part in (request.url, url):
            message = message.replace(secret_part, "<webhook>")
        return Answer(False, None, message)
    return parse_answer(provider, response.status_code, response.text)
