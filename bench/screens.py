"""The addon's own screens at scale.

Prints the time and query count of:

  (1) opening the Line Item Editor of an RFQ whose vendor sells the products of
      5,000 open needs (the web client's ``onchange`` of the new wizard), and
      toggling "Include needs on order" in it; next to Odoo's own sale line list
      reading its first page of the same needs;
  (2) the Fulfillable Backorders filter with 10,000 open backorders: sale orders
      and deliveries searched on it; next to Odoo's own "Product Availability"
      search on the same deliveries;
  (3) the XLSX export of 5,000 and 50,000 needs, each in a process of its own:
      the growth of its peak resident memory (``ru_maxrss``) during the export;
      next to Odoo's own ``export_data`` of the same lines.

The records are cloned with SQL from a few made through the ORM, so that building
them takes seconds; everything measured goes through the ORM. What a part builds is
deleted at its end, so that the bench can run again on the same database.
"""

import json
import os
import resource
import subprocess
import sys
import tempfile
import time

from harness import Measure, commit_and_vacuum, environment, fmt_seconds, parse_args, print_table
from statuses import build as build_needs
from statuses import columns

from odoo import Command

EDITOR_NEEDS = 5000
EDITOR_PRODUCTS = 50
BACKORDERS = 10000
BACKORDER_PRODUCTS = 99
BACKORDERS_PER_ORDER = 5

EDITOR_LINE_SPEC = {
    "display_type": {},
    "sale_line_id": {"fields": {}},
    "name": {},
    "need_qty": {},
    "product_uom": {"fields": {"display_name": {}}},
    "elsewhere_qty": {},
    "elsewhere_detail": {},
    "status_now": {},
    "current_qty": {},
    "selected": {},
    "quantity": {},
    "remaining_qty": {},
    "status_after": {},
}
EDITOR_FIELDS = (
    "purchase_order_id",
    "partner_id",
    "company_id",
    "block_over_ordering",
    "show_all_needs",
    "show_all_products",
    "search_text",
    "need_limit",
    "need_count",
    "hidden_count",
    "excess_warning",
)
ODOO_LINES_SPEC = {
    "order_id": {"fields": {"display_name": {}}},
    "order_partner_id": {"fields": {"display_name": {}}},
    "product_id": {"fields": {"display_name": {}}},
    "name": {},
    "product_uom_qty": {},
    "qty_delivered": {},
    "product_uom": {"fields": {"display_name": {}}},
    "price_subtotal": {},
}
EXPORT_DOMAIN_PREFIX = "BENCH-EXPORT/"


def clone_orders(env, template, count, prefix):
    """``count`` copies of the confirmed sale order ``template`` and its lines
    (stored values included), named ``prefix`` + n. Returns the new orders' ids."""
    cr = env.cr
    order_columns = [c for c in columns(cr, "sale_order") if c != "name"]
    cr.execute(
        f"""
        INSERT INTO sale_order (name, {", ".join(order_columns)})
        SELECT %s || g, {", ".join(order_columns)} FROM sale_order, generate_series(1, %s) g WHERE id = %s
        RETURNING id
        """,
        [prefix, count, template.id],
    )
    order_ids = [row[0] for row in cr.fetchall()]
    line_columns = [c for c in columns(cr, "sale_order_line") if c != "order_id"]
    cr.execute(
        f"""
        INSERT INTO sale_order_line (order_id, {", ".join(line_columns)})
        SELECT new.id, {", ".join(f"sol.{c}" for c in line_columns)}
          FROM sale_order_line sol, unnest(%s::int[]) AS new(id)
         WHERE sol.order_id = %s
        RETURNING id
        """,
        [order_ids, template.id],
    )
    # each sale line has its status row, inserted with it; the statuses are computed
    # as for any new line (one query, whatever the number)
    env["backops.need.status"]._backops_insert_for(env["sale.order.line"].browse([row[0] for row in cr.fetchall()]))
    env.flush_all()
    return order_ids


def delete_orders(env, prefix):
    env.cr.execute("DELETE FROM sale_order WHERE name LIKE %s", [prefix + "%"])
    env.invalidate_all()
    env.cr.commit()


# ----------------------------------------------------------------------
# (1) Line Item Editor
# ----------------------------------------------------------------------
def flatten(value):
    """An onchange result's values as the web client sends them back."""
    if isinstance(value, dict):
        return value.get("id", False) if "id" in value else {k: flatten(v) for k, v in value.items()}
    return value


def bench_editor(env):
    vendor = env["res.partner"].create({"name": "Bench Editor Vendor", "is_company": True})
    products = env["product.product"].create(
        [
            {
                "name": f"Bench Editor Item {i}",
                "type": "service",
                "subject_to_procurement": True,
                "seller_ids": [Command.create({"partner_id": vendor.id, "price": 10.0})],
            }
            for i in range(EDITOR_PRODUCTS)
        ]
    )
    customer = env["res.partner"].create({"name": "Bench Editor Festival"})
    template = env["sale.order"].create(
        {
            "partner_id": customer.id,
            "order_line": [Command.create({"product_id": p.id, "product_uom_qty": 4}) for p in products],
        }
    )
    template.action_confirm()
    env.flush_all()
    prefix = "BENCH-EDITOR/"
    try:
        clone_orders(env, template, EDITOR_NEEDS // EDITOR_PRODUCTS - 1, prefix)
        rfq = env["purchase.order"].create({"partner_id": vendor.id})
        commit_and_vacuum(env, ["sale_order", "sale_order_line"])
        Editor = env["backops.line.item.editor"].with_context(active_model="purchase.order", active_id=rfq.id)
        spec = {name: {} for name in EDITOR_FIELDS if name in Editor._fields}
        for name in ("purchase_order_id", "partner_id", "company_id"):
            spec[name] = {"fields": {"display_name": {}}}
        spec["line_ids"] = {"fields": EDITOR_LINE_SPEC}
        Editor.onchange({}, [], spec)  # warm the caches of the views and fields
        env.invalidate_all()
        with Measure(env, flush=False) as opened:
            result = Editor.onchange({}, [], spec)
        rows = [c for c in result["value"]["line_ids"] if c[0] == Command.CREATE]
        needs = [c for c in rows if c[2].get("sale_line_id")]
        values = {k: flatten(v) for k, v in result["value"].items() if k != "line_ids"}
        values["line_ids"] = [[Command.CREATE, f"virtual_{i}", flatten(c[2])] for i, c in enumerate(rows)]
        values["show_all_needs"] = True
        env.invalidate_all()
        with Measure(env, flush=False) as toggled:
            Editor.onchange(values, ["show_all_needs"], spec)
        with Measure(env, flush=False) as odoo:
            page = env["sale.order.line"].web_search_read(
                [("order_id.name", "=like", prefix + "%")], ODOO_LINES_SPEC, limit=80, count_limit=10001
            )
        assert len(page["records"]) == 80
        return [
            ("Line Item Editor opens", f"{len(needs):,} listed", opened, odoo),
            ("Line Item Editor toggle", "", toggled, odoo),
        ], result["value"].get("hidden_count")
    finally:
        env.cr.rollback()
        delete_orders(env, prefix)


# ----------------------------------------------------------------------
# (2) Fulfillable Backorders
# ----------------------------------------------------------------------
def product_class(index):
    """0: stock for any backorder, 1: less than one needs, 2: none."""
    return index % 3


def bench_backorders(env, odoo_availability):
    cr = env.cr
    stock = env["stock.warehouse"].search([("company_id", "=", env.company.id)], limit=1).lot_stock_id
    storable = {"type": "consu", "is_storable": True}
    products = env["product.product"].create(
        [{"name": f"Bench Backorder Item {i}", **storable} for i in range(BACKORDER_PRODUCTS)]
    )
    first, second = env["product.product"].create(
        [{"name": "Bench Template A", **storable}, {"name": "Bench Template B", **storable}]
    )
    customer = env["res.partner"].create({"name": "Bench Backorder Festival"})
    template = env["sale.order"].create(
        {
            "partner_id": customer.id,
            "order_line": [
                Command.create({"product_id": first.id, "product_uom_qty": 5}),
                Command.create({"product_id": second.id, "product_uom_qty": 4}),
            ],
        }
    )
    template.action_confirm()
    env["stock.quant"]._update_available_quantity(first, stock, 1)
    delivery = template.picking_ids
    delivery.action_assign()
    for move in delivery.move_ids:
        move.quantity = 1 if move.product_id == first else 0
        move.picked = bool(move.quantity)
    delivery.with_context(cancel_backorder=False)._action_done()
    backorder = delivery.backorder_ids
    assert len(backorder) == 1 and len(backorder.move_ids) == 2, backorder
    for index, product in enumerate(products):
        quantity = {0: 100, 1: 2, 2: 0}[product_class(index)]
        if quantity:
            env["stock.quant"]._update_available_quantity(product, stock, quantity)
    env.flush_all()
    prefix = "BENCH-BO/"
    try:
        order_ids = clone_orders(env, template, BACKORDERS // BACKORDERS_PER_ORDER, prefix)
        picking_columns = [c for c in columns(cr, "stock_picking") if c not in ("name", "sale_id")]
        cr.execute(
            f"""
            INSERT INTO stock_picking (name, sale_id, {", ".join(picking_columns)})
            SELECT %s || g, (%s::int[])[((g - 1) / %s) + 1], {", ".join(picking_columns)}
              FROM stock_picking, generate_series(1, %s) g
             WHERE id = %s
            RETURNING id
            """,
            [prefix, order_ids, BACKORDERS_PER_ORDER, BACKORDERS, backorder.id],
        )
        picking_ids = sorted(row[0] for row in cr.fetchall())
        move_columns = [
            c
            for c in columns(cr, "stock_move")
            if c not in ("picking_id", "product_id", "product_uom_qty", "product_qty")
        ]
        template_moves = backorder.move_ids.sorted("id")
        for k, move in enumerate(template_moves):
            cr.execute(
                f"""
                INSERT INTO stock_move (picking_id, product_id, product_uom_qty, product_qty, {", ".join(move_columns)})
                SELECT new.picking_id, (%s::int[])[((new.n * 2 + %s) %% %s) + 1], 4, 4,
                       {", ".join(f"move.{c}" for c in move_columns)}
                  FROM stock_move move, unnest(%s::int[]) WITH ORDINALITY AS new(picking_id, n)
                 WHERE move.id = %s
                """,
                [products.ids, k, BACKORDER_PRODUCTS, picking_ids, move.id],
            )
        cr.execute("UPDATE stock_move SET state = 'confirmed' WHERE picking_id = ANY(%s)", [picking_ids])
        cr.execute("UPDATE stock_picking SET state = 'confirmed' WHERE id = ANY(%s)", [picking_ids])
        commit_and_vacuum(env, ["sale_order", "sale_order_line", "stock_picking", "stock_move", "stock_quant"])

        # what each clone's products say it is
        expected = {}
        for n, picking_id in enumerate(picking_ids, start=1):
            classes = {product_class((n * 2 + k) % BACKORDER_PRODUCTS) for k in range(2)}
            expected[picking_id] = "complete" if classes == {0} else "none" if classes == {2} else "partial"
        fulfillable = {pid for pid, answer in expected.items() if answer != "none"}

        Picking, SaleOrder = env["stock.picking"], env["sale.order"]
        with Measure(env) as orders_m:
            orders = SaleOrder.search([("backops_fulfillable_backorder", "=", True), ("name", "=like", prefix + "%")])
        with Measure(env) as pickings_m:
            found = Picking.search([("backops_fulfillable", "in", ("complete", "partial")), ("id", "in", picking_ids)])
        assert set(found.ids) == fulfillable, (len(found), len(fulfillable))
        expected_orders = set(Picking.browse(sorted(fulfillable)).mapped("sale_id").ids)
        assert set(orders.ids) == expected_orders, (len(orders), len(expected_orders))
        odoo_m = None
        if odoo_availability:
            with Measure(env) as odoo_m:
                Picking.search([("products_availability_state", "=", "available")])
        # the compute agrees with the search on every backorder
        env.invalidate_all()
        with Measure(env) as compute_m:
            computed = dict(zip(picking_ids, Picking.browse(picking_ids).mapped("backops_fulfillable"), strict=True))
        assert computed == expected, sum(computed[p] != expected[p] for p in picking_ids)
        return [
            ("Fulfillable Backorders: sale orders", f"{len(orders):,} found", orders_m, odoo_m),
            ("Fulfillable: deliveries", f"{len(found):,} found", pickings_m, odoo_m),
            ("Fulfillable: compute on all", f"{BACKORDERS:,}", compute_m, odoo_m),
        ]
    finally:
        env.cr.rollback()
        cr.execute(
            "DELETE FROM stock_move WHERE picking_id IN (SELECT id FROM stock_picking WHERE name LIKE %s)",
            [prefix + "%"],
        )
        cr.execute("DELETE FROM stock_picking WHERE name LIKE %s", [prefix + "%"])
        delete_orders(env, prefix)


# ----------------------------------------------------------------------
# (3) XLSX export memory
# ----------------------------------------------------------------------
def export_child(args):
    """In a process of its own: export the first ``args.export_child`` needs of the
    bench and print the growth of the peak memory as JSON."""
    count, how = args.export_child, args.export_how
    with environment(args) as env:
        Line = env["sale.order.line"]
        ids = Line.search([("order_id.name", "=like", EXPORT_DOMAIN_PREFIX + "%")], order="id", limit=count).ids
        domain = [("order_id.name", "=like", EXPORT_DOMAIN_PREFIX + "%"), ("id", "<=", ids[-1])]
        if how == "ours":
            from odoo.addons.backops_procurement.controllers.procurement_export import write_procurement_workbook

            def run(domain):
                with tempfile.TemporaryFile() as output:
                    write_procurement_workbook(Line._get_procurement_export_data(domain), output)
                    return output.tell()
        else:

            def run(domain):
                fields = ["order_id", "order_partner_id", "product_id", "product_uom_qty", "product_uom"]
                fields += ["procurement_status", "procurement_allocated_qty", "procurement_remaining_qty"]
                return len(Line.search(domain).export_data(fields)["datas"])

        run([*domain, ("id", "<=", ids[99])])  # load the code paths
        env.invalidate_all()
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        start = time.perf_counter()
        size = run(domain)
        seconds = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"before_kb": before, "after_kb": after, "seconds": seconds, "size": size}))


def bench_export(args, env, sizes, odoo_too):
    template_needs = build_needs(env, max(sizes))
    cr = env.cr
    cr.execute(
        "UPDATE sale_order SET name = %s || id WHERE id IN (SELECT order_id FROM sale_order_line WHERE id = ANY(%s))",
        [EXPORT_DOMAIN_PREFIX, template_needs.ids],
    )
    # the needs' statuses, kept in their rows of backops_need_status (same ids)
    env["backops.need.status"].browse(template_needs.ids)._backops_mark_to_compute()
    env.flush_all()
    env.cr.commit()
    rows = []
    try:
        for how in ("ours", "odoo") if odoo_too else ("ours",):
            for size in sizes:
                out = subprocess.run(
                    [
                        sys.executable,
                        os.path.abspath(__file__),
                        "-c",
                        args.config,
                        "-d",
                        args.database,
                        "--export-child",
                        str(size),
                        "--export-how",
                        how,
                    ],
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout
                result = json.loads(out.strip().splitlines()[-1])
                rows.append(
                    (
                        "XLSX export (ours)" if how == "ours" else "Odoo export_data",
                        f"{size:,}",
                        f"{result['before_kb'] / 1024:.0f}",
                        f"{result['after_kb'] / 1024:.0f}",
                        f"{(result['after_kb'] - result['before_kb']) / 1024:.0f}",
                        fmt_seconds(result["seconds"]),
                    )
                )
                print(f"  exported {size:,} needs ({how})", flush=True)
    finally:
        cr.execute("DELETE FROM backops_procurement_allocation WHERE sale_line_id = ANY(%s)", [template_needs.ids])
        delete_orders(env, EXPORT_DOMAIN_PREFIX)
    return rows


def main():
    args = parse_args(
        __doc__.splitlines()[0],
        parts={"default": "editor,backorders,export", "help": "comma-separated parts to run"},
        export_sizes={"default": "5000,50000", "help": "comma-separated numbers of needs to export"},
        export_odoo={"action": "store_true", "help": "also measure Odoo's own export_data"},
        odoo_availability={
            "action": "store_true",
            "help": "also measure Odoo's own products_availability_state search (minutes at 10,000)",
        },
        export_child={"type": int, "help": argparse_suppress()},
        export_how={"default": "ours", "help": argparse_suppress()},
    )
    if args.export_child:
        export_child(args)
        return
    parts = args.parts.split(",")
    timed, memory, hidden = [], [], None
    with environment(args) as env:
        if "editor" in parts:
            rows, hidden = bench_editor(env)
            timed += rows
            print("  measured the Line Item Editor", flush=True)
        if "backorders" in parts:
            timed += bench_backorders(env, args.odoo_availability)
            print("  measured Fulfillable Backorders", flush=True)
        if "export" in parts:
            sizes = [int(size) for size in args.export_sizes.split(",")]
            memory = bench_export(args, env, sizes, args.export_odoo)
    if timed:
        print_table(
            "Screens (seconds, queries)",
            ["operation", "records", "ours s", "q", "Odoo's own s", "q"],
            [
                (
                    name,
                    records,
                    fmt_seconds(m.seconds),
                    m.queries,
                    fmt_seconds(odoo.seconds) if odoo else "-",
                    odoo.queries if odoo else "-",
                )
                for name, records, m, odoo in timed
            ],
        )
        if hidden is not None:
            print(f"Line Item Editor: {hidden:,} matching needs not listed (count shown, Search/Show more)")
        print(
            "Odoo's own: the first page of the sale line list (editor); "
            "stock.picking products_availability_state = available (backorders)"
        )
    if memory:
        print_table(
            "XLSX export memory (MiB of peak RSS, each size in its own process)",
            ["export", "needs", "peak before", "peak after", "growth", "seconds"],
            memory,
        )


def argparse_suppress():
    import argparse

    return argparse.SUPPRESS


if __name__ == "__main__":
    main()
