from odoo import api, fields, models


class ResCompany(models.Model):
    _inherit = "res.company"

    backops_block_over_ordering = fields.Boolean(
        string="Block Over-Ordering",
        help="Refuse to save allocations that would put a need in Excess.",
    )
    backops_reserve_on_receipt = fields.Boolean(
        string="Reserve Received Units for Their Needs",
        default=True,
        help="When a receipt of purchase lines covering needs is validated, reserve what "
        "each need received on its open customer delivery, so that no other order takes "
        "it. Off: Odoo's behaviour (whichever delivery reserves first).",
    )
    backops_return_fee_product_id = fields.Many2one(
        "product.product",
        string="Return Handling Charge",
        domain="[('type', '=', 'service'), ('company_id', 'in', [id, False])]",
        help="Service charged on every return order (Create Return), less from the customer's credit note; "
        "its name and price can be changed on each return.",
    )
    backops_demand_decrease_policy = fields.Selection(
        [("latest", "Latest RFQ First"), ("expensive", "Most Expensive First")],
        string="Demand Decrease",
        default="latest",
        required=True,
        help="When a customer orders less of a need split across RFQs, which RFQ a demand change shrinks first: "
        "drafts always before sent RFQs, confirmed purchase orders last; among them the latest or the most "
        "expensive. An increase goes to the draft RFQ of the need's vendor, else to a new RFQ to that vendor.",
    )
    backops_purchasing_team_group_id = fields.Many2one(
        "res.groups",
        string="Purchasing Team Group",
        help="Its users are told, once per confirmation, of the new needs to order.",
    )
    backops_purchasing_team_user_ids = fields.Many2many(
        "res.users",
        "backops_company_purchasing_team_rel",
        "company_id",
        "user_id",
        string="Purchasing Team Members",
        domain="[('share', '=', False)]",
        help="Told, once per confirmation, of the new needs to order.",
    )

    def _get_backops_purchasing_team(self):
        """Internal users of the company's purchasing team (group and members)."""
        self.ensure_one()
        users = self.backops_purchasing_team_user_ids | self.backops_purchasing_team_group_id.users
        return users.filtered(lambda user: user.active and not user.share and self in user.company_ids)

    # ------------------------------------------------------------------
    # Purchase approval tiers
    # ------------------------------------------------------------------
    backops_approval_tier_ids = fields.One2many("backops.approval.tier", "company_id", string="Purchase Approval Tiers")
    backops_has_approval_tiers = fields.Boolean(compute="_compute_backops_has_approval_tiers")
    backops_approval_amount_base = fields.Selection(
        [("untaxed", "Untaxed Amount"), ("total", "Total (Tax Included)")],
        string="Approval Amount",
        default="untaxed",
        required=True,
        help="Which amount of a purchase order is compared with the approval tiers.",
    )
    backops_approval_allow_self = fields.Boolean(
        string="Buyers May Approve Their Own Orders",
        help="When off, whoever created or confirmed an order cannot approve it.",
    )
    backops_approval_split_days = fields.Integer(
        string="Split-Order Window (days)",
        default=7,
        help="Orders to the same vendor for the same sale order within this many days "
        "of each other count together against the approval tiers. 0 turns this off.",
    )

    @api.depends("backops_approval_tier_ids.active")
    def _compute_backops_has_approval_tiers(self):
        companies_with_tiers = {
            company.id
            for [company] in self.env["backops.approval.tier"]
            .sudo()
            ._read_group([("company_id", "in", self.ids)], ["company_id"])
        }
        for company in self:
            company.backops_has_approval_tiers = company.id in companies_with_tiers

    def write(self, vals):
        res = super().write(vals)
        if vals.keys() & {"backops_approval_amount_base", "backops_approval_split_days", "backops_approval_allow_self"}:
            self._backops_resync_waiting_orders()
        return res

    def _backops_resync_waiting_orders(self):
        """After the approval configuration of these companies changed, the orders
        waiting for approval ask what they now need (a pending request for each tier
        their amount reaches, nothing for tiers it no longer does), in the same
        transaction."""
        if not self:
            return
        # sudo: whoever configures the tiers may not read every waiting order
        waiting = (
            self.env["purchase.order"].sudo().search([("company_id", "in", self.ids), ("state", "=", "to approve")])
        )
        # without tiers, Odoo's own approval decides: nothing waits on them any more
        untiered = waiting.filtered(lambda order: not order.company_id.backops_has_approval_tiers)
        untiered._backops_void_pending(self.env._("the company no longer has approval tiers"))
        (waiting - untiered)._backops_sync_requests(reschedule=True)
