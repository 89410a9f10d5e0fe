from odoo import api, models

from ..tools import check_quantity


class QuantityInputMixin(models.AbstractModel):
    """Quantities users type in the wizards, checked on the values given to
    ``create``/``write``, before the ORM rounds them to the field's digits: NaN or an
    infinity cannot be rounded and would fail there with no sentence for the user."""

    _name = "backops.quantity.input.mixin"
    _description = "Checked Quantity Inputs"

    # names of the quantity fields to check; set by each model
    _backops_quantity_fields = ()

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._backops_check_quantity_inputs(vals)
        return super().create(vals_list)

    def write(self, vals):
        self._backops_check_quantity_inputs(vals)
        return super().write(vals)

    def _backops_check_quantity_inputs(self, vals):
        for fname in self._backops_quantity_fields:
            if fname in vals:
                check_quantity(self.env, vals[fname], self._backops_quantity_label(vals, fname))

    def _backops_quantity_label(self, vals, fname):
        """How a refusal names the quantity: its product when the row has one."""
        product = self.env["product.product"]
        if "product_id" in self._fields:
            product = product.browse(vals.get("product_id")) or self.product_id[:1]
        return product.display_name or self._fields[fname]._description_string(self.env)
