"""Demand changes: proposals when a sale order's quantities change, and applying them.

Two databases built the same way and filled with the same data: the one given (with
backops_procurement) and a scratch one with only what the addon depends on, made here
as ``<DB>_plain`` and dropped at the end (see overhead.py). In each: a confirmed sale
order of N needs (500 by default), each split 30/20 over two RFQs (two RFQs of N lines,
one per vendor; in the addon's database the allocations say so). Measured:

  - one write of all N quantities, 50 → 40: in the addon's database it makes the N
    proposals; in the plain one it is Odoo's own write of the same quantities;
  - applying the N proposals in one call, next to Odoo writing the same purchase lines
    (the N lines of the latest RFQ, 20 → 10) in the plain database.

Each figure is the median of ``--repeat`` runs after a warm-up, each rolled back.
Targets: making the proposals adds at most 30% to Odoo's write; applying them is
within 1.2× of Odoo writing the same purchase lines.
"""

import os

from harness import Measure, commit_and_vacuum, environment, fmt_seconds, median_measure, parse_args, print_table
from overhead import PLAIN_MODULES, TABLES, create_plain_database, drop_database, plain_environment

from odoo import Command, fields


def build(env, needs):
    has_addon = "subject_to_procurement" in env["product.template"]._fields
    vendors = env["res.partner"].create([{"name": "Bench Fairway"}, {"name": "Bench GreenLane"}])
    customer = env["res.partner"].create({"name": "Bench Festival"})
    values = []
    for i in range(needs):
        vals = {
            "name": f"Bench Cart {i}",
            "type": "consu",
            "list_price": 200.0,
            "seller_ids": [
                Command.create({"partner_id": vendors[0].id, "price": 150.0}),
                Command.create({"partner_id": vendors[1].id, "price": 158.0}),
            ],
        }
        if has_addon:
            vals["subject_to_procurement"] = True
        values.append(vals)
    products = env["product.product"].create(values)
    order = env["sale.order"].create(
        {
            "partner_id": customer.id,
            "order_line": [Command.create({"product_id": p.id, "product_uom_qty": 50}) for p in products],
        }
    )
    order.action_confirm()
    rfqs = env["purchase.order"].create(
        [
            {
                "partner_id": vendor.id,
                "date_order": fields.Datetime.now()
                if index
                else fields.Datetime.subtract(fields.Datetime.now(), hours=1),
                "order_line": [Command.create({"product_id": p.id, "product_qty": qty}) for p in products],
            }
            for index, (vendor, qty) in enumerate(zip(vendors, (30, 20), strict=True))
        ]
    )
    if has_addon:
        env["backops.procurement.allocation"].create(
            [
                {"sale_line_id": need.id, "purchase_line_id": line.id, "quantity": line.product_qty}
                for rfq in rfqs
                for need, line in zip(order.order_line, rfq.order_line, strict=True)
            ]
        )
    commit_and_vacuum(env, [*TABLES, "backops_procurement_allocation"] if has_addon else TABLES)
    return {"order": order, "latest_rfq": rfqs[1], "has_addon": has_addon}


def write_quantities(env, records):
    lines = records["order"].order_line
    with Measure(env) as m:
        lines.write({"product_uom_qty": 40})
    if records["has_addon"]:
        changes = env["backops.demand.change"].search([("sale_order_id", "=", records["order"].id)])
        assert len(changes) == len(lines), len(changes)
    return m


def apply_changes(env, records):
    """The addon's apply of the proposals; in plain Odoo, the same purchase lines written."""
    if records["has_addon"]:
        records["order"].order_line.write({"product_uom_qty": 40})
        changes = env["backops.demand.change"].search([("sale_order_id", "=", records["order"].id)])
        with Measure(env) as m:
            changes.action_apply()
        assert set(changes.mapped("state")) == {"applied"}
    else:
        with Measure(env) as m:
            records["latest_rfq"].order_line.write({"product_qty": 10})
    assert set(records["latest_rfq"].order_line.mapped("product_qty")) == {10}
    return m


def main():
    args = parse_args(
        __doc__.splitlines()[0],
        needs={"default": 500, "type": int, "help": "needs of the sale order, each split over two RFQs"},
        repeat={"default": 3, "type": int, "help": "measured runs of each operation (after one warm-up)"},
    )
    plain_name = f"{args.database}_plain"
    with environment(args) as addon:
        print(f"  installing {PLAIN_MODULES} in {plain_name}", flush=True)
        create_plain_database(args, plain_name)
        try:
            with plain_environment(plain_name) as plain:
                built = {label: build(env, args.needs) for label, env in (("plain", plain), ("addon", addon))}
                load_before = os.getloadavg()
                rows = []
                for title, function in (
                    (f"write {args.needs:,} quantities (addon: + proposals)", write_quantities),
                    (f"apply {args.needs:,} proposals (plain: write the same purchase lines)", apply_changes),
                ):
                    p = median_measure(plain, function, built["plain"], repeat=args.repeat)
                    a = median_measure(addon, function, built["addon"], repeat=args.repeat)
                    rows.append(
                        (
                            title,
                            fmt_seconds(p.seconds),
                            p.queries,
                            fmt_seconds(a.seconds),
                            a.queries,
                            f"{a.seconds / p.seconds:.2f}",
                            f"{a.queries / p.queries:.2f}",
                        )
                    )
                    print(f"  measured: {title}", flush=True)
                load_after = os.getloadavg()
        finally:
            drop_database(plain_name)
    print_table(
        f"Demand changes next to Odoo's own writes (seconds, queries; median of {args.repeat}; "
        f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after)",
        ["operation", "Odoo s", "q", "addon s", "q", "time ratio", "query ratio"],
        rows,
    )


if __name__ == "__main__":
    main()
