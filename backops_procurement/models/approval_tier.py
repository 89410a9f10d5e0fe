from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError


class ApprovalTier(models.Model):
    """A purchase amount, per company, from which an order must be approved by the
    tier's approvers before it is confirmed. Several tiers may apply to one order:
    each must approve, in sequence."""

    _name = "backops.approval.tier"
    _description = "Purchase Approval Tier"
    _inherit = ["mail.thread"]
    _order = "company_id, sequence, min_amount, id"
    _check_company_auto = True

    name = fields.Char(required=True, translate=True, tracking=True)
    active = fields.Boolean(default=True, tracking=True)
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company, tracking=True
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    sequence = fields.Integer(default=10, help="Tiers approve in this order.", tracking=True)
    min_amount = fields.Monetary(
        string="From Amount",
        required=True,
        currency_field="currency_id",
        tracking=True,
        help="Orders of this amount or more, in the company's currency at the order date, need this tier's approval.",
    )
    group_id = fields.Many2one(
        "res.groups",
        string="Approvers' Group",
        required=True,
        tracking=True,
        help="Users of this group may approve this tier.",
    )
    user_ids = fields.Many2many(
        "res.users",
        string="Named Approvers",
        domain="[('share', '=', False)]",
        tracking=True,
        help="When set, only these users of the group approve this tier.",
    )

    _sql_constraints = [
        ("min_amount_positive", "CHECK(min_amount >= 0)", "A tier's amount cannot be negative."),
    ]

    @api.constrains("group_id", "user_ids")
    def _check_approvers(self):
        for tier in self:
            outsiders = tier.user_ids.filtered(lambda user, tier=tier: tier.group_id not in user.groups_id)
            if outsiders:
                raise ValidationError(
                    self.env._(
                        "%(tier)s: %(users)s are not in the approvers' group %(group)s.",
                        tier=tier.name,
                        users=", ".join(outsiders.mapped("name")),
                        group=tier.group_id.full_name,
                    )
                )

    # ------------------------------------------------------------------
    # Which tiers an amount reaches, who approves them
    # ------------------------------------------------------------------
    @api.model
    def _select_for_amount(self, company, amount):
        """The active tiers of ``company`` that ``amount`` (in the company's
        currency) reaches, in the order they approve."""
        currency = company.currency_id
        return company.backops_approval_tier_ids.filtered(
            lambda tier: currency.compare_amounts(amount, tier.min_amount) >= 0
        ).sorted(lambda tier: (tier.sequence, tier.min_amount, tier.id))

    def _get_approvers(self):
        """Users who may approve this tier: its named approvers still in its group,
        or, when none of them is (left the group, archived), the group's users, so
        that what waits on the tier always has someone to approve it."""
        self.ensure_one()
        members = self.group_id.users.filtered(lambda user: user.active and not user.share)
        return (self.user_ids & members) or members

    def _is_approver(self, user):
        self.ensure_one()
        return user in self._get_approvers()

    @api.model
    def _backops_approvers_changed(self, groups):
        """Users joined or left ``groups`` (or were archived): what waits on tiers
        approved by these groups goes to the approvers there are now."""
        # sudo: whoever administers users may not read tiers or orders
        tiers = self.sudo().search([("group_id", "in", groups.ids)])
        tiers.company_id._backops_resync_waiting_orders()

    # ------------------------------------------------------------------
    # CRUD: orders already waiting get what the new configuration asks
    # ------------------------------------------------------------------
    @api.model_create_multi
    def create(self, vals_list):
        tiers = super().create(vals_list)
        tiers.company_id._backops_resync_waiting_orders()
        return tiers

    def write(self, vals):
        companies = self.company_id
        res = super().write(vals)
        (companies | self.company_id)._backops_resync_waiting_orders()
        return res

    @api.ondelete(at_uninstall=False)
    def _unlink_except_used(self):
        # sudo: whether any order was ever asked to approve these tiers, whatever its company
        used = self.env["backops.approval.request"].sudo().search_count([("tier_id", "in", self.ids)], limit=1)
        if used:
            raise UserError(
                self.env._(
                    "%(tiers)s approved or waited on purchase orders: archive them instead, so "
                    "that the orders keep their history.",
                    tiers=", ".join(self.mapped("name")),
                )
            )

    def unlink(self):
        companies = self.company_id
        res = super().unlink()
        companies._backops_resync_waiting_orders()
        return res
