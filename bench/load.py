"""Several workers: a real Odoo server under concurrent JSON-RPC clients.

A scratch database (``-d``; installed here without demo data when it does not exist,
dropped at the end unless ``--keep``) gets a company's products with two vendors each,
confirmed sale orders whose lines are needs, draft RFQs, an approval tier, Block
Over-Ordering on, buyers and approvers with passwords. Then:

  (1) an Odoo server is started as ``odoo-bin --workers=2 --max-cron-threads=1`` on
      free ports, and ``--clients`` concurrent JSON-RPC clients (default 20) each run
      ``--iterations`` rounds (default 20) of: a Needs-list read (the Procurement >
      Needs menu's domain), an allocation created then removed, a Line Item Editor
      opened and saved, and an RFQ confirmed by its buyer, approved by an approver
      when it is above the tier. Prints p50/p95/max per operation, the expected
      business refusals (UserError/ValidationError: over-allocation, Excess, a
      concurrent duplicate) apart from errors (anything else), the serialization
      retries Odoo made, then checks every invariant in the database: each need's
      allocated quantity is the sum of its allocations, no RFQ line carries more
      than it orders, no confirmed order above what its approvals cover.
  (2) a second Odoo server (another process, same database, another port) and both
      run the same Fill Backorders policy at the same moment over JSON-RPC, over
      backorders with less stock than they need: once the same policy record on both,
      once two records of the same policy. Checks: shipped per product within the
      stock before and equal to what left the stock, no sale line shipped past what
      it ordered, no quant below zero, each backorder shipped at most once per round.

Exits non-zero on any error or broken invariant. Run as
``python bench/load.py -c .backops/odoo.conf -d SCRATCH_DB [--clients 20 --iterations 20]``.
"""

import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import defaultdict
from pathlib import Path

from harness import parse_args, print_table

import odoo
from odoo import SUPERUSER_ID, Command, api
from odoo.modules.registry import Registry
from odoo.tools import SQL, float_compare

REFUSALS = ("odoo.exceptions.UserError", "odoo.exceptions.ValidationError")
# the Procurement > Needs menu (views/sale_order_line_views.xml, action_procurement_needs)
NEEDS_DOMAIN = [["procurement_status", "!=", False]]
NEEDS_FIELDS = [
    "order_id",
    "order_partner_id",
    "procurement_section",
    "product_id",
    "name",
    "product_uom_qty",
    "product_uom",
    "procurement_allocated_qty",
    "procurement_remaining_qty",
    "procurement_status",
    "salesman_id",
]
VENDORS = 4
PRODUCTS = 12
SALE_ORDERS = 40
LINES_PER_ORDER = 6
TIER_AMOUNT = 1000.0
CONNECT_TRIES = 5
FILL_ORDERS = 30
FILL_PRODUCTS = 5


# ----------------------------------------------------------------------
# Odoo: the database, the servers, a JSON-RPC client
# ----------------------------------------------------------------------
def odoo_bin():
    return str(Path(odoo.__file__).resolve().parent.parent / "odoo-bin")


def database_exists(name):
    with odoo.sql_db.db_connect("postgres").cursor() as cr:
        cr.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        return bool(cr.fetchone())


def install_database(args):
    subprocess.run(
        [
            sys.executable,
            odoo_bin(),
            "-c",
            args.config,
            "-d",
            args.database,
            "-i",
            "backops_procurement",
            "--without-demo=all",
            "--stop-after-init",
            "--log-level=warn",
        ],
        check=True,
    )


def drop_database(name):
    """Drop ``name`` and its filestore (Odoo's ``exp_drop`` is refused when the
    database manager is off, as in the project's configuration)."""
    Registry.delete(name)
    odoo.sql_db.close_db(name)
    with odoo.sql_db.db_connect("postgres").cursor() as cr:
        cr._cnx.autocommit = True  # DROP DATABASE cannot run in a transaction
        odoo.service.db._drop_conn(cr, name)
        cr.execute(SQL("DROP DATABASE IF EXISTS %s", SQL.identifier(name)))
    shutil.rmtree(odoo.tools.config.filestore(name), ignore_errors=True)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class OdooServer:
    """``odoo-bin`` in a process of its own, as ``scripts/backops.sh odoo`` runs it,
    on free ports and this database only. Logs the serialization retries of
    ``odoo.service.model`` to count them."""

    def __init__(self, args, name, workers):
        self.name = name
        self.port, self.gevent_port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.port}/jsonrpc"
        self.log = Path(tempfile.gettempdir()) / f"backops-load-{args.database}-{name}.log"
        command = [
            sys.executable,
            odoo_bin(),
            "-c",
            args.config,
            "-d",
            args.database,
            f"--db-filter=^{re.escape(args.database)}$",
            f"--http-port={self.port}",
            f"--gevent-port={self.gevent_port}",
            f"--workers={workers}",
            "--max-cron-threads=1",
            "--log-level=warn",
            "--log-handler=odoo.service.model:INFO",
            "--log-handler=odoo.addons.base.models.ir_cron:INFO",
            f"--logfile={self.log}",
        ]
        self.log.unlink(missing_ok=True)
        # what is printed before logging starts (a process that cannot start)
        self.stderr = self.log.with_suffix(".stderr")
        with self.stderr.open("w") as stderr:
            # a session of its own: stopping it stops its workers too
            self.process = subprocess.Popen(  # noqa: S603 - our own odoo-bin
                command, start_new_session=True, stdout=stderr, stderr=subprocess.STDOUT
            )
        self._wait_ready()

    def _wait_ready(self, timeout=240):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Odoo server {self.name} exited: see {self.log}")
            try:
                if "result" in rpc(self.url, "common", "version", timeout=5):
                    return
            except OSError:
                pass
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"Odoo server {self.name} did not answer within {timeout} s: see {self.log}")

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # graceful: running requests end
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        try:  # workers left behind by a master that died
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def log_counts(self):
        """(serialization retries, retries exhausted, deadlocks, cron worker timeouts,
        other ERROR/CRITICAL records and tracebacks) of the server. Odoo logs each
        query that failed to serialize as an ERROR "bad query" before retrying it:
        those are retries, not errors. A cron worker past its time limit is killed
        and replaced by Odoo's watchdog (a fresh database runs every job at once):
        counted apart."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        records = re.split(r"\n(?=\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ )", text)
        errors = [
            record.splitlines()[0][:300]
            for record in records
            if re.match(r"\S+ \S+ \d+ (?:ERROR|CRITICAL) ", record)
            and not ("bad query" in record and "could not serialize access" in record)
            and "WorkerCron" not in record
        ]
        output = self.stderr.read_text(errors="replace") if self.stderr.exists() else ""
        crashes = re.findall(r"^\S*(?:Error|Exception|NotFound)\b.*$", output, re.MULTILINE)
        errors += [f"{len(crashes)} tracebacks on the console, the last: {crashes[-1]}"] if crashes else []
        self.error_lines = errors
        return (
            text.count("tries left, try again"),
            text.count("maximum number of tries reached"),
            text.count("deadlock detected"),
            len(re.findall(r"WorkerCron \(\d+\) timeout", text)),
            len(errors) - bool(crashes) + len(crashes),
        )


def rpc(url, service, method, *args, timeout=300, on_retry=None):
    """One JSON-RPC call. A connection the server did not accept (Odoo's prefork
    server listens with a backlog of 8 per worker: 20 clients on 2 workers overflow
    it, and the kernel drops connections) is tried again: the request was not sent.
    ``on_retry()`` is called for each such try."""
    payload = {
        "jsonrpc": "2.0",
        "method": "call",
        "id": 1,
        "params": {"service": service, "method": method, "args": args},
    }
    data = json.dumps(payload).encode()
    for attempt in range(CONNECT_TRIES):
        request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - our server on loopback
                return json.loads(response.read())
        except urllib.error.URLError as error:
            # raised by urllib when connecting or sending failed, never for an answer
            if isinstance(error, urllib.error.HTTPError) or attempt == CONNECT_TRIES - 1:
                raise
            if on_retry:
                on_retry()
            time.sleep(0.5)
    raise RuntimeError("unreachable")


class Stats:
    """Per operation: latencies of answered calls, refusals, errors (thread-safe)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.times = defaultdict(list)
        self.refused = defaultdict(int)
        self.errors = defaultdict(int)
        self.error_samples = []
        self.refusal_samples = defaultdict(list)
        self.connect_retries = 0

    def connect_retry(self):
        with self.lock:
            self.connect_retries += 1

    def record(self, operation, seconds, outcome, detail=""):
        with self.lock:
            if seconds is not None:
                self.times[operation].append(seconds)
            if outcome == "refused":
                self.refused[operation] += 1
                if len(self.refusal_samples[operation]) < 2:
                    self.refusal_samples[operation].append(detail[:200])
            elif outcome == "error":
                self.errors[operation] += 1
                if len(self.error_samples) < 10:
                    self.error_samples.append(f"{operation}: {detail[:400]}")

    def error_count(self):
        return sum(self.errors.values())


class Client:
    """A JSON-RPC user of one server: logs in once, then ``execute_kw`` as
    ``tests/common.py::RpcServerCase._execute`` does."""

    def __init__(self, server, database, login, password, stats):
        self.server, self.database, self.password, self.stats = server, database, password, stats
        self.uid = rpc(server.url, "common", "login", database, login, password, on_retry=stats.connect_retry)["result"]
        if not self.uid:
            raise RuntimeError(f"{login} cannot log in")

    def call(self, operation, model, method, args, kwargs=None, timed=True):
        """The call's result, or None when it was refused or failed (counted, with
        its time unless ``timed`` is false: the caller then times it)."""
        start = time.perf_counter()
        try:
            answer = rpc(
                self.server.url,
                "object",
                "execute_kw",
                self.database,
                self.uid,
                self.password,
                model,
                method,
                list(args),
                kwargs or {},
                on_retry=self.stats.connect_retry,
            )
        except (OSError, urllib.error.HTTPError, ValueError) as error:
            self.stats.record(operation, None, "error", f"{type(error).__name__}: {error}")
            self.last_outcome = ("error", str(error))
            return None
        seconds = time.perf_counter() - start if timed else None
        error = answer.get("error")
        if not error:
            self.stats.record(operation, seconds, "ok")
            self.last_outcome = ("ok", "")
            return answer["result"]
        data = error.get("data") or {}
        name, message = data.get("name", ""), data.get("message", error.get("message", ""))
        outcome = "refused" if name in REFUSALS else "error"
        self.stats.record(operation, seconds, outcome, f"{name}: {message}")
        self.last_outcome = (outcome, message)
        return None


# ----------------------------------------------------------------------
# (1) the data of the load run
# ----------------------------------------------------------------------
def make_user(env, login, groups):
    password = f"load-{uuid.uuid4().hex[:12]}-Secret!"
    env["res.users"].create(
        {
            "name": login.replace("_", " ").title(),
            "login": login,
            "email": f"{login}@example.com",
            "password": password,
            "groups_id": [Command.set([env.ref(group).id for group in groups])],
        }
    )
    return login, password


def build_load(env, clients):
    """Products with two vendors, confirmed needs, RFQs, a tier, users. Returns the
    ids the clients work on."""
    company = env.company
    company.backops_block_over_ordering = True
    uom_unit, uom_dozen = env.ref("uom.product_uom_unit"), env.ref("uom.product_uom_dozen")
    vendors = env["res.partner"].create([{"name": f"Load Vendor {i}", "is_company": True} for i in range(VENDORS)])
    products = env["product.product"].create(
        [
            {
                "name": f"Load Hire Item {i}",
                "type": "consu",
                "subject_to_procurement": True,
                "uom_id": uom_unit.id,
                # one product sold by the unit, bought by the dozen
                "uom_po_id": (uom_dozen if i == 0 else uom_unit).id,
                "seller_ids": [
                    Command.create({"partner_id": vendors[i % VENDORS].id, "price": 10.0 + i}),
                    Command.create({"partner_id": vendors[(i + 1) % VENDORS].id, "price": 12.0 + i}),
                ],
            }
            for i in range(PRODUCTS)
        ]
    )
    rng = random.Random(14)
    customer = env["res.partner"].create({"name": "Load Festival"})
    orders = env["sale.order"].create(
        [
            {
                "partner_id": customer.id,
                "order_line": [Command.create({"display_type": "line_section", "name": "Staging"})]
                + [
                    Command.create(
                        {
                            "product_id": products[(o + j) % PRODUCTS].id,
                            "product_uom_qty": rng.randint(20, 60),
                        }
                    )
                    for j in range(LINES_PER_ORDER)
                ],
            }
            for o in range(SALE_ORDERS)
        ]
    )
    orders.action_confirm()
    needs = orders.order_line.filtered("product_id")

    def rfqs(count, with_lines):
        return env["purchase.order"].create(
            [
                {
                    "partner_id": vendor.id,
                    "order_line": [
                        Command.create({"product_id": product.id, "product_qty": 40})
                        for product in products
                        if vendor in product.seller_ids.partner_id
                    ]
                    if with_lines
                    else [],
                }
                for vendor in vendors
                for _i in range(count)
            ]
        )

    # RFQs the allocation clients allocate to (lines of 40 for stock), and RFQs the
    # Line Item Editor fills
    allocation_rfqs = rfqs(2, True)
    editor_rfqs = rfqs(2, False)

    approvers = env["res.groups"].create({"name": "Load Approvers"})
    env["backops.approval.tier"].create(
        {"name": "Load Tier", "min_amount": TIER_AMOUNT, "group_id": approvers.id, "company_id": company.id}
    )
    buyers = [make_user(env, f"load_buyer_{i}", ["purchase.group_purchase_user"]) for i in range(clients)]
    approver_users = []
    for i in range(4):
        login, password = make_user(env, f"load_approver_{i}", ["purchase.group_purchase_manager"])
        env["res.users"].search([("login", "=", login)]).groups_id += approvers
        approver_users.append((login, password))
    env.flush_all()
    env.cr.commit()
    return {
        "needs": {need.id: (need.product_id.id, need.product_uom_qty) for need in needs},
        "allocation_lines": [(line.id, line.product_id.id) for line in allocation_rfqs.order_line],
        "editor_rfqs": editor_rfqs.ids,
        "vendors": vendors.ids,
        "products": products[1:].ids,  # bought by the unit: priced lines of the approvals
        "buyers": buyers,
        "approvers": approver_users,
    }


# ----------------------------------------------------------------------
# (1) the clients
# ----------------------------------------------------------------------
def client_loop(index, server, args, data, stats):
    rng = random.Random(1400 + index)
    login, password = data["buyers"][index]
    buyer = Client(server, args.database, login, password, stats)
    approver_login, approver_password = data["approvers"][index % len(data["approvers"])]
    approver = Client(server, args.database, approver_login, approver_password, stats)
    needs_by_product = defaultdict(list)
    for need_id, (product_id, _qty) in data["needs"].items():
        needs_by_product[product_id].append(need_id)

    for iteration in range(args.iterations):
        # the Needs list, first page
        buyer.call("Needs list read", "sale.order.line", "search_read", [NEEDS_DOMAIN, NEEDS_FIELDS], {"limit": 80})

        # an allocation made by hand, then removed
        line_id, product_id = rng.choice(data["allocation_lines"])
        need_id = rng.choice(needs_by_product[product_id])
        values = {"sale_line_id": need_id, "purchase_line_id": line_id, "quantity": rng.randint(1, 8)}
        created = buyer.call("allocation create", "backops.procurement.allocation", "create", [[values]])
        if created:
            buyer.call("allocation unlink", "backops.procurement.allocation", "unlink", [created])

        # the Line Item Editor: opened on an RFQ, a few needs changed, saved
        rfq_id = rng.choice(data["editor_rfqs"])
        context = {"active_model": "purchase.order", "active_id": rfq_id}
        defaults = buyer.call(
            "editor open",
            "backops.line.item.editor",
            "default_get",
            [["purchase_order_id", "line_ids"]],
            {"context": context},
        )
        if defaults:
            rows = [values for _c, _i, values in defaults.get("line_ids", []) if values.get("sale_line_id")]
            edits = []
            for values in rng.sample(rows, min(len(rows), rng.randint(1, 3))):
                room = data["needs"][values["sale_line_id"]][1] - values["elsewhere_qty"]
                if values["current_qty"] and (rng.random() < 0.25 or room < 1):
                    edits.append(Command.create(dict(values, selected=False, quantity=0.0)))
                elif room >= 1:
                    edits.append(Command.create(dict(values, selected=True, quantity=float(rng.randint(1, int(room))))))
            if edits:
                # one figure per save: the wizard's create and its button
                start = time.perf_counter()
                editor = buyer.call(
                    "editor save",
                    "backops.line.item.editor",
                    "create",
                    [[{"purchase_order_id": rfq_id, "line_ids": edits}]],
                    timed=False,
                )
                if editor:
                    saved = buyer.call("editor save", "backops.line.item.editor", "action_save", [editor], timed=False)
                    if saved is not None:
                        stats.record("editor save", time.perf_counter() - start, "ok")

        # an RFQ confirmed by its buyer, approved by an approver above the tier
        above = iteration % 2 == 0
        amount = TIER_AMOUNT * (1.5 if above else 0.5)
        line = {"product_id": rng.choice(data["products"]), "product_qty": 10, "price_unit": amount / 10}
        order = buyer.call(
            "RFQ create",
            "purchase.order",
            "create",
            [[{"partner_id": rng.choice(data["vendors"]), "order_line": [Command.create(line)]}]],
        )
        if not order or buyer.call("RFQ confirm", "purchase.order", "button_confirm", [order]) is None:
            continue
        expected = "to approve" if above else "purchase"
        check_state(buyer, order, expected, stats, "RFQ confirm")
        if above and approver.call("approve", "purchase.order", "button_approve", [order]) is not None:
            check_state(approver, order, "purchase", stats, "approve")


def check_state(client, order, expected, stats, operation):
    state = client.call("read state", "purchase.order", "read", [order, ["state"]])
    if state and state[0]["state"] != expected:
        stats.record(operation, None, "error", f"order {order} is {state[0]['state']}, not {expected}")


def run_client(index, server, args, data, stats):
    try:
        client_loop(index, server, args, data, stats)
    except Exception as error:  # noqa: BLE001 - a client that stops is an error, counted
        stats.record("client", None, "error", f"client {index} stopped: {type(error).__name__}: {error}")


def run_clients(server, args, data):
    stats = Stats()
    threads = [
        threading.Thread(target=run_client, args=(index, server, args, data, stats), daemon=True)
        for index in range(args.clients)
    ]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return stats, time.perf_counter() - start


def percentile(values, fraction):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(fraction * (len(values) - 1))))]


def print_stats(stats, elapsed, clients):
    rows = []
    for operation in sorted(set(stats.times) | set(stats.refused) | set(stats.errors)):
        times = stats.times.get(operation) or [0.0]
        rows.append(
            (
                operation,
                len(stats.times.get(operation, [])),
                f"{percentile(times, 0.5):.3f}",
                f"{percentile(times, 0.95):.3f}",
                f"{max(times):.3f}",
                stats.refused.get(operation, 0),
                stats.errors.get(operation, 0),
            )
        )
    print_table(
        f"{clients} JSON-RPC clients, {elapsed:.0f} s (seconds per call; {stats.connect_retries} connections "
        "not accepted by the server, tried again)",
        ["operation", "calls", "p50", "p95", "max", "refused", "errors"],
        rows,
    )
    for operation, samples in sorted(stats.refusal_samples.items()):
        for sample in samples:
            print(f"  refused, {operation}: {sample}")
    for sample in stats.error_samples:
        print(f"  ERROR {sample}")


# ----------------------------------------------------------------------
# (1) the invariants
# ----------------------------------------------------------------------
def check_load_invariants(env):
    """[(invariant, records checked, broken, example)] read from the database."""
    from odoo.addons.backops_procurement.models.sale_order_line import procurement_status

    env.cr.rollback()  # a new snapshot: what the servers committed
    env.invalidate_all()
    cr = env.cr
    results = []

    cr.execute(
        """
        SELECT sol.id, ns.procurement_allocated_qty, COALESCE(alloc.quantity, 0), ns.procurement_status,
               sol.product_uom_qty, uom.rounding
          FROM sale_order_line sol
          -- the statuses are kept in the lines' rows of backops_need_status (same ids)
          JOIN backops_need_status ns ON ns.id = sol.id
          JOIN uom_uom uom ON uom.id = sol.product_uom
     LEFT JOIN (SELECT alloc.sale_line_id, SUM(alloc.quantity) AS quantity
                  FROM backops_procurement_allocation alloc
                  JOIN purchase_order_line pol ON pol.id = alloc.purchase_line_id
                  JOIN purchase_order po ON po.id = pol.order_id
                 WHERE po.state != 'cancel'
              GROUP BY alloc.sale_line_id) alloc ON alloc.sale_line_id = sol.id
         WHERE ns.procurement_status IS NOT NULL OR alloc.quantity IS NOT NULL
        """
    )
    rows = cr.fetchall()
    sums = [r for r in rows if float_compare(r[1] or 0.0, float(r[2]), precision_rounding=r[5])]
    statuses = [r for r in rows if procurement_status(r[4], float(r[2]), r[5]) != r[3]]
    excess = [r for r in rows if float_compare(float(r[2]), r[4], precision_rounding=r[5]) > 0]
    results.append(("need's allocated qty = sum of its allocations", len(rows), len(sums), sums[:1]))
    results.append(("need's status matches its quantities", len(rows), len(statuses), statuses[:1]))
    results.append(("no need in Excess (Block Over-Ordering on)", len(rows), len(excess), excess[:1]))

    cr.execute(
        """
        SELECT pol.id, pol.product_qty, pol.procurement_allocated_qty, uom.rounding,
               COALESCE(SUM(alloc.purchase_uom_qty), 0),
               COALESCE(SUM(alloc.purchase_uom_qty) FILTER (WHERE NOT alloc.is_automatic), 0)
          FROM purchase_order_line pol
          JOIN uom_uom uom ON uom.id = pol.product_uom
          JOIN backops_procurement_allocation alloc ON alloc.purchase_line_id = pol.id
      GROUP BY pol.id, uom.rounding
        """
    )
    rows = cr.fetchall()
    over = [r for r in rows if float_compare(float(r[5]), r[1], precision_rounding=r[3]) > 0]
    stored = [r for r in rows if float_compare(r[2] or 0.0, float(r[4]), precision_rounding=r[3])]
    results.append(("RFQ line: allocations <= its quantity (its unit)", len(rows), len(over), over[:1]))
    results.append(("RFQ line's allocated qty = sum of its allocations", len(rows), len(stored), stored[:1]))

    cr.execute(
        """
        SELECT alloc.id, alloc.quantity, alloc.purchase_uom_qty
          FROM backops_procurement_allocation alloc
          JOIN sale_order_line sol ON sol.id = alloc.sale_line_id
          JOIN purchase_order_line pol ON pol.id = alloc.purchase_line_id
          JOIN uom_uom su ON su.id = sol.product_uom
          JOIN uom_uom pu ON pu.id = pol.product_uom
         WHERE abs(alloc.purchase_uom_qty - alloc.quantity / su.factor * pu.factor) > 0.000001
        """
    )
    bad_units = cr.fetchall()
    cr.execute("SELECT count(*) FROM backops_procurement_allocation")
    results.append(("allocation's qty in the RFQ line's unit", cr.fetchone()[0], len(bad_units), bad_units[:1]))

    # confirmed orders of companies with tiers: an approved request of every tier
    # their own amount reaches, for at least that amount (with orders added up the
    # amount to cover is larger still: the model's own measure below)
    cr.execute(
        """
        SELECT po.id, po.name, po.amount_untaxed, tier.name
          FROM purchase_order po
          JOIN res_company company ON company.id = po.company_id
          JOIN backops_approval_tier tier ON tier.company_id = po.company_id AND tier.active
                                         AND tier.min_amount <= po.amount_untaxed
         WHERE po.state IN ('purchase', 'done') AND company.backops_approval_amount_base = 'untaxed'
           AND po.currency_id = company.currency_id
           AND NOT EXISTS (SELECT 1 FROM backops_approval_request request
                            WHERE request.purchase_order_id = po.id AND request.tier_id = tier.id
                              AND request.state = 'approved' AND request.amount >= po.amount_untaxed - 0.005)
        """
    )
    uncovered = cr.fetchall()
    confirmed = env["purchase.order"].search([("state", "in", ("purchase", "done"))])
    tiered = confirmed._backops_tiered()
    measures = tiered._backops_measure() if tiered else {}
    missing = [order.name for order in tiered if measures[order.id].missing]
    results.append(("confirmed PO: approved for its own amount (SQL)", len(confirmed), len(uncovered), uncovered[:1]))
    results.append(("confirmed PO: approvals cover it, orders added up", len(tiered), len(missing), missing[:1]))
    cr.execute(
        "SELECT count(*) FROM backops_approval_request request"
        " JOIN purchase_order po ON po.id = request.purchase_order_id"
        " WHERE request.state = 'pending' AND po.state != 'to approve'"
    )
    stray = cr.fetchone()[0]
    cr.execute("SELECT count(*) FROM backops_approval_request")
    results.append(("pending requests only on waiting orders", cr.fetchone()[0], stray, ""))
    return results


def print_invariants(title, results):
    print_table(
        title,
        ["invariant", "checked", "broken", "example"],
        [(name, checked, broken, str(example)[:60] if broken else "") for name, checked, broken, example in results],
    )
    return sum(broken for _name, _checked, broken, _example in results)


# ----------------------------------------------------------------------
# (2) two servers, one Fill Backorders policy
# ----------------------------------------------------------------------
def build_fill(env):
    """Sale orders of storable products, one unit of each line delivered, the rest
    on backorders, then stock for about 60% of what is backordered."""
    stock = env["stock.warehouse"].search([("company_id", "=", env.company.id)], limit=1).lot_stock_id
    products = env["product.product"].create(
        [{"name": f"Load Case {i}", "type": "consu", "is_storable": True} for i in range(FILL_PRODUCTS)]
    )
    customers = env["res.partner"].create([{"name": f"Load Customer {i}"} for i in range(10)])
    orders = env["sale.order"].create(
        [
            {
                "partner_id": customers[i % 10].id,
                "date_order": f"2026-09-{1 + i % 28:02d} 10:00:00",
                "order_line": [
                    Command.create({"product_id": products[(i + j) % FILL_PRODUCTS].id, "product_uom_qty": 5})
                    for j in range(2)
                ],
            }
            for i in range(FILL_ORDERS)
        ]
    )
    for product in products:
        lines = orders.order_line.filtered(lambda line, product=product: line.product_id == product)
        env["stock.quant"]._update_available_quantity(product, stock, len(lines))
    orders.action_confirm()
    deliveries = orders.picking_ids
    deliveries.action_assign()
    for move in deliveries.move_ids:
        move.quantity = 1
        move.picked = True
    deliveries.with_context(skip_backorder=True, skip_sms=True).button_validate()
    backordered = defaultdict(float)
    for move in deliveries.backorder_ids.move_ids:
        backordered[move.product_id] += move.product_uom_qty
    for product in products:
        env["stock.quant"]._update_available_quantity(product, stock, int(backordered[product] * 0.6))
    login, password = make_user(
        env, "load_stock_user", ["stock.group_stock_user", "sales_team.group_sale_salesman_all_leads"]
    )
    env.flush_all()
    env.cr.commit()
    return {"stock": stock.id, "products": products.ids, "orders": orders.ids, "user": (login, password)}


def fill_snapshot(env, data):
    """What the checks compare: on hand per product, done and open quantity per sale
    line, done pickings per sale order."""
    env.cr.rollback()  # a new snapshot: what the servers committed
    env.invalidate_all()
    cr = env.cr
    cr.execute(
        "SELECT product_id, SUM(quantity) FROM stock_quant WHERE location_id = %s AND product_id = ANY(%s)"
        " GROUP BY product_id",
        [data["stock"], data["products"]],
    )
    on_hand = {product: float(qty) for product, qty in cr.fetchall()}
    cr.execute("SELECT count(*) FROM stock_quant WHERE quantity < 0 AND product_id = ANY(%s)", [data["products"]])
    negative = cr.fetchone()[0]
    cr.execute(
        """
        SELECT sol.id, sol.product_id, sol.product_uom_qty,
               COALESCE(SUM(move.quantity) FILTER (WHERE move.state = 'done'), 0),
               COALESCE(SUM(move.product_uom_qty) FILTER (WHERE move.state NOT IN ('done', 'cancel')), 0)
          FROM sale_order_line sol
     LEFT JOIN stock_move move ON move.sale_line_id = sol.id
         WHERE sol.order_id = ANY(%s)
      GROUP BY sol.id
        """,
        [data["orders"]],
    )
    lines = {row[0]: row[1:] for row in cr.fetchall()}
    cr.execute(
        """
        SELECT picking.id, so.id FROM stock_picking picking JOIN sale_order so ON so.id = picking.sale_id
         WHERE so.id = ANY(%s) AND picking.state = 'done'
        """,
        [data["orders"]],
    )
    done_pickings = defaultdict(set)
    for picking, order in cr.fetchall():
        done_pickings[order].add(picking)
    cr.execute(
        "SELECT count(*) FROM stock_move move JOIN stock_move_line ml ON ml.move_id = move.id"
        " WHERE move.sale_line_id IS NOT NULL AND move.state = 'done' AND move.product_id = ANY(%s)"
        " GROUP BY move.id HAVING abs(SUM(ml.quantity) - MAX(move.quantity)) > 0.0001",
        [data["products"]],
    )
    mismatched_moves = len(cr.fetchall())
    return {
        "on_hand": on_hand,
        "negative": negative,
        "lines": lines,
        "done_pickings": done_pickings,
        "mismatched_moves": mismatched_moves,
    }


def check_fill_round(before, after):
    shipped = defaultdict(float)
    over_ordered, over_open = [], []
    for line_id, (product_id, ordered, done, _open) in after["lines"].items():
        done_before, open_before = before["lines"][line_id][2], before["lines"][line_id][3]
        shipped[product_id] += done - done_before
        if done > ordered + 0.0001:
            over_ordered.append(line_id)
        if done - done_before > open_before + 0.0001:
            over_open.append(line_id)
    products = list(before["on_hand"])
    over_stock = [p for p in products if shipped[p] > before["on_hand"][p] + 0.0001]
    conservation = [
        p for p in products if abs(before["on_hand"][p] - shipped[p] - after["on_hand"].get(p, 0.0)) > 0.0001
    ]
    twice = [
        order
        for order, pickings in after["done_pickings"].items()
        if len(pickings - before["done_pickings"].get(order, set())) > 1
    ]
    lines = len(after["lines"])
    return shipped, [
        ("shipped per product <= on hand before", len(products), len(over_stock), over_stock[:1]),
        ("on hand after = before - shipped", len(products), len(conservation), conservation[:1]),
        ("no quant below zero", len(products), after["negative"], ""),
        ("sale line shipped <= ordered", lines, len(over_ordered), over_ordered[:1]),
        ("sale line shipped in round <= its open backorder", lines, len(over_open), over_open[:1]),
        ("backorder shipped at most once (1 picking/order)", len(after["done_pickings"]), len(twice), twice[:1]),
        ("done move = its move lines", lines, after["mismatched_moves"], ""),
    ]


def fill_round(title, env, data, clients, fill_ids, add_stock=0.0):
    """Start ``fill_ids[i]`` on ``clients[i]``'s server, all at the same moment."""
    if add_stock:
        stock = env["stock.location"].browse(data["stock"])
        for product in env["product.product"].browse(data["products"]):
            env["stock.quant"]._update_available_quantity(product, stock, add_stock)
        env.flush_all()
        env.cr.commit()
    before = fill_snapshot(env, data)
    barrier = threading.Barrier(len(clients))
    answers = [None] * len(clients)

    def start(index):
        barrier.wait()
        begin = time.perf_counter()
        clients[index].call(f"{title}: start", "backops.backorder.fill", "action_start", [[fill_ids[index]]])
        answers[index] = (*clients[index].last_outcome, time.perf_counter() - begin)

    threads = [threading.Thread(target=start, args=(index,)) for index in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    after = fill_snapshot(env, data)
    shipped, results = check_fill_round(before, after)
    env.invalidate_all()
    reported = defaultdict(float)
    for line in env["backops.backorder.fill"].browse(sorted(set(fill_ids))).line_ids:
        reported[line.product_id.id] += line.fill_qty
    # what the policies show of their runs is what shipped: a run's results are not
    # overwritten by another run of the same policy
    wrong = [product for product in before["on_hand"] if abs(reported[product] - shipped[product]) > 0.0001]
    results.append(("the fills' results = what shipped", len(before["on_hand"]), len(wrong), wrong[:1]))
    return before, shipped, reported, answers, results


def fill_stats_errors(stats):
    return "; ".join(stats.error_samples) or dict(stats.refusal_samples)


def run_fill(args, env, server_a, stats):
    data = build_fill(env)
    server_b = OdooServer(args, "B", args.workers)
    try:
        login, password = data["user"]
        clients = [Client(server, args.database, login, password, stats) for server in (server_a, server_b)]

        def new_fill(client, mode):
            values = {"mode": mode, "email_complete": False, "email_partial": False}
            created = client.call("fill create", "backops.backorder.fill", "create", [[values]])
            if not created:
                raise RuntimeError(f"the stock user cannot create a fill: {fill_stats_errors(client.stats)}")
            return created[0]

        rounds = []
        same = new_fill(clients[0], "partial")
        rounds.append(("same policy record, partial", *fill_round("same record", env, data, clients, [same, same])))
        pair = [new_fill(client, "complete") for client in clients]
        rounds.append(
            ("two records, complete orders", *fill_round("two records", env, data, clients, pair, add_stock=10))
        )
        retries = [server.log_counts() for server in (server_a, server_b)]
        for line in server_b.error_lines:
            print(f"  server B: {line}")
    finally:
        server_b.stop()
    broken = 0
    for name, before, shipped, reported, answers, results in rounds:
        print_table(
            f"Fill Backorders on two servers at once: {name}",
            ["product", "on hand before", "shipped", "in the fills' results"],
            [
                (
                    product,
                    f"{before['on_hand'][product]:g}",
                    f"{shipped[product]:g}",
                    f"{reported[product]:g}",
                )
                for product in data["products"]
            ],
        )
        for i, (outcome, message, seconds) in enumerate(answers):
            print(f"  server {'AB'[i]}: {outcome} in {seconds:.2f} s {message[:150]}")
        broken += print_invariants(f"Invariants after: {name}", results)
        # the same policy started twice: the second is told that it ran (refused)
        broken += sum(1 for outcome, _message, _seconds in answers if outcome == "error")
    return broken, retries


# ----------------------------------------------------------------------
def main():
    args = parse_args(
        __doc__.splitlines()[0],
        clients={"type": int, "default": 20, "help": "concurrent JSON-RPC clients"},
        iterations={"type": int, "default": 20, "help": "rounds of each client"},
        workers={"type": int, "default": 2, "help": "Odoo worker processes of each server"},
        keep={"action": "store_true", "help": "keep the database"},
        skip_fill={"action": "store_true", "help": "leave out step (2), the two servers' fill"},
    )
    odoo.tools.config.parse_config(["-c", args.config, "-d", args.database, "--log-level=warn"])
    if not database_exists(args.database):
        install_database(args)
    registry = Registry(args.database)
    with registry.cursor() as cr:
        cr.execute("SELECT count(*) FROM sale_order")
        if cr.fetchone()[0]:
            sys.exit(f"{args.database} has sale orders: load.py runs on a scratch database only (it drops it)")
    failures = 0
    server = None
    try:
        with registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True, "mail_notrack": True})
            data = build_load(env, args.clients)
            print(
                f"built {len(data['needs'])} needs, {len(data['allocation_lines'])} RFQ lines to allocate to, "
                f"{len(data['editor_rfqs'])} RFQs for the editor, {args.clients} buyers",
                flush=True,
            )
            server = OdooServer(args, "A", args.workers)
            print(f"server A: --workers={args.workers} on port {server.port}", flush=True)
            stats, elapsed = run_clients(server, args, data)
            print_stats(stats, elapsed, args.clients)
            failures += stats.error_count()
            failures += print_invariants("Invariants after the load", check_load_invariants(env))
            if not args.skip_fill:
                fill_stats = Stats()
                broken, retries = run_fill(args, env, server, fill_stats)
                failures += broken + fill_stats.error_count()
                for sample in fill_stats.error_samples:
                    print(f"  ERROR {sample}")
            else:
                retries = [server.log_counts()]
            print_table(
                "Server logs",
                ["server", "retries", "retries exhausted", "deadlocks", "cron worker timeouts", "errors"],
                [("AB"[i], *counts) for i, counts in enumerate(retries)],
            )
            for line in server.error_lines:
                print(f"  server A: {line}")
            failures += sum(counts[1] + counts[2] + counts[4] for counts in retries)
    finally:
        if server:
            server.stop()
        if not args.keep:
            drop_database(args.database)
    print(f"\n{'FAILED' if failures else 'OK'}: {failures} errors and broken invariants")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
