"""Receiving purchase lines in batch.

N purchase order lines (default 200, and a fifth of them) over 10 confirmed purchase
orders of 5 vendors. Prints the time and query count of Receive Full on all the
lines from the Receiving list, next to Odoo's own ``button_validate`` of the same
receipts in one call (their quantities as Odoo reserved them). Each measure starts
from the same data (rolled back).
"""

from harness import Measure, environment, fmt_seconds, median_measure, parse_args, print_table, rollback_to

from odoo import Command

ORDERS = 10


def build(env, count):
    """``count`` purchase lines of distinct products over 10 confirmed orders."""
    vendors = env["res.partner"].create([{"name": f"Bench Vendor {i}"} for i in range(5)])
    products = env["product.product"].create(
        [{"name": f"Bench Crate {i}", "type": "consu", "is_storable": True} for i in range(count)]
    )
    orders = env["purchase.order"].create(
        [
            {
                "partner_id": vendors[index % 5].id,
                "order_line": [
                    Command.create({"product_id": product.id, "product_qty": 6, "price_unit": 2.0})
                    for product in products[index::ORDERS]
                ],
            }
            for index in range(ORDERS)
        ]
    )
    orders.button_confirm()
    env.flush_all()
    return orders


def receive_full(env, orders):
    lines = env["purchase.order.line"].search([("backops_qty_to_receive", ">", 0), ("order_id", "in", orders.ids)])
    with Measure(env) as m:
        lines.action_backops_receive_full()
    assert set(orders.mapped("receipt_status")) == {"full"}
    return m


def odoo_validation(env, orders):
    pickings = orders.picking_ids
    with Measure(env) as m:
        pickings.button_validate()
    assert set(orders.mapped("receipt_status")) == {"full"}
    return m


def main():
    args = parse_args(__doc__.splitlines()[0], lines={"type": int, "default": 200})
    rows = []
    with environment(args) as env:
        # as the web client calls both: no tracking flags in the context
        env = env(context={})
        for count in (args.lines // 5, args.lines):
            env.cr.execute("SAVEPOINT bench_receiving_size")
            orders = build(env, count)
            r = median_measure(env, receive_full, orders)
            o = median_measure(env, odoo_validation, orders)
            rollback_to(env, "bench_receiving_size")
            rows.append((count, r, o))
            print(f"  measured {count} lines", flush=True)
    print_table(
        "Receive Full (seconds, queries)",
        ["lines", "Receive Full s", "q", "Odoo validate s", "q", "added q", "Receive/Odoo"],
        [
            (
                count,
                fmt_seconds(r.seconds), r.queries,
                fmt_seconds(o.seconds), o.queries,
                r.queries - o.queries,
                f"{r.seconds / o.seconds:.2f}",
            )
            for count, r, o in rows
        ],
    )


if __name__ == "__main__":
    main()
