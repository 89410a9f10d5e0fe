from collections import defaultdict

from odoo import Command, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import float_is_zero

from ..tools import without_client_context


class DeliveryReturn(models.TransientModel):
    """Cancel Delivery of sale lines selected in Delivery & Shipping: each done
    delivery of each line with what can come back, returned with Odoo's return."""

    _name = "backops.delivery.return"
    _description = "Cancel Delivery of Sale Lines"

    line_ids = fields.One2many("backops.delivery.return.line", "wizard_id", string="Deliveries")
    redeliver = fields.Boolean(
        string="Deliver Again",
        default=True,
        help="What comes back goes out again on a new delivery to the customer, reserved from the stock it "
        "returned to. Untick when the customer will not take it again.",
    )

    @api.model
    def default_get(self, fields_list):
        res = super().default_get(fields_list)
        context = self.env.context
        if context.get("active_model") != "sale.order.line" or "line_ids" not in fields_list:
            return res
        lines = self.env["sale.order.line"].browse(context.get("active_ids", [])).exists()
        if not lines:
            raise UserError(self.env._("Select the sale lines whose delivery to cancel."))
        lines._backops_check_can_ship()
        returnable = {
            move: quantity
            for move, quantity in lines._backops_returnable_quantities().items()
            if not float_is_zero(quantity, precision_rounding=move.product_id.uom_id.rounding)
        }
        nothing = lines - self.env["stock.move"].concat(*returnable).sale_line_id
        if nothing:
            raise UserError(
                self.env._(
                    "Nothing delivered to return on %(lines)s.",
                    lines=", ".join(line._procurement_label() if line.product_id else line.name for line in nothing),
                )
            )
        res["line_ids"] = [
            Command.create(
                {
                    "sale_line_id": move.sale_line_id.id,
                    "move_id": move.id,
                    "delivered_qty": quantity,
                    "quantity": quantity,
                }
            )
            for move, quantity in returnable.items()
        ]
        return res

    def action_return(self):
        """Return the quantities with Odoo's return of each delivery; invoices stay
        as they are (the salesperson is told what came back after invoicing)."""
        self = without_client_context(self)
        self.ensure_one()
        quantities = defaultdict(float)
        for row in self.line_ids:
            quantities[row.move_id] += row.quantity
        self.line_ids.sale_line_id._backops_return_deliveries(dict(quantities), redeliver=self.redeliver)
        return {"type": "ir.actions.act_window_close"}


class DeliveryReturnLine(models.TransientModel):
    _name = "backops.delivery.return.line"
    _inherit = ["backops.quantity.input.mixin", "backops.readable.records.mixin"]
    _backops_readable_fields = ("sale_line_id", "move_id")
    _backops_quantity_fields = ("quantity",)
    _description = "Cancel Delivery of Sale Lines: Delivery"

    wizard_id = fields.Many2one("backops.delivery.return", required=True, ondelete="cascade")
    sale_line_id = fields.Many2one("sale.order.line", required=True, readonly=True)
    move_id = fields.Many2one("stock.move", string="Delivered Move", required=True, readonly=True)
    picking_id = fields.Many2one(related="move_id.picking_id", string="Delivery")
    order_id = fields.Many2one(related="sale_line_id.order_id", string="Order")
    product_id = fields.Many2one(related="move_id.product_id", string="Product")
    product_uom = fields.Many2one(related="move_id.product_id.uom_id", string="Unit")
    delivered_qty = fields.Float(
        string="Delivered",
        digits="Product Unit of Measure",
        readonly=True,
        help="Delivered by this delivery and not returned yet.",
    )
    quantity = fields.Float(string="To Return", digits="Product Unit of Measure")

    def _backops_quantity_label(self, vals, fname):
        move = self.env["stock.move"].browse(vals.get("move_id")) or self.move_id[:1]
        return move.product_id.display_name or super()._backops_quantity_label(vals, fname)
