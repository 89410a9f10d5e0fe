from odoo import api, fields, models
from odoo.tools import SQL

from ..tools import take_pending

PROCUREMENT_STATUSES = [
    ("needs_order", "Needs Order"),
    ("short", "Short"),
    ("on_order", "On Order"),
    ("excess", "Excess"),
]

# computed together, by one query whatever the number of needs
STATUS_FIELDS = ("procurement_status", "procurement_allocated_qty", "procurement_remaining_qty")


class NeedStatus(models.Model):
    """The ordering status of a sale line, kept in a narrow table of its own.

    Every sale line has one row here, whose id is the line's id (inserted with the
    line). The sale line reads these values through related fields, so that lists,
    filters, sorting and grouping on them work as on any field of the line: Odoo
    joins this table on the line's id. Kept apart because the statuses of tens of
    thousands of needs change at once (a purchase order cancelled, a product made
    subject to procurement): rewriting that many rows of ``sale_order_line``, with
    its wide rows and its ten indexes, costs five times as much as rewriting them
    here. Nobody reads or writes this model directly: the sale line's fields are
    the interface."""

    _name = "backops.need.status"
    _description = "Need Ordering Status"
    _log_access = False

    line_id = fields.Many2one("sale.order.line", string="Sale Line", required=True, readonly=True, ondelete="cascade")
    procurement_allocated_qty = fields.Float(
        string="Allocated",
        compute="_compute_statuses",
        store=True,
        digits="Product Unit of Measure",
    )
    procurement_remaining_qty = fields.Float(
        string="To Order",
        compute="_compute_statuses",
        store=True,
        digits="Product Unit of Measure",
    )
    procurement_status = fields.Selection(
        PROCUREMENT_STATUSES,
        string="Ordering Status",
        compute="_compute_statuses",
        store=True,
        # only needs have a status: the other lines' rows stay out of the index
        index="btree_not_null",
    )

    _sql_constraints = [
        ("line_unique", "UNIQUE(line_id)", "A sale line has one ordering status."),
        ("line_is_id", "CHECK(line_id = id)", "An ordering status has its sale line's id."),
    ]

    def init(self):
        """Give every sale line its row: lines that existed before the addon (or
        before this table), on install and on each upgrade. Their values are then
        computed by the ORM before the module finishes loading."""
        self.env.cr.execute(
            """
            INSERT INTO backops_need_status (id, line_id)
            SELECT sol.id, sol.id
              FROM sale_order_line sol
             WHERE NOT EXISTS (SELECT 1 FROM backops_need_status ns WHERE ns.id = sol.id)
            RETURNING id
            """
        )
        self.browse(row[0] for row in self.env.cr.fetchall())._backops_mark_to_compute()
        # the sale lines kept these values in columns of their own before this table
        # (18.0.1.1.0): as Odoo does with the columns of a field no longer stored,
        # their values stay; their index goes, as every new row version of a sale
        # line would still write into it
        self.env.cr.execute("DROP INDEX IF EXISTS sale_order_line__procurement_status_index")

    @api.model
    def _backops_insert_for(self, lines):
        """The rows of sale lines just inserted, their values to compute."""
        if not lines:
            return
        self.env.cr.execute(
            SQL(
                "INSERT INTO backops_need_status (id, line_id) SELECT i, i FROM unnest(%s::int[]) AS i",
                list(lines.ids),
            )
        )
        self.browse(lines.ids)._backops_mark_to_compute()

    def _backops_mark_to_compute(self):
        for fname in STATUS_FIELDS:
            self.env.add_to_compute(self._fields[fname], self)

    @api.depends(
        "line_id.display_type",
        "line_id.state",
        "line_id.order_id.backops_order_type",
        "line_id.product_id.subject_to_procurement",
        "line_id.product_uom_qty",
        "line_id.product_uom",
        "line_id.procurement_allocation_ids.quantity",
        "line_id.procurement_allocation_ids.purchase_line_id.order_id.state",
    )
    def _compute_statuses(self):
        stored = self.filtered("id")
        for status in self - stored:  # never in the database: nothing to order yet
            status.update(dict.fromkeys(STATUS_FIELDS, False))
        if stored:
            take_pending(stored, STATUS_FIELDS)._update_statuses()

    def _update_statuses(self):
        """Set the quantities and status of these rows with one query to read and
        one to write, whatever their number.

        Raw SQL, because the ORM cannot do this at this size: it flushes computed
        values a hundred rows per UPDATE and recomputes them a thousand records per
        call, which makes statuses cost a query per hundred needs; they must stay cheap
        for tens of thousands. The dependencies are declared on the compute, so the
        ORM still decides what to recompute and when; the changed fields are
        invalidated so that the next read comes from the database."""
        env = self.env
        env["backops.procurement.allocation"].flush_model(["sale_line_id", "purchase_line_id", "quantity"])
        env["purchase.order.line"].flush_model(["order_id"])
        env["purchase.order"].flush_model(["state"])
        env["product.product"].flush_model(["product_tmpl_id"])
        env["product.template"].flush_model(["subject_to_procurement"])
        env["uom.uom"].flush_model(["rounding"])
        env["sale.order"].flush_model(["backops_order_type"])
        env["sale.order.line"].browse(self.ids).flush_recordset(
            ["display_type", "state", "order_id", "product_id", "product_uom", "product_uom_qty"]
        )

        # one statement reads, decides and writes: the status is decided in SQL
        # exactly as procurement_status() decides it (each quantity rounded half
        # away from zero at the unit's rounding, then compared), and only the rows
        # whose values change are written
        env.cr.execute(
            SQL(
                """
            UPDATE backops_need_status ns
               SET procurement_allocated_qty = new.allocated,
                   procurement_remaining_qty = new.remaining,
                   procurement_status = new.status
              FROM (
                SELECT line.id, line.allocated,
                       CASE WHEN line.is_need THEN GREATEST(line.need - line.allocated, 0) ELSE 0 END AS remaining,
                       CASE WHEN NOT line.is_need THEN NULL
                            WHEN line.allocated_units <= 0 THEN 'needs_order'
                            WHEN line.allocated_units < line.need_units THEN 'short'
                            WHEN line.allocated_units > line.need_units THEN 'excess'
                            ELSE 'on_order' END AS status
                  FROM (
                    SELECT sol.id,
                           sol.display_type IS NULL AND sol.state = 'sale'
                               AND COALESCE(tmpl.subject_to_procurement, FALSE)
                               -- goods coming back on a return are no need to order
                               AND so.backops_order_type IS DISTINCT FROM 'return' AS is_need,
                           COALESCE(sol.product_uom_qty, 0)::numeric AS need,
                           COALESCE(alloc.quantity, 0)::numeric AS allocated,
                           -- each quantity in units of the rounding, computed once
                           ROUND(COALESCE(alloc.quantity, 0)::numeric
                                 / COALESCE(NULLIF(uom.rounding, 0), 0.01)::numeric) AS allocated_units,
                           ROUND(COALESCE(sol.product_uom_qty, 0)::numeric
                                 / COALESCE(NULLIF(uom.rounding, 0), 0.01)::numeric) AS need_units
                      FROM sale_order_line sol
                      JOIN sale_order so ON so.id = sol.order_id
                 LEFT JOIN product_product product ON product.id = sol.product_id
                 LEFT JOIN product_template tmpl ON tmpl.id = product.product_tmpl_id
                 LEFT JOIN uom_uom uom ON uom.id = sol.product_uom
                 LEFT JOIN (
                        SELECT alloc.sale_line_id, SUM(alloc.quantity) AS quantity
                          FROM backops_procurement_allocation alloc
                          JOIN purchase_order_line pol ON pol.id = alloc.purchase_line_id
                          JOIN purchase_order po ON po.id = pol.order_id
                         WHERE alloc.sale_line_id = ANY(%(ids)s) AND po.state != 'cancel'
                      GROUP BY alloc.sale_line_id
                      ) alloc ON alloc.sale_line_id = sol.id
                     WHERE sol.id = ANY(%(ids)s)
                  ) line
                -- a fence: the values are computed once per line, not again where
                -- the WHERE below compares them
                OFFSET 0
              ) new
             WHERE ns.id = new.id
               AND (ns.procurement_status IS DISTINCT FROM new.status
                    OR ns.procurement_allocated_qty IS DISTINCT FROM new.allocated
                    OR COALESCE(ns.procurement_remaining_qty, 0) != new.remaining)
            """,
                ids=list(self.ids),
            )
        )
        self.invalidate_recordset(list(STATUS_FIELDS), flush=False)
