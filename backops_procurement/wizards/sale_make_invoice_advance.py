from odoo import models


class SaleAdvancePaymentInv(models.TransientModel):
    _inherit = "sale.advance.payment.inv"

    def _create_invoices(self, sale_orders):
        # a down payment does not go through sale.order._create_invoices
        sale_orders._backops_check_not_template()
        return super()._create_invoices(sale_orders)
