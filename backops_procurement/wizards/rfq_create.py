from collections import defaultdict

from odoo import Command, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import float_compare

from ..tools import without_client_context


class RfqCreate(models.TransientModel):
    """From needs selected in the To Order list, make one RFQ per vendor (or add to
    a draft RFQ of that vendor) covering what remains to order of each need."""

    _name = "backops.rfq.create"
    _description = "Create RFQs from Needs"

    line_ids = fields.One2many("backops.rfq.create.line", "wizard_id", string="RFQs")
    need_count = fields.Integer(compute="_compute_need_count", string="Needs")

    @api.depends("line_ids.need_ids")
    def _compute_need_count(self):
        for wizard in self:
            wizard.need_count = len(wizard.line_ids.need_ids)

    @api.model
    def default_get(self, fields_list):
        res = super().default_get(fields_list)
        context = self.env.context
        if context.get("active_model") != "sale.order.line" or "line_ids" not in fields_list:
            return res
        needs = self.env["sale.order.line"].browse(context.get("active_ids", [])).exists()
        needs.check_access("read")
        needs._backops_read_statuses()
        to_order = needs.filtered(
            lambda need: (
                need.procurement_status in ("needs_order", "short")
                and float_compare(need.procurement_remaining_qty, 0.0, precision_rounding=need.product_uom.rounding) > 0
            )
        )
        if not to_order:
            raise UserError(
                self.env._("Nothing to order among the selected needs: they are all On Order or in Excess.")
            )
        groups = defaultdict(lambda: self.env["sale.order.line"])
        for need in to_order:
            vendor = need.procurement_vendor_id or need._get_procurement_default_vendor()
            groups[(need.company_id, vendor.commercial_partner_id if vendor else vendor)] |= need
        res["line_ids"] = [
            Command.create({"company_id": company.id, "partner_id": vendor.id, "need_ids": [Command.set(group.ids)]})
            for (company, vendor), group in sorted(
                groups.items(), key=lambda item: (item[0][0].id, item[0][1].name or "")
            )
        ]
        return res

    def action_create_rfqs(self):
        """One RFQ per row (or the existing RFQ the row names), covering what remains
        to order of each of its needs. Every selected need ends allocated, or nothing
        is written."""
        self = without_client_context(self)
        self.ensure_one()
        missing = self.line_ids.filtered(lambda line: not line.partner_id)
        if missing:
            raise UserError(
                self.env._(
                    "Choose a vendor for %(needs)s: their products have no vendor.",
                    needs=", ".join(missing.need_ids.mapped("display_name")),
                )
            )
        self.line_ids._check_chosen_rfq()
        PurchaseOrder = self.env["purchase.order"]
        new_lines = self.line_ids.filtered(lambda line: not line.purchase_order_id)
        for company in new_lines.company_id:
            company_lines = new_lines.filtered(lambda line: line.company_id == company)
            created = PurchaseOrder.with_company(company).create(
                [
                    {"partner_id": line.partner_id.id, "company_id": company.id, "user_id": self.env.uid}
                    for line in company_lines
                ]
            )
            for line, order in zip(company_lines, created, strict=True):
                line.purchase_order_id = order
        orders = self.line_ids.purchase_order_id
        current = defaultdict(float)
        for allocation in self.env["backops.procurement.allocation"].search(
            [("purchase_order_id", "in", orders.ids), ("sale_line_id", "in", self.line_ids.need_ids.ids)]
        ):
            current[(allocation.purchase_order_id.id, allocation.sale_line_id.id)] += allocation.quantity
        # rows sent to the same RFQ add up: one plan entry per RFQ
        plan = defaultdict(dict)
        self.line_ids.need_ids._backops_read_statuses()
        for line in self.line_ids:
            order = line.purchase_order_id
            for need in line.need_ids:
                plan[order][need] = current[(order.id, need.id)] + need.procurement_remaining_qty
        PurchaseOrder._allocate_procurement_needs(plan)
        return orders._get_records_action(name=self.env._("RFQs from Needs"))


class RfqCreateLine(models.TransientModel):
    _name = "backops.rfq.create.line"
    _inherit = ["backops.readable.records.mixin"]
    _backops_readable_fields = ("need_ids", "purchase_order_id")
    _description = "RFQ to Create from Needs"

    wizard_id = fields.Many2one("backops.rfq.create", required=True, ondelete="cascade")
    company_id = fields.Many2one("res.company", required=True, readonly=True)
    partner_id = fields.Many2one(
        "res.partner",
        string="Vendor",
        domain="[('is_company', '=', True)]",
        help="The RFQ's vendor. Needs whose product has no vendor come without one: choose it.",
    )
    need_ids = fields.Many2many("sale.order.line", string="Needs", readonly=True)
    need_count = fields.Integer(compute="_compute_summary", string="Number of Needs")
    summary = fields.Char(compute="_compute_summary", string="Products")
    purchase_order_id = fields.Many2one(
        "purchase.order",
        string="Add to RFQ",
        domain="[('partner_id', 'child_of', partner_id), ('company_id', '=', company_id), "
        "('state', 'in', ('draft', 'sent'))]",
        help="Leave empty to create a new RFQ; or choose a draft RFQ of this vendor to add the needs to.",
    )

    @api.depends("need_ids")
    def _compute_summary(self):
        for line in self:
            quantities = defaultdict(float)
            for need in line.need_ids:
                quantities[(need.product_id, need.product_uom)] += need.procurement_remaining_qty
            line.need_count = len(line.need_ids)
            line.summary = ", ".join(
                f"{product.display_name} × {quantity:g} {uom.name}" for (product, uom), quantity in quantities.items()
            )

    def _check_chosen_rfq(self):
        """The RFQ a row adds to must be an RFQ of the row's vendor and company that
        can still take needs: the form's domain says so, the server makes sure."""
        for line in self.filtered("purchase_order_id"):
            order = line.purchase_order_id
            order.check_access("write")
            if (
                order.company_id != line.company_id
                or order.partner_id.commercial_partner_id != line.partner_id.commercial_partner_id
                or order.state not in ("draft", "sent")
            ):
                raise UserError(
                    self.env._(
                        "%(order)s is not an RFQ of %(vendor)s for %(company)s that can take needs: "
                        "choose a draft RFQ of that vendor, or leave it empty for a new one.",
                        order=order.name,
                        vendor=line.partner_id.display_name,
                        company=line.company_id.name,
                    )
                )

    @api.onchange("partner_id")
    def _onchange_partner_id(self):
        if self.purchase_order_id.partner_id.commercial_partner_id != self.partner_id.commercial_partner_id:
            self.purchase_order_id = False
