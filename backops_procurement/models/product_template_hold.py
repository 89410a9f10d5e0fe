from odoo import api, fields, models


class ProductTemplate(models.Model):
    _inherit = "product.template"

    backops_held_qty = fields.Float(
        string="Held for Quotations",
        compute="_compute_backops_held_qty",
        digits="Product Unit of Measure",
        help="Stock that quotations hold: no other order can reserve it until they are "
        "confirmed, cancelled or their hold expires.",
    )

    @api.depends_context("company", "allowed_company_ids")
    @api.depends("product_variant_ids.backops_held_qty")
    def _compute_backops_held_qty(self):
        for template in self:
            template.backops_held_qty = sum(template.product_variant_ids.mapped("backops_held_qty"))

    def action_backops_view_holds(self):
        return self.env["stock.move"]._backops_holds_action([("product_id.product_tmpl_id", "in", self.ids)])
