from odoo import models


class ResGroups(models.Model):
    _inherit = "res.groups"

    def write(self, vals):
        res = super().write(vals)
        if "users" in vals:
            # approvers who joined or left the group: what waits on its tiers follows
            self.env["backops.approval.tier"]._backops_approvers_changed(self)
        return res
