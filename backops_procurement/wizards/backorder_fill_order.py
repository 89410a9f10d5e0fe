from collections import defaultdict

from odoo import Command, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import float_compare

from ..tools import check_quantity, without_client_context


class BackorderFillOrder(models.TransientModel):
    """Fill one sale order's backorders: each backordered product with what is
    needed, what is available now and what to ship."""

    _name = "backops.backorder.fill.order"
    _inherit = ["backops.readable.records.mixin"]
    _backops_readable_fields = ("sale_order_id",)
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
            raise UserError(self.env._("%(order)s has no backorder to fill.", order=order.name))
        res["line_ids"] = [
            Command.create(
                {"product_id": product.id, "needed_qty": needed, "available_qty": available, "fill_qty": available}
            )
            for product, (needed, available) in self._product_quantities(moves).items()
        ]
        return res

    @api.model
    def _backorder_moves(self, order):
        return self.env["backops.backorder.fill.service"]._candidate_moves(order.company_id, sale_orders=order)

    @api.model
    def _product_quantities(self, moves):
        """{product: (backordered, what the stock could ship of it now)}, the
        order's moves of a product sharing the stock (product unit)."""
        plan = self.env["backops.backorder.fill.service"]._plan(moves, "partial", "oldest")
        quantities = defaultdict(lambda: [0.0, 0.0])
        for entry in plan:
            for row in entry.rows:
                quantities[row.move.product_id][0] += row.needed
                quantities[row.move.product_id][1] += row.fill
        return {product: tuple(values) for product, values in quantities.items()}

    def action_fill(self):
        """Ship the quantities to fill now, never more than is there; what remains
        stays on a further backorder."""
        self = without_client_context(self)
        self.ensure_one()
        Service = self.env["backops.backorder.fill.service"]
        moves = self._backorder_moves(self.sale_order_id)
        quantities = self._product_quantities(moves)
        wanted = {}
        for line in self.line_ids:
            product = line.product_id
            fill_qty = check_quantity(self.env, line.fill_qty, product.display_name)
            needed, available = quantities.get(product, (0.0, 0.0))
            rounding = product.uom_id.rounding
            if float_compare(fill_qty, needed, precision_rounding=rounding) > 0:
                raise UserError(
                    self.env._(
                        "%(product)s: %(fill)s to ship, but only %(needed)s %(uom)s are backordered.",
                        product=product.display_name,
                        fill=fill_qty,
                        needed=needed,
                        uom=product.uom_id.name,
                    )
                )
            if float_compare(fill_qty, available, precision_rounding=rounding) > 0:
                raise UserError(
                    self.env._(
                        "%(product)s: %(fill)s to ship, but only %(available)s %(uom)s are available now.",
                        product=product.display_name,
                        fill=fill_qty,
                        available=available,
                        uom=product.uom_id.name,
                    )
                )
            remaining = fill_qty
            for move in Service._sorted_moves(moves.filtered(lambda m, product=product: m.product_id == product)):
                wanted[move] = min(move.product_qty, remaining)
                remaining -= wanted[move]
        if all(
            float_compare(quantity, 0.0, precision_rounding=move.product_id.uom_id.rounding) <= 0
            for move, quantity in wanted.items()
        ):
            raise UserError(self.env._("Nothing to ship: set the quantities to fill."))
        plan = Service._plan(moves, "partial", "oldest", wanted=wanted)
        _results, pickings = Service._ship(plan, self.ship_date)
        if self.send_email and pickings:
            Service._send_fill_emails(
                pickings,
                self.env.ref("backops_procurement.mail_template_backorder_complete"),
                self.env.ref("backops_procurement.mail_template_backorder_partial"),
            )
        return {"type": "ir.actions.act_window_close"}


class BackorderFillOrderLine(models.TransientModel):
    _name = "backops.backorder.fill.order.line"
    _inherit = ["backops.quantity.input.mixin"]
    _description = "Fill Backorders of an Order: Product"
    _backops_quantity_fields = ("fill_qty",)

    wizard_id = fields.Many2one("backops.backorder.fill.order", required=True, ondelete="cascade")
    product_id = fields.Many2one("product.product", required=True, readonly=True)
    product_uom = fields.Many2one(related="product_id.uom_id", string="Unit")
    needed_qty = fields.Float(string="Needed", digits="Product Unit of Measure", readonly=True)
    available_qty = fields.Float(string="Available Now", digits="Product Unit of Measure", readonly=True)
    fill_qty = fields.Float(string="Fill", digits="Product Unit of Measure")
