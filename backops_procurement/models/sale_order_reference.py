from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError


class SaleOrder(models.Model):
    """Where an order came from: PortalProdigy's *Ref Order ID*, and the order's type.

    ``backops_ref_order_id`` is the quote a new order was created from, the recurring
    template that generated it, or the original order of a return;
    ``backops_derived_order_ids`` lists the other way. ``backops_order_type`` keeps
    Odoo's own quotation → order flow for ``order`` (the default).

    Rules, on every path (form, ``create``, ``write``, ``copy``, a batch): only the
    addon's own actions set the link (``_backops_link_ref_order``, never ``vals``); it
    stays within one company and one commercial partner, whichever side changes; the
    type changes only on a draft quotation, by a sales user, and never to or from
    ``return`` (only Create Return makes returns).
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

    # ------------------------------------------------------------------
    # Rules: the link is the addon's, the type a draft quotation's
    # ------------------------------------------------------------------
    @api.model_create_multi
    def create(self, vals_list):
        if not self.env.su:
            self._check_backops_link_not_given(vals_list)
            for vals in vals_list:
                # a default in the context is the client's input as much as vals
                order_type = vals.get("backops_order_type", self.env.context.get("default_backops_order_type"))
                if order_type not in (None, False, "order"):
                    # a new order's type is chosen with it; whether it may be created
                    # confirmed is the type's own rule (a template never is)
                    self._check_backops_order_type_change(order_type, "draft")
        return super().create(vals_list)

    def write(self, vals):
        if not self.env.su:
            self._check_backops_link_not_given([vals])
            new_type = vals.get("backops_order_type")
            if new_type:
                for order in self:
                    if order.backops_order_type != new_type:
                        order._check_backops_order_type_change(new_type, order.state, order.backops_order_type)
        return super().write(vals)

    @api.model
    def _check_backops_link_not_given(self, vals_list):
        if any("backops_ref_order_id" in vals for vals in vals_list):
            raise UserError(
                self.env._(
                    "The Ref Order is set by the action that creates an order from another "
                    "(Create Order from Quote, a recurring template, Create Return); it cannot be written."
                )
            )

    @api.model
    def _check_backops_order_type_change(self, new_type, state, old_type=None):
        """The one gate of a change of order type by a user: a draft quotation, a
        sales user, and never to or from a return."""
        if "return" in (new_type, old_type):
            raise UserError(
                self.env._(
                    "A return is made with Create Return from its original order; its type and original cannot change."
                )
            )
        if state != "draft":
            raise UserError(self.env._("The order type can only be changed on a draft quotation."))
        if not self.env.user.has_group("sales_team.group_sale_salesman"):
            raise AccessError(self.env._("Only sales users can change the order type."))

    @api.constrains("backops_ref_order_id", "partner_id", "company_id")
    def _check_backops_ref_order(self):
        # both sides: the order's link, and the links to it when the order it came
        # from changes customer or company; sudo: the rule holds whoever may read
        # the other side
        orders = self.sudo()
        for order in orders | orders.backops_derived_order_ids:
            ref = order.backops_ref_order_id
            if not ref:
                continue
            if ref == order:
                raise ValidationError(self.env._("An order cannot be its own Ref Order."))
            if ref.company_id != order.company_id:
                raise ValidationError(
                    self.env._(
                        "%(order)s and its Ref Order %(ref)s must be of the same company.",
                        order=order.display_name,
                        ref=ref.display_name,
                    )
                )
            if ref.partner_id.commercial_partner_id != order.partner_id.commercial_partner_id:
                raise ValidationError(
                    self.env._(
                        "%(order)s and its Ref Order %(ref)s must be for the same customer.",
                        order=order.display_name,
                        ref=ref.display_name,
                    )
                )

    def _backops_link_ref_order(self, ref_order):
        """Link the orders of ``self``, just created by one of the addon's actions, to
        ``ref_order`` — the only way the link is set. The caller has checked the
        user's rights on both; the constraint checks company and customer."""
        ref_order.ensure_one()
        # sudo: the link is not writable in vals (a user could point an order at any
        # other); the action that calls this is the check
        self.sudo().write({"backops_ref_order_id": ref_order.id})

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
