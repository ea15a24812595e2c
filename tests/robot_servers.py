"""A fake of the WeCom, DingTalk and Feishu group robots on loopback, for the notification tests: one
real HTTP server answering each provider's webhook path as its documentation describes — the
signature checks of DingTalk and Feishu, the errors inside an HTTP 200, about 20 messages a minute
per robot — and recording every request it received.

    with RobotServer() as robots:
        key = robots.add_wecom()
        token, secret = robots.add_dingtalk()
        robots.url(WECOM, key)          # the webhook address to give the channel
        robots.received                 # what arrived, in order

Standalone, to try the group robots by hand (`make run` in another terminal):

    python -m tests.robot_servers --port 8765

serves the fake on http://127.0.0.1:8765, prints a WeCom robot's address (and a DingTalk and a
Feishu robot's, with their secrets) to paste into a channel, and prints each card it receives.
Start the app with ROBOT_HOSTS_WECOM=http://127.0.0.1:8765 (and _DINGTALK, _FEISHU) so that the
addresses are allowed.
"""
import argparse
import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

WECOM, DINGTALK, FEISHU = "wecom", "dingtalk", "feishu"

# The providers' answers, as their documentation and their servers give them.
OK = {WECOM: {"errcode": 0, "errmsg": "ok"},
      DINGTALK: {"errcode": 0, "errmsg": "ok"},
      FEISHU: {"code": 0, "data": {}, "msg": "success"}}
UNKNOWN_ROBOT = {WECOM: {"errcode": 93000, "errmsg": "invalid webhook url, hint: [fake], from ip: 127.0.0.1"},
                 DINGTALK: {"errcode": 300001, "errmsg": "token is not exist"},
                 FEISHU: {"code": 19001, "data": {}, "msg": "param invalid: incoming webhook access token invalid"}}
RATE_LIMITED = {WECOM: {"errcode": 45009, "errmsg": "api freq out of limit"},
                DINGTALK: {"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"},
                FEISHU: {"code": 11232, "data": {}, "msg": "frequency limited psm[lark.oapi.app_platform_runtime]"}}
DINGTALK_SIGN_MISMATCH = {"errcode": 310000, "errmsg": "sign not match, more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]"}
DINGTALK_STALE_TIMESTAMP = {"errcode": 310000, "errmsg": "invalid timestamp"}
FEISHU_SIGN_MISMATCH = {"code": 19021, "data": {},
                        "msg": "sign match fail or timestamp is not within one hour from current time"}
BAD_BODY = {WECOM: {"errcode": 40008, "errmsg": "invalid message type"},
            DINGTALK: {"errcode": 40035, "errmsg": "缺少参数 json"},
            FEISHU: {"code": 9499, "data": {}, "msg": "Bad Request"}}
WECOM_TOO_LONG = {"errcode": 40058, "errmsg": "markdown.content exceed max length 4096"}
SIGNATURE_WINDOW_SECONDS = 3600  # both providers refuse a timestamp more than an hour from their clock


@dataclass
class Robot:
    provider: str
    secret: str | None = None  # a robot with a secret refuses messages not signed with it
    sent: deque = field(default_factory=deque)  # when it accepted a message, for its rate limit


@dataclass
class Received:
    provider: str
    robot: str  # the key or token
    query: dict
    body: dict | None
    answer: dict


class RobotServer:
    """Each robot takes `per_minute` messages in any 60 seconds (the providers: 20), then answers its
    rate-limit error. `clock()` gives the server's time in seconds (signatures are checked within
    an hour of it)."""

    def __init__(self, per_minute: int = 20, clock=time.time, port: int = 0, on_receive=None):
        self.per_minute, self.clock, self.on_receive = per_minute, clock, on_receive
        self.robots: dict[str, Robot] = {}
        self.received: list[Received] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                length = int(self.headers.get("Content-Length") or 0)
                answer = server.answer(self.path, self.rfile.read(length))
                data = json.dumps(answer, ensure_ascii=False).encode()
                self.send_response(200)  # these robots answer their errors inside a 200
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.http.daemon_threads = True
        self.thread = threading.Thread(target=self.http.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    # --- setting it up -------------------------------------------------------------------------

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.http.shutdown()
        self.http.server_close()
        self.thread.join(5)

    @property
    def origin(self) -> str:
        host, port = self.http.server_address[:2]
        return f"http://{host}:{port}"

    def add_wecom(self, key: str | None = None) -> str:
        key = key or secrets.token_hex(16)
        self.robots[key] = Robot(WECOM)
        return key

    def add_dingtalk(self, secret: str | None = None) -> tuple[str, str]:
        token, secret = secrets.token_hex(32), secret or "SEC" + secrets.token_hex(32)
        self.robots[token] = Robot(DINGTALK, secret)
        return token, secret

    def add_feishu(self, secret: str | None = None) -> tuple[str, str]:
        token, secret = secrets.token_hex(16), secret or secrets.token_urlsafe(16).replace("-", "a").replace("_", "b")
        self.robots[token] = Robot(FEISHU, secret)
        return token, secret

    def url(self, provider: str, robot: str) -> str:
        """The robot's webhook address on this server, shaped as the provider's."""
        return self.origin + {
            WECOM: f"/cgi-bin/webhook/send?key={robot}",
            DINGTALK: f"/robot/send?access_token={robot}",
            FEISHU: f"/open-apis/bot/v2/hook/{robot}",
        }[provider]

    def delivered(self, provider: str | None = None) -> list[Received]:
        """The messages the robots accepted (answered code 0)."""
        return [r for r in self.received if r.answer in OK.values() and provider in (None, r.provider)]

    # --- answering -----------------------------------------------------------------------------

    def answer(self, path: str, raw: bytes) -> dict:
        parts = urlsplit(path)
        query = {name: values[0] for name, values in parse_qs(parts.query).items()}
        if parts.path == "/cgi-bin/webhook/send":
            provider, robot = WECOM, query.get("key", "")
        elif parts.path == "/robot/send":
            provider, robot = DINGTALK, query.get("access_token", "")
        elif parts.path.startswith("/open-apis/bot/v2/hook/"):
            provider, robot = FEISHU, parts.path.rpartition("/")[2]
        else:
            return {"errcode": 404, "errmsg": "not a robot's path"}
        try:
            body = json.loads(raw.decode("utf-8"))
        except ValueError:
            body = None
        with self.lock:
            answer = self.check(provider, robot, query, body)
            received = Received(provider, robot, query, body, answer)
            self.received.append(received)
            if self.on_receive is not None:
                self.on_receive(received)
        return answer

    def check(self, provider: str, robot_key: str, query: dict, body) -> dict:
        robot = self.robots.get(robot_key)
        if robot is None or robot.provider != provider:
            return UNKNOWN_ROBOT[provider]
        if not isinstance(body, dict):
            return BAD_BODY[provider]
        now = self.clock()
        if provider == DINGTALK and robot.secret:
            refused = self.dingtalk_signature_refused(robot.secret, query, now)
            if refused:
                return refused
        if provider == FEISHU and robot.secret:
            if not self.feishu_signature_valid(robot.secret, body, now):
                return FEISHU_SIGN_MISMATCH
        bad = self.body_refused(provider, body)
        if bad:
            return bad
        while robot.sent and robot.sent[0] <= now - 60:
            robot.sent.popleft()
        if len(robot.sent) >= self.per_minute:
            return RATE_LIMITED[provider]
        robot.sent.append(now)
        return OK[provider]

    @staticmethod
    def dingtalk_signature_refused(secret: str, query: dict, now: float) -> dict | None:
        """DingTalk: `timestamp` (ms) within an hour, `sign` = base64(HMAC-SHA256(secret,
        "timestamp\\nsecret")) — parse_qs has already url-decoded it."""
        timestamp, sign = query.get("timestamp", ""), query.get("sign", "")
        if not timestamp.isdigit():
            return DINGTALK_SIGN_MISMATCH
        if abs(int(timestamp) / 1000 - now) > SIGNATURE_WINDOW_SECONDS:
            return DINGTALK_STALE_TIMESTAMP
        expected = base64.b64encode(hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(),
                                             hashlib.sha256).digest()).decode()
        return None if hmac.compare_digest(expected, sign) else DINGTALK_SIGN_MISMATCH

    @staticmethod
    def feishu_signature_valid(secret: str, body: dict, now: float) -> bool:
        """Feishu: `timestamp` (s) within an hour, `sign` = base64(HMAC-SHA256 keyed with
        "timestamp\\nsecret" over nothing), both in the JSON body."""
        timestamp, sign = str(body.get("timestamp", "")), str(body.get("sign", ""))
        if not timestamp.isdigit() or abs(int(timestamp) - now) > SIGNATURE_WINDOW_SECONDS:
            return False
        expected = base64.b64encode(hmac.new(f"{timestamp}\n{secret}".encode(), b"", hashlib.sha256).digest()).decode()
        return hmac.compare_digest(expected, sign)

    @staticmethod
    def body_refused(provider: str, body: dict) -> dict | None:
        """The message types the tests use, checked as the providers check them."""
        if provider == WECOM:
            if body.get("msgtype") != "markdown" or not isinstance(body.get("markdown"), dict):
                return BAD_BODY[WECOM]
            content = body["markdown"].get("content")
            if not isinstance(content, str) or not content:
                return BAD_BODY[WECOM]
            if len(content.encode()) > 4096:
                return WECOM_TOO_LONG
        elif provider == DINGTALK:
            text = body.get("markdown") if body.get("msgtype") == "markdown" else None
            if not isinstance(text, dict) or not text.get("title") or not text.get("text"):
                return BAD_BODY[DINGTALK]
        elif provider == FEISHU:
            card = body.get("card") if body.get("msg_type") == "interactive" else None
            if not isinstance(card, dict) or not isinstance(card.get("elements"), list):
                return BAD_BODY[FEISHU]
        return None


# --- standalone --------------------------------------------------------------------------------

def card_text(received: Received) -> tuple[str, list[str]]:
    """The title and the lines of a card as the group would read them."""
    body = received.body if isinstance(received.body, dict) else {}
    if received.provider == WECOM:
        lines = str((body.get("markdown") or {}).get("content", "")).split("\n")
    elif received.provider == DINGTALK:
        lines = [line for line in str((body.get("markdown") or {}).get("text", "")).split("\n") if line]
    else:
        card = body.get("card") or {}
        title = (((card.get("header") or {}).get("title") or {}).get("content", ""))
        lines = [title]
        for element in card.get("elements") or []:
            if element.get("tag") == "div":
                lines += str((element.get("text") or {}).get("content", "")).split("\n")
            for action in element.get("actions") or []:
                lines.append(f"[{(action.get('text') or {}).get('content', '')}]({action.get('url', '')})")
    title, *rest = lines or [""]
    return title.strip("*"), rest


def print_card(received: Received) -> None:
    title, lines = card_text(received)
    verdict = "ok" if received.answer in OK.values() else f"refused: {received.answer}"
    print(f"--- {received.provider} robot …{received.robot[-4:]} ({verdict})", flush=True)
    print(f"    {title}", flush=True)
    for line in lines:
        print(f"    {line}", flush=True)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="A fake WeCom, DingTalk and Feishu group robot server on "
                                                 "127.0.0.1 that prints every card it receives.")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--wecom-key", default=None, help="the WeCom robot's key (default: a new one)")
    args = parser.parse_args(argv)
    server = RobotServer(port=args.port, on_receive=print_card)
    key = server.add_wecom(args.wecom_key)
    token, secret = server.add_dingtalk()
    feishu_token, feishu_secret = server.add_feishu()
    print(f"Fake group robots on {server.origin}. Start the app with", flush=True)
    print(f"  ROBOT_HOSTS_WECOM={server.origin} ROBOT_HOSTS_DINGTALK={server.origin} "
          f"ROBOT_HOSTS_FEISHU={server.origin} make run", flush=True)
    print("and add a group robot on the partner page (西溪's partner admin):", flush=True)
    print(f"  WeCom robot key {key}", flush=True)
    print(f"    address: {server.url(WECOM, key)}", flush=True)
    print(f"  DingTalk address: {server.url(DINGTALK, token)}  secret: {secret}", flush=True)
    print(f"  Feishu address: {server.url(FEISHU, feishu_token)}  secret: {feishu_secret}", flush=True)
    print("Cards received are printed below. Ctrl-C stops.", flush=True)
    with server:
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
