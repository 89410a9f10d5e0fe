from odoo import Command, api, fields, models
from odoo.exceptions import UserError

from ..tools import without_client_context


class Receive(models.TransientModel):
    """Receive Partial: the purchase lines selected in Receiving, each with the
    quantity to receive now; what is not received stays on Odoo's backorder."""

    _name = "backops.receive"
    _description = "Receive Purchase Lines"

    line_ids = fields.One2many("backops.receive.line", "wizard_id", string="Lines")

    @api.model
    def default_get(self, fields_list):
        res = super().default_get(fields_list)
        context = self.env.context
        if context.get("active_model") != "purchase.order.line" or "line_ids" not in fields_list:
            return res
        PurchaseLine = self.env["purchase.order.line"]
        PurchaseLine._backops_check_can_receive()
        lines = PurchaseLine.browse(context.get("active_ids", [])).exists()
        lines.check_access("read")
        lines._backops_check_receivable()
        lines = lines.filtered(lambda line: line.backops_qty_to_receive > 0)
        if not lines:
            raise UserError(self.env._("Nothing to receive: the selected lines are received in full."))
        res["line_ids"] = [
            Command.create({"purchase_line_id": line.id, "quantity": line.backops_qty_to_receive}) for line in lines
        ]
        return res

    def action_receive(self):
        """Receive each row's quantity (zero receives nothing of it) in one
        validation of the receipts concerned."""
        self = without_client_context(self)
        self.ensure_one()
        quantities = {}
        for row in self.line_ids:
            line = row.purchase_line_id
            if line.id in quantities:
                raise UserError(self.env._("%(line)s is listed twice: receive it on one row.", line=line.display_name))
            quantities[line.id] = row.quantity
        pickings = self.env["purchase.order.line"]._backops_receive(quantities)
        return self.env["purchase.order.line"]._backops_received_notification(
            pickings, {"type": "ir.actions.act_window_close"}
        )


class ReceiveLine(models.TransientModel):
    _name = "backops.receive.line"
    _inherit = ["backops.quantity.input.mixin", "backops.readable.records.mixin"]
    _backops_readable_fields = ("purchase_line_id",)
    _backops_quantity_fields = ("quantity",)
    _description = "Receive Purchase Lines: Line"

    wizard_id = fields.Many2one("backops.receive", required=True, ondelete="cascade")
    purchase_line_id = fields.Many2one("purchase.order.line", required=True, readonly=True)
    order_id = fields.Many2one(related="purchase_line_id.order_id", string="Purchase Order")
    partner_id = fields.Many2one(related="purchase_line_id.partner_id", string="Vendor")
    product_id = fields.Many2one(related="purchase_line_id.product_id")
    product_qty = fields.Float(related="purchase_line_id.product_qty", string="Ordered")
    qty_received = fields.Float(related="purchase_line_id.qty_received", string="Received")
    expected_qty = fields.Float(related="purchase_line_id.backops_qty_to_receive", string="Expected")
    product_uom = fields.Many2one(related="purchase_line_id.product_uom", string="Unit")
    quantity = fields.Float(string="To Receive", digits="Product Unit of Measure")

    def _backops_quantity_label(self, vals, fname):
        line = self.env["purchase.order.line"].browse(vals.get("purchase_line_id")) or self.purchase_line_id[:1]
        if line:
            return f"{line.order_id.name}: {line.product_id.display_name}"
        return super()._backops_quantity_label(vals, fname)
