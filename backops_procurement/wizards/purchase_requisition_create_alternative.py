from odoo import Command, api, models


class PurchaseRequisitionCreateAlternative(models.TransientModel):
    """Odoo's Create Alternative copies the make-to-order links of the lines with them
    (purchase_requisition_stock). They are set once the alternative is in the group of
    its original, where the needs they lead to count once (see
    ``purchase.order.line._get_procured_sale_lines``), rather than while the
    alternative is being created, when they would count twice (and Block
    Over-Ordering would refuse the alternative)."""

    _inherit = "purchase.requisition.create.alternative"

    @api.model
    def _get_alternative_line_value(self, order_line):
        values = super()._get_alternative_line_value(order_line)
        values.pop("move_dest_ids", None)
        return values

    def action_create_alternative(self):
        action = super().action_create_alternative()
        if not self.copy_products:
            return action
        alternative = self.env["purchase.order"].browse(action["res_id"])
        # the lines were created in the order of the original's (see _get_alternative_values)
        for origin, line in zip(self.origin_po_id.order_line, alternative.order_line.sorted("id"), strict=False):
            if origin.move_dest_ids and origin.product_id == line.product_id:
                # sudo: the link Odoo's wizard copies; users never link purchase lines
                # to sales themselves (purchase.order.line.write refuses it)
                line.sudo().move_dest_ids = [Command.set(origin.move_dest_ids.ids)]
        return action
