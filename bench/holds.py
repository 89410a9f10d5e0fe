"""Stock held for quotations, next to Odoo's own reservation of the same stock.

Q quotations (20 by default) of L lines (20), each line a storable product with stock.
In the same database and run, the time and query count of:

  - **Reserve** of the Q quotations in one call (``action_backops_reserve``: one hold
    move per line, confirmed and reserved by Odoo's ``_action_assign``), next to Odoo
    creating Q delivery transfers of the same L moves, confirming and reserving them
    (``stock.picking.create`` + ``action_confirm`` + ``action_assign``);
  - **Release** of those holds (``action_backops_release``), next to Odoo's
    ``do_unreserve`` of the same deliveries.

Each figure is the median of ``--repeat`` runs after a warm-up, each rolled back.
Target: within 1.2x of Odoo's own work; queries per line flat (compare two ``--lines``).
"""

from harness import Measure, commit_and_vacuum, environment, fmt_seconds, median_measure, parse_args, print_table

from odoo import Command

TABLES = ["product_product", "product_template", "stock_quant", "sale_order", "sale_order_line", "stock_move"]


def build(env, quotes, lines):
    warehouse = env["stock.warehouse"].search([("company_id", "=", env.company.id)], limit=1)
    customer = env["res.partner"].create({"name": "Bench Hold Customer"})
    products = env["product.product"].create(
        [{"name": f"Bench Hold Item {i}", "type": "consu", "is_storable": True} for i in range(lines)]
    )
    for product in products:
        env["stock.quant"]._update_available_quantity(product, warehouse.lot_stock_id, 10.0 * quotes)
    orders = env["sale.order"].create(
        [
            {
                "partner_id": customer.id,
                "order_line": [Command.create({"product_id": p.id, "product_uom_qty": 3}) for p in products],
            }
            for _i in range(quotes)
        ]
    )
    commit_and_vacuum(env, TABLES)
    return warehouse, customer, products, orders


def reserve(env, orders):
    with Measure(env) as measure:
        orders.action_backops_reserve()
    return measure


def odoo_reserve(env, warehouse, customer, products, count):
    picking_type = warehouse.out_type_id
    customers = env.ref("stock.stock_location_customers")
    with Measure(env) as measure:
        pickings = env["stock.picking"].create(
            [
                {
                    "picking_type_id": picking_type.id,
                    "partner_id": customer.id,
                    "location_id": warehouse.lot_stock_id.id,
                    "location_dest_id": customers.id,
                    "move_ids": [
                        Command.create(
                            {
                                "name": p.name,
                                "product_id": p.id,
                                "product_uom": p.uom_id.id,
                                "product_uom_qty": 3,
                                "location_id": warehouse.lot_stock_id.id,
                                "location_dest_id": customers.id,
                            }
                        )
                        for p in products
                    ],
                }
                for _i in range(count)
            ]
        )
        pickings.action_confirm()
        pickings.action_assign()
    return measure


def release(env, orders):
    orders.action_backops_reserve()
    with Measure(env) as measure:
        orders.action_backops_release()
    return measure


def odoo_unreserve(env, warehouse, customer, products, count):
    odoo_reserve(env, warehouse, customer, products, count)
    pickings = env["stock.picking"].search([("partner_id", "=", customer.id), ("state", "=", "assigned")])
    with Measure(env) as measure:
        pickings.do_unreserve()
    return measure


def main():
    args = parse_args(
        __doc__.splitlines()[0],
        quotes={"type": int, "default": 20},
        lines={"type": int, "default": 20},
        repeat={"type": int, "default": 3},
    )
    with environment(args) as env:
        warehouse, customer, products, orders = build(env, args.quotes, args.lines)
        moves = args.quotes * args.lines
        rows = []
        for label, ours, theirs in (
            (
                "reserve",
                median_measure(env, reserve, orders, repeat=args.repeat),
                median_measure(env, odoo_reserve, warehouse, customer, products, args.quotes, repeat=args.repeat),
            ),
            (
                "release",
                median_measure(env, release, orders, repeat=args.repeat),
                median_measure(env, odoo_unreserve, warehouse, customer, products, args.quotes, repeat=args.repeat),
            ),
        ):
            rows.append(
                (
                    label,
                    fmt_seconds(ours.seconds),
                    fmt_seconds(theirs.seconds),
                    f"{ours.seconds / theirs.seconds:.2f}",
                    ours.queries,
                    theirs.queries,
                    f"{ours.queries / moves:.1f}",
                    f"{theirs.queries / moves:.1f}",
                )
            )
        print_table(
            f"Quotation holds: {args.quotes} quotations x {args.lines} lines ({moves} moves)",
            ["operation", "ours s", "Odoo s", "ratio", "ours q", "Odoo q", "ours q/line", "Odoo q/line"],
            rows,
        )


if __name__ == "__main__":
    main()
