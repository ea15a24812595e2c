"""A small threaded HTTP client for the load and fault tests: one keep-alive connection per
thread (http.client, reopened when the server closes it), every answer tallied by endpoint and
status, so that a test can assert on the counts and print them."""
import http.client
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Answer:
    status: int          # 0 when no HTTP answer came at all (refused, reset, timed out)
    body: object         # the decoded JSON, or the raw text, or the transport error
    at: float            # time.monotonic() when the answer came
    headers: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


@dataclass
class Tally:
    """What every client saw, shared by the threads."""
    by_endpoint: Counter = field(default_factory=Counter)          # endpoint -> requests
    by_status: Counter = field(default_factory=Counter)            # status -> requests
    by_endpoint_status: Counter = field(default_factory=Counter)   # (endpoint, status) -> requests
    samples: dict = field(default_factory=dict)                    # status -> first few bodies
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, endpoint: str, answer: Answer):
        with self.lock:
            self.by_endpoint[endpoint] += 1
            self.by_status[answer.status] += 1
            self.by_endpoint_status[endpoint, answer.status] += 1
            if not answer.ok:
                kept = self.samples.setdefault(answer.status, [])
                if len(kept) < 3:
                    kept.append(f"{endpoint}: {str(answer.body)[:300]}")

    @property
    def requests(self) -> int:
        return sum(self.by_endpoint.values())

    def count(self, predicate) -> int:
        return sum(n for status, n in self.by_status.items() if predicate(status))

    def summary(self, clients: int, seconds: float) -> str:
        lines = [f"{self.requests} requests from {clients} clients in {seconds:.1f} s "
                 f"({self.requests / seconds if seconds else 0:.1f} requests/s)",
                 "per endpoint:"]
        for endpoint, n in sorted(self.by_endpoint.items()):
            statuses = ", ".join(f"{status or 'no answer'}: {count}" for (e, status), count
                                 in sorted(self.by_endpoint_status.items()) if e == endpoint)
            lines.append(f"  {endpoint:<34} {n:6d}   ({statuses})")
        four = {s: n for s, n in sorted(self.by_status.items()) if 400 <= s < 500}
        lines.append("4xx by code: " + (", ".join(f"{s}: {n}" for s, n in four.items()) or "none"))
        lines.append(f"5xx: {self.count(lambda s: s >= 500)}; no answer: {self.by_status.get(0, 0)}")
        for status, kept in sorted(self.samples.items()):
            if status == 0 or status >= 500:
                lines.extend(f"  sample {status or 'no answer'}: {text}" for text in kept)
        return "\n".join(lines)


class ApiClient:
    """One client: a token, a connection, the shared tally. Not shared between threads."""

    def __init__(self, port: int, token: str, tally: Tally, timeout: float = 30.0):
        self.port, self.token, self.tally, self.timeout = port, token, tally, timeout
        self.connection = None

    def call(self, method: str, path: str, body: dict | None = None, endpoint: str | None = None,
             headers: dict | None = None) -> Answer:
        """One request; `endpoint` names it in the tally (the path with its ids replaced)."""
        payload = json.dumps(body).encode() if body is not None else None
        sent = {"Authorization": f"Bearer {self.token}", "Accept": "application/json", **(headers or {})}
        if payload is not None:
            sent["Content-Type"] = "application/json"
        try:
            if self.connection is None:
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
            self.connection.request(method, path, body=payload, headers=sent)
            response = self.connection.getresponse()
            raw = response.read()
            if response.getheader("Connection", "").lower() == "close":
                self.close()
            try:
                decoded = json.loads(raw) if raw else None
            except ValueError:
                decoded = raw.decode(errors="replace")
            answer = Answer(response.status, decoded, time.monotonic(), dict(response.getheaders()))
        except (OSError, http.client.HTTPException) as error:
            self.close()
            answer = Answer(0, repr(error), time.monotonic())
        self.tally.add(endpoint or f"{method} {path}", answer)
        return answer

    def close(self):
        if self.connection is not None:
            self.connection.close()
            self.connection = None


def run_clients(workers: list, seconds: float) -> float:
    """Run each `worker(deadline)` in its own thread until the deadline; the seconds it took.
    A worker that raises fails the run: its exception is re-raised here."""
    deadline = time.monotonic() + seconds
    failures = []

    def guarded(worker):
        try:
            worker(deadline)
        except BaseException as error:  # noqa: BLE001  (reported to the test below)
            failures.append(error)

    started = time.monotonic()
    threads = [threading.Thread(target=guarded, args=(w,), daemon=True) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 120)
    if failures:
        raise failures[0]
    return time.monotonic() - started
