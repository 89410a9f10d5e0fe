from odoo import api, fields, models
from odoo.exceptions import UserError


class DemandChangeLine(models.Model):
    """How one RFQ/PO line covering a need would change: its quantity now and as
    proposed (in the line's unit), and the need's allocation on it before and after
    (in the need's unit). A row without a purchase line orders what no covering RFQ
    can take on a new RFQ to ``partner_id``."""

    _name = "backops.demand.change.line"
    _description = "Demand Change Line"
    _order = "change_id, sequence, id"
    _check_company_auto = True

    change_id = fields.Many2one(
        "backops.demand.change", string="Demand Change", required=True, index=True, ondelete="cascade", readonly=True
    )
    sequence = fields.Integer(readonly=True)
    company_id = fields.Many2one(related="change_id.company_id", store=True, index=True, precompute=True)
    state = fields.Selection(related="change_id.state")
    purchase_line_id = fields.Many2one(
        "purchase.order.line", string="RFQ Line", index=True, readonly=True, ondelete="set null"
    )
    purchase_order_id = fields.Many2one(
        "purchase.order", string="RFQ/PO", index=True, readonly=True, ondelete="set null"
    )
    purchase_state = fields.Selection(related="purchase_order_id.state", string="RFQ Status")
    partner_id = fields.Many2one(
        "res.partner",
        string="Vendor",
        help="The vendor of the RFQ; for a new RFQ, the one it is sent to (the buyer may choose another "
        "before applying).",
    )
    product_uom_id = fields.Many2one("uom.uom", string="Unit", readonly=True)
    current_qty = fields.Float(
        string="Current", digits="Product Unit of Measure", readonly=True, help="What the line orders now."
    )
    proposed_qty = fields.Float(
        string="Proposed",
        digits="Product Unit of Measure",
        readonly=True,
        help="What the line would order: only this need's share changes.",
    )
    current_allocation_qty = fields.Float(
        string="Need's Allocation",
        digits="Product Unit of Measure",
        readonly=True,
        help="What the line covers of the need now, in the need's unit.",
    )
    allocation_qty = fields.Float(
        string="Need's Allocation After",
        digits="Product Unit of Measure",
        readonly=True,
        help="What the line covers of the need once the change is applied.",
    )
    difference_qty = fields.Float(string="Change", compute="_compute_difference_qty", digits="Product Unit of Measure")
    needs_vendor_confirmation = fields.Boolean(
        readonly=True, help="The purchase order is confirmed: the vendor must agree to the change."
    )

    @api.depends("current_qty", "proposed_qty")
    def _compute_difference_qty(self):
        for row in self:
            row.difference_qty = row.proposed_qty - row.current_qty

    @api.model_create_multi
    def create(self, vals_list):  # pylint: disable=method-required-super
        raise UserError(self.env._("Demand changes are proposed by BackOps when a need's quantity changes."))

    def write(self, vals):
        if self.env.su:
            return super().write(vals)
        # whoever may not even write it (another company, a salesperson) is refused as such
        self.check_access("write")
        if vals.keys() - {"partner_id"} or self.filtered(
            lambda row: row.purchase_line_id or row.change_id.state != "proposed"
        ):
            raise UserError(self.env._("Only the vendor of a new RFQ still proposed can be chosen."))
        self.change_id._check_can_decide(self.env._("change"))
        return super().write(vals)

    def unlink(self):  # pylint: disable=method-required-super
        raise UserError(self.env._("A demand change is dismissed, not deleted."))

    @api.model
    def _create_rows(self, vals_list):
        return super().create(vals_list)
