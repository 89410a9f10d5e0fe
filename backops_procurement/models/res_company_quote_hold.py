from odoo import api, fields, models
from odoo.exceptions import ValidationError


class ResCompany(models.Model):
    _inherit = "res.company"

    backops_quote_hold_days = fields.Integer(
        string="Hold Stock for Quotations (days)",
        default=7,
        help="How long a quotation's Reserve holds stock by default: the Hold Until date "
        "it proposes is today plus this many days.",
    )

    @api.constrains("backops_quote_hold_days")
    def _check_backops_quote_hold_days(self):
        if any(company.backops_quote_hold_days < 0 for company in self):
            raise ValidationError(self.env._("Quotations cannot hold stock for a negative number of days."))
