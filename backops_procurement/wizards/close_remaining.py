from odoo import Command, api, fields, models

from ..tools import without_client_context


class CloseRemaining(models.TransientModel):
    """Close Remaining: the purchase lines selected (on the Receiving page or the
    purchase order), what each still expects, and why the vendor will not ship it."""

    _name = "backops.close.remaining"
    _inherit = ["backops.readable.records.mixin"]
    _backops_readable_fields = ("purchase_line_ids",)
    _description = "Close Remaining Purchase Lines"

    purchase_line_ids = fields.Many2many("purchase.order.line", string="Purchase Lines", required=True)
    reason = fields.Text(
        required=True,
        help="Why the rest will not come: posted on the purchase orders and told to the salespeople whose "
        "needs lose it.",
    )

    @api.model
    def default_get(self, fields_list):
        res = super().default_get(fields_list)
        context = self.env.context
        if context.get("active_model") != "purchase.order.line" or "purchase_line_ids" not in fields_list:
            return res
        lines = self.env["purchase.order.line"].browse(context.get("active_ids", [])).exists()
        lines._backops_check_closable()
        lines._backops_check_something_to_close()
        res["purchase_line_ids"] = [Command.set(lines.ids)]
        return res

    def action_close(self):
        """Close what the lines still expect, for the reason given."""
        self = without_client_context(self)
        self.ensure_one()
        lines = self.purchase_line_ids
        lines._backops_close_remaining(self.reason)
        return lines._backops_closed_notification({"type": "ir.actions.act_window_close"})
