"""Ordering statuses at scale.

For N needs (1,000, 10,000, 50,000 by default), each with allocations on RFQs of 20
vendors, prints the time and query count of:

  (a) recomputing every need's status (the ORM path the addon uses on any change);
  (b) reading the first page of the Needs list filtered on one status, flat and
      grouped by sale order as the menu opens it;
  (c) a plain SQL GROUP BY over the allocations: the floor no ORM path can beat;
  (d) a plain SQL UPDATE of the same values as three columns of ``sale_order_line``
      (the status indexed), added for the measure and rolled back: what the statuses
      cost to write when the sale lines kept them (before ``backops_need_status``),
      with the table's wide rows and its ten indexes;
  (e) the same UPDATE of the rows of ``backops_need_status``, on the table vacuumed
      after (a), rolled back: what PostgreSQL takes to write that many statuses where
      the addon keeps them, the floor of (a) when every status changes, as here;
  and, as Odoo's own equivalents in the same run: recomputing ``invoice_status`` of
  the same sale lines, and reading the first page of Odoo's sale line list filtered
  on it.

The data is cloned with SQL from one sale order made through the ORM, so that building
50,000 needs takes seconds; everything measured goes through the ORM.
"""

from harness import Measure, commit_and_vacuum, environment, fmt_seconds, parse_args, print_table

from odoo import Command

LINES_PER_ORDER = 50
VENDORS = 20
NEED_QTY = 4.0
# allocated quantity by need index % 4: Needs Order, Short, On Order, Excess
ALLOCATED = [0.0, 2.0, 4.0, 5.0]

NEEDS_SPEC = {
    "order_id": {"fields": {"display_name": {}}},
    "procurement_section": {},
    "order_partner_id": {"fields": {"display_name": {}}},
    "product_id": {"fields": {"display_name": {}}},
    "name": {},
    "salesman_id": {"fields": {"display_name": {}}},
    "product_uom_qty": {},
    "procurement_allocated_qty": {},
    "procurement_remaining_qty": {},
    "product_uom": {"fields": {"display_name": {}}},
    "procurement_status": {},
    "company_id": {"fields": {"display_name": {}}},
}
ODOO_LINES_SPEC = {
    "order_id": {"fields": {"display_name": {}}},
    "order_partner_id": {"fields": {"display_name": {}}},
    "name": {},
    "salesman_id": {"fields": {"display_name": {}}},
    "product_uom_qty": {},
    "qty_delivered": {},
    "qty_invoiced": {},
    "qty_to_invoice": {},
    "product_uom": {"fields": {"display_name": {}}},
    "price_subtotal": {},
    "currency_id": {"fields": {}},
}


def columns(cr, table):
    cr.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = %s AND column_name != 'id'",
        [table],
    )
    return [name for (name,) in cr.fetchall()]


def build(env, count):
    """Create ``count`` needs on confirmed sale orders, allocated to 20 RFQs."""
    cr = env.cr
    product = env["product.product"].create(
        {"name": "Bench Barrier Hire", "type": "service", "subject_to_procurement": True}
    )
    customer = env["res.partner"].create({"name": "Bench Festival"})
    vendors = env["res.partner"].create([{"name": f"Bench Vendor {i}"} for i in range(VENDORS)])
    template = env["sale.order"].create(
        {
            "partner_id": customer.id,
            "order_line": [Command.create({"product_id": product.id, "product_uom_qty": NEED_QTY})],
        }
    )
    template.action_confirm()
    rfqs = env["purchase.order"].create(
        [
            {
                "partner_id": vendor.id,
                "order_line": [Command.create({"product_id": product.id, "product_qty": count * 5.0})],
            }
            for vendor in vendors
        ]
    )
    env.flush_all()

    order_count = -(-count // LINES_PER_ORDER)
    order_columns = [c for c in columns(cr, "sale_order") if c != "name"]
    cr.execute(
        f"""
        INSERT INTO sale_order (name, {", ".join(order_columns)})
        SELECT 'BENCH/' || g, {", ".join(order_columns)}
          FROM sale_order, generate_series(1, %s) g
         WHERE id = %s
        RETURNING id
        """,
        [order_count, template.id],
    )
    order_ids = [row[0] for row in cr.fetchall()]
    # the stored statuses are left empty: the recompute measured below writes each one
    line_columns = [c for c in columns(cr, "sale_order_line") if c not in ("order_id", "sequence", "invoice_status")]
    cr.execute(
        f"""
        INSERT INTO sale_order_line (order_id, sequence, {", ".join(line_columns)})
        SELECT (%s::int[])[((g - 1) / %s) + 1], g, {", ".join(line_columns)}
          FROM sale_order_line, generate_series(1, %s) g
         WHERE id = %s
        RETURNING id
        """,
        [order_ids, LINES_PER_ORDER, count, template.order_line.id],
    )
    need_ids = sorted(row[0] for row in cr.fetchall())
    # each sale line has its status row, inserted with it (empty here, as the statuses)
    cr.execute("INSERT INTO backops_need_status (id, line_id) SELECT i, i FROM unnest(%s::int[]) i", [need_ids])
    purchase_lines = rfqs.order_line
    rows = [
        (need_id, purchase_lines[index % VENDORS].id, ALLOCATED[index % 4])
        for index, need_id in enumerate(need_ids)
        if ALLOCATED[index % 4]
    ]
    cr.execute(
        """
        INSERT INTO backops_procurement_allocation
               (sale_line_id, purchase_line_id, quantity, purchase_uom_qty, is_automatic,
                company_id, product_id, sale_order_id, purchase_order_id, partner_id,
                create_uid, write_uid, create_date, write_date)
        SELECT new.sale_line_id, new.purchase_line_id, new.quantity, new.quantity, FALSE,
               sol.company_id, sol.product_id, sol.order_id, pol.order_id, po.partner_id,
               1, 1, now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC'
          FROM unnest(%s::int[], %s::int[], %s::numeric[]) AS new(sale_line_id, purchase_line_id, quantity)
          JOIN sale_order_line sol ON sol.id = new.sale_line_id
          JOIN purchase_order_line pol ON pol.id = new.purchase_line_id
          JOIN purchase_order po ON po.id = pol.order_id
        """,
        [[r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]],
    )
    commit_and_vacuum(
        env,
        [
            "sale_order",
            "sale_order_line",
            "backops_procurement_allocation",
            "purchase_order_line",
            "backops_need_status",
        ],
    )
    return env["sale.order.line"].browse(need_ids)


def recompute(env, lines, field_names):
    for name in field_names:
        env.add_to_compute(lines._fields[name], lines)


def run(env, count):
    cr = env.cr
    needs = build(env, count)
    Line = env["sale.order.line"]
    results = {}

    with Measure(env) as m:
        # the statuses are kept in the needs' rows of backops_need_status (same ids)
        recompute(env, env["backops.need.status"].browse(needs.ids), ["procurement_status"])
    results["recompute"] = m
    cr.execute(
        "SELECT procurement_status, count(*) FROM backops_need_status WHERE id = ANY(%s) GROUP BY 1 ORDER BY 1",
        [needs.ids],
    )
    statuses = dict(cr.fetchall())
    expected = count // 4
    assert all(abs(statuses.get(s, 0) - expected) <= 1 for s in ("needs_order", "short", "on_order", "excess")), (
        statuses
    )

    with Measure(env) as m:
        recompute(env, needs, ["invoice_status"])
    results["odoo_recompute"] = m
    cr.execute("SELECT count(*) FROM sale_order_line WHERE id = ANY(%s) AND invoice_status = 'to invoice'", [needs.ids])
    assert cr.fetchone()[0] == count, "Odoo's invoice_status was not recomputed"

    domain = [("procurement_status", "!=", False), ("procurement_status", "=", "short")]
    with Measure(env) as m:
        page = Line.web_search_read(domain, NEEDS_SPEC, limit=80, count_limit=10001)
    assert len(page["records"]) == 80
    results["page"] = m
    with Measure(env) as m:
        Line.web_read_group(domain, ["product_uom_qty:sum", "procurement_allocated_qty:sum"], ["order_id"], limit=80)
    results["page_grouped"] = m
    with Measure(env) as m:
        page = Line.web_search_read(
            [("invoice_status", "=", "to invoice")], ODOO_LINES_SPEC, limit=80, count_limit=10001
        )
    assert len(page["records"]) == 80
    results["odoo_page"] = m

    with Measure(env) as m:
        cr.execute(
            """
            SELECT alloc.sale_line_id, SUM(alloc.quantity)
              FROM backops_procurement_allocation alloc
              JOIN purchase_order_line pol ON pol.id = alloc.purchase_line_id
              JOIN purchase_order po ON po.id = pol.order_id
             WHERE po.state != 'cancel'
          GROUP BY alloc.sale_line_id
            """
        )
        cr.fetchall()
    results["sql_floor"] = m

    # on a vacuumed table: the rows the recomputes above wrote leave room for this one
    commit_and_vacuum(env, ["sale_order_line"])
    cr.execute("SAVEPOINT write_floor")
    # as the sale lines kept the statuses before backops_need_status: three columns of
    # sale_order_line, the status indexed (adding them rewrites no row)
    cr.execute(
        """
        ALTER TABLE sale_order_line ADD COLUMN bench_status varchar,
                                    ADD COLUMN bench_allocated numeric,
                                    ADD COLUMN bench_remaining numeric
        """
    )
    cr.execute("CREATE INDEX ON sale_order_line (bench_status)")
    with Measure(env) as m:
        cr.execute(
            "UPDATE sale_order_line SET bench_status = 'short', bench_allocated = 2, bench_remaining = 2"
            " WHERE id = ANY(%s)",
            [needs.ids],
        )
    assert cr.rowcount == count
    results["write_floor"] = m
    cr.execute("ROLLBACK TO SAVEPOINT write_floor")

    commit_and_vacuum(env, ["backops_need_status"])
    cr.execute("SAVEPOINT narrow_floor")
    with Measure(env) as m:
        cr.execute(
            "UPDATE backops_need_status SET procurement_status = NULL, procurement_allocated_qty = 0,"
            " procurement_remaining_qty = 0 WHERE id = ANY(%s)",
            [needs.ids],
        )
    assert cr.rowcount == count
    results["narrow_floor"] = m
    cr.execute("ROLLBACK TO SAVEPOINT narrow_floor")

    # leave the next size a table of its own size
    cr.execute("DELETE FROM backops_procurement_allocation WHERE sale_line_id = ANY(%s)", [needs.ids])
    cr.execute(
        "DELETE FROM sale_order WHERE id IN (SELECT order_id FROM sale_order_line WHERE id = ANY(%s))", [needs.ids]
    )
    env.invalidate_all()
    env.cr.commit()
    return results


def main():
    args = parse_args(
        __doc__.splitlines()[0],
        sizes={"default": "1000,10000,50000", "help": "comma-separated numbers of needs"},
    )
    sizes = [int(size) for size in args.sizes.split(",")]
    with environment(args) as env:
        rows = []
        for count in sizes:
            r = run(env, count)
            rows.append(
                (
                    f"{count:,}",
                    fmt_seconds(r["recompute"].seconds),
                    r["recompute"].queries,
                    fmt_seconds(r["odoo_recompute"].seconds),
                    r["odoo_recompute"].queries,
                    fmt_seconds(r["page"].seconds),
                    r["page"].queries,
                    fmt_seconds(r["page_grouped"].seconds),
                    r["page_grouped"].queries,
                    fmt_seconds(r["odoo_page"].seconds),
                    r["odoo_page"].queries,
                    fmt_seconds(r["sql_floor"].seconds),
                    r["sql_floor"].queries,
                    fmt_seconds(r["write_floor"].seconds),
                    fmt_seconds(r["narrow_floor"].seconds),
                )
            )
            print(f"  measured {count:,} needs", flush=True)
        print_table(
            "Ordering statuses (seconds, queries)",
            [
                "needs",
                "(a) status s",
                "q",
                "Odoo invoice_status s",
                "q",
                "(b) Needs page s",
                "q",
                "(b) grouped s",
                "q",
                "Odoo lines page s",
                "q",
                "(c) SQL floor s",
                "q",
                "(d) on sale_order_line s",
                "(e) SQL write floor s",
            ],
            rows,
        )


if __name__ == "__main__":
    main()
