from odoo import fields, models


class ApprovalReject(models.TransientModel):
    """Reject purchases waiting for the user's approval, with a reason."""

    _name = "backops.approval.reject"
    _inherit = ["backops.readable.records.mixin"]
    _backops_readable_fields = ("purchase_order_ids",)
    _description = "Reject Purchase"

    purchase_order_ids = fields.Many2many("purchase.order", string="Purchase Orders", required=True)
    reason = fields.Text(required=True, help="Posted on the order and sent to its buyer.")

    def action_reject(self):
        self.ensure_one()
        self.purchase_order_ids._backops_reject(self.reason)
        return {"type": "ir.actions.act_window_close"}
