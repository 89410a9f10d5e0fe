from odoo import models

from .purchase_order_approval_gate import APPROVAL_STATES


class ResPartner(models.Model):
    _inherit = "res.partner"

    def write(self, vals):
        # the vendor whose orders are added up against the approval tiers is the
        # commercial partner, computed from these two fields only: a contact moved to
        # another company brings its orders among that company's split orders
        if not vals.keys() & {"parent_id", "is_company"}:
            return super().write(vals)
        # sudo: the gate reads the orders the rule depends on, whoever edits contacts
        orders = self.env["purchase.order"].sudo().search(
            [("partner_id", "child_of", self.ids), ("state", "in", APPROVAL_STATES)]
        )._backops_tiered()
        before = orders._backops_approval_snapshot(regroup=True)
        res = super().write(vals)
        if orders:
            # the orders keep their vendor (the same contact): only how they add up
            # changes, which the totals before and after decide
            keys = before.get("keys", {})
            for order in orders:
                if order.id in keys:
                    state, _vendor, *rest = keys[order.id]
                    keys[order.id] = (state, order.partner_id.commercial_partner_id.id, *rest)
            orders._backops_check_approval_change(before)
        return res
