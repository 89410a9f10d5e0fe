from collections import defaultdict

from odoo import Command, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import float_is_zero

from ..tools import check_ship_date, without_client_context


class Deliver(models.TransientModel):
    """Deliver/Ship what is ready on sale lines selected in Delivery & Shipping:
    each line with what is ready and the quantity to ship, and the actual ship
    date."""

    _name = "backops.deliver"
    _description = "Deliver/Ship Sale Lines"

    line_ids = fields.One2many("backops.deliver.line", "wizard_id", string="Lines")
    ship_date = fields.Datetime(
        string="Actual Ship Date",
        default=fields.Datetime.now,
        required=True,
        help="When the goods left, as the customer is told; never in the future.",
    )

    @api.constrains("ship_date")
    def _check_ship_date(self):
        for wizard in self:
            check_ship_date(self.env, wizard.ship_date)

    @api.model
    def default_get(self, fields_list):
        res = super().default_get(fields_list)
        context = self.env.context
        if context.get("active_model") != "sale.order.line" or "line_ids" not in fields_list:
            return res
        lines = self.env["sale.order.line"].browse(context.get("active_ids", [])).exists()
        if not lines:
            raise UserError(self.env._("Select the sale lines to deliver or ship."))
        lines._backops_check_can_ship()
        ready = lines._backops_ready_quantities()
        nothing = lines.filtered(
            lambda line: float_is_zero(ready[line], precision_rounding=line.product_uom.rounding or 0.01)
        )
        if nothing:
            raise UserError(
                self.env._(
                    "Nothing is ready to deliver or ship on %(lines)s.",
                    lines=", ".join(line._procurement_label() if line.product_id else line.name for line in nothing),
                )
            )
        res["line_ids"] = [
            Command.create({"sale_line_id": line.id, "ready_qty": ready[line], "quantity": ready[line]})
            for line in lines.sorted(lambda line: (line.order_id.name, line.sequence, line.id))
        ]
        return res

    def action_deliver(self):
        """Validate the lines' deliveries for the quantities to ship; what is not
        shipped stays on Odoo's backorders."""
        self = without_client_context(self)
        self.ensure_one()
        quantities = defaultdict(float)
        for row in self.line_ids:
            quantities[row.sale_line_id] += row.quantity
        self.env["sale.order.line"]._backops_deliver(dict(quantities), self.ship_date)
        return {"type": "ir.actions.act_window_close"}


class DeliverLine(models.TransientModel):
    _name = "backops.deliver.line"
    _inherit = ["backops.quantity.input.mixin", "backops.readable.records.mixin"]
    _backops_readable_fields = ("sale_line_id",)
    _backops_quantity_fields = ("quantity",)
    _description = "Deliver/Ship Sale Lines: Line"

    wizard_id = fields.Many2one("backops.deliver", required=True, ondelete="cascade")
    sale_line_id = fields.Many2one("sale.order.line", required=True, readonly=True)
    order_id = fields.Many2one(related="sale_line_id.order_id", string="Order")
    product_id = fields.Many2one(related="sale_line_id.product_id", string="Product")
    product_uom = fields.Many2one(related="sale_line_id.product_uom", string="Unit")
    ready_qty = fields.Float(string="Ready", digits="Product Unit of Measure", readonly=True)
    quantity = fields.Float(string="To Ship", digits="Product Unit of Measure")

    def _backops_quantity_label(self, vals, fname):
        line = self.env["sale.order.line"].browse(vals.get("sale_line_id")) or self.sale_line_id[:1]
        return line.product_id.display_name or super()._backops_quantity_label(vals, fname)
