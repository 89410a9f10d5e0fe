from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    backops_block_over_ordering = fields.Boolean(
        related="company_id.backops_block_over_ordering", readonly=False
    )
    backops_purchasing_team_group_id = fields.Many2one(
        related="company_id.backops_purchasing_team_group_id", readonly=False
    )
    backops_purchasing_team_user_ids = fields.Many2many(
        related="company_id.backops_purchasing_team_user_ids", readonly=False
    )
