from odoo import models


class MergePartnerAutomatic(models.TransientModel):
    _inherit = "base.partner.merge.automatic.wizard"

    def _merge(self, partner_ids, dst_partner=None, extra_checks=True):
        # Odoo repoints the orders of merged contacts in SQL: their orders may now
        # add up against the approval tiers, which the gate decides
        orders = self.env["res.partner"].browse(partner_ids)._backops_orders_added_up()
        before = orders._backops_approval_snapshot(regroup=True)
        res = super()._merge(partner_ids, dst_partner=dst_partner, extra_checks=extra_checks)
        if orders:
            orders.invalidate_recordset(["partner_id"])
            orders._backops_check_vendors_regrouped(before)
        return res
