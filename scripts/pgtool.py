"""Small PostgreSQL helper for scripts/backops.sh (libpq defaults and PG* variables).

pgtool.py ping                  one clear line and exit 1 when the server cannot be reached
pgtool.py exists DB             exit 0 when the database exists
pgtool.py has-module DB MODULE  exit 0 when MODULE is installed in DB
pgtool.py drop DB               drop the database if it exists
pgtool.py copy SOURCE DB        create DB as a copy of SOURCE (PostgreSQL's TEMPLATE)
"""

import sys

import psycopg2
from psycopg2 import sql


def connect(dbname="postgres"):
    return psycopg2.connect(dbname=dbname, connect_timeout=10)


def ping():
    try:
        connect().close()
    except psycopg2.OperationalError as exc:
        reason = " ".join(str(exc).split())
        print(
            "error: cannot reach PostgreSQL with libpq defaults or PG* variables "
            f"(PGHOST, PGPORT, PGUSER, PGPASSWORD): {reason}",
            file=sys.stderr,
        )
        return 1
    return 0


def exists(dbname):
    with connect() as conn, conn.cursor() as cr:
        cr.execute("SELECT 1 FROM pg_database WHERE datname = %s", [dbname])
        return 0 if cr.fetchone() else 1


def has_module(dbname, module):
    if exists(dbname):
        return 1
    conn = connect(dbname)
    try:
        with conn.cursor() as cr:
            cr.execute("SELECT to_regclass('ir_module_module')")
            if not cr.fetchone()[0]:
                return 1
            cr.execute(
                "SELECT 1 FROM ir_module_module WHERE name = %s AND state = 'installed'",
                [module],
            )
            return 0 if cr.fetchone() else 1
    finally:
        conn.close()


def drop(dbname):
    conn = connect()
    conn.autocommit = True
    try:
        with conn.cursor() as cr:
            cr.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                [dbname],
            )
            cr.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(dbname)))
    finally:
        conn.close()
    return 0


def copy(source, dbname):
    conn = connect()
    conn.autocommit = True
    try:
        with conn.cursor() as cr:
            # nobody may be connected to the template while it is copied
            cr.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                [source],
            )
            cr.execute(
                sql.SQL("CREATE DATABASE {} ENCODING 'unicode' TEMPLATE {}").format(
                    sql.Identifier(dbname), sql.Identifier(source)
                )
            )
    finally:
        conn.close()
    return 0


def main(argv):
    commands = {"ping": ping, "exists": exists, "has-module": has_module, "drop": drop, "copy": copy}
    if not argv or argv[0] not in commands:
        print(__doc__, file=sys.stderr)
        return 2
    return commands[argv[0]](*argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
