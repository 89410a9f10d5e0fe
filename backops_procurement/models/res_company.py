from odoo import fields, models


class ResCompany(models.Model):
    _inherit = "res.company"

    backops_block_over_ordering = fields.Boolean(
        string="Block Over-Ordering",
        help="Refuse to save allocations that would put a need in Excess.",
    )
    backops_purchasing_team_group_id = fields.Many2one(
        "res.groups",
        string="Purchasing Team Group",
        help="Its users are told, once per confirmation, of the new needs to order.",
    )
    backops_purchasing_team_user_ids = fields.Many2many(
        "res.users",
        "backops_company_purchasing_team_rel",
        "company_id",
        "user_id",
        string="Purchasing Team Members",
        domain="[('share', '=', False)]",
        help="Told, once per confirmation, of the new needs to order.",
    )

    def _get_backops_purchasing_team(self):
        """Internal users of the company's purchasing team (group and members)."""
        self.ensure_one()
        users = self.backops_purchasing_team_user_ids | self.backops_purchasing_team_group_id.users
        return users.filtered(lambda user: user.active and not user.share and self in user.company_ids)
