from collections import defaultdict

from odoo import Command, _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import float_compare, float_is_zero


class BackorderFillOrder(models.TransientModel):
    """Fill one sale order's backorders: each backordered product with what is
    needed, what is available now and what to ship."""

    _name = "backops.backorder.fill.order"
    _description = "Fill Backorders of an Order"

    sale_order_id = fields.Many2one("sale.order", required=True, readonly=True)
    partner_id = fields.Many2one(related="sale_order_id.partner_id")
    line_ids = fields.One2many("backops.backorder.fill.order.line", "wizard_id", string="Products")
    ship_date = fields.Datetime(string="Actual Ship Date", default=fields.Datetime.now, required=True)
    send_email = fields.Boolean(string="Email the Customer", default=True)

    @api.model
    def default_get(self, fields_list):
        res = super().default_get(fields_list)
        order = self.env["sale.order"].browse(res.get("sale_order_id"))
        if not order or "line_ids" not in fields_list:
            return res
        order.check_access("read")
        moves = self._backorder_moves(order)
        if not moves:
            raise UserError(_("%(order)s has no backorder to fill.", order=order.name))
        availability = moves._backops_availability()
        needed, available = defaultdict(float), defaultdict(float)
        for move in moves:
            needed[move.product_id] += move.product_qty
            available[move.product_id] += availability[move.id]
        res["line_ids"] = [
            Command.create(
                {
                    "product_id": product.id,
                    "needed_qty": needed[product],
                    "available_qty": available[product],
                    "fill_qty": min(needed[product], available[product]),
                }
            )
            for product in needed
        ]
        return res

    @api.model
    def _backorder_moves(self, order):
        fill = self.env["backops.backorder.fill"].new({"company_id": order.company_id.id})
        return fill._candidate_moves([("picking_id.sale_id", "=", order.id)])

    def action_fill(self):
        """Ship the quantities to fill now; what remains stays on a further backorder."""
        self.ensure_one()
        order = self.sale_order_id
        moves = self._backorder_moves(order)
        availability = moves._backops_availability()
        wanted = {}
        for line in self.line_ids:
            product = line.product_id
            rounding = product.uom_id.rounding
            product_moves = moves.filtered(lambda m, product=product: m.product_id == product)
            needed = sum(product_moves.mapped("product_qty"))
            available = sum(availability[move.id] for move in product_moves)
            if float_compare(line.fill_qty, 0.0, precision_rounding=rounding) < 0:
                raise UserError(_("%(product)s: the quantity to ship cannot be negative.", product=product.display_name))
            if float_compare(line.fill_qty, needed, precision_rounding=rounding) > 0:
                raise UserError(
                    _(
                        "%(product)s: %(fill)s to ship, but only %(needed)s %(uom)s are backordered.",
                        product=product.display_name, fill=line.fill_qty, needed=needed, uom=product.uom_id.name,
                    )
                )
            if float_compare(line.fill_qty, available, precision_rounding=rounding) > 0:
                raise UserError(
                    _(
                        "%(product)s: %(fill)s to ship, but only %(available)s %(uom)s are available now.",
                        product=product.display_name, fill=line.fill_qty, available=available, uom=product.uom_id.name,
                    )
                )
            remaining = line.fill_qty
            for move in product_moves.sorted(lambda m: (m.picking_id.id, m.id)):
                wanted[move] = min(move.product_qty, remaining)
                remaining -= wanted[move]
        if all(float_is_zero(quantity, precision_rounding=move.product_id.uom_id.rounding) for move, quantity in wanted.items()):
            raise UserError(_("Nothing to ship: set the quantities to fill."))
        Fill = self.env["backops.backorder.fill"]
        plan = Fill._plan(moves, "partial", "oldest", wanted=wanted)
        pickings = Fill._execute(plan, self.ship_date)
        if self.send_email:
            Fill._send_fill_emails(
                pickings,
                self.env.ref("backops_procurement.mail_template_backorder_complete"),
                self.env.ref("backops_procurement.mail_template_backorder_partial"),
            )
        return {"type": "ir.actions.act_window_close"}


class BackorderFillOrderLine(models.TransientModel):
    _name = "backops.backorder.fill.order.line"
    _description = "Fill Backorders of an Order: Product"

    wizard_id = fields.Many2one("backops.backorder.fill.order", required=True, ondelete="cascade")
    product_id = fields.Many2one("product.product", required=True, readonly=True)
    product_uom = fields.Many2one(related="product_id.uom_id", string="Unit")
    needed_qty = fields.Float(string="Needed", digits="Product Unit of Measure", readonly=True)
    available_qty = fields.Float(string="Available Now", digits="Product Unit of Measure", readonly=True)
    fill_qty = fields.Float(string="Fill", digits="Product Unit of Measure")
