from odoo import api, models

OPEN_STATES = ("waiting", "confirmed", "partially_available", "assigned")


class StockMove(models.Model):
    _inherit = "stock.move"

    @api.model
    def _backops_backorder_domain(self):
        """Open lines of customer backorders: the backorder condition is the
        picking's (``stock.picking._backops_backorder_domain``)."""
        return [
            ("picking_id", "any", self.env["stock.picking"]._backops_backorder_domain()),
            ("state", "in", OPEN_STATES),
        ]

    def _backops_reserved_product_qty(self):
        """What the move has reserved, in the product's unit."""
        self.ensure_one()
        if self.state not in ("assigned", "partially_available"):
            return 0.0
        return self.product_uom._compute_quantity(self.quantity, self.product_id.uom_id, round=False)
