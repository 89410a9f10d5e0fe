"""Approving purchase orders in batch.

N purchase orders (default 200, and a fifth of them) wait for one approval tier.
Prints the time and query count of their approver approving them all from the To
Approve list in one action, next to Odoo's own ``button_approve`` on the same orders
with approval tiers off, in the same run. The difference is what approval tiers add;
it must not grow with the number of orders. Every figure is the median of five runs,
each rolled back.
"""

from harness import Measure, environment, fmt_seconds, median_measure, parse_args, print_table, rollback_to

from odoo import Command


def build(env, count):
    company = env.company
    company.backops_approval_split_days = 7
    group = env["res.groups"].create({"name": "Bench Approvers"})
    purchase_user = env.ref("purchase.group_purchase_user")
    users = env["res.users"].create(
        [
            {
                "name": "Bench Buyer",
                "login": "bench_buyer",
                "email": "buyer@bench.example.com",
                "groups_id": [Command.set(purchase_user.ids)],
            },
            {
                "name": "Bench Approver",
                "login": "bench_approver",
                "email": "approver@bench.example.com",
                "groups_id": [Command.set((purchase_user | group).ids)],
            },
            {
                "name": "Bench Manager",
                "login": "bench_manager",
                "email": "manager@bench.example.com",
                "groups_id": [Command.set(env.ref("purchase.group_purchase_manager").ids)],
            },
        ]
    )
    buyer, approver, manager = users
    tier = env["backops.approval.tier"].create({"name": "Bench Tier", "min_amount": 100, "group_id": group.id})
    vendors = env["res.partner"].create([{"name": f"Bench Vendor {i}"} for i in range(20)])
    product = env["product.product"].create({"name": "Bench Crate", "type": "consu", "is_storable": True})
    orders = (
        env["purchase.order"]
        .with_user(buyer)
        .create(
            [
                {
                    "partner_id": vendors[i % 20].id,
                    "order_line": [Command.create({"product_id": product.id, "product_qty": 5, "price_unit": 100})],
                }
                for i in range(count)
            ]
        )
    )
    orders.button_confirm()
    assert set(orders.mapped("state")) == {"to approve"}
    env.flush_all()
    return tier, approver, manager, orders


def approve_from_list(env, approver, orders):
    requests = (
        env["backops.approval.request"]
        .with_user(approver)
        .search([("can_approve", "=", True), ("purchase_order_id", "in", orders.ids)])
    )
    assert len(requests) == len(orders)
    with Measure(env) as m:
        requests.action_approve()
    assert set(orders.mapped("state")) == {"purchase"}, set(orders.mapped("state"))
    return m


def odoo_approve(env, tier, manager, orders):
    tier.active = False  # approval tiers off: Odoo's own approval
    env.flush_all()
    with Measure(env) as m:
        orders.with_user(manager).button_approve()
    assert set(orders.mapped("state")) == {"purchase"}, set(orders.mapped("state"))
    return m


def main():
    args = parse_args(__doc__.splitlines()[0], orders={"type": int, "default": 200})
    rows = []
    with environment(args) as env:
        for count in (args.orders // 5, args.orders):
            env.cr.execute("SAVEPOINT bench_approval_size")
            tier, approver, manager, orders = build(env, count)
            ours = median_measure(env, approve_from_list, approver, orders)
            odoo = median_measure(env, odoo_approve, tier, manager, orders)
            rollback_to(env, "bench_approval_size")
            rows.append((count, ours, odoo))
    print_table(
        "Approving waiting purchase orders (seconds, queries)",
        ["orders", "To Approve list s", "q", "Odoo button_approve s", "q", "added queries", "time ratio"],
        [
            (
                count,
                fmt_seconds(ours.seconds),
                ours.queries,
                fmt_seconds(odoo.seconds),
                odoo.queries,
                ours.queries - odoo.queries,
                f"{ours.seconds / odoo.seconds:.2f}",
            )
            for count, ours, odoo in rows
        ],
    )


if __name__ == "__main__":
    main()
