from odoo import models


class ProductProduct(models.Model):
    _inherit = "product.product"

    def _get_backops_vendor(self, company):
        """First vendor of this product for ``company``, by the vendor list's order:
        vendor lines of any company or of ``company``, for any variant or this one."""
        self.ensure_one()
        sellers = self.seller_ids.filtered(
            lambda seller: (not seller.company_id or seller.company_id == company)
            and (not seller.product_id or seller.product_id == self)
        )
        return sellers[:1].partner_id
