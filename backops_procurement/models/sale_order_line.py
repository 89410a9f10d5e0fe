from collections import defaultdict

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL, float_compare, float_round

from ..tools import check_not_derived
from .sale_order_line_fulfilment import FULFILMENT_FIELDS

# what the addon derives on sale lines: never written by hand
DERIVED_FIELDS = (
    "procurement_allocated_qty",
    "procurement_remaining_qty",
    "procurement_status",
    "procurement_section",
    "backops_promised_date",
    "backops_return_order_id",
    *FULFILMENT_FIELDS,
)

PROCUREMENT_STATUSES = [
    ("needs_order", "Needs Order"),
    ("short", "Short"),
    ("on_order", "On Order"),
    ("excess", "Excess"),
]


def procurement_status(need_qty, allocated_qty, rounding):
    """Ordering status of a need from its quantity and what RFQs/POs cover."""
    if float_compare(allocated_qty, 0.0, precision_rounding=rounding) <= 0:
        return "needs_order"
    comparison = float_compare(allocated_qty, need_qty, precision_rounding=rounding)
    if comparison < 0:
        return "short"
    return "excess" if comparison > 0 else "on_order"


class SaleOrderLine(models.Model):
    _inherit = "sale.order.line"

    procurement_allocation_ids = fields.One2many(
        "backops.procurement.allocation",
        "sale_line_id",
        string="Allocations",
        help="RFQ/PO lines covering this need, with the quantity each covers.",
    )
    procurement_allocated_qty = fields.Float(
        string="Allocated",
        compute="_compute_procurement_status",
        store=True,
        digits="Product Unit of Measure",
        help="Quantity covered by RFQs and purchase orders that are not cancelled, in this line's unit of measure.",
    )
    procurement_remaining_qty = fields.Float(
        string="To Order",
        compute="_compute_procurement_status",
        store=True,
        digits="Product Unit of Measure",
        help="Quantity of the need that no RFQ or purchase order covers yet.",
    )
    procurement_status = fields.Selection(
        PROCUREMENT_STATUSES,
        string="Ordering Status",
        compute="_compute_procurement_status",
        store=True,
        index=True,
        help="Needs Order: nothing allocated; Short: less than the need; On Order: "
        "exactly the need; Excess: more than the need. Empty when the line is not a "
        "need (not confirmed, or product not subject to procurement).",
    )
    procurement_vendor_id = fields.Many2one(
        "res.partner",
        string="Vendor",
        compute="_compute_procurement_vendor_id",
        store=True,
        readonly=False,
        help="Vendor to order this need from: the product's first vendor, or the one "
        "the purchasing team chose in the To Order list.",
    )
    procurement_commitment_date = fields.Datetime(related="order_id.commitment_date", string="Delivery Date")
    backops_backordered_qty = fields.Float(
        string="Backordered",
        compute="_compute_backops_backordered_qty",
        digits="Product Unit of Measure",
        help="Ordered, not delivered, and on a backorder delivery (in the line's unit).",
    )
    procurement_section = fields.Char(
        string="Section",
        compute="_compute_procurement_section",
        store=True,
        help="Section of the sale order this line belongs to.",
    )

    @api.depends(
        "display_type",
        "state",
        "order_id.backops_order_type",
        "product_id.subject_to_procurement",
        "product_uom_qty",
        "product_uom",
        "procurement_allocation_ids.quantity",
        "procurement_allocation_ids.purchase_line_id.order_id.state",
    )
    def _compute_procurement_status(self):
        stored = self.filtered("id")
        for line in self - stored:
            line._set_procurement_values_from_cache()
        if stored:
            stored._backops_take_pending(
                ("procurement_status", "procurement_allocated_qty", "procurement_remaining_qty")
            )._update_procurement_values()

    def _backops_take_pending(self, fnames):
        """These stored lines and every other line whose ``fnames`` (computed
        together) are pending, taken off the ORM's list of what to compute. The ORM
        hands computes over in batches of 1,000 records; taking every pending line at
        once lets one query read and one write however many lines changed."""
        pending = self.env.records_to_compute(self._fields[fnames[0]])
        # new records' ids are false: dropped without building a record for each line
        lines = self | self.browse([line_id for line_id in pending._ids if line_id])
        for fname in fnames:
            self.env.remove_to_compute(self._fields[fname], lines)
        return lines

    def _procurement_label(self):
        """How messages name a need: its sale order and product."""
        self.ensure_one()
        return f"{self.order_id.name} · {self.product_id.display_name}"

    def _is_procurement_need(self):
        self.ensure_one()
        return bool(not self.display_type and self.state == "sale" and self.product_id.subject_to_procurement)

    def _set_procurement_values_from_cache(self):
        """Compute for records that are not in the database yet (forms)."""
        self.ensure_one()
        allocated = sum(
            allocation.quantity
            for allocation in self.procurement_allocation_ids
            if allocation.purchase_line_id.order_id.state != "cancel"
        )
        is_need = self._is_procurement_need()
        rounding = self.product_uom.rounding or 0.01
        self.procurement_allocated_qty = allocated
        self.procurement_remaining_qty = max(self.product_uom_qty - allocated, 0.0) if is_need else 0.0
        self.procurement_status = procurement_status(self.product_uom_qty, allocated, rounding) if is_need else False

    def _update_procurement_values(self):
        """Set the procurement quantities and status of stored lines with one query to
        read and one to write, whatever their number.

        Raw SQL, because the ORM cannot do this at this size: it flushes computed
        values a hundred rows per UPDATE and recomputes them a thousand records per
        call, which makes statuses cost a query per hundred needs; they must stay cheap
        for tens of thousands. The dependencies are declared on the compute, so the
        ORM still decides what to recompute and when; the UPDATE sets ``write_date``
        and ``write_uid`` as the ORM would, and the changed fields are invalidated so
        that the next read comes from the database."""
        env = self.env
        env["backops.procurement.allocation"].flush_model(["sale_line_id", "purchase_line_id", "quantity"])
        env["purchase.order.line"].flush_model(["order_id"])
        env["purchase.order"].flush_model(["state"])
        env["product.product"].flush_model(["product_tmpl_id"])
        env["product.template"].flush_model(["subject_to_procurement"])
        env["uom.uom"].flush_model(["rounding"])
        env["sale.order"].flush_model(["backops_order_type"])
        # write_uid/write_date: the UPDATE sets them, a pending value would be lost
        self.flush_recordset(
            ["display_type", "state", "product_id", "product_uom", "product_uom_qty", "write_uid", "write_date"]
        )

        # one statement reads, decides and writes: the status is decided in SQL
        # exactly as procurement_status() decides it (each quantity rounded half
        # away from zero at the unit's rounding, then compared), and only the lines
        # whose values change are written
        env.cr.execute(
            SQL(
                """
            UPDATE sale_order_line sol
               SET procurement_allocated_qty = new.allocated,
                   procurement_remaining_qty = new.remaining,
                   procurement_status = new.status,
                   write_uid = %(uid)s,
                   write_date = (now() at time zone 'UTC')
              FROM (
                SELECT line.id, line.allocated,
                       CASE WHEN line.is_need THEN GREATEST(line.need - line.allocated, 0) ELSE 0 END AS remaining,
                       CASE WHEN NOT line.is_need THEN NULL
                            WHEN ROUND(line.allocated / line.rounding) <= 0 THEN 'needs_order'
                            WHEN ROUND(line.allocated / line.rounding) < ROUND(line.need / line.rounding) THEN 'short'
                            WHEN ROUND(line.allocated / line.rounding) > ROUND(line.need / line.rounding) THEN 'excess'
                            ELSE 'on_order' END AS status
                  FROM (
                    SELECT sol.id,
                           sol.display_type IS NULL AND sol.state = 'sale'
                               AND COALESCE(tmpl.subject_to_procurement, FALSE)
                               -- goods coming back on a return are no need to order
                               AND so.backops_order_type IS DISTINCT FROM 'return' AS is_need,
                           COALESCE(sol.product_uom_qty, 0)::numeric AS need,
                           COALESCE(NULLIF(uom.rounding, 0), 0.01)::numeric AS rounding,
                           COALESCE(alloc.quantity, 0)::numeric AS allocated
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
              ) new
             WHERE sol.id = new.id
               AND (sol.procurement_status IS DISTINCT FROM new.status
                    OR sol.procurement_allocated_qty IS DISTINCT FROM new.allocated
                    OR COALESCE(sol.procurement_remaining_qty, 0) != new.remaining)
            """,
                uid=env.uid,
                ids=list(self.ids),
            )
        )
        fnames = ["procurement_allocated_qty", "procurement_remaining_qty", "procurement_status"]
        if env.cr.rowcount:
            fnames += ["write_uid", "write_date"]
        self.invalidate_recordset(fnames, flush=False)

    @api.depends("move_ids.state", "move_ids.product_uom_qty", "move_ids.picking_id.backorder_id")
    def _compute_backops_backordered_qty(self):
        quantities = defaultdict(float)
        stored = self.filtered("id")
        if stored:
            for line, uom, quantity in (
                self.env["stock.move"]
                .sudo()
                ._read_group(
                    [("sale_line_id", "in", stored.ids), *self.env["stock.move"]._backops_backorder_domain()],
                    ["sale_line_id", "product_uom"],
                    ["product_uom_qty:sum"],
                )
            ):
                quantities[line.id] += uom._compute_quantity(quantity, line.product_uom, round=False)
        for line in self:
            line.backops_backordered_qty = quantities.get(line.id, 0.0)

    @api.depends("product_id", "company_id")
    def _compute_procurement_vendor_id(self):
        for line in self:
            line.procurement_vendor_id = line._get_procurement_default_vendor()

    def _get_procurement_default_vendor(self):
        """The vendor Odoo's own purchase rules would pick for the line's product,
        quantity, unit and company today (sequence, validity dates, minimum quantity)."""
        self.ensure_one()
        if not self.product_id or self.display_type:
            return self.env["res.partner"]
        product = self.product_id
        if self.product_uom.category_id != product.uom_id.category_id:
            # a unit the product cannot be counted in (refused elsewhere): any quantity
            return product._get_backops_vendor(self.company_id)
        return product._get_backops_vendor(self.company_id, self.product_uom_qty, self.product_uom)

    @api.depends("order_id.order_line.display_type", "order_id.order_line.sequence", "order_id.order_line.name")
    def _compute_procurement_section(self):
        sections = {}
        for order in self.order_id:
            section = False
            for line in order.order_line.sorted(lambda line: (line.sequence, line._origin.id or 0)):
                if line.display_type == "line_section":
                    section = line.name
                sections[line.id] = section
        for line in self:
            line.procurement_section = sections.get(line.id, False)

    # ------------------------------------------------------------------
    # CRUD: allocations follow the need's unit; they refuse another product
    # ------------------------------------------------------------------
    @api.model_create_multi
    def create(self, vals_list):
        check_not_derived(self, vals_list, DERIVED_FIELDS)
        return super().create(vals_list)

    def write(self, vals):
        check_not_derived(self, [vals], DERIVED_FIELDS)
        if (
            vals.keys() == {"procurement_vendor_id"}
            and not self.env.su
            and not self.has_access("write")
            and self.env.user.has_group("backops_procurement.group_procurement_user")
        ):
            # sudo: buyers choose the vendor of a need in the To Order list without
            # the right to edit sale orders; only that field, on needs they can read
            self.check_access("read")
            return super(SaleOrderLine, self.sudo()).write(vals)
        old_uoms = {}
        if "product_uom" in vals:
            old_uoms = {
                line.id: line.product_uom
                for line in self
                if line.procurement_allocation_ids and line.product_uom.id != vals["product_uom"]
            }
        companies = {line.id: line.company_id for line in self if line.procurement_allocation_ids}
        # a line moved to another sale order moves the purchase orders covering it
        # among that order's split orders: the approval gate decides (a line's order
        # changes only through this field)
        # sudo: the gate reads the orders the rule depends on, whoever moves the line
        purchases = (
            (self.procurement_allocation_ids.purchase_order_id | self.sudo().purchase_line_ids.order_id).sudo()
            if "order_id" in vals
            else self.env["purchase.order"]
        )
        with purchases._backops_guard_approvals(regroup=True):
            res = super().write(vals)
        # a need moved to another order of another company takes its allocations along
        self.browse(companies).filtered(
            lambda line: line.company_id != companies[line.id]
        ).procurement_allocation_ids._check_companies()
        if vals.keys() & {"product_id", "product_uom"}:
            lines = self.filtered("procurement_allocation_ids")
            lines.browse(old_uoms)._convert_allocations_from(old_uoms)
            lines.procurement_allocation_ids.purchase_line_id._sync_automatic_allocations()
            lines.procurement_allocation_ids.filtered(lambda a: not a.is_automatic)._check_lines()
            lines.procurement_allocation_ids.purchase_line_id._check_procurement_allocated_qty()
        return res

    @api.ondelete(at_uninstall=False)
    def _unlink_except_covered_by_locked_order(self):
        # what a locked purchase order covers no longer changes (its allocations
        # would go with the line)
        locked = self.procurement_allocation_ids.filtered(lambda a: a.purchase_line_id.order_id._backops_is_locked())
        if locked:
            raise UserError(
                self.env._(
                    "%(need)s is covered by %(order)s, which is locked: unlock it first.",
                    need=locked[0].sale_line_id._procurement_label(),
                    order=locked[0].purchase_order_id.name,
                )
            )

    def _convert_allocations_from(self, old_uoms):
        """Express the allocations of lines whose unit changed in the new unit,
        rounded down to the quantities' precision: never more on an RFQ line than
        before."""
        digits = self.env["decimal.precision"].precision_get("Product Unit of Measure")
        for line in self:
            if old_uoms[line.id].category_id != line.product_uom.category_id:
                continue  # refused by the allocations' own check
            for allocation in line.procurement_allocation_ids:
                # the same quantity in the new unit: no rule is at stake, and Odoo's own
                # allocations stay Odoo's
                quantity = old_uoms[line.id]._compute_quantity(allocation.quantity, line.product_uom, round=False)
                quantity = float_round(quantity, precision_digits=digits, rounding_method="DOWN")
                if quantity > 0:
                    allocation._write_allocations({"quantity": quantity}, automatic=True)
                else:
                    allocation._unlink_allocations(sync=False)  # less than the new unit can count

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_view_procurement_purchase_orders(self):
        return self.procurement_allocation_ids.purchase_order_id._get_records_action(name=self.env._("Purchase Orders"))

    def action_open_rfq_wizard(self):
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Create RFQs"),
            "res_model": "backops.rfq.create",
            "view_mode": "form",
            "target": "new",
            "context": {"active_model": self._name, "active_ids": self.ids},
        }
