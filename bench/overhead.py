"""What the addon adds to Odoo's own flows.

Two databases built the same way and filled with the same data: the one given (with
backops_procurement, its Block Over-Ordering on, an approval tier at 1,000,000 and a
purchasing team) and a scratch one with only what the addon depends on
(``sale_purchase_stock`` and ``stock_dropshipping``), made here as ``<DB>_plain`` and
dropped at the end. In each, the time and query count of Odoo's own:

  - confirming a sale order of L lines (500 by default; half of its products subject
    to procurement, a fifth on the buy + make-to-order routes);
  - writing a new quantity on one line of a confirmed sale order of 2L lines;
  - confirming a purchase order of 2L/5 lines, below every approval tier;
  - validating a receipt of 2L/5 lines;
  - validating a customer delivery of 2L/5 lines;
  - creating 2L/5 purchase lines on a draft RFQ.

Each figure is the median of ``--repeat`` runs after a warm-up, each rolled back, the
two databases taking turns run by run (plain then addon, then addon then plain), so
that a noisy moment of the machine falls on both columns alike. The *CPU ratio* is
that of this process's CPU time (Odoo's Python work, not the database's): on a shared
machine it varies less than the elapsed time. Target: every ratio within 1.05, in time and
in queries (a constant number of added queries is fine, one that grows with the lines
is not: compare the *added queries* column of two ``--lines``).
"""

import contextlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from harness import (
    Measure,
    commit_and_vacuum,
    environment,
    fmt_seconds,
    median,
    parse_args,
    print_table,
    run_rolled_back,
)

import odoo
from odoo import SUPERUSER_ID, Command, api
from odoo.modules.registry import Registry
from odoo.tools import SQL

PLAIN_MODULES = "sale_purchase_stock,stock_dropshipping"
VENDORS = 5
ON_HAND = 100000.0
TIER_AMOUNT = 1000000.0
TABLES = [
    "product_template",
    "product_product",
    "product_supplierinfo",
    "stock_quant",
    "sale_order",
    "sale_order_line",
    "purchase_order",
    "purchase_order_line",
    "stock_picking",
    "stock_move",
    "stock_move_line",
    "res_partner",
]


# ----------------------------------------------------------------------
# The plain database
# ----------------------------------------------------------------------
def drop_database(name):
    """Drop ``name`` if it exists, with its filestore (Odoo's ``exp_drop`` is refused
    when the database manager is off, as in the project's configuration)."""
    odoo.modules.registry.Registry.delete(name)
    odoo.sql_db.close_db(name)
    with contextlib.closing(odoo.sql_db.db_connect("postgres").cursor()) as cr:
        cr._cnx.autocommit = True  # DROP DATABASE cannot run in a transaction
        odoo.service.db._drop_conn(cr, name)
        cr.execute(SQL("DROP DATABASE IF EXISTS %s", SQL.identifier(name)))
    shutil.rmtree(odoo.tools.config.filestore(name), ignore_errors=True)


@contextlib.contextmanager
def plain_environment(name):
    """``harness.environment`` on a second database of the same process (Odoo's
    configuration cannot be parsed twice)."""
    registry = Registry(name)
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True, "mail_notrack": True})
        try:
            yield env
        finally:
            cr.rollback()


def create_plain_database(args, name):
    """A fresh database with Odoo's modules the addon depends on, installed by
    ``odoo-bin`` as ``make bench`` installs the addon in the other one."""
    drop_database(name)
    odoo_bin = Path(odoo.__file__).resolve().parent.parent / "odoo-bin"
    subprocess.run(
        [
            sys.executable,
            str(odoo_bin),
            "-c",
            args.config,
            "-d",
            name,
            "-i",
            PLAIN_MODULES,
            "--without-demo=all",
            "--stop-after-init",
            "--log-level=warn",
        ],
        check=True,
    )


# ----------------------------------------------------------------------
# The same data in both
# ----------------------------------------------------------------------
def build(env, lines):
    """Products, vendors, stock and the documents each operation starts from,
    identical in both databases; the addon's configuration where it is installed."""
    company = env.company
    has_addon = "subject_to_procurement" in env["product.template"]._fields
    purchase_user = env.ref("purchase.group_purchase_user")
    approvers = env["res.groups"].create({"name": "Bench Approvers"})
    buyer, _approver = env["res.users"].create(
        [
            {"name": "Bench Buyer", "login": "bench_buyer", "groups_id": [Command.set(purchase_user.ids)]},
            {
                "name": "Bench Approver",
                "login": "bench_approver",
                "groups_id": [Command.set((purchase_user | approvers).ids)],
            },
        ]
    )
    if has_addon:
        company.backops_block_over_ordering = True
        company.backops_purchasing_team_user_ids = buyer
        env["backops.approval.tier"].create({"name": "Bench Tier", "min_amount": TIER_AMOUNT, "group_id": approvers.id})

    mto = env.ref("stock.route_warehouse0_mto")
    mto.active = True
    buy = env.ref("purchase_stock.route_warehouse0_buy")
    vendors = env["res.partner"].create([{"name": f"Bench Vendor {i}"} for i in range(VENDORS)])
    customer = env["res.partner"].create({"name": "Bench Customer"})
    values = []
    for i in range(lines):
        vals = {
            "name": f"Bench Item {i}",
            "type": "consu",
            "is_storable": True,
            "list_price": 20.0,
            "standard_price": 8.0,
            "seller_ids": [Command.create({"partner_id": vendors[i % VENDORS].id, "price": 8.0})],
        }
        if i % 10 in (0, 1):  # a fifth on buy + make-to-order, half of those subject
            vals["route_ids"] = [Command.set((mto | buy).ids)]
        if has_addon:
            vals["subject_to_procurement"] = i % 2 == 0
        values.append(vals)
    products = env["product.product"].create(values)
    stock = env["stock.warehouse"].search([("company_id", "=", company.id)], limit=1).lot_stock_id
    for product in products:
        env["stock.quant"]._update_available_quantity(product, stock, ON_HAND)
    from_stock = products.filtered(lambda p: mto not in p.route_ids)
    small = lines * 2 // 5

    def sale_order(items, qty):
        return env["sale.order"].create(
            {
                "partner_id": customer.id,
                "order_line": [Command.create({"product_id": p.id, "product_uom_qty": qty}) for p in items],
            }
        )

    def purchase_order(items):
        return env["purchase.order"].create(
            {
                "partner_id": vendors[0].id,
                "order_line": [Command.create({"product_id": p.id, "product_qty": 10}) for p in items],
            }
        )

    records = {}
    records["so_confirm"] = sale_order(products, 2)
    big = sale_order(products + products, 3)
    big.action_confirm()
    # a line subject to procurement (where that exists), delivered from stock
    records["so_line"] = big.order_line.filtered(lambda line: line.product_id == products[2])[0]
    records["po_confirm"] = purchase_order(products[:small])
    receipt_po = purchase_order(products[:small])
    receipt_po.button_confirm()
    records["receipt"] = receipt_po.picking_ids
    delivery_so = sale_order(from_stock[:small], 4)
    delivery_so.action_confirm()
    records["delivery"] = delivery_so.picking_ids
    records["rfq"] = env["purchase.order"].create({"partner_id": vendors[1].id})
    records["rfq_products"] = products[:small]
    assert len(records["receipt"]) == 1 and len(records["delivery"]) == 1
    assert len(records["receipt"].move_ids) == small and len(records["delivery"].move_ids) == small
    assert records["delivery"].state == "assigned", records["delivery"].state
    commit_and_vacuum(env, TABLES)
    return records


# ----------------------------------------------------------------------
# The operations, each on records given by build()
# ----------------------------------------------------------------------
def confirm_sale(env, records):
    order = records["so_confirm"]
    with Measure(env) as m:
        order.action_confirm()
    assert order.state == "sale"
    return m


def write_line_quantity(env, records):
    line = records["so_line"]
    with Measure(env) as m:
        line.product_uom_qty += 5
    return m


def confirm_purchase(env, records):
    order = records["po_confirm"]
    with Measure(env) as m:
        order.button_confirm()
    assert order.state == "purchase", order.state
    return m


def validate(env, picking):
    with Measure(env) as m:
        for move in picking.move_ids.filtered(lambda move: move.quantity != move.product_uom_qty):
            move.quantity = move.product_uom_qty
        picking.move_ids.picked = True
        picking.with_context(skip_sms=True).button_validate()
    assert picking.state == "done", picking.state
    return m


def validate_receipt(env, records):
    return validate(env, records["receipt"])


def validate_delivery(env, records):
    return validate(env, records["delivery"])


def create_purchase_lines(env, records):
    order = records["rfq"]
    values = [{"order_id": order.id, "product_id": p.id, "product_qty": 7} for p in records["rfq_products"]]
    with Measure(env) as m:
        env["purchase.order.line"].create(values)
    assert len(order.order_line) == len(values)
    return m


def paired_measure(plain, addon, function, built, repeat):
    """Median runs of ``function`` in each database, taking turns run by run."""
    runs = {"plain": [], "addon": []}
    envs = {"plain": plain, "addon": addon}
    for i in range(repeat + 1):
        for label in ("plain", "addon") if i % 2 == 0 else ("addon", "plain"):
            runs[label].append(run_rolled_back(envs[label], function, built[label]))
    # the first run of each warms Odoo's caches
    return median(runs["plain"][1:]), median(runs["addon"][1:])


def operations(lines):
    small = lines * 2 // 5
    return [
        (f"confirm a {lines:,}-line sale order", confirm_sale),
        (f"write a quantity on 1 line of a {2 * lines:,}-line order", write_line_quantity),
        (f"confirm a {small:,}-line purchase order", confirm_purchase),
        (f"validate a {small:,}-line receipt", validate_receipt),
        (f"validate a {small:,}-line delivery", validate_delivery),
        (f"create {small:,} purchase lines", create_purchase_lines),
    ]


def main():
    args = parse_args(
        __doc__.splitlines()[0],
        lines={"default": 500, "type": int, "help": "lines of the sale order confirmed (the rest scale with it)"},
        repeat={"default": 5, "type": int, "help": "measured runs of each operation (after one warm-up)"},
    )
    plain_name = f"{args.database}_plain"
    with environment(args) as addon:  # parses the configuration, once per process
        print(f"  installing {PLAIN_MODULES} in {plain_name}", flush=True)
        create_plain_database(args, plain_name)
        try:
            with plain_environment(plain_name) as plain:
                assert "subject_to_procurement" not in plain["product.template"]._fields
                assert "subject_to_procurement" in addon["product.template"]._fields
                built = {}
                for label, env in (("plain", plain), ("addon", addon)):
                    built[label] = build(env, args.lines)
                    print(f"  built the data in the {label} database", flush=True)
                load_before = os.getloadavg()
                rows = []
                for title, function in operations(args.lines):
                    p, a = paired_measure(plain, addon, function, built, args.repeat)
                    rows.append(
                        (
                            title,
                            fmt_seconds(p.seconds),
                            p.queries,
                            fmt_seconds(a.seconds),
                            a.queries,
                            f"{a.seconds / p.seconds:.2f}",
                            f"{a.cpu / p.cpu:.2f}",
                            f"{a.queries / p.queries:.2f}",
                            a.queries - p.queries,
                        )
                    )
                    print(f"  measured: {title}", flush=True)
                load_after = os.getloadavg()
        finally:
            drop_database(plain_name)
    print_table(
        f"What the addon adds to Odoo's flows (seconds, queries; median of {args.repeat}; "
        f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after)",
        ["operation", "plain s", "q", "with addon s", "q", "time ratio", "CPU ratio", "query ratio", "added queries"],
        rows,
    )


if __name__ == "__main__":
    main()
