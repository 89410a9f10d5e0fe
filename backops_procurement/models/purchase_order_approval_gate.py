from collections import defaultdict, namedtuple
from contextlib import contextmanager
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError

CONFIRMED_STATES = ("purchase", "done")
APPROVAL_STATES = ("to approve", *CONFIRMED_STATES)

# How an order stands against the approval tiers, read fresh from the database:
# own: its amount in the company's currency; total: with the confirmed orders added
# up; related: the orders it is added up with (waiting or confirmed); needed: the
# tiers ``total`` reaches; covering: the approved requests that cover ``total``;
# missing: the tiers needed and not covered.
Measure = namedtuple("Measure", "own total related needed covering missing")


class PurchaseOrder(models.Model):
    """The approval gate. The invariant: no order of a company with tiers is in
    ``purchase`` or ``done`` unless approvals cover its amount, with the orders added
    up. One gate, ``_backops_check_approval_change``, decides it from the orders
    before and after every change that can break it (the order's own write, create
    and copy, Odoo's buttons, its lines, the allocations that make orders add up),
    and keeps the orders waiting with a pending request for every tier they still
    need (``_backops_sync_requests``, in purchase_order_approval.py)."""

    _inherit = "purchase.order"

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
        for order, sale_order in (
            self.env["backops.procurement.allocation"]
            .sudo()
            ._read_group([("purchase_order_id", "in", self.ids)], ["purchase_order_id", "sale_order_id"])
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
                lambda other: (
                    other.id != order.id
                    and other.company_id == order.company_id
                    and other.partner_id.commercial_partner_id == vendor
                    and abs(other.date_order - order.date_order) <= window
                    and served.get(other.id, set()) & served[order.id]
                )
            ).with_env(self.env)
        return result

    def _backops_lock_vendors(self, keys=None):
        """Write the approval locks (``backops.approval.lock``) of these orders'
        vendors, and of the vendors they had before the change (``keys``, from the
        snapshot), before measuring: any two changes that could make orders of one
        vendor add up differently conflict, whatever each transaction sees."""
        locks = {(order.company_id.id, order.partner_id.commercial_partner_id.id) for order in self}
        for order in self:
            _state, vendor, _currency, _date, company, _amount = (keys or {}).get(order.id) or (False,) * 6
            if vendor and company:
                locks.add((company, vendor))
        self.env["backops.approval.lock"]._lock(locks)

    def _backops_measure(self):
        """{order id: Measure} for these orders of companies with tiers, read fresh
        from the database (nothing cached by an earlier computation): the gate decides
        on it."""
        related = self._backops_related_orders()
        everyone = self.browse().union(self, *related.values())
        own = {order.id: order._backops_amount_in_company_currency() for order in everyone}
        # sudo: approvals are read whoever asks; nobody writes them directly
        approved = (
            self.env["backops.approval.request"]
            .sudo()
            .search([("purchase_order_id", "in", everyone.ids), ("state", "=", "approved")])
        )
        Tier = self.env["backops.approval.tier"]
        measures = {}
        for order in self:
            others = related.get(order.id, self.browse())
            total = own[order.id] + sum(own[other.id] for other in others if other.state in CONFIRMED_STATES)
            needed = Tier._select_for_amount(order.company_id, total)
            currency = order.company_id.currency_id
            # an approval covers the order's total when it is the order's own, or given
            # to a confirmed order it was added up with (that order's amount is then
            # in the total); never one of an order still waiting, whose amount is not
            covering = approved.filtered(
                lambda request, order=order, total=total, needed=needed, currency=currency: (
                    request.tier_id in needed
                    and (
                        request.purchase_order_id == order
                        or (order in request.related_order_ids and request.purchase_order_id.state in CONFIRMED_STATES)
                    )
                    and currency.compare_amounts(request.amount, total) >= 0
                )
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
        currency, date, company and the amount compared with the tiers. The amount
        only counts for an order waiting or confirmed (None otherwise): a draft's is
        never added up nor compared, and reading it would recompute it after every
        line Odoo's procurement writes on the RFQ."""
        self.ensure_one()
        amount = None
        if self.state in APPROVAL_STATES:
            base = self.company_id.backops_approval_amount_base
            amount = self.amount_total if base == "total" else self.amount_untaxed
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
        if regroup and not any(key[0] in APPROVAL_STATES for key in snapshot["keys"].values()):
            # no order waiting or confirmed: none is measured nor added up with others
            snapshot["idle"] = True
        elif regroup:
            watched = orders.filtered(lambda order: order.state in APPROVAL_STATES)
            measures = watched._backops_measure() if watched else {}
            snapshot["totals"] = {order_id: measure.total for order_id, measure in measures.items()}
            snapshot["waiting"] = (
                self.browse()
                .union(*(measure.related.filtered(lambda o: o.state == "to approve") for measure in measures.values()))
                .ids
            )
        return snapshot

    def _backops_total_before(self, key, measure):
        """The order's total before a change of its own fields only (``key``, from the
        snapshot): the orders added up with it did not change."""
        self.ensure_one()
        _state, _vendor, currency_id, date, _company, amount = key
        company = self.company_id
        own_before = (
            self.env["res.currency"]
            .browse(currency_id)
            ._convert(amount, company.currency_id, company, date or fields.Date.context_today(self))
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
        # sudo: as in _backops_approval_snapshot; messages are still the user's
        orders = self.sudo()
        if before.get("idle") and not any(order.state in APPROVAL_STATES for order in orders):
            # drafts before and after (Odoo's procurement filling its RFQs): nothing
            # for the gate to decide, nothing waiting whose grouping changed
            return
        regrouped = "totals" in before or "idle" in before
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
                    self.env._(
                        "%(order)s is confirmed: it cannot go back to waiting for approval. "
                        "Cancel it, or order what changes on a new RFQ.",
                        order=order.name,
                    )
                )
            new_key = order._backops_approval_key()
            if (
                order in moved
                or (date, company) != new_key[3:5]
                or (None not in (amount, new_key[5]) and order.currency_id.compare_amounts(new_key[5], amount) > 0)
            ):
                grown |= order
        left.filtered(lambda o: o.state == "draft")._backops_void_approvals(
            self.env._("the order was set back to draft")
        )
        left.filtered(lambda o: o.state != "draft")._backops_void_approvals(self.env._("the order was cancelled"))
        moved._backops_void_approvals(self.env._("the vendor or the currency changed"))

        watched = (orders if regrouped else changed).filtered(lambda order: order.state in APPROVAL_STATES)
        (watched | changed)._backops_lock_vendors(keys)
        measures = watched._backops_measure() if watched else {}
        totals = before.get("totals", {})
        for order in watched.filtered(lambda o: o.state in CONFIRMED_STATES):
            measure = measures[order.id]
            if not measure.missing:
                continue
            if (keys.get(order.id) or (False,))[0] not in CONFIRMED_STATES:
                raise AccessError(
                    self.env._(
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
                    self.env._(
                        "%(order)s is confirmed for %(before)s; this change brings it to %(after)s "
                        "(with the orders added up), which needs the approval of %(tiers)s. "
                        "Order the difference on a new RFQ: it is approved on its own.",
                        order=order.name,
                        before=currency.format(total),
                        after=currency.format(measure.total),
                        tiers=", ".join(measure.missing.mapped("name")),
                    )
                )
        # requests still waiting on an order now confirmed are no longer needed
        watched.filtered(lambda o: o.state in CONFIRMED_STATES)._backops_void_pending(
            self.env._("the order was confirmed")
        )
        waiting = (
            orders.browse(before.get("waiting", []))
            .exists()
            .union(
                watched.filtered(lambda o: o.state == "to approve"),
                *(measure.related.filtered(lambda o: o.state == "to approve") for measure in measures.values()),
            )
        )
        # the user whose change makes an order ask (again) is its requester
        waiting._backops_sync_requests(asked=changed)

    def _backops_check_vendors_regrouped(self, before):
        """Decide, from the snapshot ``before``, a change of how these orders' vendors
        add up (a contact moved under another company, contacts merged): the orders
        keep their vendor, only their commercial vendor and totals change."""
        keys = before.get("keys", {})
        for order in self:
            if order.id in keys:
                state, _vendor, *rest = keys[order.id]
                keys[order.id] = (state, order.partner_id.commercial_partner_id.id, *rest)
        self._backops_check_approval_change(before)

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
