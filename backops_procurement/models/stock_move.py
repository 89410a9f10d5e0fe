from collections import defaultdict

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

    def _backops_availability(self):
        """{move id: quantity (product unit) the stock on hand could ship now}: what the
        move has reserved plus what is free in its source location. Each move is
        looked at alone: moves competing for the same stock each see all of it."""
        free = self._backops_free_quantities()
        return {
            move.id: min(
                move.product_qty,
                move._backops_reserved_product_qty() + free.get((move.product_id.id, move.location_id.id), 0.0),
            )
            for move in self
        }

    def _backops_reserved_product_qty(self):
        self.ensure_one()
        if self.state not in ("assigned", "partially_available"):
            return 0.0
        return self.product_uom._compute_quantity(self.quantity, self.product_id.uom_id, round=False)

    def _backops_free_quantities(self):
        """{(product id, location id): free quantity on hand in that location and
        below}, for the products and source locations of these moves; one query per
        source location."""
        free = defaultdict(float)
        Quant = self.env["stock.quant"].sudo()
        by_location = defaultdict(set)
        for move in self:
            if move.product_id.is_storable:
                by_location[move.location_id].add(move.product_id.id)
            else:
                free[(move.product_id.id, move.location_id.id)] = float("inf")
        for location, product_ids in by_location.items():
            for product, quantity, reserved in Quant._read_group(
                [("product_id", "in", list(product_ids)), ("location_id", "child_of", location.id)],
                ["product_id"],
                ["quantity:sum", "reserved_quantity:sum"],
            ):
                free[(product.id, location.id)] = max(quantity - reserved, 0.0)
        return free
