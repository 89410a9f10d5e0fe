"""Shared plumbing of the benchmarks: an Odoo environment on a scratch database,
timing with query counts, and a table printer.

Each benchmark is run by `make bench` as ``python bench/<name>.py -c CONF -d DB`` on a
database where backops_procurement was just installed without demo data. Benchmarks
commit what they build (the database is dropped afterwards), so that they can measure
a vacuumed database as a live one would be.
"""

import argparse
import contextlib
import gc
import time

import odoo
from odoo import SUPERUSER_ID, api
from odoo.modules.registry import Registry


def parse_args(description, **extra):
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("-c", "--config", required=True, help="Odoo configuration file")
    parser.add_argument("-d", "--database", required=True, help="scratch database with the addon")
    for name, kwargs in extra.items():
        parser.add_argument(f"--{name.replace('_', '-')}", **kwargs)
    return parser.parse_args()


@contextlib.contextmanager
def environment(args):
    """Yield a superuser environment; roll everything back at the end."""
    odoo.tools.config.parse_config(["-c", args.config, "-d", args.database, "--log-level=warn"])
    registry = Registry(args.database)
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True, "mail_notrack": True})
        try:
            yield env
        finally:
            cr.rollback()


def commit_and_vacuum(env, tables):
    """Commit what was built and VACUUM ANALYZE it, as a live database would be,
    so that the figures do not measure dead rows left by the set-up."""
    env.flush_all()
    env.cr.commit()
    with odoo.sql_db.db_connect(env.cr.dbname).cursor() as cr:
        cr._cnx.autocommit = True
        for table in tables:
            cr.execute(f'VACUUM ANALYZE "{table}"')
    env.invalidate_all()


class Measure:
    """``with Measure(env) as m: ...`` then ``m.seconds``, ``m.cpu`` and ``m.queries``.
    Pending ORM work is flushed before starting and included before stopping."""

    def __init__(self, env, flush=True):
        self.env = env
        self.flush = flush

    def __enter__(self):
        if self.flush:
            self.env.flush_all()
        self.env.invalidate_all()
        # the garbage of earlier runs is not this run's time
        gc.collect()
        self._queries = self.env.cr.sql_log_count
        self._cpu = time.process_time()
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        if self.flush and not exc[0]:
            self.env.flush_all()
        self.seconds = time.perf_counter() - self._start
        # this process's CPU time: Odoo's Python work, without the database's and
        # without the time the machine gave to others
        self.cpu = time.process_time() - self._cpu
        self.queries = self.env.cr.sql_log_count - self._queries
        return False


def rollback_to(env, savepoint):
    """Roll back to ``savepoint`` and forget what was queued for the commit
    (bus notifications and the like of records that no longer exist)."""
    env.cr.execute(f"ROLLBACK TO SAVEPOINT {savepoint}")
    env.cr.precommit.clear()
    env.cr.postcommit.clear()
    env.invalidate_all()


def run_rolled_back(env, function, *args):
    """``function(env, *args)``, rolled back to a savepoint afterwards."""
    env.cr.execute("SAVEPOINT bench_repeat")
    try:
        return function(env, *args)
    finally:
        rollback_to(env, "bench_repeat")


def median_measure(env, function, *args, repeat=5):
    """Run ``function(env, *args)`` once to warm Odoo's caches, then ``repeat``
    times, each rolled back to a savepoint, and return the run of median time (a
    shared machine is noisy)."""
    runs = [run_rolled_back(env, function, *args) for _i in range(repeat + 1)][1:]
    return median(runs)


def median(runs):
    return sorted(runs, key=lambda m: m.seconds)[len(runs) // 2]


def print_table(title, headers, rows):
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]
    line = "  ".join("{:>%d}" % width for width in widths)
    print(f"\n{title}")
    print(line.format(*headers))
    print(line.format(*("-" * width for width in widths)))
    for row in rows:
        print(line.format(*row))


def fmt_seconds(seconds):
    return f"{seconds:.3f}"
