from odoo import api, fields, models
from odoo.osv import expression

REQUEST_STATES = [
    ("pending", "Waiting"),
    ("approved", "Approved"),
    ("rejected", "Rejected"),
    ("voided", "Voided"),
]


class ApprovalRequest(models.Model):
    """One tier's approval of one purchase order. Written only by the purchase
    order's approval methods (as superuser, after checking the user's right): no
    access right lets anyone write these records directly."""

    _name = "backops.approval.request"
    _description = "Purchase Approval Request"
    _order = "purchase_order_id, sequence, id"
    _rec_name = "purchase_order_id"

    purchase_order_id = fields.Many2one("purchase.order", required=True, index=True, ondelete="cascade", readonly=True)
    company_id = fields.Many2one(related="purchase_order_id.company_id", store=True, index=True)
    tier_id = fields.Many2one("backops.approval.tier", required=True, readonly=True, ondelete="restrict")
    sequence = fields.Integer(readonly=True)
    state = fields.Selection(REQUEST_STATES, default="pending", required=True, index=True, readonly=True)
    is_next = fields.Boolean(
        string="Next to Approve",
        compute="_compute_is_next",
        store=True,
        index=True,
        help="The first tier still waiting on its order: the one that approves now.",
    )
    currency_id = fields.Many2one(related="company_id.currency_id", string="Company Currency")
    amount = fields.Monetary(
        string="Amount Approved",
        readonly=True,
        help="The amount this tier is asked to approve, in the company's currency at "
        "the order date; with the orders added up, when there are.",
    )
    order_amount = fields.Monetary(readonly=True, help="This order's own amount, in the company's currency.")
    related_order_ids = fields.Many2many(
        "purchase.order",
        "backops_approval_request_related_order_rel",
        "request_id",
        "order_id",
        string="Orders Added Up",
        readonly=True,
        help="Orders to the same vendor for the same sale orders within the company's "
        "window, counted with this one so that splitting a purchase does not dodge approval.",
    )
    partner_id = fields.Many2one(related="purchase_order_id.partner_id", string="Vendor")
    sale_order_ids = fields.Many2many("sale.order", string="Sale Orders Served", compute="_compute_sale_order_ids")
    requested_by_id = fields.Many2one("res.users", string="Asked By", readonly=True)
    buyer_id = fields.Many2one(
        "res.users", readonly=True, help="The order's buyer when it was asked: never its approver."
    )
    requested_at = fields.Datetime(string="Asked On", readonly=True)
    decided_by_id = fields.Many2one("res.users", readonly=True)
    decided_at = fields.Datetime(string="Decided On", readonly=True)
    reason = fields.Text(readonly=True, help="Why the order was rejected, or why the approval was voided.")
    can_approve = fields.Boolean(
        compute="_compute_can_approve",
        search="_search_can_approve",
        string="Waiting for Me",
        help="Waiting, next in its order, and the current user approves its tier.",
    )

    @api.depends("state", "sequence", "purchase_order_id.backops_approval_request_ids.state")
    def _compute_is_next(self):
        for request in self:
            pending = request.purchase_order_id.backops_approval_request_ids.filtered(lambda r: r.state == "pending")
            request.is_next = request.state == "pending" and request == pending.sorted(lambda r: (r.sequence, r.id))[:1]

    def _compute_sale_order_ids(self):
        for request in self:
            request.sale_order_ids = request.purchase_order_id._get_sale_orders()

    @api.depends_context("uid")
    def _compute_can_approve(self):
        user = self.env.user
        for request in self:
            request.can_approve = not request.purchase_order_id._backops_approver_refusal(request, user)

    def _search_can_approve(self, operator, value):
        """The requests ``_backops_approver_refusal`` lets the user approve, as a domain."""
        if operator not in ("=", "!=") or not isinstance(value, bool):
            raise NotImplementedError(self.env._("Unsupported search on 'Waiting for Me'."))
        user = self.env.user
        # the tiers ``backops.approval.tier._is_approver`` lets the user approve (few)
        tiers = (
            self.env["backops.approval.tier"]
            .with_context(active_test=False)
            .search([("group_id", "in", user.groups_id.ids)])
            .filtered(lambda tier: tier._is_approver(user))
        )
        domain = [
            ("is_next", "=", True),
            ("state", "=", "pending"),
            ("tier_id", "in", tiers.ids),
            "|",
            ("company_id.backops_approval_allow_self", "=", True),
            # not a requester of the order (purchase.order._backops_requesters)
            "&",
            "&",
            ("purchase_order_id.create_uid", "!=", user.id),
            "|",
            ("purchase_order_id.user_id", "=", False),
            ("purchase_order_id.user_id", "!=", user.id),
            (
                "purchase_order_id.backops_approval_request_ids",
                "not any",
                ["|", ("requested_by_id", "=", user.id), ("buyer_id", "=", user.id)],
            ),
        ]
        return domain if (operator == "=") == value else ["!", *expression.normalize_domain(domain)]

    # ------------------------------------------------------------------
    # Actions of the To Approve list
    # ------------------------------------------------------------------
    def action_approve(self):
        """Approve, for the current user, the orders of these requests."""
        self.purchase_order_id.button_approve()
        return True

    def action_open_reject_wizard(self):
        return self.purchase_order_id.action_open_approval_reject_wizard()

    def action_open_order(self):
        self.ensure_one()
        return self.purchase_order_id._get_records_action()
