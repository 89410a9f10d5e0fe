from odoo import fields, models


class ProductProduct(models.Model):
    _inherit = "product.product"

    def _get_backops_vendor(self, company, quantity=0.0, uom=None, date=None):
        """The vendor of this product for ``company`` as Odoo's purchase rules choose
        it (``_select_seller``: vendor lines of any company or of ``company``, of any
        variant or this one, valid on ``date`` (today by default), for ``quantity`` in
        ``uom``, by sequence then price). None when no vendor line fits, as for Odoo."""
        self.ensure_one()
        return (
            self.with_company(company)
            ._select_seller(
                quantity=quantity or 0.0,
                uom_id=uom or self.uom_id,
                date=date or fields.Date.context_today(self),
            )
            .partner_id
        )
