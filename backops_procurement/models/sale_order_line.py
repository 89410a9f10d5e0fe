from collections import defaultdict

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL, float_compare, float_round

from ..tools import check_not_derived
from .need_status import STATUS_FIELDS
from .sale_order_line_fulfilment import FULFILMENT_FIELDS

# what the addon derives on sale lines: never written by hand
DERIVED_FIELDS = (
    "backops_need_status_id",
    "procurement_allocated_qty",
    "procurement_remaining_qty",
    "procurement_status",
    "procurement_section",
    "backops_promised_date",
    "backops_return_order_id",
    *FULFILMENT_FIELDS,
)


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
    # kept in a narrow table of their own (backops.need.status, same id as the
    # line): rewriting tens of thousands of statuses there costs a fifth of
    # rewriting sale_order_line's wide rows
    backops_need_status_id = fields.Many2one(
        "backops.need.status",
        string="Ordering Status Row",
        compute="_compute_backops_need_status_id",
        search="_search_backops_need_status_id",
    )
    procurement_allocated_qty = fields.Float(
        related="backops_need_status_id.procurement_allocated_qty",
        help="Quantity covered by RFQs and purchase orders that are not cancelled, in this line's unit of measure.",
    )
    procurement_remaining_qty = fields.Float(
        related="backops_need_status_id.procurement_remaining_qty",
        help="Quantity of the need that no RFQ or purchase order covers yet.",
    )
    procurement_status = fields.Selection(
        related="backops_need_status_id.procurement_status",
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

    def _compute_backops_need_status_id(self):
        # the row has the line's id; a line not saved yet has none
        for line in self:
            line.backops_need_status_id = line._origin.id

    def _search_backops_need_status_id(self, operator, value):
        statuses = self.env["backops.need.status"].sudo()
        if operator in ("=", "!=") and value is False:
            return [("id", "not in" if operator == "=" else "in", statuses._search([]))]
        if operator not in ("in", "not in", "=", "!="):
            raise NotImplementedError(self.env._("Unsupported search on the ordering status row."))
        return [("id", operator, value)]

    def _field_to_sql(self, alias, fname, query=None, flush=True):
        # the status row's id is the line's: lists sort, filter and group on the
        # statuses with a join on it
        if fname == "backops_need_status_id":
            return SQL.identifier(alias, "id")
        return super()._field_to_sql(alias, fname, query, flush)

    def _backops_read_statuses(self):
        """Put the ordering statuses of these lines in the cache at once: one query
        per thousand lines. Read line by line, each of the three related fields costs
        a compute per line, which shows when thousands of needs are read together
        (Create RFQs, the export). Callers have checked that the user reads the lines."""
        lines = self.browse([line_id for line_id in self._ids if line_id])
        # sudo: the rows are read through the lines' fields, which are sudo too
        rows = self.env["backops.need.status"].sudo().browse(lines._ids)
        rows.fetch(list(STATUS_FIELDS))
        cache = self.env.cache
        for fname in STATUS_FIELDS:
            values = cache.get_until_miss(rows, rows._fields[fname])
            if len(values) == len(rows):  # else a row is missing: read as usual
                cache.insert_missing(lines, lines._fields[fname], values)

    @api.model
    def _create(self, data_list):
        lines = super()._create(data_list)
        self.env["backops.need.status"]._backops_insert_for(lines)
        return lines

    def _procurement_label(self):
        """How messages name a need: its sale order and product."""
        self.ensure_one()
        return f"{self.order_id.name} · {self.product_id.display_name}"

    def _is_procurement_need(self):
        self.ensure_one()
        return bool(not self.display_type and self.state == "sale" and self.product_id.subject_to_procurement)

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
