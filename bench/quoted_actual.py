"""Quoted vs Actual next to Odoo's own Sales Analysis (``sale.report``).

Builds ``--orders`` confirmed orders of 5 lines (quoted when sent, one price raised
before confirming, half of them invoiced), then times, as the list, pivot and graph
do: the first page of the list (80 rows, the fields it shows), a grouping by customer
and month, and by product; each on Quoted vs Actual and on ``sale.report``. Figures
are medians of ``--repeat`` runs after a warm-up. Target: within a small factor of
``sale.report``, the query count not growing with the orders (compare two
``--orders``)."""

from harness import Measure, commit_and_vacuum, environment, fmt_seconds, median_measure, parse_args, print_table

from odoo import Command

LINES = 5


def build(env, orders):
    customers = env["res.partner"].create([{"name": f"Bench Quote Customer {i}"} for i in range(20)])
    products = env["product.product"].create(
        [
            {"name": f"Bench Quote Service {i}", "type": "service", "invoice_policy": "order", "list_price": 10.0 + i}
            for i in range(LINES)
        ]
    )
    sale_orders = env["sale.order"].create(
        [
            {
                "partner_id": customers[i % len(customers)].id,
                "order_line": [Command.create({"product_id": p.id, "product_uom_qty": 2}) for p in products],
            }
            for i in range(orders)
        ]
    )
    sale_orders.action_quotation_sent()
    sale_orders.order_line.filtered(lambda line: line.product_id == products[0]).price_unit = 12.5
    sale_orders.action_confirm()
    sale_orders[: orders // 2]._create_invoices().action_post()
    commit_and_vacuum(env, ["sale_order", "sale_order_line", "account_move", "account_move_line"])


def list_page(env, model, fields):
    with Measure(env) as measure:
        env[model].web_search_read([], {name: {} for name in fields}, limit=80)
    return measure


def grouped(env, model, groupby, aggregates):
    with Measure(env) as measure:
        env[model].read_group([], aggregates, groupby, lazy=False)
    return measure


def main():
    args = parse_args(
        __doc__,
        orders={"type": int, "default": 400, "help": "confirmed orders of 5 lines"},
        repeat={"type": int, "default": 5},
    )
    with environment(args) as env:
        build(env, args.orders)
        ours = "backops.quoted.actual.report"
        odoo_report = "sale.report"
        cases = [
            (
                "list: first 80 rows",
                (
                    list_page,
                    ours,
                    ["date", "order_id", "partner_id", "product_id", "quoted_price_unit", "price_difference"],
                ),
                (
                    list_page,
                    odoo_report,
                    ["date", "order_reference", "partner_id", "product_id", "price_unit", "price_total"],
                ),
            ),
            (
                "pivot: customer x month",
                (
                    grouped,
                    ours,
                    ["partner_id", "date:month"],
                    ["quoted_price_unit:avg", "price_difference_percent:avg"],
                ),
                (grouped, odoo_report, ["partner_id", "date:month"], ["price_unit:avg", "price_total:sum"]),
            ),
            (
                "graph: product",
                (grouped, ours, ["product_id"], ["price_difference_percent:avg"]),
                (grouped, odoo_report, ["product_id"], ["price_total:sum"]),
            ),
        ]
        rows = []
        for title, (fun_a, *args_a), (fun_b, *args_b) in cases:
            a = median_measure(env, fun_a, *args_a, repeat=args.repeat)
            b = median_measure(env, fun_b, *args_b, repeat=args.repeat)
            rows.append(
                (
                    title,
                    fmt_seconds(a.seconds),
                    a.queries,
                    fmt_seconds(b.seconds),
                    b.queries,
                    f"{a.seconds / b.seconds:.2f}",
                )
            )
        print_table(
            f"Quoted vs Actual vs Odoo's sale.report, {args.orders} orders of {LINES} lines",
            ["operation", "ours s", "ours q", "sale.report s", "sale.report q", "ratio"],
            rows,
        )


if __name__ == "__main__":
    main()
