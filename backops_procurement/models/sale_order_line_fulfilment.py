from datetime import timedelta

from odoo import api, fields, models
from odoo.tools import SQL, float_compare, float_round

from ..tools import take_pending

# the stages of a need's units, least advanced first
FULFILMENT_STATUSES = [
    ("to_order", "Need to Order"),
    ("ordered", "On Order"),
    ("partially_received", "Partially Received"),
    ("ready", "Ready to Deliver/Ship"),
    ("delivered", "Delivered/Shipped"),
]
FULFILMENT_FIELDS = (
    "backops_qty_ordered",
    "backops_qty_received",
    "backops_qty_ready",
    "backops_fulfilment_status",
    "backops_expected_date",
    "backops_is_late",
)


def fulfilment_status(is_need, need, ordered, received, delivered, ready, rounding):
    """The stage of a sale line's least advanced units.

    ``need`` is the line's quantity, ``delivered`` what Odoo counts delivered,
    ``ready`` what its open deliveries have reserved; for a need subject to
    procurement, ``ordered`` and ``received`` are what confirmed purchase orders
    cover and have received for it. All in the line's unit."""

    def below(a, b):
        return float_compare(a, b, precision_rounding=rounding) < 0

    if not below(delivered, need):
        return "delivered"
    not_shipped = need - delivered
    if not below(ready, not_shipped):
        return "ready"
    if not is_need:
        return "ready"  # not procured: ready until delivered
    waiting = not_shipped - ready  # units neither delivered nor ready
    pending = max(ordered - received, 0.0)  # on order, still expected
    received_not_ready = max(received - delivered - ready, 0.0)
    if below(pending + received_not_ready, waiting):
        return "to_order"
    if float_compare(received, 0.0, precision_rounding=rounding) > 0:
        return "partially_received"
    return "ordered"


class SaleOrderLine(models.Model):
    """Where each need's units are, from the purchase order to the customer."""

    _inherit = "sale.order.line"

    backops_promised_date = fields.Datetime(
        string="Promised Date",
        compute="_compute_backops_promised_date",
        store=True,
        help="When the customer was promised this line: the order's delivery date, or "
        "the order date plus the line's lead time.",
    )
    backops_qty_ordered = fields.Float(
        string="Ordered",
        compute="_compute_backops_fulfilment",
        store=True,
        digits="Product Unit of Measure",
        help="Allocated on confirmed purchase orders, in the line's unit.",
    )
    backops_qty_received = fields.Float(
        string="Received",
        compute="_compute_backops_fulfilment",
        store=True,
        digits="Product Unit of Measure",
        help="Received on the purchase lines covering this need (see the allocations' Received), in the line's unit.",
    )
    backops_qty_ready = fields.Float(
        string="Ready",
        compute="_compute_backops_fulfilment",
        store=True,
        digits="Product Unit of Measure",
        help="Reserved on the line's open customer deliveries: what could ship now.",
    )
    backops_fulfilment_status = fields.Selection(
        FULFILMENT_STATUSES,
        string="Fulfilment",
        compute="_compute_backops_fulfilment",
        store=True,
        index=True,
        help="The stage of the line's least advanced units: Need to Order, On Order, "
        "Partially Received (some units received, others still expected), Ready to "
        "Deliver/Ship (every undelivered unit reserved), Delivered/Shipped. Lines not "
        "subject to procurement are Ready until delivered. Empty on lines that are not "
        "confirmed products.",
    )
    backops_expected_date = fields.Datetime(
        string="Expected",
        compute="_compute_backops_fulfilment",
        store=True,
        help="When the need's last units will arrive: the latest planned date of the "
        "confirmed purchase lines still expected for it and of their open receipts.",
    )
    backops_is_late = fields.Boolean(
        string="Late",
        compute="_compute_backops_fulfilment",
        store=True,
        index=True,
        help="Expected after the date promised to the customer.",
    )

    @api.depends("order_id.commitment_date", "order_id.date_order", "customer_lead")
    def _compute_backops_promised_date(self):
        for line in self:
            order = line.order_id
            if order.commitment_date:
                line.backops_promised_date = order.commitment_date
            elif order.date_order:
                line.backops_promised_date = order.date_order + timedelta(days=line.customer_lead or 0.0)
            else:
                line.backops_promised_date = False

    @api.depends(
        "display_type",
        "state",
        "order_id.backops_order_type",
        "product_id.subject_to_procurement",
        "product_uom_qty",
        "product_uom",
        "qty_delivered",
        "backops_promised_date",
        "procurement_allocation_ids.quantity",
        "procurement_allocation_ids.received_qty",
        "procurement_allocation_ids.purchase_line_id.order_id.state",
        "procurement_allocation_ids.purchase_line_id.date_planned",
        "procurement_allocation_ids.purchase_line_id.qty_received",
        "procurement_allocation_ids.purchase_line_id.move_ids.date",
        "procurement_allocation_ids.purchase_line_id.move_ids.state",
        "move_ids.state",
        "move_ids.quantity",
        "move_ids.product_uom",
        "move_ids.location_id",
        "move_ids.location_dest_id",
    )
    def _compute_backops_fulfilment(self):
        stored = self.filtered("id")
        for line in self - stored:
            # a line not saved yet (a form): nothing ordered, received or reserved
            line.update(dict.fromkeys(FULFILMENT_FIELDS, False))
            line.backops_fulfilment_status = line._backops_status_from(0.0, 0.0, 0.0)
        if stored:
            # every pending line at once (see backops.need.status._update_statuses for why SQL)
            take_pending(stored, FULFILMENT_FIELDS)._update_backops_fulfilment()

    def _backops_status_from(self, ordered, received, ready):
        self.ensure_one()
        if self.display_type or self.state != "sale" or not self.product_id or self._backops_is_return():
            return False
        return fulfilment_status(
            self._is_procurement_need(),
            self.product_uom_qty,
            ordered,
            received,
            self.qty_delivered,
            ready,
            self.product_uom.rounding or 0.01,
        )

    def _update_backops_fulfilment(self):
        """Set the fulfilment quantities, status and dates of stored lines with one
        query to read and one to write, whatever their number."""
        env = self.env
        env["backops.procurement.allocation"].flush_model(
            ["sale_line_id", "purchase_line_id", "quantity", "received_qty"]
        )
        env["purchase.order.line"].flush_model(["order_id", "date_planned", "qty_received", "product_qty"])
        env["purchase.order"].flush_model(["state"])
        env["stock.move"].flush_model(
            [
                "sale_line_id",
                "purchase_line_id",
                "state",
                "quantity",
                "product_uom",
                "location_id",
                "location_dest_id",
                "date",
            ]
        )
        env["stock.location"].flush_model(["usage"])
        env["product.product"].flush_model(["product_tmpl_id"])
        env["product.template"].flush_model(["subject_to_procurement"])
        env["uom.uom"].flush_model(["rounding", "factor"])
        env["sale.order"].flush_model(["backops_order_type"])
        self.flush_recordset(
            [
                "display_type",
                "state",
                "product_id",
                "product_uom",
                "product_uom_qty",
                "qty_delivered",
                "backops_promised_date",
                # the UPDATE sets them: a pending value would be lost with the cache
                "write_uid",
                "write_date",
            ]
        )
        env.cr.execute(
            SQL(
                """
            SELECT sol.id,
                   sol.display_type IS NULL AND sol.state = 'sale' AND sol.product_id IS NOT NULL
                       -- a return's lines bring goods back: no fulfilment to follow
                       AND so.backops_order_type IS DISTINCT FROM 'return',
                   COALESCE(tmpl.subject_to_procurement, FALSE),
                   COALESCE(sol.product_uom_qty, 0),
                   COALESCE(sol.qty_delivered, 0),
                   COALESCE(uom.rounding, 0.01),
                   COALESCE(alloc.ordered, 0),
                   COALESCE(alloc.received, 0),
                   COALESCE(ready.quantity, 0) * COALESCE(uom.factor, 1),
                   alloc.expected,
                   sol.backops_promised_date,
                   sol.backops_qty_ordered, sol.backops_qty_received, sol.backops_qty_ready,
                   sol.backops_fulfilment_status, sol.backops_expected_date, sol.backops_is_late
              FROM sale_order_line sol
              JOIN sale_order so ON so.id = sol.order_id
         LEFT JOIN product_product product ON product.id = sol.product_id
         LEFT JOIN product_template tmpl ON tmpl.id = product.product_tmpl_id
         LEFT JOIN uom_uom uom ON uom.id = sol.product_uom
         LEFT JOIN (
                SELECT alloc.sale_line_id,
                       SUM(alloc.quantity) AS ordered,
                       SUM(COALESCE(alloc.received_qty, 0)) AS received,
                       MAX(CASE WHEN COALESCE(pol.qty_received, 0) < pol.product_qty
                                THEN GREATEST(pol.date_planned, receipt.date) END) AS expected
                  FROM backops_procurement_allocation alloc
                  JOIN purchase_order_line pol ON pol.id = alloc.purchase_line_id
                  JOIN purchase_order po ON po.id = pol.order_id
             LEFT JOIN LATERAL (
                        SELECT MAX(move.date) AS date
                          FROM stock_move move
                         WHERE move.purchase_line_id = pol.id
                           AND move.state NOT IN ('done', 'cancel')
                       ) receipt ON TRUE
                 WHERE alloc.sale_line_id = ANY(%(ids)s) AND po.state IN ('purchase', 'done')
              GROUP BY alloc.sale_line_id
              ) alloc ON alloc.sale_line_id = sol.id
         LEFT JOIN (
                -- reserved on open customer deliveries, in the reference unit of the
                -- line's unit category (Odoo's conversion: quantity / factor)
                SELECT move.sale_line_id, SUM(move.quantity / move_uom.factor) AS quantity
                  FROM stock_move move
                  JOIN uom_uom move_uom ON move_uom.id = move.product_uom
                  JOIN stock_location dest ON dest.id = move.location_dest_id
                  JOIN stock_location source ON source.id = move.location_id
                 WHERE move.sale_line_id = ANY(%(ids)s)
                   AND move.state IN ('partially_available', 'assigned')
                   AND dest.usage = 'customer'
                   -- a drop-ship is ready when the vendor ships: it is on order until then
                   AND source.usage != 'supplier'
              GROUP BY move.sale_line_id
              ) ready ON ready.sale_line_id = sol.id
             WHERE sol.id = ANY(%(ids)s)
            """,
                ids=list(self.ids),
            )
        )
        rows = []
        changes = []  # (line id, old status, new status)
        for (
            line_id,
            is_line,
            is_need,
            need,
            delivered,
            rounding,
            ordered,
            received,
            ready,
            expected,
            promised,
            *old,
        ) in env.cr.fetchall():
            rounding = float(rounding)
            ordered, received, ready = (
                float_round(float(value), precision_rounding=rounding) for value in (ordered, received, ready)
            )
            if is_line:
                is_need = bool(is_need)
                status = fulfilment_status(is_need, float(need), ordered, received, float(delivered), ready, rounding)
                if not is_need:
                    ordered = received = 0.0
                    expected = None
            else:
                status, ordered, received, ready, expected = None, 0.0, 0.0, 0.0, None
            if status == "delivered":
                expected = None
            late = bool(expected and promised and expected > promised)
            new = (ordered, received, ready, status, expected, late)
            old_values = (
                float(old[0] or 0.0),
                float(old[1] or 0.0),
                float(old[2] or 0.0),
                old[3],
                old[4],
                bool(old[5]),
            )
            if new != old_values or old[0] is None:
                rows.append((line_id, *new))
                if old[3] != status and is_line and is_need:
                    changes.append((line_id, old[3], status))
        fnames = list(FULFILMENT_FIELDS)
        if rows:
            ids, ordered, received, ready, status, expected, late = zip(*rows, strict=True)
            env.cr.execute(
                SQL(
                    """
                UPDATE sale_order_line sol
                   SET backops_qty_ordered = new.ordered,
                       backops_qty_received = new.received,
                       backops_qty_ready = new.ready,
                       backops_fulfilment_status = new.status,
                       backops_expected_date = new.expected,
                       backops_is_late = new.late,
                       write_uid = %s,
                       write_date = (now() at time zone 'UTC')
                  FROM unnest(%s::int[], %s::numeric[], %s::numeric[], %s::numeric[], %s::varchar[],
                              %s::timestamp[], %s::bool[])
                       AS new(id, ordered, received, ready, status, expected, late)
                 WHERE sol.id = new.id
                """,
                    env.uid,
                    list(ids),
                    list(ordered),
                    list(received),
                    list(ready),
                    list(status),
                    list(expected),
                    list(late),
                )
            )
            fnames += ["write_uid", "write_date"]
        self.invalidate_recordset(fnames, flush=False)
        if changes:
            self.env["sale.order"]._backops_notify_fulfilment(changes)
