from odoo import models

from .purchase_order_approval_gate import APPROVAL_STATES


class ResPartner(models.Model):
    _inherit = "res.partner"

    def _backops_orders_added_up(self):
        """The orders of these contacts (and of their contacts) the approval gate
        measures."""
        # sudo: the gate reads the orders the rule depends on, whoever edits contacts
        return (
            self.env["purchase.order"]
            .sudo()
            .search([("partner_id", "child_of", self.ids), ("state", "in", APPROVAL_STATES)])
            ._backops_tiered()
        )

    def write(self, vals):
        # the vendor whose orders are added up against the approval tiers is the
        # commercial partner, computed from these two fields only: a contact moved to
        # another company brings its orders among that company's split orders
        if not vals.keys() & {"parent_id", "is_company"}:
            return super().write(vals)
        orders = self._backops_orders_added_up()
        before = orders._backops_approval_snapshot(regroup=True)
        res = super().write(vals)
        if orders:
            orders._backops_check_vendors_regrouped(before)
        return res
