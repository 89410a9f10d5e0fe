from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    backops_quote_hold_days = fields.Integer(related="company_id.backops_quote_hold_days", readonly=False)
