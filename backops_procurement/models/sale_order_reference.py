from odoo import api, fields, models


class SaleOrder(models.Model):
    """Where an order came from: PortalProdigy's *Ref Order ID*, and the order's type.

    ``backops_ref_order_id`` is the quote a new order was created from, the recurring
    template that generated it, or the original order of a return;
    ``backops_derived_order_ids`` lists the other way. ``backops_order_type`` keeps
    Odoo's own quotation → order flow for ``order`` (the default).
    """

    _inherit = "sale.order"

    backops_order_type = fields.Selection(
        [("order", "Order"), ("recurring", "Recurring Template"), ("return", "Return")],
        string="Order Type",
        required=True,
        default="order",
        index=True,
        tracking=True,
    )
    backops_ref_order_id = fields.Many2one(
        "sale.order",
        string="Ref Order",
        copy=False,
        readonly=True,
        index="btree_not_null",
        check_company=True,
        help="The order this one came from: the quote it was created from, the recurring "
        "template that generated it, or the original order of a return.",
    )
    backops_derived_order_ids = fields.One2many(
        "sale.order",
        "backops_ref_order_id",
        string="Derived Orders",
        readonly=True,
    )
    backops_derived_order_count = fields.Integer(compute="_compute_backops_derived_order_count")

    @api.depends("backops_derived_order_ids")
    def _compute_backops_derived_order_count(self):
        counts = dict(
            self.env["sale.order"]._read_group(
                [("backops_ref_order_id", "in", self.ids)], ["backops_ref_order_id"], ["__count"]
            )
        )
        for order in self:
            order.backops_derived_order_count = counts.get(order, 0)

    def action_backops_view_ref_order(self):
        self.ensure_one()
        return self._backops_orders_action(self.backops_ref_order_id)

    def action_backops_view_derived_orders(self):
        self.ensure_one()
        return self._backops_orders_action(self.backops_derived_order_ids)

    def _backops_orders_action(self, orders):
        action = self.env["ir.actions.act_window"]._for_xml_id("sale.action_orders")
        action["context"] = {"create": False}
        if len(orders) == 1:
            action.update(views=[(False, "form")], res_id=orders.id, view_mode="form")
        else:
            action.update(domain=[("id", "in", orders.ids)], views=[(False, "list"), (False, "form")])
        return action
