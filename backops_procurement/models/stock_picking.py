from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.osv import expression
from odoo.tools import float_compare, float_is_zero

from ..tools import check_quantity, check_ship_date
from .stock_move import OPEN_STATES

FULFILLABLE = [("complete", "Completely"), ("partial", "Partly"), ("none", "No")]


class StockPicking(models.Model):
    _inherit = "stock.picking"

    # not stored: a stored value would make every change of a sale order's date
    # look up that order's deliveries, filling their cache out of Odoo's order
    backops_order_date = fields.Datetime(
        related="sale_id.date_order",
        string="Order Date",
        help="Date of the sale order this delivery (or backorder) ships: a backorder "
        "keeps its original order's date, however many times it was split.",
    )
    backops_is_backorder = fields.Boolean(
        string="Is a Backorder",
        compute="_compute_backops_is_backorder",
        search="_search_backops_is_backorder",
        help="An open customer delivery left by a delivery that shipped partly (or whose lines were held back).",
    )
    backops_fulfillable = fields.Selection(
        FULFILLABLE,
        string="Fulfillable",
        compute="_compute_backops_fulfillable",
        search="_search_backops_fulfillable",
        help="Whether the stock on hand could ship this backorder now: completely, partly or not.",
    )
    backops_ship_date = fields.Datetime(
        string="Actual Ship Date",
        readonly=True,
        copy=False,
        help="When Fill Backorders says this delivery left, as the customer is told. "
        "Odoo's own dates (effective date, stock moves, valuation) stay the moment "
        "it was validated.",
    )

    @api.constrains("backops_ship_date")
    def _check_backops_ship_date(self):
        for picking in self.filtered("backops_ship_date"):
            check_ship_date(self.env, picking.backops_ship_date)

    @api.model
    def _backops_backorder_domain(self):
        """Open customer deliveries left by a partial one: the one definition of a
        backorder (the compute, the search and the move domain use it)."""
        return [
            ("backorder_id", "!=", False),
            ("picking_type_code", "=", "outgoing"),
            ("state", "in", OPEN_STATES),
        ]

    @api.depends("backorder_id", "picking_type_code", "state")
    def _compute_backops_is_backorder(self):
        backorders = self.filtered_domain(self._backops_backorder_domain())
        for picking in self:
            picking.backops_is_backorder = picking in backorders

    def _search_backops_is_backorder(self, operator, value):
        if operator not in ("=", "!=") or not isinstance(value, bool):
            raise NotImplementedError(self.env._("Unsupported search on backorders."))
        domain = self._backops_backorder_domain()
        return domain if (operator == "=") == value else ["!", *expression.normalize_domain(domain)]

    @api.depends("move_ids.product_uom_qty", "move_ids.quantity", "move_ids.state")
    def _compute_backops_fulfillable(self):
        """Each backorder alone, its lines sharing the stock: two lines of the same
        product do not both count what is there."""
        backorders = self.filtered("backops_is_backorder")
        Service = self.env["backops.backorder.fill.service"]
        pool = Service._stock_pool(backorders.move_ids.filtered(lambda m: m.state in OPEN_STATES))
        for picking in self:
            if picking not in backorders:
                picking.backops_fulfillable = False
                continue
            rows, _used = Service._take(
                Service._sorted_moves(picking.move_ids.filtered(lambda m: m.state in OPEN_STATES)), pool
            )
            rounding = {row.move: row.move.product_id.uom_id.rounding for row in rows}
            if rows and all(
                float_compare(row.fill, row.needed, precision_rounding=rounding[row.move]) >= 0 for row in rows
            ):
                picking.backops_fulfillable = "complete"
            elif any(not float_is_zero(row.fill, precision_rounding=rounding[row.move]) for row in rows):
                picking.backops_fulfillable = "partial"
            else:
                picking.backops_fulfillable = "none"

    def _search_backops_fulfillable(self, operator, value):
        if operator not in ("=", "!=", "in", "not in"):
            raise NotImplementedError(self.env._("Unsupported search on fulfillable backorders."))
        values = {value} if operator in ("=", "!=") else set(value)
        backorders = self.search(self._backops_backorder_domain())
        matching = backorders.filtered(lambda picking: picking.backops_fulfillable in values)
        positive = operator in ("=", "in")
        return [("id", "in" if positive else "not in", matching.ids)]

    # ------------------------------------------------------------------
    # Force backorder
    # ------------------------------------------------------------------
    def _backops_check_can_hold(self):
        self.ensure_one()
        self.check_access("write")
        if self.picking_type_code != "outgoing" or self.state not in OPEN_STATES:
            raise UserError(
                self.env._("%(picking)s is not an open customer delivery: nothing can be held back.", picking=self.name)
            )

    def _backops_force_backorder(self, holds):
        """Move ``holds`` ({move: quantity in the move's unit}) of this delivery to a
        backorder of it, even if stock is there. Every hold is checked before any
        line is split: a bad one changes nothing. Returns the backorder."""
        self._backops_check_can_hold()
        holds = {
            move: check_quantity(self.env, quantity, move.product_id.display_name) for move, quantity in holds.items()
        }
        holds = {
            move: quantity
            for move, quantity in holds.items()
            if not float_is_zero(quantity, precision_rounding=move.product_uom.rounding)
        }
        if not holds:
            raise UserError(self.env._("Choose the lines and the quantities to hold back."))
        open_moves = self.move_ids.filtered(lambda m: m.state in OPEN_STATES)
        whole = self.env["stock.move"]
        parts = {}
        for move, quantity in holds.items():
            if move not in open_moves:
                raise UserError(
                    self.env._(
                        "%(product)s is not an open line of %(picking)s.",
                        product=move.product_id.display_name,
                        picking=self.name,
                    )
                )
            comparison = float_compare(quantity, move.product_uom_qty, precision_rounding=move.product_uom.rounding)
            if comparison > 0:
                raise UserError(
                    self.env._(
                        "%(product)s: %(hold)s to hold back, but the delivery has %(demand)s %(uom)s.",
                        product=move.product_id.display_name,
                        hold=quantity,
                        demand=move.product_uom_qty,
                        uom=move.product_uom.name,
                    )
                )
            if comparison == 0:
                whole |= move
            else:
                parts[move] = quantity
        if whole == open_moves and not parts:
            raise UserError(self.env._("Holding back everything leaves nothing to ship: keep the delivery as it is."))
        # every hold is valid: now split
        new_move_vals = []
        for move, quantity in parts.items():
            new_move_vals += move._split(move.product_uom._compute_quantity(quantity, move.product_id.uom_id))
        new_moves = self.env["stock.move"].create(new_move_vals)
        new_moves.with_context(bypass_entire_pack=True)._action_confirm(merge=False)
        held = whole | new_moves
        kept = self.move_ids.filtered(lambda m: m.state in OPEN_STATES) - held
        # what ships reserves first; the held quantities only get what is left
        (kept | whole)._do_unreserve()
        kept._action_assign()
        backorder = self._create_backorder(backorder_moves=held)
        backorder.message_post(
            body=self.env._(
                "Held back from %(picking)s by %(user)s.", picking=self._get_html_link(), user=self.env.user.name
            )
        )
        return backorder

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_open_force_backorder(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Force Backorder"),
            "res_model": "backops.force.backorder",
            "view_mode": "form",
            "target": "new",
            "context": {"default_picking_id": self.id},
        }

    def action_open_backorder_fill(self):
        self.ensure_one()
        return self.sale_id.action_open_backorder_fill()
