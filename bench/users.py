"""The load driver: a fixed number of requests per call at a fixed concurrency,
one ``requests.Session`` per thread, timing each request from send to body read."""

import random
import statistics
import threading
import time
from dataclasses import dataclass, field

import requests

from .generate import FIRST_NAMES, LAST_NAMES

TIMEOUT = 60


@dataclass
class Target:
    """What the calls need to know about the server and its data."""

    base_url: str
    token: str
    user_ids: list
    pages: int
    prefixes: list = field(default_factory=lambda: sorted(
        {name[:n].lower() for name in FIRST_NAMES + LAST_NAMES for n in (3, 4, 5) if len(name) >= n}))


def api(function, **fields):
    def make(target, rng):
        return "POST", "/api", {"token": target.token, "function": function,
                                **{k: v(target, rng) if callable(v) else v for k, v in fields.items()}}
    return make


def health(target, rng):
    return "GET", "/health", None


# (label, request maker, check of the JSON answer)
CALLS = [
    ("GET /health", health, lambda body: body.get("status") == "ok"),
    ("get-user", api("get-user", user_id=lambda t, rng: rng.choice(t.user_ids)),
     lambda body: isinstance(body.get("response"), dict)),
    ("get-users page 0", api("get-users", pagination=0),
     lambda body: len(body.get("response") or []) > 0),
    ("get-users random page", api("get-users", pagination=lambda t, rng: rng.randrange(t.pages)),
     lambda body: isinstance(body.get("response"), list)),
    ("search-users prefix", api("search-users", search=lambda t, rng: rng.choice(t.prefixes)),
     lambda body: isinstance(body.get("response"), list)),
    ("count-users", api("count-users"), lambda body: "all" in (body.get("response") or {})),
]


@dataclass
class Result:
    label: str
    latencies: list  # seconds, successful requests only
    wall: float
    errors: int = 0
    first_error: str = ""

    @property
    def median_ms(self):
        return statistics.median(self.latencies) * 1000 if self.latencies else float("nan")

    @property
    def p99_ms(self):
        if len(self.latencies) < 2:
            return self.median_ms
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[98] * 1000

    @property
    def p95_ms(self):
        if len(self.latencies) < 2:
            return self.median_ms
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[94] * 1000

    @property
    def rate(self):
        return len(self.latencies) / self.wall if self.wall else float("nan")


def one_request(session, target, make, check, rng):
    """Send one request; return (seconds, error message or '')."""
    method, path, data = make(target, rng)
    started = time.perf_counter()
    try:
        response = session.request(method, target.base_url + path, data=data, timeout=TIMEOUT)
        elapsed = time.perf_counter() - started
    except requests.RequestException as error:
        return None, f"{type(error).__name__}: {error}"
    if response.status_code != 200:
        return None, f"HTTP {response.status_code}: {response.text[:200]}"
    try:
        body = response.json()
    except ValueError:
        return None, f"not JSON: {response.text[:200]}"
    if not check(body) or body.get("success") is False:
        return None, f"unexpected answer: {response.text[:200]}"
    return elapsed, ""


def measure(target, call, total, concurrency, seed=1, warmup=0):
    """Run ``total`` requests of ``call`` split over ``concurrency`` threads."""
    label, make, check = call
    shares = [total // concurrency + (i < total % concurrency) for i in range(concurrency)]
    latencies, errors = [], []
    lock = threading.Lock()
    start_line = threading.Barrier(concurrency + 1)

    def worker(index, count):
        rng = random.Random(seed * 1000 + index)
        with requests.Session() as session:
            for _ in range(warmup):
                one_request(session, target, make, check, rng)
            start_line.wait()
            mine, failed = [], []
            for _ in range(count):
                elapsed, error = one_request(session, target, make, check, rng)
                (failed.append(error) if error else mine.append(elapsed))
        with lock:
            latencies.extend(mine)
            errors.extend(failed)

    threads = [threading.Thread(target=worker, args=(i, n), daemon=True) for i, n in enumerate(shares)]
    for thread in threads:
        thread.start()
    start_line.wait(timeout=TIMEOUT * (warmup + 1))
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    return Result(label, latencies, wall, len(errors), errors[0] if errors else "")


def run_all(target, total, concurrency, seed=1, warmup=5, report=print, calls=CALLS):
    results = []
    for call in calls:
        result = measure(target, call, total, concurrency, seed, warmup)
        report(f"  {result.label:<28} {len(result.latencies)} ok, {result.errors} failed, "
               f"{result.wall:.1f} s")
        results.append(result)
    return results


def table(results):
    """A Markdown table: call, median, p95, p99, calls/s, median over /health's (the
    first row), p95 over the median."""
    base = results[0].median_ms
    lines = ["| call | requests | median ms | p95 ms | p99 ms | calls/s | median / health | p95 / median |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        failed = f" ({r.errors} failed)" if r.errors else ""
        lines.append(f"| {r.label} | {len(r.latencies)}{failed} | {r.median_ms:.2f} | {r.p95_ms:.2f} "
                     f"| {r.p99_ms:.2f} | {r.rate:.0f} | {r.median_ms / base:.2f}x "
                     f"| {r.p95_ms / r.median_ms:.1f}x |")
    return "\n".join(lines)
