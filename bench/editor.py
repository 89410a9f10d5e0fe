"""Turning needs into RFQ lines.

Prints the time and query count of:

  (1) the Line Item Editor saving N needs (default 500, over 50 products) onto one RFQ
      in one save, next to Odoo creating the same 50 purchase lines through
      ``purchase.order.create``;
  (2) the To Order list's Create RFQs wizard on M needs (default 2,000, over 100
      products from 20 vendors), next to Odoo creating the same 20 RFQs and 100 lines
      through ``purchase.order.create``.

Each is also run on a fifth of the needs with the same products: the query count of
our part should not grow with the number of needs. Every figure is the median of
five runs, each rolled back.
"""

from harness import Measure, environment, fmt_seconds, median_measure, parse_args, print_table

from odoo import Command

VENDORS = 20
PRODUCTS_PER_VENDOR = 5
LINES_PER_ORDER = 50


def build(env, products_count, needs_count):
    """Vendors, products subject to procurement and confirmed sale orders whose
    ``needs_count`` lines spread over ``products_count`` products."""
    vendors = env["res.partner"].create([{"name": f"Bench Vendor {i}", "is_company": True} for i in range(VENDORS)])
    products = env["product.product"].create(
        [
            {
                "name": f"Bench Hire Item {i}",
                "type": "service",
                "subject_to_procurement": True,
                "seller_ids": [Command.create({"partner_id": vendors[i % VENDORS].id, "price": 10.0 + i})],
            }
            for i in range(products_count)
        ]
    )
    customer = env["res.partner"].create({"name": "Bench Festival"})
    orders = env["sale.order"].create(
        [
            {
                "partner_id": customer.id,
                "order_line": [
                    Command.create({"product_id": products[(start + i) % products_count].id, "product_uom_qty": 4})
                    for i in range(min(LINES_PER_ORDER, needs_count - start))
                ],
            }
            for start in range(0, needs_count, LINES_PER_ORDER)
        ]
    )
    orders.action_confirm()
    env.flush_all()
    return vendors, products, orders.order_line


def editor_save(env, needs, vendor):
    rfq = env["purchase.order"].create({"partner_id": vendor.id})
    editor = env["backops.line.item.editor"].create(
        {
            "purchase_order_id": rfq.id,
            "line_ids": [
                Command.create({"sale_line_id": need.id, "name": need.name, "selected": True, "quantity": 4})
                for need in needs
            ],
        }
    )
    env.flush_all()
    with Measure(env) as m:
        editor.action_save()
    assert len(rfq.order_line) == len(needs.product_id), rfq.order_line
    assert set(needs.mapped("procurement_status")) == {"on_order"}
    return m


def odoo_lines(env, vendor, products, quantity):
    with Measure(env) as m:
        env["purchase.order"].create(
            {
                "partner_id": vendor.id,
                "order_line": [Command.create({"product_id": p.id, "product_qty": quantity}) for p in products],
            }
        )
    return m


def worklist(env, needs):
    with Measure(env) as m:
        wizard = env["backops.rfq.create"].with_context(active_model="sale.order.line", active_ids=needs.ids).create({})
        wizard.action_create_rfqs()
    assert set(needs.mapped("procurement_status")) == {"on_order"}
    return m


def odoo_rfqs(env, vendors, products, quantity):
    with Measure(env) as m:
        env["purchase.order"].create(
            [
                {
                    "partner_id": vendor.id,
                    "order_line": [
                        Command.create({"product_id": p.id, "product_qty": quantity})
                        for p in products
                        if p.seller_ids.partner_id == vendor
                    ],
                }
                for vendor in vendors
            ]
        )
    return m


def main():
    args = parse_args(
        __doc__.splitlines()[0],
        editor_needs={"type": int, "default": 500},
        worklist_needs={"type": int, "default": 2000},
    )
    rows = []
    with environment(args) as env:
        # (1) one RFQ, 50 products
        vendors, products, needs = build(env, 50, args.editor_needs)
        vendor = vendors[0]
        for count in (args.editor_needs // 5, args.editor_needs):
            subset = needs[:count]
            per_line = count / len(subset.product_id)
            ours = median_measure(env, editor_save, subset, vendor)
            odoo = median_measure(env, odoo_lines, vendor, subset.product_id, 4 * per_line)
            rows.append(("Line Item Editor save", count, len(subset.product_id), ours, odoo))
        env.cr.rollback()
        # (2) 20 vendors, 100 products
        vendors, products, needs = build(env, VENDORS * PRODUCTS_PER_VENDOR, args.worklist_needs)
        for count in (args.worklist_needs // 5, args.worklist_needs):
            subset = needs[:count]
            per_line = count / len(subset.product_id)
            ours = median_measure(env, worklist, subset)
            odoo = median_measure(env, odoo_rfqs, vendors, subset.product_id, 4 * per_line)
            rows.append(("Create RFQs (20 vendors)", count, len(subset.product_id), ours, odoo))
    print_table(
        "Needs to RFQ lines (seconds, queries)",
        ["operation", "needs", "lines", "ours s", "q", "Odoo create s", "q", "time ratio"],
        [
            (
                name,
                f"{needs:,}",
                lines,
                fmt_seconds(ours.seconds),
                ours.queries,
                fmt_seconds(odoo.seconds),
                odoo.queries,
                f"{ours.seconds / odoo.seconds:.2f}",
            )
            for name, needs, lines, ours, odoo in rows
        ],
    )


if __name__ == "__main__":
    main()
