"""Fulfilment statuses at scale, and receiving.

(a) For N needs (1,000, 10,000, 50,000 by default) on confirmed purchase orders of 20
    vendors, a quarter of them each not ordered, ordered, partly received and received,
    prints the time and query count of recomputing every need's fulfilment status, next
    to recomputing their ordering status (the addon's own reference, one SQL pass too)
    and Odoo's ``invoice_status`` of the same lines, in the same run.
(b) Receive Full of P purchase lines (200 by default) on 20 confirmed purchase orders,
    next to Odoo's own ``button_validate`` of the same receipts (each quantity set by
    hand first, as a user does), on identical data built twice.

(c) Validating one receipt of P purchase lines (200 by default), each covering a need
    whose delivery waits, with Odoo's own ``button_validate``: with "Reserve Received
    Units for Their Needs" on (the received units are reserved for their needs) next
    to the same receipt with it off (Odoo's behaviour), on identical data built twice.

Target: (a) within 1.5x of the ordering status at each size; (b) and (c) within 1.2x
of Odoo, queries flat per line.
"""

from harness import Measure, commit_and_vacuum, environment, fmt_seconds, parse_args, print_table
from statuses import build, recompute

from odoo import Command

VENDORS = 20


def confirm_and_receive(env, needs):
    """Confirm the RFQs covering ``needs`` and mark a quarter of the needs partly and a
    quarter fully received, in SQL: the recompute measured below derives the rest."""
    cr = env.cr
    cr.execute(
        """
        UPDATE purchase_order SET state = 'purchase', date_approve = now() AT TIME ZONE 'UTC'
         WHERE id IN (SELECT purchase_order_id FROM backops_procurement_allocation WHERE sale_line_id = ANY(%s))
        """,
        [needs.ids],
    )
    # by need index % 4 (statuses.ALLOCATED: 0, 2, 4, 5 allocated): nothing, half, all, all
    cr.execute(
        """
        UPDATE backops_procurement_allocation alloc
           SET received_qty = CASE WHEN alloc.quantity = 4 THEN 4 WHEN alloc.quantity = 5 THEN 2.5 ELSE 0 END
         WHERE alloc.sale_line_id = ANY(%s)
        """,
        [needs.ids],
    )
    commit_and_vacuum(env, ["purchase_order", "backops_procurement_allocation"])


def run_statuses(env, count):
    needs = build(env, count)
    confirm_and_receive(env, needs)
    results = {}
    with Measure(env) as m:
        recompute(env, needs, ["backops_fulfilment_status"])
    results["fulfilment"] = m
    env.cr.execute(
        "SELECT backops_fulfilment_status, count(*) FROM sale_order_line WHERE id = ANY(%s) GROUP BY 1",
        [needs.ids],
    )
    statuses = dict(env.cr.fetchall())
    assert set(statuses) == {"to_order", "partially_received"}, statuses
    with Measure(env) as m:
        # kept in the needs' rows of backops_need_status (same ids)
        recompute(env, env["backops.need.status"].browse(needs.ids), ["procurement_status"])
    results["ordering"] = m
    with Measure(env) as m:
        recompute(env, needs, ["invoice_status"])
    results["odoo"] = m
    cr = env.cr
    cr.execute("DELETE FROM backops_procurement_allocation WHERE sale_line_id = ANY(%s)", [needs.ids])
    cr.execute(
        "DELETE FROM sale_order WHERE id IN (SELECT order_id FROM sale_order_line WHERE id = ANY(%s))", [needs.ids]
    )
    env.invalidate_all()
    cr.commit()
    return results


def build_receipts(env, line_count, tag, vendors=VENDORS):
    """``line_count`` purchase lines on ``vendors`` confirmed POs, each covering a need."""
    products = env["product.product"].create(
        [
            {"name": f"Bench Crate {tag} {i}", "is_storable": True, "subject_to_procurement": True}
            for i in range(line_count)
        ]
    )
    customer = env["res.partner"].create({"name": f"Bench Customer {tag}"})
    order = env["sale.order"].create(
        {
            "partner_id": customer.id,
            "order_line": [Command.create({"product_id": p.id, "product_uom_qty": 10}) for p in products],
        }
    )
    order.action_confirm()
    vendors = env["res.partner"].create([{"name": f"Bench Vendor {tag} {i}"} for i in range(vendors)])
    per_vendor = -(-line_count // len(vendors))
    purchases = env["purchase.order"].create(
        [
            {
                "partner_id": vendor.id,
                "order_line": [
                    Command.create({"product_id": p.id, "product_qty": 10})
                    for p in products[index * per_vendor : (index + 1) * per_vendor]
                ],
            }
            for index, vendor in enumerate(vendors)
        ]
    )
    env["backops.procurement.allocation"].create(
        [
            {"sale_line_id": need.id, "purchase_line_id": line.id, "quantity": 10}
            for need, line in zip(order.order_line.sorted("id"), purchases.order_line.sorted("id"), strict=True)
        ]
    )
    purchases.button_confirm()
    commit_and_vacuum(env, ["stock_move", "stock_picking", "purchase_order_line", "sale_order_line"])
    return purchases


def run_receiving(env, line_count):
    results = {}
    purchases = build_receipts(env, line_count, "odoo")
    receipts = purchases.picking_ids
    with Measure(env) as m:
        for move in receipts.move_ids:
            move.quantity = move.product_uom_qty
        receipts.move_ids.picked = True
        receipts.with_context(skip_backorder=True, skip_sms=True).button_validate()
    results["odoo"] = m
    assert set(purchases.order_line.mapped("qty_received")) == {10.0}
    env.cr.commit()

    purchases = build_receipts(env, line_count, "backops")
    with Measure(env) as m:
        purchases.order_line.action_backops_receive_full()
    results["receive"] = m
    assert set(purchases.order_line.mapped("qty_received")) == {10.0}
    assert set(purchases.order_line.procurement_allocation_ids.sale_line_id.mapped("backops_qty_received")) == {10.0}
    env.cr.commit()
    return results


def validate_receipt(env, purchase):
    receipt = purchase.picking_ids
    with Measure(env) as m:
        for move in receipt.move_ids:
            move.quantity = move.product_uom_qty
        receipt.move_ids.picked = True
        receipt.with_context(skip_sms=True).button_validate()
    return m


def run_reservation(env, line_count):
    results = {}
    company = env.company
    for setting in (False, True):
        company.backops_reserve_on_receipt = setting
        purchase = build_receipts(env, line_count, f"hold-{setting}", vendors=1)
        results[setting] = validate_receipt(env, purchase)
        needs = purchase.order_line.procurement_allocation_ids.sale_line_id
        ready = set(needs.mapped("backops_qty_ready"))
        assert ready == {10.0}, ready
        env.cr.commit()
    company.backops_reserve_on_receipt = True
    env.cr.commit()
    return results


def main():
    args = parse_args(
        __doc__.splitlines()[0],
        sizes={"default": "1000,10000,50000", "help": "comma-separated numbers of needs"},
        lines={"default": 200, "type": int, "help": "purchase lines received at once"},
    )
    with environment(args) as env:
        rows = []
        for count in [int(size) for size in args.sizes.split(",")]:
            r = run_statuses(env, count)
            rows.append(
                (
                    f"{count:,}",
                    fmt_seconds(r["fulfilment"].seconds),
                    r["fulfilment"].queries,
                    fmt_seconds(r["ordering"].seconds),
                    r["ordering"].queries,
                    f"{r['fulfilment'].seconds / r['ordering'].seconds:.2f}",
                    fmt_seconds(r["odoo"].seconds),
                    r["odoo"].queries,
                )
            )
            print(f"  measured {count:,} needs", flush=True)
        print_table(
            "(a) Fulfilment statuses (seconds, queries)",
            ["needs", "fulfilment s", "q", "ordering status s", "q", "ratio", "Odoo invoice_status s", "q"],
            rows,
        )
        r = run_receiving(env, args.lines)
        print_table(
            "(b) Receiving (seconds, queries)",
            ["PO lines", "Receive Full s", "q", "Odoo button_validate s", "q", "ratio"],
            [
                (
                    args.lines,
                    fmt_seconds(r["receive"].seconds),
                    r["receive"].queries,
                    fmt_seconds(r["odoo"].seconds),
                    r["odoo"].queries,
                    f"{r['receive'].seconds / r['odoo'].seconds:.2f}",
                )
            ],
        )
        rows = []
        for count in (args.lines // 4, args.lines):
            r = run_reservation(env, count)
            rows.append(
                (
                    count,
                    fmt_seconds(r[True].seconds),
                    r[True].queries,
                    fmt_seconds(r[False].seconds),
                    r[False].queries,
                    f"{r[True].seconds / r[False].seconds:.2f}",
                    f"{(r[True].queries - r[False].queries) / count:.1f}",
                )
            )
        print_table(
            "(c) One receipt validated, received units held for their needs (seconds, queries)",
            ["receipt lines", "setting on s", "q", "off (Odoo) s", "q", "ratio", "added q per line"],
            rows,
        )


if __name__ == "__main__":
    main()
