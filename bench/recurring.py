"""Generating recurring orders.

N recurring templates (default 2,000) of 5 lines each, all due today. Prints the time
and query count of the scheduled action *BackOps: Recurring Orders* generating their
orders (confirmed, then left as quotations), next to Odoo's own work for the same
orders in the same run: ``sale.order.copy`` of each template, then ``action_confirm``
of the copy (or the copy alone). Each measure starts from the same data (rolled back).
Target: within 1.2x of Odoo's own work; queries flat per template (compare the
*q/template* column of the two sizes).
"""

from harness import Measure, environment, fmt_seconds, median_measure, parse_args, print_table, rollback_to

from odoo import Command, fields

LINES = 5


def build(env, count):
    products = env["product.product"].create(
        [{"name": f"Bench Hire {i}", "type": "consu", "is_storable": True, "list_price": 10.0 + i} for i in range(20)]
    )
    warehouse = env["stock.warehouse"].search([("company_id", "=", env.company.id)], limit=1)
    for product in products:
        env["stock.quant"]._update_available_quantity(product, warehouse.lot_stock_id, 1000000)
    customers = env["res.partner"].create(
        [{"name": f"Bench Customer {i}", "email": f"c{i}@bench.example.com"} for i in range(50)]
    )
    today = fields.Date.context_today(env["sale.order"])
    templates = env["sale.order"].create(
        [
            {
                "partner_id": customers[i % 50].id,
                "backops_order_type": "recurring",
                "backops_recurring_interval": 1,
                "backops_recurring_unit": "month",
                "backops_recurring_next_date": today,
                "order_line": [
                    Command.create({"product_id": products[(i + j) % 20].id, "product_uom_qty": 2})
                    for j in range(LINES)
                ],
            }
            for i in range(count)
        ]
    )
    env.flush_all()
    return templates


def generate(env, templates, confirm):
    templates.backops_recurring_confirm = confirm
    with Measure(env) as m:
        env["sale.order"]._cron_backops_recurring_orders(max_batches=len(templates))
    orders = env["sale.order"].search([("backops_ref_order_id", "in", templates.ids)])
    assert len(orders) == len(templates)
    assert all(order.state == ("sale" if confirm else "draft") for order in orders)
    return m


def odoo_copy(env, templates, confirm):
    with Measure(env) as m:
        for template in templates:
            order = template.copy({"backops_order_type": "order"})
            if confirm:
                order.action_confirm()
    return m


def main():
    args = parse_args(__doc__.splitlines()[0], templates={"type": int, "default": 2000})
    rows = []
    with environment(args) as env:
        for count in (args.templates // 10, args.templates):
            repeat = 3 if count < 50 else 1
            env.cr.execute("SAVEPOINT bench_recurring_size")
            templates = build(env, count)
            for confirm in (True, False):
                ours = median_measure(env, generate, templates, confirm, repeat=repeat)
                odoo = median_measure(env, odoo_copy, templates, confirm, repeat=repeat)
                rows.append((count, confirm, ours, odoo))
            rollback_to(env, "bench_recurring_size")
            print(f"  measured {count} templates", flush=True)
    print_table(
        f"Recurring orders, {LINES} lines per template (seconds, queries)",
        [
            "templates",
            "confirm",
            "cron s",
            "q",
            "q/template",
            "Odoo copy s",
            "q",
            "q/template",
            "time ratio",
            "query ratio",
        ],
        [
            (
                count,
                "yes" if confirm else "no",
                fmt_seconds(ours.seconds),
                ours.queries,
                f"{ours.queries / count:.1f}",
                fmt_seconds(odoo.seconds),
                odoo.queries,
                f"{odoo.queries / count:.1f}",
                f"{ours.seconds / odoo.seconds:.2f}",
                f"{ours.queries / odoo.queries:.2f}",
            )
            for count, confirm, ours, odoo in rows
        ],
    )


if __name__ == "__main__":
    main()
