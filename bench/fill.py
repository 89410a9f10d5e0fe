"""Filling backorders in batch.

N backorder deliveries (default 1,000, and a fifth of them) of 3 lines each, for N
sale orders, with stock for most but not all of it. Prints the time and query count
of the Fill Backorders screen's Preview and Start (partial shipments allowed, emails
off, then on), next to Odoo's own validation of the same deliveries with the same
quantities: ``button_validate`` on each picking, its remainder left on a further
backorder. Each measure starts from the same data (rolled back).
"""

from harness import Measure, environment, fmt_seconds, median_measure, parse_args, print_table, rollback_to

from odoo import Command

LINES = 3


def build(env, count):
    """``count`` sale orders, each with an open backorder of 3 lines."""
    warehouse = env["stock.warehouse"].search([("company_id", "=", env.company.id)], limit=1)
    products = env["product.product"].create(
        [{"name": f"Bench Case {i}", "type": "consu", "is_storable": True} for i in range(20)]
    )
    customers = env["res.partner"].create(
        [{"name": f"Bench Customer {i}", "email": f"c{i}@bench.example.com"} for i in range(50)]
    )
    orders = env["sale.order"].create(
        [
            {
                "partner_id": customers[i % 50].id,
                "order_line": [
                    Command.create({"product_id": products[(i + j) % 20].id, "product_uom_qty": 4})
                    for j in range(LINES)
                ],
            }
            for i in range(count)
        ]
    )
    groups = env["procurement.group"].create([{"name": order.name, "sale_id": order.id} for order in orders])
    picking_type = warehouse.out_type_id
    customer_location = env.ref("stock.stock_location_customers")
    common = {
        "picking_type_id": picking_type.id,
        "location_id": warehouse.lot_stock_id.id,
        "location_dest_id": customer_location.id,
    }
    originals = env["stock.picking"].create(
        [
            {**common, "partner_id": order.partner_id.id, "origin": order.name, "group_id": group.id}
            for order, group in zip(orders, groups, strict=True)
        ]
    )
    backorders = env["stock.picking"].create(
        [
            {
                **common,
                "partner_id": order.partner_id.id,
                "origin": order.name,
                "group_id": group.id,
                "backorder_id": original.id,
                "move_ids": [
                    Command.create(
                        {
                            **common,
                            "name": line.name,
                            "product_id": line.product_id.id,
                            "product_uom_qty": line.product_uom_qty,
                            "product_uom": line.product_uom.id,
                            "sale_line_id": line.id,
                            "group_id": group.id,
                        }
                    )
                    for line in order.order_line
                ],
            }
            for order, group, original in zip(orders, groups, originals, strict=True)
        ]
    )
    backorders.action_confirm()
    # stock for about 85% of what is backordered: most lines ship, some in part
    demand = count * LINES * 4 / len(products)
    for index, product in enumerate(products):
        quantity = int(demand * (0.7 if index % 4 == 0 else 0.9))
        env["stock.quant"]._update_available_quantity(product, warehouse.lot_stock_id, quantity)
    env.flush_all()
    return backorders


def preview(env, backorders):
    fill = env["backops.backorder.fill"].create({"mode": "partial", "email_complete": False, "email_partial": False})
    with Measure(env) as m:
        fill.action_preview()
    assert fill.line_ids
    return m


def start(env, backorders, emails=False):
    fill = env["backops.backorder.fill"].create({"mode": "partial", "email_complete": emails, "email_partial": emails})
    with Measure(env) as m:
        fill.action_start()
    assert backorders.filtered(lambda p: p.state == "done")
    return m


def odoo_validation(env, backorders):
    """The same deliveries, quantities as the fill would ship, validated by Odoo."""
    plan = env["backops.backorder.fill.service"]._plan(backorders.move_ids, "partial", "oldest")
    fills = {row.move: row.fill for entry in plan if entry.outcome != "skipped" for row in entry.rows}
    pickings = backorders.filtered(lambda p: any(fills.get(move) for move in p.move_ids))
    with Measure(env) as m:
        for picking in pickings:
            for move in picking.move_ids:
                move.quantity = fills.get(move, 0.0)
                move.picked = bool(move.quantity)
            picking.with_context(skip_backorder=True, skip_sms=True).button_validate()
    assert all(picking.state == "done" for picking in pickings)
    return m


def main():
    args = parse_args(__doc__.splitlines()[0], deliveries={"type": int, "default": 1000})
    rows = []
    with environment(args) as env:
        for count in (args.deliveries // 5, args.deliveries):
            repeat = 3 if count < 500 else 1
            env.cr.execute("SAVEPOINT bench_fill_size")
            backorders = build(env, count)
            p = median_measure(env, preview, backorders, repeat=repeat)
            s = median_measure(env, start, backorders, repeat=repeat)
            se = median_measure(env, start, backorders, True, repeat=repeat)
            o = median_measure(env, odoo_validation, backorders, repeat=repeat)
            rollback_to(env, "bench_fill_size")
            rows.append((count, p, s, se, o))
            print(f"  measured {count} backorders", flush=True)
    print_table(
        "Fill Backorders (seconds, queries)",
        [
            "backorders",
            "Preview s",
            "q",
            "Start s",
            "q",
            "Start+emails s",
            "q",
            "Odoo validate s",
            "q",
            "Preview/Odoo",
            "Start/Odoo",
        ],
        [
            (
                count,
                fmt_seconds(p.seconds),
                p.queries,
                fmt_seconds(s.seconds),
                s.queries,
                fmt_seconds(se.seconds),
                se.queries,
                fmt_seconds(o.seconds),
                o.queries,
                f"{p.seconds / o.seconds:.1%}",
                f"{s.seconds / o.seconds:.2f}",
            )
            for count, p, s, se, o in rows
        ],
    )


if __name__ == "__main__":
    main()
