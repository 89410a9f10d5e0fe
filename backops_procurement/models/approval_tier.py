from odoo import _, api, fields, models
from odoo.exceptions import ValidationError


class ApprovalTier(models.Model):
    """A purchase amount, per company, from which an order must be approved by the
    tier's approvers before it is confirmed. Several tiers may apply to one order:
    each must approve, in sequence."""

    _name = "backops.approval.tier"
    _description = "Purchase Approval Tier"
    _order = "company_id, sequence, min_amount, id"
    _check_company_auto = True

    name = fields.Char(required=True, translate=True)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    sequence = fields.Integer(default=10, help="Tiers approve in this order.")
    min_amount = fields.Monetary(
        string="From Amount",
        required=True,
        currency_field="currency_id",
        help="Orders of this amount or more, in the company's currency at the order "
        "date, need this tier's approval.",
    )
    group_id = fields.Many2one(
        "res.groups",
        string="Approvers' Group",
        required=True,
        help="Users of this group may approve this tier.",
    )
    user_ids = fields.Many2many(
        "res.users",
        string="Named Approvers",
        domain="[('share', '=', False)]",
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
                    _(
                        "%(tier)s: %(users)s are not in the approvers' group %(group)s.",
                        tier=tier.name,
                        users=", ".join(outsiders.mapped("name")),
                        group=tier.group_id.full_name,
                    )
                )

    def _get_approvers(self):
        """Users who may approve this tier."""
        self.ensure_one()
        approvers = self.user_ids or self.group_id.users
        return approvers.filtered(lambda user: user.active and not user.share)

    def _is_approver(self, user):
        self.ensure_one()
        return self.group_id in user.groups_id and (not self.user_ids or user in self.user_ids)
