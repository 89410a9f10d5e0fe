from odoo import api, fields, models
from odoo.exceptions import UserError

QUOTED_FIELDS = ("backops_quoted_price_unit", "backops_quoted_date")


class SaleOrderLine(models.Model):
    """The unit price the customer was quoted, kept for Quoted vs Actual.

    Recorded by the order (``sale.order._backops_record_quoted_prices``) when the
    quotation is sent or printed for the customer, and at confirmation for lines
    never quoted; never written by users, never recomputed from a later price."""

    _inherit = "sale.order.line"

    backops_quoted_price_unit = fields.Float(
        string="Quoted Unit Price",
        digits="Product Price",
        readonly=True,
        copy=False,
        help="The unit price the customer was quoted: recorded when the quotation was last sent or "
        "printed for them, or at confirmation if it never was; kept when the price changes afterwards.",
    )
    backops_quoted_date = fields.Datetime(
        string="Quoted On",
        readonly=True,
        copy=False,
        help="When the quoted unit price was recorded. Empty: never quoted yet.",
    )

    @api.model_create_multi
    def create(self, vals_list):
        if not self.env.su:
            self._check_backops_quoted_not_given(vals_list)
        lines = super().create(vals_list)
        # a line added to a confirmed order was never quoted: it is at its price
        lines.order_id.filtered(lambda order: order.state == "sale")._backops_record_quoted_prices(
            only_missing=True, lines=lines
        )
        return lines

    def write(self, vals):
        if not self.env.su:
            self._check_backops_quoted_not_given([vals])
        return super().write(vals)

    @api.model
    def _check_backops_quoted_not_given(self, vals_list):
        if any(fname in vals for vals in vals_list for fname in QUOTED_FIELDS):
            raise UserError(
                self.env._(
                    "The quoted unit price is recorded when the quotation is sent, printed or "
                    "confirmed; it cannot be written."
                )
            )

    def _backops_is_priced_line(self):
        """Lines that carry a price the customer is quoted: not sections, notes or down payments."""
        return self.filtered(lambda line: not line.display_type and not line.is_downpayment)
