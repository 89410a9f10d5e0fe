from collections import defaultdict

from odoo import api, fields, models
from odoo.tools import SQL, float_compare, float_is_zero

HOLD_STATES = ("confirmed", "partially_available", "assigned")


class StockMove(models.Model):
    """Stock held for a quotation (Autotask's reserve-for-quote): a move of the held
    product from the quotation's warehouse stock to that same stock, reserved on its
    quants by Odoo's own ``_action_assign`` and never done. Its move lines raise the
    quants' reserved quantity, so the product's free quantity drops and no other
    delivery can reserve what it holds; cancelling the move frees it. Its demand is
    kept equal to what it reserved, so Odoo's scheduler never tops a hold up."""

    _inherit = "stock.move"

    backops_hold_sale_line_id = fields.Many2one(
        "sale.order.line",
        string="Held for Quotation Line",
        copy=False,
        readonly=True,
        index="btree_not_null",
        ondelete="set null",
    )
    backops_hold_order_id = fields.Many2one(
        related="backops_hold_sale_line_id.order_id",
        string="Held for Quotation",
        store=True,
        index="btree_not_null",
    )
    backops_hold_expiry = fields.Date(
        related="backops_hold_sale_line_id.order_id.backops_reservation_expiry", string="Held Until"
    )

    def _prepare_merge_moves_distinct_fields(self):
        # a hold is never merged with another move, nor with another quotation's hold
        return [*super()._prepare_merge_moves_distinct_fields(), "backops_hold_sale_line_id"]

    @api.model
    def _backops_hold_domain(self):
        """Holds still holding (or waiting to hold) stock."""
        return [("backops_hold_sale_line_id", "!=", False), ("state", "in", HOLD_STATES)]

    @api.model
    def _backops_lock_quants(self, products, locations):
        """Lock the quants of ``products`` in ``locations`` (and their children) before a
        hold reads what is free or gives it back: a second transaction holding or
        releasing the same stock waits for this one, then fails to serialize and is
        retried on what this one did. Odoo's own reservation only skips locked quants
        (``FOR NO KEY UPDATE SKIP LOCKED``), which lets two transactions take the same
        units; here the second waits."""
        if not products or not locations:
            return
        query = (
            self.env["stock.quant"]
            .sudo()
            ._search([("product_id", "in", products.ids), ("location_id", "child_of", locations.ids)])
        )
        self.env.cr.execute(
            SQL("SELECT id FROM stock_quant WHERE id IN %s ORDER BY id FOR NO KEY UPDATE", query.subselect())
        )
        # what was cached before the lock may predate a transaction that was waited for
        self.env["stock.quant"].invalidate_model(["quantity", "reserved_quantity"])

    def _backops_hold_fit(self, quantities):
        """Set each hold of ``quantities`` ({move: wanted quantity in the product's
        unit}) to hold what it can of that quantity: it reserves up to the wanted
        quantity from what is free, gives back what it holds above it, and its demand
        becomes what it holds. A hold left holding nothing is cancelled, or removed if
        it never held anything (a new one finding no free stock). The caller has locked
        the quants (``_backops_lock_quants``). Returns the holds still holding."""
        to_assign = self.env["stock.move"]
        for move, wanted in quantities.items():
            rounding = move.product_uom.rounding
            if float_compare(wanted, move.quantity, precision_rounding=rounding) < 0:
                # above the wanted quantity: Odoo unreserves the move, then it reserves again
                move.product_uom_qty = wanted
                to_assign |= move
            elif float_compare(wanted, move.quantity, precision_rounding=rounding) > 0:
                move.product_uom_qty = wanted
                to_assign |= move
        to_assign.filtered(lambda move: move.state in HOLD_STATES)._action_assign()
        holding = self.concat(*quantities)
        empty = holding.filtered(
            lambda move: float_is_zero(move.quantity, precision_rounding=move.product_uom.rounding)
        )
        never_held = empty.filtered(lambda move: move.state == "confirmed" and not move.move_line_ids)
        empty._action_cancel()
        never_held.unlink()
        for move in holding - empty:
            if float_compare(move.product_uom_qty, move.quantity, precision_rounding=move.product_uom.rounding):
                move.product_uom_qty = move.quantity
        return holding - empty

    def _backops_hold_release(self):
        """Give back what these holds hold: the moves are cancelled, which unreserves
        their quants (Odoo's ``_action_cancel``). Quants are locked first, so nothing
        else takes the stock before this transaction is done with it."""
        holds = self.filtered(lambda move: move.backops_hold_sale_line_id and move.state in HOLD_STATES)
        if not holds:
            return holds
        self._backops_lock_quants(holds.product_id, holds.location_id)
        holds._action_cancel()
        return holds

    @api.model
    def _backops_held_quantities(self, sale_lines):
        """{sale line id: quantity its holds reserve, in the product's unit}, in one query."""
        if not sale_lines:
            return {}
        held = defaultdict(float)
        for line, uom, quantity in self.sudo()._read_group(
            [("backops_hold_sale_line_id", "in", sale_lines.ids), ("state", "in", HOLD_STATES)],
            ["backops_hold_sale_line_id", "product_uom"],
            ["quantity:sum"],
        ):
            held[line.id] += uom._compute_quantity(quantity, line.product_id.uom_id, round=False)
        return held

    @api.model
    def _backops_holds_action(self, domain):
        """The holds matching ``domain`` that still hold stock, per quotation."""
        action = self.env["ir.actions.act_window"]._for_xml_id("backops_procurement.action_backops_stock_holds")
        action["domain"] = [*self._backops_hold_domain(), *domain]
        return action
