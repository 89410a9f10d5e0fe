from odoo import fields, models


class ProductTemplate(models.Model):
    _inherit = "product.template"

    subject_to_procurement = fields.Boolean(
        string="Subject to procurement",
        help="Confirmed sale order lines of this product are needs that the purchasing "
        "team must order from vendors; BackOps Procurement follows their ordering status.",
    )
