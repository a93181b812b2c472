"""The same calls without HTTP: ``core.call_fields`` in this process, one at a time, with
the arguments the load driver would send (as the strings of a form), so that the cost
of the SQL can be told apart from HTTP, gunicorn and queueing. ``explain`` prints the
SQL of one call and the database's plan for each SELECT in it."""

import logging
import random
import time

from .users import Result, health


def fields_of(target, make, rng):
    """(function name, raw fields, path) of one request of ``make``."""
    _, path, data = make(target, rng)
    fields = {key: str(value) for key, value in data.items() if key != "token"}
    return fields.pop("function"), fields, path


def run_call(core, name, fields, path, caller_id):
    """The call as its HTTP resource would run it: the Web API's function, or the
    visitor API's, authenticated by the login cookie in ``fields``."""
    if path != "/widget/api":
        return core.call_fields(name, fields, caller_id=caller_id)
    from sbcore import visitor
    fields = dict(fields)
    cookie = fields.pop("login-cookie", None)
    if not hasattr(core, "bench_visitor_functions"):  # built once, as the resource does
        core.bench_visitor_functions = visitor.functions()
    return core.run_function(core.bench_visitor_functions[name], fields,
                    setup=lambda ctx: visitor.authenticate(ctx, cookie))


def time_calls(core, target, calls, count, caller_id, seed=1):
    """Time ``count`` calls of each API call in ``calls`` (after one warm-up call)."""
    from sbcore import db as dbmod
    from sbcore.errors import ApiError

    results = []
    with dbmod.connection():
        for label, make, check in calls:
            if make is health:
                continue  # not an API function
            rng = random.Random(seed * 7919)
            latencies, errors = [], []
            for number in range(count + 1):
                name, fields, path = fields_of(target, make, rng)
                started = time.perf_counter()
                try:
                    answer = run_call(core, name, fields, path, caller_id)
                except ApiError as error:
                    errors.append(f"{error.code}: {error.message}")
                    continue
                elapsed = time.perf_counter() - started
                if not check({"success": True, "response": answer}):
                    errors.append(f"unexpected answer: {str(answer)[:200]}")
                elif number:
                    latencies.append(elapsed)
            results.append(Result(label, latencies, sum(latencies), len(errors),
                                  errors[0] if errors else ""))
    return results


def table(results, http=()):
    """A Markdown table: call, calls, median, p99 and the HTTP median of the same call."""
    over_http = {r.label: r.median_ms for r in http}
    lines = ["| call | calls | median ms | p99 ms | HTTP median ms |",
             "|---|---:|---:|---:|---:|"]
    for r in results:
        failed = f" ({r.errors} failed)" if r.errors else ""
        lines.append(f"| {r.label} | {len(r.latencies)}{failed} | {r.median_ms:.2f} | "
                     f"{r.p99_ms:.2f} | {over_http.get(r.label, float('nan')):.1f} |")
    return "\n".join(lines)


class Statements(logging.Handler):
    """Collects the (sql, params) that peewee logs at DEBUG."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.seen = []

    def emit(self, record):
        if isinstance(record.msg, tuple) and len(record.msg) == 2:
            self.seen.append(record.msg)


def explain(core, target, make, caller_id, seed=1, out=print):
    """Run one call of ``make``, then print each SELECT it ran with its plan (EXPLAIN
    QUERY PLAN on SQLite, EXPLAIN on MySQL and PostgreSQL) and its time alone."""
    from sbcore import db as dbmod

    name, fields, path = fields_of(target, make, random.Random(seed))
    logger, handler = logging.getLogger("peewee"), Statements()
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        run_call(core, name, fields, path, caller_id)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    prefix = "EXPLAIN QUERY PLAN " if dbmod.kind(core.database) == "sqlite" else "EXPLAIN "
    out(f"### {name} {fields}")
    with dbmod.connection():
        for sql, params in handler.seen:
            if not sql.lstrip().upper().startswith("SELECT"):
                out(f"-- {sql[:160]}")
                continue
            started = time.perf_counter()
            core.database.execute_sql(sql, params).fetchall()
            elapsed = (time.perf_counter() - started) * 1000
            out(f"\n{sql}\n  params {list(params)[:10]}, alone {elapsed:.2f} ms")
            for row in core.database.execute_sql(prefix + sql, params).fetchall():
                out("  " + " | ".join(str(value) for value in row))
    out("")


def profile(core, target, make, caller_id, count, seed=1):
    """pyinstrument's text profile of ``count`` in-process calls of ``make``."""
    from pyinstrument import Profiler

    from sbcore import db as dbmod

    rng = random.Random(seed * 7919)
    profiler = Profiler(interval=0.0002)
    with dbmod.connection():
        run_call(core, *fields_of(target, make, rng), caller_id)  # warm-up
        profiler.start()
        for _ in range(count):
            run_call(core, *fields_of(target, make, rng), caller_id)
        profiler.stop()
    return profiler.output_text(unicode=False, color=False, show_all=False)
