from odoo import api, models


class SaleOrderLine(models.Model):
    """Needs whose quantity changes once RFQs/POs cover them get a demand change
    proposal (``backops.demand.change``): decided from the quantity asked before and
    after each write, whatever field or path changed it, and before a line is
    removed."""

    _inherit = "sale.order.line"

    def write(self, vals):
        DemandChange = self.env["backops.demand.change"]
        before = DemandChange._demand_snapshot(self)
        res = super().write(vals)
        DemandChange._propose_after(before)
        return res

    @api.ondelete(at_uninstall=False)
    def _propose_demand_changes_on_removal(self):
        DemandChange = self.env["backops.demand.change"]
        DemandChange._propose_demand_changes(DemandChange._demand_snapshot(self), removed=True)
