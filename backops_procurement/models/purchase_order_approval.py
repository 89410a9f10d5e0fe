from collections import defaultdict

from odoo import Command, api, fields, models
from odoo.exceptions import AccessError, UserError

from .purchase_order_approval_gate import CONFIRMED_STATES


class PurchaseOrder(models.Model):
    """The purchase approval workflow: requests per tier, approving in sequence,
    rejecting with a reason, voiding, the approvers told. Whether an order may be
    confirmed is the gate's (purchase_order_approval_gate.py)."""

    _inherit = "purchase.order"

    backops_approval_request_ids = fields.One2many(
        "backops.approval.request", "purchase_order_id", string="Approvals", copy=False
    )
    backops_uses_approval_tiers = fields.Boolean(related="company_id.backops_has_approval_tiers")
    backops_next_approval_id = fields.Many2one(
        "backops.approval.request", string="Next Approval", compute="_compute_backops_next_approval"
    )
    backops_can_approve = fields.Boolean(
        compute="_compute_backops_next_approval",
        help="The current user may approve this order now: an approver of its next "
        "waiting tier (and not its buyer, unless the company lets buyers approve their "
        "own), or anyone who may confirm it once approvals cover it.",
    )
    backops_order_amount = fields.Monetary(
        string="Amount for Approval", compute="_compute_backops_approval", currency_field="company_currency_id"
    )
    backops_approval_amount = fields.Monetary(
        string="Amount with Orders Added Up",
        compute="_compute_backops_approval",
        currency_field="company_currency_id",
    )
    backops_split_order_ids = fields.Many2many(
        "purchase.order", string="Orders Added Up", compute="_compute_backops_approval"
    )
    backops_missing_tier_ids = fields.Many2many(
        "backops.approval.tier", string="Tiers to Approve", compute="_compute_backops_approval"
    )
    backops_approval_allowed = fields.Boolean(compute="_compute_backops_approval")

    @api.depends("state", "backops_approval_request_ids.is_next")
    @api.depends_context("uid")
    def _compute_backops_next_approval(self):
        user = self.env.user
        for order in self:
            request = order.backops_approval_request_ids.filtered("is_next")[:1]
            order.backops_next_approval_id = request
            # a waiting order with nothing pending is covered: whoever may confirm it does
            order.backops_can_approve = order.state == "to approve" and (
                not request or not order._backops_approver_refusal(request, user)
            )

    @api.depends(
        "state",
        "amount_untaxed",
        "amount_total",
        "currency_id",
        "date_order",
        "partner_id",
        "company_id.backops_approval_amount_base",
        "company_id.backops_approval_split_days",
        "company_id.backops_approval_tier_ids.min_amount",
        "backops_approval_request_ids.state",
        "order_line.sale_line_id",
        "order_line.procurement_allocation_ids.sale_order_id",
    )
    def _compute_backops_approval(self):
        tiered = self.filtered("id")._backops_tiered()
        measures = tiered._backops_measure() if tiered else {}
        for order in self:
            measure = measures.get(order.id)
            if not measure:
                order.backops_order_amount = order.backops_approval_amount = 0.0
                order.backops_split_order_ids = False
                order.backops_missing_tier_ids = False
                order.backops_approval_allowed = True
                continue
            order.backops_order_amount = measure.own
            order.backops_approval_amount = measure.total
            order.backops_split_order_ids = measure.related.filtered(lambda o: o.state in CONFIRMED_STATES)
            order.backops_missing_tier_ids = measure.missing
            order.backops_approval_allowed = not measure.missing

    # ------------------------------------------------------------------
    # Requests: a pending one for every tier a waiting order still needs
    # ------------------------------------------------------------------
    def _backops_sync_requests(self, reschedule=False, asked=None):
        """Waiting orders get a pending request for each tier their amount reaches and
        no approval covers, at their current amount; requests no longer needed, or
        asked for less than the amount now, are voided; approvals given for less than
        the amount now are voided. ``reschedule``: the approvers' activities are made
        again even where the next tier did not change (its approvers did).
        ``asked``: the orders the current user changed: the requests they get are
        asked by that user; the others are still asked on behalf of their last
        requester (a change an approver or the tiers' administrator made)."""
        waiting = self.filtered(lambda order: order.state == "to approve")._backops_tiered()
        if not waiting:
            return
        measures = waiting._backops_measure()
        Request = self.env["backops.approval.request"].sudo()
        now = fields.Datetime.now()
        served = waiting._backops_served_sale_orders()
        voids = defaultdict(lambda: Request)  # reason -> requests
        vals_list, bodies = [], {}
        changed = self.browse()
        for order in waiting:
            measure = measures[order.id]
            currency = order.company_id.currency_id
            requests = order.backops_approval_request_ids
            pending = requests.filtered(lambda r: r.state == "pending")
            ask = self.env["backops.approval.tier"]
            for tier in measure.missing:
                if not pending.filtered(
                    lambda r, tier=tier: r.tier_id == tier and currency.compare_amounts(r.amount, measure.total) >= 0
                ):
                    ask |= tier
            for request in pending:
                if request.tier_id not in measure.needed:
                    voids[self.env._("the amount no longer needs this tier")] |= request
                elif request.tier_id in measure.covering.tier_id:
                    voids[self.env._("approved with the orders added up")] |= request
                elif request.tier_id in ask:
                    voids[self.env._("the amount went above what was asked")] |= request
            for request in requests.filtered(lambda r: r.state == "approved" and r.tier_id in ask):
                voids[self.env._("the amount went above what was approved")] |= request
            if ask or any(request.purchase_order_id == order for voided in voids.values() for request in voided):
                changed |= order
            if not ask:
                continue
            confirmed = measure.related.filtered(lambda o: o.state in CONFIRMED_STATES)
            requester = self.env.user
            if asked is None or order not in asked:
                requester = requests.sorted("id")[-1:].requested_by_id or requester
            for tier in ask:
                vals_list.append(
                    {
                        "purchase_order_id": order.id,
                        "tier_id": tier.id,
                        "sequence": tier.sequence,
                        "amount": measure.total,
                        "order_amount": measure.own,
                        "related_order_ids": [Command.set(confirmed.ids)],
                        "requested_by_id": requester.id,
                        "buyer_id": order.user_id.id,
                        "requested_at": now,
                    }
                )
            bodies[order.id] = order._backops_approval_message(
                self.env._("Approval requested"), ask, measure.total, related=confirmed, served=served
            )
        for reason, requests in voids.items():
            # sudo: requests follow the order's amount, whoever changes it
            requests.write({"state": "voided", "reason": reason, "decided_at": now})
        # sudo: approval requests are written by these methods only, for any buyer
        Request.create(vals_list)
        if bodies:
            self.browse(list(bodies))._message_log_batch(bodies=bodies)
        to_schedule = waiting if reschedule else changed
        if to_schedule:
            to_schedule._backops_schedule_approval_activities()

    # ------------------------------------------------------------------
    # Odoo's buttons
    # ------------------------------------------------------------------
    def button_approve(self, force=False):
        tiered = self._backops_tiered()
        if not tiered:
            return super().button_approve(force=force)
        waiting = tiered.filtered(lambda order: order.state == "to approve")
        waiting._backops_sync_requests()
        waiting.filtered("backops_next_approval_id")._backops_approve_next_tier()
        others = tiered - waiting
        measures = others._backops_measure() if others else {}
        never_asked = others.filtered(lambda order: measures[order.id].missing)
        if never_asked:
            raise AccessError(
                self.env._(
                    "%(orders)s must be approved before it is confirmed (%(tiers)s): confirm it to ask for approval.",
                    orders=", ".join(never_asked.mapped("name")),
                    tiers=", ".join(
                        self.env["backops.approval.tier"]
                        .union(*(measures[order.id].missing for order in never_asked))
                        .mapped("name")
                    ),
                )
            )
        # Odoo confirms the orders _approval_allowed lets through: those still waiting
        # for a tier stay waiting
        return super().button_approve(force=force)

    # ------------------------------------------------------------------
    # Approving, rejecting, voiding
    # ------------------------------------------------------------------
    def _backops_approver_refusal(self, request, user):
        """Why ``user`` may not approve ``request`` of this order now, or False: the
        one rule behind the Approve button, the To Approve list and the approval."""
        self.ensure_one()
        if not request or request.state != "pending" or not request.is_next:
            return self.env._("%(order)s is not waiting for an approval.", order=self.name)
        tier = request.tier_id
        if not tier._is_approver(user):
            return self.env._(
                "You cannot approve %(order)s: it waits for %(tier)s, approved by %(approvers)s.",
                order=self.name,
                tier=tier.name,
                # a user being created has no name yet
                approvers=", ".join(name for name in tier._get_approvers().mapped("name") if name)
                or tier.group_id.full_name,
            )
        if not self.company_id.backops_approval_allow_self and user in self._backops_requesters():
            return self.env._(
                "You cannot approve %(order)s: you created it, are its buyer, or asked for its "
                "approval, and %(company)s does not let buyers approve their own orders.",
                order=self.name,
                company=self.company_id.name,
            )
        return False

    def _backops_requesters(self):
        """Who may not approve this order when buyers may not approve their own: its
        creator, its buyer (now, and whenever it was asked), and everyone who ever
        asked for its approval (confirmed it, or changed it while it waited)."""
        self.ensure_one()
        # sudo: the requests' history decides, whoever reads it
        requests = self.sudo().backops_approval_request_ids
        return self.create_uid | self.user_id | requests.requested_by_id | requests.buyer_id

    def _backops_approve_next_tier(self):
        """Approve, for the current user, the next waiting tier of each order."""
        self._backops_decide_next_tier(
            {"state": "approved"}, self.env._("Approved by %(user)s", user=self.env.user.name)
        )
        self._backops_schedule_approval_activities()

    def _backops_decide_next_tier(self, vals, title):
        """Write the current user's decision ``vals`` on the next waiting tier of each
        order and log ``title`` on the order. Checks every order before writing
        anything; refuses with AccessError."""
        user = self.env.user
        for order in self:
            refusal = order._backops_approver_refusal(order.backops_next_approval_id, user)
            if refusal:
                raise AccessError(refusal)
        # browsed afresh: read together below, not one order at a time
        requests = self.env["backops.approval.request"].browse(self.backops_next_approval_id.ids)
        # sudo: the approver's right was checked above; nobody writes requests directly
        requests.sudo().write(dict(vals, decided_by_id=user.id, decided_at=fields.Datetime.now()))
        served = self._backops_served_sale_orders()
        self._message_log_batch(
            bodies={
                request.purchase_order_id.id: request.purchase_order_id._backops_approval_message(
                    title, request.tier_id, request.amount, request.related_order_ids, served
                )
                for request in requests
            }
        )

    def _backops_reject(self, reason):
        """Reject the next waiting tier of each order, back to draft; the buyer is told."""
        if not (reason or "").strip():
            raise UserError(self.env._("Give the reason of the rejection."))
        not_waiting = self.filtered(lambda order: order.state != "to approve")
        if not_waiting:
            raise UserError(
                self.env._("%(orders)s is not waiting for approval.", orders=", ".join(not_waiting.mapped("name")))
            )
        user = self.env.user
        self._backops_decide_next_tier(
            {"state": "rejected", "reason": reason},
            self.env._("Rejected by %(user)s: %(reason)s", user=user.name, reason=reason),
        )
        self.write({"state": "draft"})
        for order in self:
            order.activity_schedule(
                "mail.mail_activity_data_todo",
                user_id=(order.user_id or order.create_uid).id,
                summary=self.env._("Purchase rejected: %(reason)s", reason=reason[:80]),
                note=self.env._(
                    "%(user)s rejected %(order)s: %(reason)s", user=user.name, order=order.name, reason=reason
                ),
            )

    def _backops_void_pending(self, reason):
        """Void the requests still waiting on these orders (no longer needed)."""
        # sudo: requests follow the order, whoever changes it
        pending = self.sudo().backops_approval_request_ids.filtered(lambda r: r.state == "pending")
        if pending:
            pending.write({"state": "voided", "reason": reason, "decided_at": fields.Datetime.now()})
            pending.purchase_order_id.activity_unlink(["backops_procurement.mail_activity_purchase_approval"])

    def _backops_void_approvals(self, reason):
        """Void the waiting and given approvals of these orders. The confirmed orders
        an approval was given together with (split orders added up) keep it: it is
        carried over to them, so that none is left confirmed without approval."""
        requests = self.backops_approval_request_ids.filtered(lambda r: r.state in ("pending", "approved"))
        if not requests:
            return
        # sudo: approvals are voided by the change that invalidates them, whoever makes it
        requests.sudo().write({"state": "voided", "reason": reason, "decided_at": fields.Datetime.now()})
        self._backops_carry_over(requests.filtered(lambda r: r.decided_by_id), reason)
        served = self._backops_served_sale_orders()
        title = self.env._("Approvals voided: %(reason)s", reason=reason)
        bodies = {}
        for order in requests.purchase_order_id:
            voided = requests.filtered(lambda r, order=order: r.purchase_order_id == order)
            bodies[order.id] = order._backops_approval_message(
                title, voided.tier_id, max(voided.mapped("amount")), served=served
            )
        requests.purchase_order_id._message_log_batch(bodies=bodies)
        requests.purchase_order_id.activity_unlink(["backops_procurement.mail_activity_purchase_approval"])

    def _backops_carry_over(self, voided, reason):
        """The confirmed orders that ``voided`` approvals (given to these orders, now
        voided) were added up with, and that are left without an approval they
        need, get that approval as it was given: same tier, amount, approver and
        date, the order it came from named in its reason and their chatter."""
        voided = voided.filtered(lambda r: r.state == "voided" and r.decided_by_id)
        relying = voided.related_order_ids.filtered(lambda o: o.state in CONFIRMED_STATES) - self
        relying = relying._backops_tiered()
        if not relying:
            return
        Request = self.env["backops.approval.request"].sudo()
        measures = relying._backops_measure()
        vals_list, bodies = [], {}
        for order in relying:
            measure = measures[order.id]
            currency = order.company_id.currency_id
            carried = Request
            for tier in measure.missing:
                source = voided.filtered(
                    lambda r, order=order, tier=tier: (
                        r.tier_id == tier
                        and order in r.related_order_ids
                        and currency.compare_amounts(r.amount, measure.total) >= 0
                    )
                ).sorted("amount")[-1:]
                if source:
                    carried |= source
            for source in carried:
                vals_list.append(
                    {
                        "purchase_order_id": order.id,
                        "tier_id": source.tier_id.id,
                        "sequence": source.sequence,
                        "state": "approved",
                        "amount": source.amount,
                        "order_amount": measure.own,
                        "related_order_ids": [
                            Command.set(
                                (source.related_order_ids - order).filtered(lambda o: o.state in CONFIRMED_STATES).ids
                            )
                        ],
                        "requested_by_id": source.requested_by_id.id,
                        "buyer_id": source.buyer_id.id,
                        "requested_at": source.requested_at,
                        "decided_by_id": source.decided_by_id.id,
                        "decided_at": source.decided_at,
                        "reason": self.env._(
                            "Carried over from %(order)s (%(reason)s), approved together with it.",
                            order=source.purchase_order_id.name,
                            reason=reason,
                        ),
                    }
                )
            if carried:
                bodies[order.id] = order._backops_approval_message(
                    self.env._(
                        "Approval carried over from %(orders)s (%(reason)s)",
                        orders=", ".join(carried.purchase_order_id.mapped("name")),
                        reason=reason,
                    ),
                    carried.tier_id,
                    max(carried.mapped("amount")),
                )
        # sudo: approval requests are written by these methods only
        Request.create(vals_list)
        if bodies:
            self.browse(list(bodies))._message_log_batch(bodies=bodies)

    def _backops_schedule_approval_activities(self):
        """The next tier's approvers of each order get an activity (and its email);
        activities of tiers no longer waiting are removed."""
        self.activity_unlink(["backops_procurement.mail_activity_purchase_approval"])
        served = self._backops_served_sale_orders()
        for order in self:
            request = order.backops_next_approval_id
            if not request or order.state != "to approve":
                continue
            for approver in request.tier_id._get_approvers():
                if order._backops_approver_refusal(request, approver):
                    continue
                order.activity_schedule(
                    "backops_procurement.mail_activity_purchase_approval",
                    user_id=approver.id,
                    summary=self.env._("Approve %(order)s (%(tier)s)", order=order.name, tier=request.tier_id.name),
                    note=order._backops_approval_message(
                        self.env._("Waiting for your approval"),
                        request.tier_id,
                        request.amount,
                        request.related_order_ids,
                        served,
                    ),
                )

    def _backops_approval_message(self, title, tiers, amount, related=None, served=None):
        """Chatter and activity text of an approval step. ``served`` is
        ``_backops_served_sale_orders()`` of the orders at hand, read once for all."""
        self.ensure_one()
        served = served if served is not None else self._backops_served_sale_orders()
        values = {
            "title": title,
            "tiers": tiers,
            "amount": amount,
            "currency": self.company_id.currency_id,
            "vendor": self.partner_id,
            "related": related or self.env["purchase.order"],
            "sale_orders": self.env["sale.order"].browse(sorted(served.get(self.id, ()))),
            "user": self.env.user,
        }
        return self.env["ir.qweb"]._render("backops_procurement.message_purchase_approval", values)

    def action_open_approval_reject_wizard(self):
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Reject Purchase"),
            "res_model": "backops.approval.reject",
            "view_mode": "form",
            "target": "new",
            "context": {"default_purchase_order_ids": self.ids},
        }
