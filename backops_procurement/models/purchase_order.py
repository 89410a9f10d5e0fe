from collections import defaultdict

from odoo import api, models


class PurchaseOrder(models.Model):
    _inherit = "purchase.order"

    # ------------------------------------------------------------------
    # Sale orders whose needs the order covers (extends sale_purchase)
    # ------------------------------------------------------------------
    @api.depends("order_line.procurement_allocation_ids.sale_order_id")
    def _compute_sale_order_count(self):
        return super()._compute_sale_order_count()

    def _get_sale_orders(self):
        return super()._get_sale_orders() | self.order_line.procurement_allocation_ids.sale_order_id

    def _activity_cancel_on_sale(self):
        """Tell salespeople when an RFQ/PO covering their needs is cancelled, as Odoo
        does for the purchase lines it generated for their orders."""
        super()._activity_cancel_on_sale()
        lines_by_sale_order = defaultdict(lambda: self.env["purchase.order.line"])
        for line in self.order_line:
            for allocation in line.procurement_allocation_ids:
                sale_order = allocation.sale_order_id
                # Odoo already warned the order its own line came from
                if allocation.is_automatic or line.sale_line_id.order_id == sale_order:
                    continue
                if sale_order.state != "cancel":
                    lines_by_sale_order[sale_order] |= line
        for sale_order, purchase_lines in lines_by_sale_order.items():
            sale_order._activity_schedule_with_view(
                "mail.mail_activity_data_warning",
                user_id=sale_order.user_id.id or self.env.uid,
                views_or_xmlid="sale_purchase.exception_sale_on_purchase_cancellation",
                render_context={
                    "purchase_orders": purchase_lines.order_id,
                    "purchase_order_lines": purchase_lines,
                },
            )
