from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    backops_block_over_ordering = fields.Boolean(related="company_id.backops_block_over_ordering", readonly=False)
    backops_reserve_on_receipt = fields.Boolean(related="company_id.backops_reserve_on_receipt", readonly=False)
    backops_return_fee_product_id = fields.Many2one(related="company_id.backops_return_fee_product_id", readonly=False)
    backops_purchasing_team_group_id = fields.Many2one(
        related="company_id.backops_purchasing_team_group_id", readonly=False
    )
    backops_purchasing_team_user_ids = fields.Many2many(
        related="company_id.backops_purchasing_team_user_ids", readonly=False
    )
    backops_has_approval_tiers = fields.Boolean(related="company_id.backops_has_approval_tiers")
    backops_approval_amount_base = fields.Selection(related="company_id.backops_approval_amount_base", readonly=False)
    backops_approval_allow_self = fields.Boolean(related="company_id.backops_approval_allow_self", readonly=False)
    backops_approval_split_days = fields.Integer(related="company_id.backops_approval_split_days", readonly=False)
    backops_demand_decrease_policy = fields.Selection(
        related="company_id.backops_demand_decrease_policy", readonly=False
    )
