from odoo import api, models


class StockRule(models.Model):
    _inherit = "stock.rule"

    @api.model
    def _run_buy(self, procurements):
        """Odoo writes one RFQ line per procurement it merges into a draft RFQ: the
        allocations mirroring those lines follow once, after all of them."""
        with self.env["purchase.order.line"]._backops_defer_sync():
            return super()._run_buy(procurements)
