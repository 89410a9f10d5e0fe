from odoo import api, fields, models

from .stock_move_hold import HOLD_STATES


class ProductProduct(models.Model):
    _inherit = "product.product"

    backops_held_qty = fields.Float(
        string="Held for Quotations",
        compute="_compute_backops_held_qty",
        digits="Product Unit of Measure",
        help="Stock that quotations hold: no other order can reserve it until they are "
        "confirmed, cancelled or their hold expires.",
    )

    @api.depends_context("company", "allowed_company_ids")
    def _compute_backops_held_qty(self):
        held = dict(
            self.env["stock.move"]._read_group(
                [
                    ("product_id", "in", self.filtered("id").ids),
                    ("backops_hold_sale_line_id", "!=", False),
                    ("state", "in", HOLD_STATES),
                ],
                ["product_id"],
                ["product_qty:sum"],
            )
        )
        for product in self:
            product.backops_held_qty = held.get(product, 0.0)

    def action_backops_view_holds(self):
        return self.env["stock.move"]._backops_holds_action([("product_id", "in", self.ids)])
