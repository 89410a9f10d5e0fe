from collections import defaultdict, namedtuple
from contextlib import contextmanager
from datetime import timedelta

from odoo import Command, _, api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL

CONFIRMED_STATES = ("purchase", "done")
APPROVAL_STATES = ("to approve", *CONFIRMED_STATES)

# How an order stands against the approval tiers, read fresh from the database:
# own: its amount in the company's currency; total: with the confirmed orders added
# up; related: the orders it is added up with (waiting or confirmed); needed: the
# tiers ``total`` reaches; covering: the approved requests that cover ``total``;
# missing: the tiers needed and not covered.
Measure = namedtuple("Measure", "own total related needed covering missing")


class PurchaseOrder(models.Model):
    """Purchase approval tiers. The invariant: no order of a company with tiers is
    in ``purchase`` or ``done`` unless approvals cover its amount, with the orders
    added up. One gate, ``_backops_check_approval_change``, decides it from the
    orders before and after every change that can break it (the order's own write,
    create and copy, Odoo's buttons, its lines, the allocations that make orders add
    up), and keeps the orders waiting with a pending request for every tier they
    still need."""

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
    # Measuring an order against the tiers
    # ------------------------------------------------------------------
    def _backops_tiered(self):
        return self.filtered(lambda order: order.company_id.backops_has_approval_tiers)

    def _backops_amount_in_company_currency(self):
        """This order's amount compared with the tiers: untaxed or tax included as the
        company chose, converted at the order date with the order's own company."""
        self.ensure_one()
        company = self.company_id
        amount = self.amount_total if company.backops_approval_amount_base == "total" else self.amount_untaxed
        return self.currency_id._convert(
            amount, company.currency_id, company, self.date_order or fields.Date.context_today(self)
        )

    def _backops_served_sale_orders(self):
        """{order id: ids of the sale orders whose needs it covers}, in one query."""
        served = defaultdict(set)
        for line in self.order_line.filtered("sale_order_id"):
            served[line.order_id.id].add(line.sale_order_id.id)
        for order, sale_order in self.env["backops.procurement.allocation"].sudo()._read_group(
            [("purchase_order_id", "in", self.ids)], ["purchase_order_id", "sale_order_id"]
        ):
            served[order.id].add(sale_order.id)
        return served

    def _backops_related_orders(self, states=APPROVAL_STATES):
        """{order id: the orders added up with it}: to the same vendor, for one of the
        same sale orders, dated within the company's window, in ``states`` (waiting for
        approval or confirmed; any state but cancelled when ``states`` is None). One
        search for all the orders."""
        orders = self.filtered(lambda order: order.company_id.backops_approval_split_days > 0 and order.date_order)
        served = orders._backops_served_sale_orders()
        orders = orders.filtered(lambda order: served.get(order.id))
        if not orders:
            return {}
        widest = timedelta(days=max(orders.company_id.mapped("backops_approval_split_days")))
        in_states = ("state", "in", states) if states else ("state", "!=", "cancel")
        # sudo: orders are added up whoever can read them; only amounts and names come out
        candidates = self.sudo().search(
            [
                ("company_id", "in", orders.company_id.ids),
                ("partner_id", "child_of", orders.partner_id.commercial_partner_id.ids),
                in_states,
                ("date_order", ">=", min(orders.mapped("date_order")) - widest),
                ("date_order", "<=", max(orders.mapped("date_order")) + widest),
                ("id", "not in", orders.ids),
            ]
        ) | orders.sudo().filtered_domain([in_states])
        served.update(candidates._backops_served_sale_orders())
        result = {}
        for order in orders:
            window = timedelta(days=order.company_id.backops_approval_split_days)
            vendor = order.partner_id.commercial_partner_id
            result[order.id] = candidates.filtered(
                lambda other: other.id != order.id
                and other.company_id == order.company_id
                and other.partner_id.commercial_partner_id == vendor
                and abs(other.date_order - order.date_order) <= window
                and served.get(other.id, set()) & served[order.id]
            ).with_env(self.env)
        return result

    def _backops_lock_related(self):
        """Lock the orders that could be added up with these ones, whatever their
        state, before measuring: a concurrent transaction confirming or changing one
        of them makes this one fail to serialize (Odoo retries it, and it then sees
        that order), so that two split orders confirmed at once are measured together."""
        related = self._backops_related_orders(states=None)
        ids = sorted({order.id for orders in related.values() for order in orders} | set(self.ids))
        if ids:
            self.env.cr.execute(SQL("SELECT id FROM purchase_order WHERE id = ANY(%s) ORDER BY id FOR NO KEY UPDATE", ids))

    def _backops_measure(self):
        """{order id: Measure} for these orders of companies with tiers, read fresh
        from the database (nothing cached by an earlier computation): the gate decides
        on it."""
        related = self._backops_related_orders()
        everyone = self.browse().union(self, *related.values())
        own = {order.id: order._backops_amount_in_company_currency() for order in everyone}
        # sudo: approvals are read whoever asks; nobody writes them directly
        approved = self.env["backops.approval.request"].sudo().search(
            [("purchase_order_id", "in", everyone.ids), ("state", "=", "approved")]
        )
        Tier = self.env["backops.approval.tier"]
        measures = {}
        for order in self:
            others = related.get(order.id, self.browse())
            total = own[order.id] + sum(own[other.id] for other in others if other.state in CONFIRMED_STATES)
            needed = Tier._select_for_amount(order.company_id, total)
            currency = order.company_id.currency_id
            covering = approved.filtered(
                lambda request, order=order, total=total, needed=needed, currency=currency: request.tier_id in needed
                and (request.purchase_order_id == order or order in request.related_order_ids)
                and currency.compare_amounts(request.amount, total) >= 0
            )
            measures[order.id] = Measure(own[order.id], total, others, needed, covering, needed - covering.tier_id)
        return measures

    def _approval_allowed(self):
        """With approval tiers, an order may be confirmed once approvals cover its
        amount with the orders added up; Odoo's own double validation is not used then.
        A waiting order has a pending request for every tier it still needs (see
        ``_backops_sync_requests``), so it is allowed once none is pending. This only
        decides which way Odoo's buttons go: the gate in ``write`` measures again."""
        self.ensure_one()
        if not self.company_id.backops_has_approval_tiers:
            return super()._approval_allowed()
        if self.state == "to approve":
            return not self.backops_approval_request_ids.filtered(lambda r: r.state == "pending")
        return not self._backops_measure()[self.id].missing

    # ------------------------------------------------------------------
    # The gate
    # ------------------------------------------------------------------
    @contextmanager
    def _backops_guard_approvals(self, regroup=False):
        """Run a change of these orders, or of their lines or allocations, through the
        gate: the orders are read before and the change decided after. ``regroup``:
        the change may also make orders add up differently (lines and allocations),
        so the orders are measured before it, with the orders added up."""
        before = self._backops_approval_snapshot(regroup)
        yield
        self._backops_check_approval_change(before)

    def _backops_approval_key(self):
        """What an order's approval depends on in its own fields: state, vendor,
        currency, date, company and the amount compared with the tiers."""
        self.ensure_one()
        amount = self.amount_total if self.company_id.backops_approval_amount_base == "total" else self.amount_untaxed
        return (
            self.state,
            self.partner_id.commercial_partner_id.id,
            self.currency_id.id,
            self.date_order,
            self.company_id.id,
            amount,
        )

    def _backops_approval_snapshot(self, regroup=False):
        """What the gate compares with after the change: each order's approval key
        and, with ``regroup``, its total with the orders added up and the waiting
        orders it was added up with. Reads no more than the orders' own fields
        otherwise."""
        # sudo: the gate reads every order and approval the rule depends on, whoever
        # makes the change (a salesperson, a stock user); it decides from the data
        orders = self.sudo()._backops_tiered()
        if not orders:
            return {}
        snapshot = {"keys": {order.id: order._backops_approval_key() for order in orders}}
        if regroup:
            watched = orders.filtered(lambda order: order.state in APPROVAL_STATES)
            measures = watched._backops_measure() if watched else {}
            snapshot["totals"] = {order_id: measure.total for order_id, measure in measures.items()}
            snapshot["waiting"] = self.browse().union(
                *(measure.related.filtered(lambda o: o.state == "to approve") for measure in measures.values())
            ).ids
        return snapshot

    def _backops_total_before(self, key, measure):
        """The order's total before a change of its own fields only (``key``, from the
        snapshot): the orders added up with it did not change."""
        self.ensure_one()
        _state, _vendor, currency_id, date, _company, amount = key
        company = self.company_id
        own_before = self.env["res.currency"].browse(currency_id)._convert(
            amount, company.currency_id, company, date or fields.Date.context_today(self)
        )
        return measure.total - measure.own + own_before

    def _backops_check_approval_change(self, before):
        """Decide a change from the orders before it (``_backops_approval_snapshot``)
        and after it. Refuses (nothing is written) an order that enters ``purchase``
        or ``done`` without approvals covering its amount, a confirmed order that
        grows (or changes vendor, currency, date or company) past what approvals
        cover, and a confirmed order sent back to waiting. Voids the approvals of
        orders set back to draft or cancelled, or whose vendor or currency changed.
        Waiting orders, and those they are added up with, get a pending request for
        each tier they still need."""
        before = before or {}
        regrouped = "totals" in before
        # sudo: as in _backops_approval_snapshot; messages are still the user's
        orders = self.sudo()
        orders = (orders.exists() if regrouped else orders)._backops_tiered()
        if not orders:
            return
        keys = before.get("keys", {})
        changed = orders.filtered(lambda order: keys.get(order.id) != order._backops_approval_key())
        if not changed and not regrouped:
            return
        left, moved, grown = orders.browse(), orders.browse(), orders.browse()
        for order in changed:
            state, vendor, currency, date, company, amount = keys.get(order.id) or (False,) * 6
            if state in APPROVAL_STATES and order.state not in APPROVAL_STATES:
                left |= order
            elif vendor and (vendor, currency) != (order.partner_id.commercial_partner_id.id, order.currency_id.id):
                moved |= order
            if state in CONFIRMED_STATES and order.state == "to approve":
                raise UserError(
                    _(
                        "%(order)s is confirmed: it cannot go back to waiting for approval. "
                        "Cancel it, or order what changes on a new RFQ.",
                        order=order.name,
                    )
                )
            new_key = order._backops_approval_key()
            if order in moved or (date, company) != new_key[3:5] or (
                amount is not None and order.currency_id.compare_amounts(new_key[5], amount) > 0
            ):
                grown |= order
        left.filtered(lambda o: o.state == "draft")._backops_void_approvals(_("the order was set back to draft"))
        left.filtered(lambda o: o.state != "draft")._backops_void_approvals(_("the order was cancelled"))
        moved._backops_void_approvals(_("the vendor or the currency changed"))

        watched = (orders if regrouped else changed).filtered(lambda order: order.state in APPROVAL_STATES)
        watched.filtered(lambda o: o.state in CONFIRMED_STATES)._backops_lock_related()
        measures = watched._backops_measure() if watched else {}
        totals = before.get("totals", {})
        for order in watched.filtered(lambda o: o.state in CONFIRMED_STATES):
            measure = measures[order.id]
            if not measure.missing:
                continue
            if (keys.get(order.id) or (False,))[0] not in CONFIRMED_STATES:
                raise AccessError(
                    _(
                        "%(order)s needs approval before it is confirmed (%(tiers)s).",
                        order=order.name,
                        tiers=", ".join(measure.missing.mapped("name")),
                    )
                )
            currency = order.company_id.currency_id
            total = totals.get(order.id)
            if total is None:
                total = order._backops_total_before(keys[order.id], measure)
            if order in grown or currency.compare_amounts(measure.total, total) > 0:
                raise UserError(
                    _(
                        "%(order)s is confirmed for %(before)s; this change brings it to %(after)s "
                        "(with the orders added up), which needs the approval of %(tiers)s. "
                        "Order the difference on a new RFQ: it is approved on its own.",
                        order=order.name,
                        before=currency.format(total),
                        after=currency.format(measure.total),
                        tiers=", ".join(measure.missing.mapped("name")),
                    )
                )
        waiting = orders.browse(before.get("waiting", [])).exists().union(
            watched.filtered(lambda o: o.state == "to approve"),
            *(measure.related.filtered(lambda o: o.state == "to approve") for measure in measures.values()),
        )
        waiting._backops_sync_requests()

    # ------------------------------------------------------------------
    # Requests: a pending one for every tier a waiting order still needs
    # ------------------------------------------------------------------
    def _backops_sync_requests(self, reschedule=False):
        """Waiting orders get a pending request for each tier their amount reaches and
        no approval covers, at their current amount; requests no longer needed, or
        asked for less than the amount now, are voided; approvals given for less than
        the amount now are voided. ``reschedule``: the approvers' activities are made
        again even where the next tier did not change (its approvers did)."""
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
                    voids[_("the amount no longer needs this tier")] |= request
                elif request.tier_id in measure.covering.tier_id:
                    voids[_("approved with the orders added up")] |= request
                elif request.tier_id in ask:
                    voids[_("the amount went above what was asked")] |= request
            for request in requests.filtered(lambda r: r.state == "approved" and r.tier_id in ask):
                voids[_("the amount went above what was approved")] |= request
            if ask or any(request.purchase_order_id == order for voided in voids.values() for request in voided):
                changed |= order
            if not ask:
                continue
            confirmed = measure.related.filtered(lambda o: o.state in CONFIRMED_STATES)
            # asked again after a change someone else made (an approver, the tiers'
            # administrator): still on behalf of whoever asked first
            requester = requests.sorted("id")[-1:].requested_by_id or self.env.user
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
                        "requested_at": now,
                    }
                )
            bodies[order.id] = order._backops_approval_message(
                _("Approval requested"), ask, measure.total, related=confirmed, served=served
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
                _(
                    "%(orders)s must be approved before it is confirmed (%(tiers)s): confirm "
                    "it to ask for approval.",
                    orders=", ".join(never_asked.mapped("name")),
                    tiers=", ".join(self.env["backops.approval.tier"].union(
                        *(measures[order.id].missing for order in never_asked)
                    ).mapped("name")),
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
            return _("%(order)s is not waiting for an approval.", order=self.name)
        tier = request.tier_id
        if not tier._is_approver(user):
            return _(
                "You cannot approve %(order)s: it waits for %(tier)s, approved by %(approvers)s.",
                order=self.name,
                tier=tier.name,
                approvers=", ".join(tier._get_approvers().mapped("name")) or tier.group_id.full_name,
            )
        if not self.company_id.backops_approval_allow_self and user in (self.create_uid | request.requested_by_id):
            return _(
                "You cannot approve %(order)s: you created or confirmed it, and %(company)s "
                "does not let buyers approve their own orders.",
                order=self.name,
                company=self.company_id.name,
            )
        return False

    def _backops_approve_next_tier(self):
        """Approve, for the current user, the next waiting tier of each order."""
        self._backops_decide_next_tier(
            {"state": "approved"}, _("Approved by %(user)s", user=self.env.user.name)
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
            raise UserError(_("Give the reason of the rejection."))
        not_waiting = self.filtered(lambda order: order.state != "to approve")
        if not_waiting:
            raise UserError(
                _("%(orders)s is not waiting for approval.", orders=", ".join(not_waiting.mapped("name")))
            )
        user = self.env.user
        self._backops_decide_next_tier(
            {"state": "rejected", "reason": reason},
            _("Rejected by %(user)s: %(reason)s", user=user.name, reason=reason),
        )
        self.write({"state": "draft"})
        for order in self:
            order.activity_schedule(
                "mail.mail_activity_data_todo",
                user_id=(order.user_id or order.create_uid).id,
                summary=_("Purchase rejected: %(reason)s", reason=reason[:80]),
                note=_("%(user)s rejected %(order)s: %(reason)s", user=user.name, order=order.name, reason=reason),
            )

    def _backops_void_approvals(self, reason):
        """Void the waiting and given approvals of these orders."""
        requests = self.backops_approval_request_ids.filtered(lambda r: r.state in ("pending", "approved"))
        if not requests:
            return
        # sudo: approvals are voided by the change that invalidates them, whoever makes it
        requests.sudo().write({"state": "voided", "reason": reason, "decided_at": fields.Datetime.now()})
        served = self._backops_served_sale_orders()
        title = _("Approvals voided: %(reason)s", reason=reason)
        bodies = {}
        for order in requests.purchase_order_id:
            voided = requests.filtered(lambda r, order=order: r.purchase_order_id == order)
            bodies[order.id] = order._backops_approval_message(
                title, voided.tier_id, max(voided.mapped("amount")), served=served
            )
        requests.purchase_order_id._message_log_batch(bodies=bodies)
        requests.purchase_order_id.activity_unlink(["backops_procurement.mail_activity_purchase_approval"])

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
                    summary=_("Approve %(order)s (%(tier)s)", order=order.name, tier=request.tier_id.name),
                    note=order._backops_approval_message(
                        _("Waiting for your approval"), request.tier_id, request.amount, request.related_order_ids, served
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
            "name": _("Reject Purchase"),
            "res_model": "backops.approval.reject",
            "view_mode": "form",
            "target": "new",
            "context": {"default_purchase_order_ids": self.ids},
        }

    # ------------------------------------------------------------------
    # CRUD: every change goes through the gate
    # ------------------------------------------------------------------
    @api.model_create_multi
    def create(self, vals_list):
        orders = super().create(vals_list)
        orders._backops_check_approval_change({})
        return orders

    def write(self, vals):
        with self._backops_guard_approvals():
            res = super().write(vals)
        return res
