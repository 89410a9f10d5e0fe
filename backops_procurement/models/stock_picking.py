from collections import defaultdict

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.osv import expression
from odoo.tools import SQL, float_compare, float_is_zero

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
        product do not both count what is there. A backorder counts the free stock
        and what its own lines reserve, never what other deliveries reserve: the
        answer does not depend on which backorders are read together."""
        backorders = self.filtered("backops_is_backorder")
        Service = self.env["backops.backorder.fill.service"]
        moves_of = {picking: picking.move_ids.filtered(lambda m: m.state in OPEN_STATES) for picking in backorders}
        all_moves = self.env["stock.move"].concat(*moves_of.values())
        # one read of the free stock for all: each backorder then takes back only
        # what its own lines reserve
        pool = Service._stock_pool(all_moves)
        reserved = defaultdict(float)
        for move in all_moves:
            reserved[(move.product_id.id, move.location_id.id)] += move._backops_reserved_product_qty()
        for picking in self:
            if picking not in backorders:
                picking.backops_fulfillable = False
                continue
            own = defaultdict(float)
            for move in moves_of[picking]:
                own[(move.product_id.id, move.location_id.id)] += move._backops_reserved_product_qty()
            picking_pool = {key: pool[key] - reserved[key] + own[key] for key in own}
            rows, _used = Service._take(Service._sorted_moves(moves_of[picking]), picking_pool)
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
        unknown = values - {key for key, _label in FULFILLABLE} - {False}
        if unknown:
            raise UserError(
                self.env._("%(values)s is not a fulfillable value.", values=", ".join(map(str, sorted(unknown))))
            )
        backorder = self._backops_backorder_domain()
        domains = []
        if values & {"complete", "partial"}:
            domains.append([("id", "in", self._backops_fulfillable_sql(values & {"complete", "partial"}))])
        if "none" in values:
            domains.append([*backorder, ("id", "not in", self._backops_fulfillable_sql({"complete", "partial"}))])
        if False in values:
            domains.append(["!", *expression.normalize_domain(backorder)])
        domain = expression.OR(domains) if domains else expression.FALSE_DOMAIN
        return domain if operator in ("=", "in") else ["!", *expression.normalize_domain(domain)]

    @api.model
    def _backops_fulfillable_sql(self, answers):
        """A subquery of the ids of the backorders whose answer is one of ``answers``
        ("complete", "partial"), decided in the database as
        ``_compute_backops_fulfillable`` decides it in Python: per backorder, product
        and source location, the quantity its open lines need (in the product's unit)
        against the product's free quantity in that location and below (quants'
        quantity less what they reserve, rounded as Odoo's ``free_qty``, never below
        zero) plus what those lines reserve themselves; products that are not
        storable are always there. Complete: every line can ship in full; partial:
        not that, but some line can ship at least one unit of its rounding."""
        env = self.env
        env["stock.move"].flush_model(
            ["picking_id", "product_id", "location_id", "state", "product_qty", "quantity", "product_uom"]
        )
        env["stock.quant"].flush_model(["product_id", "location_id", "quantity", "reserved_quantity"])
        env["stock.location"].flush_model(["parent_path"])
        env["product.product"].flush_model(["product_tmpl_id"])
        env["product.template"].flush_model(["is_storable", "uom_id"])
        env["uom.uom"].flush_model(["factor", "rounding"])
        # sudo: only which pickings are backorders; the search this subquery is part
        # of applies the user's rules to the pickings it returns
        backorders = self.sudo()._search(self._backops_backorder_domain())
        # float_compare(fill, needed) >= 0 and not float_is_zero(fill), in units of
        # the rounding: what a line takes is a whole number of them
        complete = SQL("bool_and(NOT need.storable OR need.units_free > need.units_needed - 0.5)")
        some = SQL("bool_or(need.units_needed >= 0.5 AND (NOT need.storable OR need.units_free >= 1))")
        conditions = {
            "complete": complete,
            "partial": SQL("(NOT %s AND %s)", complete, some),
        }
        having = SQL(" OR ").join(conditions[answer] for answer in sorted(answers))
        return SQL(
            """(
            WITH line AS (
                SELECT move.picking_id, move.product_id, move.location_id,
                       COALESCE(tmpl.is_storable, FALSE) AS storable,
                       product_uom.rounding,
                       SUM(move.product_qty)::numeric AS needed,
                       SUM(CASE WHEN move.state IN ('assigned', 'partially_available')
                                THEN move.quantity / move_uom.factor * product_uom.factor
                                ELSE 0 END)::numeric AS reserved
                  FROM stock_move move
                  JOIN product_product product ON product.id = move.product_id
                  JOIN product_template tmpl ON tmpl.id = product.product_tmpl_id
                  JOIN uom_uom product_uom ON product_uom.id = tmpl.uom_id
                  JOIN uom_uom move_uom ON move_uom.id = move.product_uom
                 WHERE move.state IN %(open)s AND move.picking_id IN %(backorders)s
              GROUP BY move.picking_id, move.product_id, move.location_id, tmpl.is_storable, product_uom.rounding
            ),
            free AS (
                SELECT key.product_id, key.location_id,
                       SUM(quant.quantity - quant.reserved_quantity)::numeric AS quantity
                  FROM (SELECT DISTINCT product_id, location_id FROM line WHERE storable) key
                  JOIN stock_location parent ON parent.id = key.location_id
                  JOIN stock_quant quant ON quant.product_id = key.product_id
                  JOIN stock_location location ON location.id = quant.location_id
                                              AND location.parent_path LIKE parent.parent_path || %(wildcard)s
              GROUP BY key.product_id, key.location_id
            ),
            need AS (
                -- in units of the product's rounding: what the lines need, and what
                -- they could take rounded down (tolerating float noise of 1e-6 unit)
                SELECT line.picking_id, line.storable,
                       ROUND(line.needed / line.rounding, 6) AS units_needed,
                       FLOOR(ROUND((GREATEST(ROUND(COALESCE(free.quantity, 0) / line.rounding) * line.rounding, 0)
                                    + line.reserved) / line.rounding, 6)) AS units_free
                  FROM line
             LEFT JOIN free ON free.product_id = line.product_id AND free.location_id = line.location_id
            )
            SELECT need.picking_id FROM need GROUP BY need.picking_id HAVING %(having)s
        )""",
            open=OPEN_STATES,
            backorders=backorders.subselect(),
            having=having,
            wildcard="%",
        )

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
