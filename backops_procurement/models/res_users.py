from odoo import models


class ResUsers(models.Model):
    _inherit = "res.users"

    def write(self, vals):
        groups = self.groups_id if vals.keys() & {"groups_id", "active"} else self.env["res.groups"]
        res = super().write(vals)
        if groups or "groups_id" in vals:
            # approvers who joined or left a group: what waits on its tiers follows
            self.env["backops.approval.tier"]._backops_approvers_changed(groups | self.groups_id)
        return res
