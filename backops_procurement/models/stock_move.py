from odoo import api, models
from odoo.exceptions import UserError
from odoo.tools import float_compare

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

    @api.model
    def _backops_validate(self, quantities):
        """Validate the transfers of the moves of ``quantities`` ({move: quantity in
        the move's unit}) for those quantities only, through Odoo's own validation
        (its checks, then ``_action_done``). The transfers' other moves, and what
        these moves do not do, always stay on a backorder of each transfer, whatever
        the operation type says about backorders: what is not done now is still
        owed. Returns the transfers validated."""
        moves = self.concat(*quantities)
        pickings = moves.picking_id
        owed = self._backops_open_demand(pickings)
        # what is not done now stays behind, whatever was ticked before
        (pickings.move_ids - moves).filtered(lambda m: m.picked and m.state in OPEN_STATES).picked = False
        for move, quantity in quantities.items():
            if float_compare(move.quantity, quantity, precision_rounding=move.product_uom.rounding):
                move.quantity = quantity
        moves.picked = True
        pickings = pickings.with_context(skip_backorder=True, skip_sms=True)
        pickings._sanity_check()
        if pickings._pre_action_done_hook() is not True:
            raise UserError(
                self.env._(
                    "%(pickings)s asks for more before it is validated: validate it from the transfer.",
                    pickings=", ".join(pickings.mapped("name")),
                )
            )
        pickings.with_context(cancel_backorder=False)._action_done()
        failed = pickings.filtered(lambda p: p.state != "done")
        if failed:
            raise UserError(
                self.env._("%(pickings)s could not be validated.", pickings=", ".join(failed.mapped("name")))
            )
        # what was owed is done or still open, on the transfers or their backorders
        done = {}
        for move in pickings.move_ids.filtered(lambda m: m.state == "done"):
            done[move.product_id] = done.get(move.product_id, 0.0) + move.product_uom._compute_quantity(
                move.quantity, move.product_id.uom_id, round=False
            )
        still = self._backops_open_demand(pickings | pickings.backorder_ids)
        for product, quantity in owed.items():
            shipped = done.get(product, 0.0)
            if (
                float_compare(still.get(product, 0.0) + shipped, quantity, precision_rounding=product.uom_id.rounding)
                < 0
            ):
                raise UserError(
                    self.env._(
                        "%(pickings)s: %(product)s would no longer be owed in full once validated (a default "
                        "value or a setting changes the moves Odoo makes for what is left). Nothing was validated.",
                        pickings=", ".join(pickings.mapped("name")),
                        product=product.display_name,
                    )
                )
        return pickings

    @api.model
    def _backops_open_demand(self, pickings):
        """{product: what the open moves of ``pickings`` still owe, in its unit}."""
        owed = {}
        for move in pickings.move_ids.filtered(lambda m: m.state not in ("done", "cancel")):
            owed[move.product_id] = owed.get(move.product_id, 0.0) + move.product_qty
        return owed
