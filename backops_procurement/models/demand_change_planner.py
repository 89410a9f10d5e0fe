from collections import defaultdict

from odoo import api, fields, models
from odoo.tools import float_compare, float_is_zero, float_round

# the order in which a decrease shrinks RFQs/POs: drafts, then sent RFQs, then
# those waiting for approval, confirmed purchase orders last
DECREASE_STATE_RANK = {"draft": 0, "sent": 1, "to approve": 2, "purchase": 3}
DEFERRED_KEY = "backops.demand_change.deferred"


class DemandChange(models.Model):
    """Planning the proposals: which RFQ/PO lines covering a need change, and by
    how much, when the need's quantity changes. Called after every change of sale
    lines and orders with the quantities before it (``_demand_snapshot``): what is
    compared is the need's quantity before and after (0 when it is no longer a need:
    cancelled, removed), whatever field or path changed it. The planning reads in
    batch (a fixed number of queries for any number of needs)."""

    _inherit = "backops.demand.change"

    # ------------------------------------------------------------------
    # Before and after
    # ------------------------------------------------------------------
    @api.model
    def _need_quantity(self, need):
        """What a sale line asks RFQs to cover: its quantity while it is a need, else 0."""
        return need.product_uom_qty if need._is_procurement_need() else 0.0

    @api.model
    def _demand_snapshot(self, needs):
        """{need id: quantity asked} of these sale lines that RFQs/POs cover."""
        # sudo: whoever writes the sale lines (Odoo's own flows, a stock user), what
        # they ask is read the same way; nothing of it is shown
        return {
            need.id: self._need_quantity(need) for need in needs.sudo().filtered("id") if need.procurement_allocated_qty
        }

    @api.model
    def _defer_demand_changes(self, needs):
        """Start collecting the changes of a batch (a sale order's write, which
        writes its lines one by one): returns whether this call started it, so that
        the outermost one proposes. Kept on the cursor for this transaction, never in
        the context (which a client could send)."""
        data = self.env.cr.precommit.data
        started = DEFERRED_KEY not in data
        deferred = data.setdefault(DEFERRED_KEY, {})
        for need_id, quantity in self._demand_snapshot(needs).items():
            deferred.setdefault(need_id, quantity)
        return started

    @api.model
    def _propose_deferred(self):
        before = self.env.cr.precommit.data.pop(DEFERRED_KEY, {})
        self._propose_demand_changes(before)

    @api.model
    def _propose_after(self, before):
        """After a change of sale lines: propose now, or, within a batch, add the
        quantities before to the batch's."""
        deferred = self.env.cr.precommit.data.get(DEFERRED_KEY)
        if deferred is not None:
            for need_id, quantity in before.items():
                deferred.setdefault(need_id, quantity)
            return
        self._propose_demand_changes(before)

    # ------------------------------------------------------------------
    # Planning
    # ------------------------------------------------------------------
    @api.model
    def _propose_demand_changes(self, before, removed=False):
        """Propose how the RFQs/POs covering each need of ``before`` ({need id:
        quantity asked before}) change, for the needs whose quantity changed. A newer
        change replaces a pending proposal; a need back to what is on order leaves
        none. ``removed``: the needs are about to be deleted (they ask for 0)."""
        if not before:
            return self.browse()
        # sudo: the proposal is planned from every RFQ/PO covering the need, whoever
        # changed the sale (salespeople cannot read purchases); nothing is shown to them
        Need = self.env["sale.order.line"].sudo()
        needs = Need.browse(list(before)).exists()
        after = {need.id: 0.0 if removed else self._need_quantity(need) for need in needs}
        changed = needs.filtered(
            lambda need: float_compare(after[need.id], before[need.id], precision_rounding=need.product_uom.rounding)
        )
        if not changed:
            return self.browse()
        Change = self.sudo()
        pending = Change.search([("sale_line_id", "in", changed.ids), ("state", "=", "proposed")])
        pending_by_need = {change.sale_line_id.id: change for change in pending}
        found = (
            self.env["backops.procurement.allocation"]
            .sudo()
            .search([("sale_line_id", "in", changed.ids), ("purchase_order_id.state", "!=", "cancel")])
        )
        # the lines and orders of every allocation read at once, not per need
        found.purchase_line_id.fetch(["product_qty", "qty_received", "product_uom", "price_unit", "order_id"])
        found.purchase_order_id.fetch(["state", "date_order", "partner_id", "user_id"])
        ids_by_need = defaultdict(list)
        for allocation in found:
            ids_by_need[allocation.sale_line_id.id].append(allocation.id)
        allocations = {
            need_id: found.browse(ids).with_prefetch(found._prefetch_ids) for need_id, ids in ids_by_need.items()
        }

        vals_list, rows_list = [], []
        for need in changed:
            rounding = need.product_uom.rounding
            need_allocations = allocations.get(need.id, found.browse())
            allocated = sum(need_allocations.mapped("quantity"))
            new_qty = after[need.id]
            if float_is_zero(new_qty - allocated, precision_rounding=rounding):
                continue  # what is on order already fits (Odoo's own procurement reacted)
            if new_qty < allocated:
                rows = self._plan_decrease(need, need_allocations, allocated - new_qty)
            else:
                rows = self._plan_increase(need, need_allocations, new_qty - allocated)
            if not rows:
                continue
            previous = pending_by_need.get(need.id)
            vals_list.append(
                {
                    "sale_line_id": need.id,
                    "sale_order_id": need.order_id.id,
                    "salesperson_id": need.order_id.user_id.id,
                    "product_id": need.product_id.id,
                    "product_uom_id": need.product_uom.id,
                    "company_id": need.company_id.id,
                    "old_qty": previous.old_qty if previous else before[need.id],
                    "new_qty": new_qty,
                    "allocated_qty": allocated,
                }
            )
            rows_list.append(rows)
        # a newer change replaces the pending proposal of the same need
        pending._unlink_changes()
        changes = Change._create_changes(vals_list)
        self.env["backops.demand.change.line"].sudo()._create_rows(
            [
                dict(row, change_id=change.id, sequence=sequence)
                for change, rows in zip(changes, rows_list, strict=True)
                for sequence, row in enumerate(rows)
            ]
        )
        changes._notify_buyers()
        return changes.with_env(self.env)

    @api.model
    def _row_vals(self, allocation, change_qty):
        """A row changing ``allocation`` by ``change_qty`` (in the need's unit, signed)."""
        line = allocation.purchase_line_id
        need = allocation.sale_line_id
        line_change = need.product_uom._compute_quantity(change_qty, line.product_uom, round=False)
        proposed = float_round(
            max(line.product_qty + line_change, 0.0), precision_rounding=line.product_uom.rounding, rounding_method="UP"
        )
        return {
            "purchase_line_id": line.id,
            "purchase_order_id": line.order_id.id,
            "partner_id": line.order_id.partner_id.id,
            "product_uom_id": line.product_uom.id,
            "current_qty": line.product_qty,
            "proposed_qty": proposed,
            "current_allocation_qty": allocation.quantity,
            "allocation_qty": max(allocation.quantity + change_qty, 0.0),
            "needs_vendor_confirmation": line.order_id.state in ("purchase", "done"),
        }

    @api.model
    def _plan_decrease(self, need, allocations, quantity):
        """Take ``quantity`` off the need's allocations: drafts before sent RFQs,
        then RFQs waiting for approval, confirmed purchase orders last; among them the
        latest or the most expensive first (the company's policy). Locked orders no
        longer change, and no line goes below what it received."""
        policy = need.company_id.backops_demand_decrease_policy or "latest"
        company = need.company_id

        def unit_price(allocation):
            line = allocation.purchase_line_id
            price = line.currency_id._convert(
                line.price_unit, company.currency_id, company, line.order_id.date_order or fields.Date.today()
            )
            return line.product_uom._compute_price(price, need.product_uom)

        def key(allocation):
            order = allocation.purchase_order_id
            rank = DECREASE_STATE_RANK.get(order.state, 9)
            if policy == "expensive":
                return (rank, -unit_price(allocation), -order.id)
            return (rank, -(order.date_order or fields.Datetime.now()).timestamp(), -order.id)

        rounding = need.product_uom.rounding
        rows = []
        for allocation in sorted(
            allocations.filtered(lambda a: a.purchase_order_id.state in DECREASE_STATE_RANK), key=key
        ):
            if float_compare(quantity, 0.0, precision_rounding=rounding) <= 0:
                break
            line = allocation.purchase_line_id
            # what was received is there: a line never goes below it
            open_qty = line.product_uom._compute_quantity(
                max(line.product_qty - line.qty_received, 0.0), need.product_uom, round=False
            )
            taken = min(allocation.quantity, quantity, open_qty)
            if float_compare(taken, 0.0, precision_rounding=rounding) <= 0:
                continue
            quantity -= taken
            rows.append(self._row_vals(allocation, -taken))
        return rows

    @api.model
    def _plan_increase(self, need, allocations, quantity):
        """Put ``quantity`` more on the draft RFQ of the need's vendor that covers it,
        else on a new RFQ to that vendor."""
        vendor = need.procurement_vendor_id
        if not vendor and allocations:
            vendor = allocations.sorted(lambda a: a.purchase_order_id.id)[-1].partner_id
        drafts = allocations.filtered(
            lambda a: (
                a.purchase_order_id.state == "draft"
                and a.partner_id.commercial_partner_id == vendor.commercial_partner_id
            )
        )
        if drafts:
            return [self._row_vals(drafts.sorted(lambda a: a.purchase_order_id.id)[-1], quantity)]
        uom = need.product_id.uom_po_id
        return [
            {
                "partner_id": vendor.id,
                "product_uom_id": uom.id,
                "current_qty": 0.0,
                "proposed_qty": float_round(
                    need.product_uom._compute_quantity(quantity, uom, round=False),
                    precision_rounding=uom.rounding,
                    rounding_method="UP",
                ),
                "current_allocation_qty": 0.0,
                "allocation_qty": quantity,
            }
        ]

    # ------------------------------------------------------------------
    # Telling the buyers
    # ------------------------------------------------------------------
    def _notify_buyers(self):
        """One activity per RFQ/PO covering the changed needs, for its buyer, unless
        one is still open there: constant work per batch."""
        orders = self.line_ids.purchase_order_id
        if not orders:
            return
        activity_type = self.env.ref("backops_procurement.mail_activity_demand_change")
        Activity = self.env["mail.activity"].sudo()
        open_on = set(
            Activity.search(
                [
                    ("res_model", "=", "purchase.order"),
                    ("res_id", "in", orders.ids),
                    ("activity_type_id", "=", activity_type.id),
                ]
            ).mapped("res_id")
        )
        sale_orders = defaultdict(set)
        for row in self.line_ids.filtered("purchase_order_id"):
            sale_orders[row.purchase_order_id].add(row.change_id.sale_order_id.name or "")
        model_id = self.env["ir.model"]._get_id("purchase.order")
        Activity.with_context(mail_activity_quick_update=True).create(
            [
                {
                    "res_model_id": model_id,
                    "res_id": order.id,
                    "activity_type_id": activity_type.id,
                    "user_id": order.user_id.id or self.env.uid,
                    "summary": self.env._("Customer quantities changed: review the demand changes"),
                    "note": self.env._(
                        "Needs of %(orders)s changed; Procurement → Demand Changes proposes how this order follows.",
                        orders=", ".join(sorted(sale_orders[order])),
                    ),
                    "date_deadline": fields.Date.context_today(self),
                }
                for order in orders
                if order.id not in open_on
            ]
        )
