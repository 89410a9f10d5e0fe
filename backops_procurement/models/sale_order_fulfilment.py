from collections import defaultdict

from odoo import api, fields, models
from odoo.exceptions import UserError

from .sale_order_line_fulfilment import FULFILMENT_STATUSES

FULFILMENT_ORDER = [status for status, _label in FULFILMENT_STATUSES]
# the follower subtype a need reaching each stage is posted with
STATUS_SUBTYPES = {
    "ordered": "backops_procurement.mt_procurement_ordered",
    "partially_received": "backops_procurement.mt_procurement_received",
    "ready": "backops_procurement.mt_procurement_ready",
    "delivered": "backops_procurement.mt_procurement_delivered",
}
PRECOMMIT_KEY = "backops.fulfilment.changes"


class SaleOrder(models.Model):
    """An order's fulfilment: its least advanced line, Fulfilled set by a person,
    and one message per order and transaction when its needs move on."""

    _inherit = "sale.order"

    backops_fulfilment_summary = fields.Selection(
        FULFILMENT_STATUSES,
        string="Fulfilment",
        compute="_compute_backops_fulfilment_summary",
        search="_search_backops_fulfilment_summary",
        help="The least advanced fulfilment status among the order's lines.",
    )
    backops_all_delivered = fields.Boolean(
        string="All Delivered",
        compute="_compute_backops_fulfilment_summary",
        help="Every line of the order is delivered or shipped: it can be marked Fulfilled.",
    )
    backops_fulfilled = fields.Boolean(
        string="Fulfilled",
        copy=False,
        readonly=True,
        tracking=True,
        help="Marked by a person (Set Fulfilled), never automatically: the order needs "
        "nothing more from purchasing, receiving or shipping.",
    )

    @api.depends("order_line.backops_fulfilment_status")
    def _compute_backops_fulfilment_summary(self):
        statuses = defaultdict(set)
        stored = self.filtered("id")
        if stored:
            for order, status in self.env["sale.order.line"]._read_group(
                [("order_id", "in", stored.ids), ("backops_fulfilment_status", "!=", False)],
                ["order_id", "backops_fulfilment_status"],
            ):
                statuses[order.id].add(status)
        for order in self - stored:
            statuses[order.id] = {status for status in order.order_line.mapped("backops_fulfilment_status") if status}
        for order in self:
            order_statuses = statuses[order.id]
            order.backops_fulfilment_summary = next(
                (status for status in FULFILMENT_ORDER if status in order_statuses), False
            )
            order.backops_all_delivered = order_statuses == {"delivered"}

    def _search_backops_fulfilment_summary(self, operator, value):
        # the least advanced stage first
        return self._search_line_status_summary("backops_fulfilment_status", FULFILMENT_ORDER, operator, value)

    # ------------------------------------------------------------------
    # Fulfilled: a person's decision
    # ------------------------------------------------------------------
    def action_backops_set_fulfilled(self):
        self._check_backops_fulfilled_change()
        self.filtered(lambda order: not order.backops_fulfilled).write({"backops_fulfilled": True})
        return True

    def action_backops_unset_fulfilled(self):
        self._check_backops_fulfilled_change()
        self.filtered("backops_fulfilled").write({"backops_fulfilled": False})
        return True

    def _check_backops_fulfilled_change(self):
        self.check_access("write")
        self._check_backops_fulfilled_state()

    def _check_backops_fulfilled_state(self):
        not_confirmed = self.filtered(lambda order: order.state != "sale")
        if not_confirmed:
            raise UserError(
                self.env._(
                    "Only confirmed orders can be marked Fulfilled: %(orders)s.",
                    orders=", ".join(not_confirmed.mapped("name")),
                )
            )

    # ------------------------------------------------------------------
    # Followers: the opportunity's owner follows as the salesperson does
    # ------------------------------------------------------------------
    @api.model_create_multi
    def create(self, vals_list):
        orders = super().create(vals_list)
        # Fulfilled on any path (a direct create or write over RPC): confirmed orders only
        orders.filtered("backops_fulfilled")._check_backops_fulfilled_state()
        orders._backops_subscribe_opportunity_owner()
        return orders

    def write(self, vals):
        res = super().write(vals)
        if vals.get("backops_fulfilled"):
            self._check_backops_fulfilled_state()
        if "opportunity_id" in vals:
            self._backops_subscribe_opportunity_owner()
        return res

    def _backops_subscribe_opportunity_owner(self):
        # CRM is not a dependency: the field exists only with sale_crm
        if "opportunity_id" not in self._fields or self.env.context.get("mail_create_nosubscribe"):
            return
        for order in self.filtered(lambda o: o.opportunity_id.user_id):
            order.message_subscribe(partner_ids=order.opportunity_id.user_id.partner_id.ids)

    # ------------------------------------------------------------------
    # Digest of fulfilment changes
    # ------------------------------------------------------------------
    @api.model
    def _backops_notify_fulfilment(self, changes):
        """Remember ``[(line id, old status, new status)]``; one message per order is
        posted when the transaction commits, with each line's first and last status."""
        pending = self.env.cr.precommit.data.setdefault(PRECOMMIT_KEY, {})
        for line_id, old, new in changes:
            first = pending[line_id][0] if line_id in pending else old
            pending[line_id] = (first, new)
        self.env.cr.precommit.add(self._backops_post_fulfilment_digests)

    @api.model
    def _backops_post_fulfilment_digests(self):
        pending = self.env.cr.precommit.data.pop(PRECOMMIT_KEY, {})
        # sudo: the digest is the addon's message, whoever's change moved the needs
        lines = self.env["sale.order.line"].sudo().browse(list(pending)).exists()
        by_order = defaultdict(list)
        for line in lines:
            old, new = pending[line.id]
            if old != new and new == line.backops_fulfilment_status:
                by_order[line.order_id].append((line, old, new))
        if not by_order:
            return
        labels = dict(self.env["sale.order.line"]._fields["backops_fulfilment_status"]._description_selection(self.env))
        odoobot = self.env.ref("base.partner_root")
        for order, moves in by_order.items():
            reached = [new for _line, _old, new in moves if new in STATUS_SUBTYPES]
            if not reached:
                continue  # only moves back to Need to Order: nothing to tell
            furthest = max(reached, key=FULFILMENT_ORDER.index)
            body = self.env["ir.qweb"]._render(
                "backops_procurement.message_fulfilment_digest",
                {
                    "moves": [
                        (line, labels.get(old, self.env._("New")) if old else self.env._("New"), labels[new])
                        for line, old, new in moves
                    ],
                },
            )
            order.with_context(mail_post_autofollow=False).message_post(
                body=body,
                subject=self.env._("%(order)s: %(count)s needs moved on", order=order.name, count=len(moves)),
                subtype_xmlid=STATUS_SUBTYPES[furthest],
                author_id=odoobot.id,
                message_type="notification",
            )
        self.env.flush_all()
