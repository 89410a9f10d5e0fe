from odoo import fields, models


class SaleOrder(models.Model):
    """A sale order's write (its lines edited through the form, its state moved by
    Odoo's buttons: cancel, back to quotation) proposes the demand changes of all its
    needs at once, at the end; its lines' own writes add to that batch."""

    _inherit = "sale.order"

    backops_demand_change_ids = fields.One2many(
        "backops.demand.change", "sale_order_id", string="Demand Change Proposals", readonly=True
    )
    backops_demand_change_count = fields.Integer(
        string="Demand Changes", compute="_compute_backops_demand_change_count"
    )

    def _compute_backops_demand_change_count(self):
        counts = dict(
            self.env["backops.demand.change"]._read_group(
                [("sale_order_id", "in", self.filtered("id").ids)], ["sale_order_id"], ["__count"]
            )
        )
        for order in self:
            order.backops_demand_change_count = counts.get(order._origin, 0)

    def write(self, vals):
        DemandChange = self.env["backops.demand.change"]
        started = DemandChange._defer_demand_changes(self.order_line)
        try:
            res = super().write(vals)
        except Exception:
            if started:
                self.env.cr.precommit.data.pop("backops.demand_change.deferred", None)
            raise
        if started:
            DemandChange._propose_deferred()
        return res

    def action_view_backops_demand_changes(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("backops_procurement.action_demand_changes")
        action["domain"] = [("sale_order_id", "=", self.id)]
        action["context"] = {"search_default_filter_proposed": 0}
        return action
