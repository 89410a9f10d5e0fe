from collections import defaultdict
from datetime import timedelta

from odoo import Command, _, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import float_compare, float_is_zero, float_round, is_html_empty

BACKOPS_STATUSES = [
    ("draft", "Draft"),
    ("sent", "Sent"),
    ("ordered", "Ordered"),
    ("partial", "Partially Received"),
    ("fulfilled", "Fulfilled"),
    ("cancel", "Canceled"),
]
# states in which Odoo lets the lines of a purchase order change
EDITABLE_STATES = ("draft", "sent", "to approve", "purchase")


class PurchaseOrder(models.Model):
    _inherit = "purchase.order"

    # ------------------------------------------------------------------
    # The RFQ document: delivery or pickup, bill to, notes
    # ------------------------------------------------------------------
    delivery_mode = fields.Selection(
        [("delivery", "Delivery"), ("pickup", "Pickup")],
        string="Delivery or Pickup",
        default="delivery",
        required=True,
        help="Delivery: the vendor brings the goods to the address below. "
        "Pickup: your team collects them at the address below.",
    )
    delivery_address_id = fields.Many2one(
        "res.partner",
        string="Delivery/Pickup Address",
        compute="_compute_delivery_address_id",
        store=True,
        readonly=False,
        help="Where the goods are delivered, or picked up. By default the receiving "
        "warehouse (or the dropship address) for a delivery, the vendor for a pickup.",
    )
    delivery_window_start = fields.Datetime(string="Window From")
    delivery_window_end = fields.Datetime(string="Window To")
    delivery_contact_id = fields.Many2one(
        "res.partner", string="Contact on Site", help="Who meets the vendor, or the pickup driver."
    )
    delivery_instructions = fields.Text(string="Delivery/Pickup Instructions")
    bill_to_id = fields.Many2one(
        "res.partner",
        string="Bill To",
        compute="_compute_bill_to_id",
        store=True,
        readonly=False,
        help="Who the vendor invoices; the company by default.",
    )
    rfq_notes = fields.Html(string="Notes Shown on the RFQ", sanitize_style=True)
    backops_status = fields.Selection(
        BACKOPS_STATUSES,
        string="BackOps Status",
        compute="_compute_backops_status",
        store=True,
        index=True,
        help="Derived from Odoo's state and the quantities received: Draft, Sent, "
        "Ordered (confirmed), Partially Received, Fulfilled (everything received), Canceled.",
    )

    # ------------------------------------------------------------------
    # Approval tiers
    # ------------------------------------------------------------------
    backops_approval_request_ids = fields.One2many(
        "backops.approval.request", "purchase_order_id", string="Approvals", copy=False
    )
    backops_uses_approval_tiers = fields.Boolean(related="company_id.backops_has_approval_tiers")
    backops_next_approval_id = fields.Many2one(
        "backops.approval.request", string="Next Approval", compute="_compute_backops_next_approval"
    )
    backops_can_approve = fields.Boolean(compute="_compute_backops_next_approval")
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

    @api.depends("backops_approval_request_ids.is_next")
    @api.depends_context("uid")
    def _compute_backops_next_approval(self):
        for order in self:
            request = order.backops_approval_request_ids.filtered("is_next")[:1]
            order.backops_next_approval_id = request
            order.backops_can_approve = bool(request) and request.tier_id._is_approver(self.env.user)

    @api.depends("delivery_mode", "partner_id", "dest_address_id", "picking_type_id", "company_id")
    def _compute_delivery_address_id(self):
        for order in self:
            if order.delivery_mode == "pickup":
                order.delivery_address_id = order.partner_id
            else:
                order.delivery_address_id = (
                    order.dest_address_id
                    or order.picking_type_id.warehouse_id.partner_id
                    or order.company_id.partner_id
                )

    @api.depends("company_id")
    def _compute_bill_to_id(self):
        for order in self:
            order.bill_to_id = order.company_id.partner_id

    @api.depends(
        "state",
        "order_line.qty_received",
        "order_line.product_qty",
        "order_line.display_type",
        "order_line.is_downpayment",
    )
    def _compute_backops_status(self):
        for order in self:
            if order.state == "cancel":
                order.backops_status = "cancel"
            elif order.state in ("draft", "to approve"):
                order.backops_status = "draft"
            elif order.state == "sent":
                order.backops_status = "sent"
            else:
                lines = order.order_line.filtered(
                    lambda line: not line.display_type and not line.is_downpayment and line.product_id
                )
                received = [
                    (line.qty_received, line.product_qty, line.product_uom.rounding or 0.01) for line in lines
                ]
                if received and all(
                    float_compare(done, ordered, precision_rounding=rounding) >= 0
                    for done, ordered, rounding in received
                ):
                    order.backops_status = "fulfilled"
                elif any(not float_is_zero(done, precision_rounding=rounding) for done, _o, rounding in received):
                    order.backops_status = "partial"
                else:
                    order.backops_status = "ordered"

    @api.constrains("delivery_window_start", "delivery_window_end")
    def _check_delivery_window(self):
        for order in self:
            if (
                order.delivery_window_start
                and order.delivery_window_end
                and order.delivery_window_end < order.delivery_window_start
            ):
                raise ValidationError(
                    _("%(order)s: the delivery window ends before it starts.", order=order.name)
                )

    def _has_backops_rfq_details(self):
        """Whether the printed RFQ/PO shows the BackOps blocks: only for orders that
        cover needs or where the buyer filled them in, so that Odoo's own documents
        stay as they are."""
        self.ensure_one()
        return bool(
            self.order_line.procurement_allocation_ids
            or self.delivery_mode == "pickup"
            or self.delivery_window_start
            or self.delivery_window_end
            or self.delivery_contact_id
            or self.delivery_instructions
            or not is_html_empty(self.rfq_notes)
            or self.bill_to_id != self.company_id.partner_id
        )

    def _get_procurement_coverage(self):
        """{purchase line: [(sale order, section, quantity, unit)]} for the report."""
        coverage = defaultdict(list)
        for allocation in self.order_line.procurement_allocation_ids:
            coverage[allocation.purchase_line_id].append(
                (
                    allocation.sale_order_id,
                    allocation.sale_line_id.procurement_section,
                    allocation.quantity,
                    allocation.product_uom,
                )
            )
        return coverage

    # ------------------------------------------------------------------
    # Sale orders whose needs the order covers (extends sale_purchase)
    # ------------------------------------------------------------------
    @api.depends("order_line.procurement_allocation_ids.sale_order_id")
    def _compute_sale_order_count(self):
        return super()._compute_sale_order_count()

    def _get_sale_orders(self):
        return super()._get_sale_orders() | self.order_line.procurement_allocation_ids.sale_order_id

    def _activity_cancel_on_sale(self):
        """Tell salespeople when an RFQ/PO covering their needs is cancelled, as Odoo
        does for the purchase lines it generated for their orders."""
        super()._activity_cancel_on_sale()
        lines_by_sale_order = defaultdict(lambda: self.env["purchase.order.line"])
        for line in self.order_line:
            for allocation in line.procurement_allocation_ids:
                sale_order = allocation.sale_order_id
                # Odoo already warned the order its own line came from
                if allocation.is_automatic or line.sale_line_id.order_id == sale_order:
                    continue
                if sale_order.state != "cancel":
                    lines_by_sale_order[sale_order] |= line
        for sale_order, purchase_lines in lines_by_sale_order.items():
            sale_order._activity_schedule_with_view(
                "mail.mail_activity_data_warning",
                user_id=sale_order.user_id.id or self.env.uid,
                views_or_xmlid="sale_purchase.exception_sale_on_purchase_cancellation",
                render_context={
                    "purchase_orders": purchase_lines.order_id,
                    "purchase_order_lines": purchase_lines,
                },
            )

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_open_line_item_editor(self):
        self.ensure_one()
        self._check_procurement_editable()
        return {
            "type": "ir.actions.act_window",
            "name": _("Line Item Editor: %(order)s", order=self.name),
            "res_model": "backops.line.item.editor",
            "view_mode": "form",
            "target": "new",
            "context": {"default_purchase_order_id": self.id, "dialog_size": "extra-large"},
        }

    def action_download_pdf(self):
        self.ensure_one()
        report = (
            "purchase.report_purchase_quotation"
            if self.state in ("draft", "sent")
            else "purchase.action_report_purchase_order"
        )
        return self.env.ref(report).report_action(self)

    # ------------------------------------------------------------------
    # Allocating needs: the one place that turns needs into RFQ lines
    # ------------------------------------------------------------------
    def _check_procurement_editable(self):
        for order in self:
            if order.state not in EDITABLE_STATES:
                raise UserError(
                    _(
                        "%(order)s is %(state)s: its lines can no longer change.",
                        order=order.name,
                        state=dict(order._fields["state"]._description_selection(self.env))[order.state],
                    )
                )

    @api.model
    def _allocate_procurement_needs(self, plan):
        """Set how much of each need each RFQ covers.

        ``plan`` maps RFQs (purchase.order records) to ``{sale order line: quantity}``,
        quantities in each need's unit of measure; 0 takes the need off the RFQ. The
        RFQs' lines are created or resized, one per product, in the product's purchase
        unit and priced by Odoo from the vendor's prices; allocations are created,
        changed or removed in batch. Everything is checked before anything is written.
        """
        plan = {order: quantities for order, quantities in plan.items() if quantities}
        if not plan:
            return
        orders = self.browse([order.id for order in plan])
        needs = self.env["sale.order.line"].browse(
            list({need.id for quantities in plan.values() for need in quantities})
        )
        orders.check_access("write")
        self.env["backops.procurement.allocation"].check_access("create")
        orders._check_procurement_editable()
        self._check_procurement_plan(plan)
        # no concurrent allocation of these needs gets past the checks below
        needs._lock_procurement_needs()

        Allocation = self.env["backops.procurement.allocation"]
        current = {
            (allocation.purchase_order_id.id, allocation.sale_line_id.id): allocation
            for allocation in Allocation.search(
                [("purchase_order_id", "in", orders.ids), ("sale_line_id", "in", needs.ids)]
            )
        }
        self._check_procurement_over_ordering(plan, current, needs)

        Line = self.env["purchase.order.line"]
        line_items = defaultdict(list)  # purchase line -> [(need, quantity, allocation)]
        new_lines = {}  # (order id, product id) -> [(need, quantity)]
        for order, quantities in plan.items():
            for need, quantity in quantities.items():
                allocation = current.get((order.id, need.id))
                if allocation:
                    line_items[allocation.purchase_line_id].append((need, quantity, allocation))
                    continue
                if float_is_zero(quantity, precision_rounding=need.product_uom.rounding):
                    continue
                line = order._get_procurement_line(need.product_id)
                if line:
                    line_items[line].append((need, quantity, Allocation))
                else:
                    new_lines.setdefault((order.id, need.product_id.id), []).append((need, quantity))

        # lines: new ones in one batch, existing ones resized by what changes on them
        created = Line.create(
            [
                {
                    "order_id": order_id,
                    "product_id": product_id,
                    "product_uom": items[0][0].product_id.uom_po_id.id,
                    "product_qty": self._procurement_line_quantity(
                        0.0, items[0][0].product_id.uom_po_id,
                        [(need, quantity, Allocation) for need, quantity in items],
                    ),
                }
                for (order_id, product_id), items in new_lines.items()
            ]
        )
        for line, items in zip(created, new_lines.values()):
            line_items[line] = [(need, quantity, Allocation) for need, quantity in items]

        grown, shrunk = {}, {}
        for line, items in line_items.items():
            if line in created:
                continue
            new_qty = self._procurement_line_quantity(line.product_qty, line.product_uom, items)
            comparison = float_compare(new_qty, line.product_qty, precision_rounding=line.product_uom.rounding)
            if comparison > 0:
                grown[line] = new_qty
            elif comparison < 0:
                shrunk[line] = new_qty
        for line, quantity in grown.items():
            line.product_qty = quantity

        # allocations: lower and remove first, then raise and add
        to_remove = Allocation
        lowered, raised, to_create = [], [], []
        for line, items in line_items.items():
            for need, quantity, allocation in items:
                rounding = need.product_uom.rounding
                if not allocation:
                    to_create.append({"sale_line_id": need.id, "purchase_line_id": line.id, "quantity": quantity})
                elif float_is_zero(quantity, precision_rounding=rounding):
                    to_remove |= allocation
                else:
                    comparison = float_compare(quantity, allocation.quantity, precision_rounding=rounding)
                    if comparison < 0:
                        lowered.append((allocation, quantity))
                    elif comparison > 0:
                        raised.append((allocation, quantity))
        to_remove.unlink()
        for allocation, quantity in lowered + raised:
            allocation.quantity = quantity
        Allocation.create(to_create)

        # lines that shrink, and lines of an RFQ left without anything to order
        to_unlink = Line
        for line, quantity in shrunk.items():
            if (
                float_is_zero(quantity, precision_rounding=line.product_uom.rounding)
                and line.state in ("draft", "sent", "to approve")
                and not line.procurement_allocation_ids
            ):
                to_unlink |= line
            else:
                line.product_qty = quantity
        to_unlink.unlink()

        # the RFQ's source document names the sale orders it now serves, as Odoo's
        # make-to-order RFQs do
        for order, quantities in plan.items():
            sources = (order.origin or "").split(", ") if order.origin else []
            missing = [
                name
                for name in dict.fromkeys(need.order_id.name for need, quantity in quantities.items() if quantity)
                if name not in sources
            ]
            if missing:
                order.origin = ", ".join(sources + missing)

    def _get_procurement_line(self, product):
        """The line of this RFQ that takes needs for ``product`` allocated by buyers:
        one that Odoo did not create for a sale (make-to-order, dropship)."""
        self.ensure_one()
        return self.order_line.filtered(
            lambda line: line.product_id == product
            and not line.display_type
            and not line.sale_line_id
            and not line.move_dest_ids
            and line.product_uom == product.uom_po_id
        )[:1]

    @api.model
    def _procurement_line_quantity(self, line_qty, line_uom, items):
        """New quantity of a purchase line in ``line_uom`` once ``items``, a list of
        (need, new quantity, current allocation), are applied: what is not allocated
        on the line (bought for stock) stays, rounded up to the unit."""
        delta = 0.0
        for need, quantity, allocation in items:
            delta += need.product_uom._compute_quantity(quantity, line_uom, round=False)
            if allocation:
                delta -= allocation.purchase_uom_qty
        return float_round(max(line_qty + delta, 0.0), precision_rounding=line_uom.rounding, rounding_method="UP")

    @api.model
    def _check_procurement_plan(self, plan):
        for order, quantities in plan.items():
            for need, quantity in quantities.items():
                if float_compare(quantity, 0.0, precision_rounding=need.product_uom.rounding or 0.01) < 0:
                    raise UserError(
                        _(
                            "%(need)s: a quantity to order cannot be negative (%(qty)s).",
                            need=need._procurement_label(),
                            qty=quantity,
                        )
                    )
                if need.company_id != order.company_id:
                    raise UserError(
                        _(
                            "%(need)s belongs to %(need_company)s; %(order)s is an RFQ of %(company)s.",
                            need=need._procurement_label(),
                            need_company=need.company_id.name,
                            order=order.name,
                            company=order.company_id.name,
                        )
                    )
                if quantity and not need._is_procurement_need():
                    raise UserError(
                        _(
                            "%(need)s is not a need: its sale order is not confirmed, or its "
                            "product is not subject to procurement.",
                            need=need._procurement_label(),
                        )
                    )

    @api.model
    def _check_procurement_over_ordering(self, plan, current, needs):
        """With Block Over-Ordering, refuse a plan that would put a need in Excess."""
        blocking = self.browse([order.id for order in plan]).company_id.filtered("backops_block_over_ordering")
        if not blocking:
            return
        needs.invalidate_recordset(["procurement_allocated_qty"])
        totals = {need.id: need.procurement_allocated_qty for need in needs}
        for order, quantities in plan.items():
            if order.company_id not in blocking:
                continue
            for need, quantity in quantities.items():
                allocation = current.get((order.id, need.id))
                totals[need.id] += quantity - (allocation.quantity if allocation else 0.0)
        for need in needs:
            if need.company_id not in blocking:
                continue
            if float_compare(totals[need.id], need.product_uom_qty, precision_rounding=need.product_uom.rounding) > 0:
                raise UserError(
                    _(
                        "%(need_label)s needs %(need)s %(uom)s; this would put %(total)s "
                        "%(uom)s on order (Excess). Block Over-Ordering is on for %(company)s.",
                        need_label=need._procurement_label(),
                        need=need.product_uom_qty,
                        total=totals[need.id],
                        uom=need.product_uom.name,
                        company=need.company_id.name,
                    )
                )

    # ------------------------------------------------------------------
    # Approval tiers: the one gate, ``_approval_allowed``
    # ------------------------------------------------------------------
    def _approval_allowed(self):
        """With approval tiers, an order may be confirmed once every tier its amount
        reaches has approved it; Odoo's own double validation is not used then."""
        self.ensure_one()
        if not self.company_id.backops_has_approval_tiers:
            return super()._approval_allowed()
        return self.backops_approval_allowed

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
        """Amounts compared with the tiers, orders added up and the tiers still to
        approve, for all the orders at once (one search for the orders added up)."""
        tiered = self.filtered(lambda order: order.company_id.backops_has_approval_tiers and order.id)
        own = {order.id: order._backops_amount_in_company_currency() for order in tiered}
        split = tiered._backops_split_orders()
        for order in self:
            if order not in tiered:
                order.backops_order_amount = order.backops_approval_amount = 0.0
                order.backops_split_order_ids = False
                order.backops_missing_tier_ids = False
                order.backops_approval_allowed = True
                continue
            related = split.get(order.id, self.browse())
            total = own[order.id] + sum(
                other._backops_amount_in_company_currency() for other in related
            )
            approved = order.backops_approval_request_ids.filtered(lambda r: r.state == "approved").tier_id
            missing = order._backops_applicable_tiers(total) - approved
            order.backops_order_amount = own[order.id]
            order.backops_approval_amount = total
            order.backops_split_order_ids = related
            order.backops_missing_tier_ids = missing
            order.backops_approval_allowed = not missing

    def _backops_amount_in_company_currency(self):
        """This order's amount compared with the tiers: untaxed or tax included as the
        company chose, converted at the order date with the order's own company."""
        self.ensure_one()
        company = self.company_id
        amount = self.amount_total if company.backops_approval_amount_base == "total" else self.amount_untaxed
        return self.currency_id._convert(
            amount, company.currency_id, company, self.date_order or fields.Date.context_today(self)
        )

    def _backops_split_orders(self):
        """{order id: other orders to the same vendor, for one of the same sale
        orders, dated within the company's window, confirmed or waiting approval}."""
        orders = self.filtered(
            lambda order: order.company_id.backops_approval_split_days > 0 and order.date_order
        )
        served = orders._backops_served_sale_orders()
        orders = orders.filtered(lambda order: served.get(order.id))
        if not orders:
            return {}
        widest = timedelta(days=max(orders.company_id.mapped("backops_approval_split_days")))
        candidates = self.search(
            [
                ("company_id", "in", orders.company_id.ids),
                ("partner_id", "child_of", orders.partner_id.commercial_partner_id.ids),
                ("state", "in", ("to approve", "purchase", "done")),
                ("date_order", ">=", min(orders.mapped("date_order")) - widest),
                ("date_order", "<=", max(orders.mapped("date_order")) + widest),
            ]
        )
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
            )
        return result

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

    def _backops_applicable_tiers(self, amount):
        self.ensure_one()
        currency = self.company_id.currency_id
        return self.company_id.backops_approval_tier_ids.filtered(
            lambda tier: currency.compare_amounts(amount, tier.min_amount) >= 0
        ).sorted(lambda tier: (tier.sequence, tier.min_amount, tier.id))

    # ------------------------------------------------------------------
    # Approval tiers: asking, approving, rejecting, voiding
    # ------------------------------------------------------------------
    def button_confirm(self):
        res = super().button_confirm()
        self.filtered(
            lambda order: order.state == "to approve"
            and order.company_id.backops_has_approval_tiers
            and not order.backops_approval_request_ids.filtered(lambda r: r.state == "pending")
        )._backops_request_approval()
        return res

    def button_approve(self, force=False):
        tiered = self.filtered(lambda order: order.company_id.backops_has_approval_tiers)
        if not tiered:
            return super().button_approve(force=force)
        waiting = tiered.filtered(
            lambda order: order.state == "to approve" and order.backops_next_approval_id
        )
        waiting._backops_approve_next_tier()
        blocked = tiered.filtered(lambda order: not order._approval_allowed())
        never_asked = blocked - waiting
        if never_asked:
            raise AccessError(
                _(
                    "%(orders)s must be approved before it is confirmed: confirm it to ask "
                    "for approval.",
                    orders=", ".join(never_asked.mapped("name")),
                )
            )
        return super(PurchaseOrder, self - blocked).button_approve(force=force)

    def _backops_request_approval(self):
        """One approval request per tier the order's amount reaches; the next
        tier's approvers are told."""
        Request = self.env["backops.approval.request"].sudo()
        now = fields.Datetime.now()
        served = self._backops_served_sale_orders()
        vals_list, bodies = [], {}
        for order in self:
            own, total, related = (
                order.backops_order_amount,
                order.backops_approval_amount,
                order.backops_split_order_ids,
            )
            tiers = order._backops_applicable_tiers(total)
            for tier in tiers:
                vals_list.append(
                    {
                        "purchase_order_id": order.id,
                        "tier_id": tier.id,
                        "sequence": tier.sequence,
                        "amount": total,
                        "order_amount": own,
                        "related_order_ids": [Command.set(related.ids)],
                        "requested_by_id": self.env.uid,
                        "requested_at": now,
                    }
                )
            bodies[order.id] = order._backops_approval_message(
                _("Approval requested"), tiers, total, related=related, served=served
            )
        # sudo: approval requests are written by these methods only, for any buyer
        Request.create(vals_list)
        self._message_log_batch(bodies=bodies)
        self._backops_schedule_approval_activities()

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
            order._backops_check_approver(order.backops_next_approval_id, user)
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

    def _backops_check_approver(self, request, user):
        self.ensure_one()
        if not request:
            raise AccessError(_("%(order)s is not waiting for an approval.", order=self.name))
        tier = request.tier_id
        if not tier._is_approver(user):
            raise AccessError(
                _(
                    "You cannot approve %(order)s: it waits for %(tier)s, approved by %(approvers)s.",
                    order=self.name,
                    tier=tier.name,
                    approvers=", ".join(tier._get_approvers().mapped("name")) or tier.group_id.full_name,
                )
            )
        if not self.company_id.backops_approval_allow_self and user in (
            self.create_uid | request.requested_by_id
        ):
            raise AccessError(
                _(
                    "You cannot approve %(order)s: you created or confirmed it, and %(company)s "
                    "does not let buyers approve their own orders.",
                    order=self.name,
                    company=self.company_id.name,
                )
            )

    def _backops_reject(self, reason):
        """Reject the next waiting tier of each order, back to draft; the buyer is told."""
        if not (reason or "").strip():
            raise UserError(_("Give the reason of the rejection."))
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
        """Void the approvals of these orders; those still to be confirmed, or
        already confirmed, must be approved again."""
        requests = self.backops_approval_request_ids.filtered(lambda r: r.state in ("pending", "approved"))
        if not requests:
            return
        # sudo: approvals are voided by the change that invalidates them, whoever makes it
        requests.sudo().write({"state": "voided", "reason": reason, "decided_at": fields.Datetime.now()})
        served = self._backops_served_sale_orders()
        title = _("Approvals voided: %(reason)s", reason=reason)
        self._message_log_batch(
            bodies={
                order.id: order._backops_approval_message(
                    title,
                    requests.filtered(lambda r, order=order: r.purchase_order_id == order).tier_id,
                    order.backops_approval_amount,
                    order.backops_split_order_ids,
                    served,
                )
                for order in requests.purchase_order_id
            }
        )
        self.activity_unlink(["backops_procurement.mail_activity_purchase_approval"])

    def _backops_check_approved_amount(self, previous=None):
        """After a change of an order waiting for approval or approved: a higher
        amount than approved, another vendor or currency voids the approvals and the
        order is approved again; a lower amount voids nothing, only requests of tiers
        it no longer reaches."""
        previous = previous or {}
        to_void = defaultdict(self.browse)  # reason -> orders
        to_reschedule = self.browse()
        for order in self.filtered(lambda o: o.company_id.backops_has_approval_tiers):
            requests = order.backops_approval_request_ids
            approved = requests.filtered(lambda r: r.state == "approved")
            pending = requests.filtered(lambda r: r.state == "pending")
            if not (approved or pending) or order.state not in ("to approve", "purchase", "done"):
                continue
            partner, currency = previous.get(order.id, (order.partner_id, order.currency_id))
            applicable = order._backops_applicable_tiers(order.backops_approval_amount)
            if partner != order.partner_id or currency != order.currency_id:
                reason = _("the vendor or the currency changed")
            elif approved and order.company_id.currency_id.compare_amounts(
                order.backops_order_amount, max(approved.mapped("order_amount"))
            ) > 0:
                reason = _("the amount went above what was approved")
            elif applicable - (approved | pending).tier_id:
                reason = _("the amount now needs more approvals")
            else:
                no_longer_needed = pending.filtered(lambda r, tiers=applicable: r.tier_id not in tiers)
                if no_longer_needed:
                    # sudo: requests follow the order's amount, whoever changes it
                    no_longer_needed.sudo().write(
                        {"state": "voided", "reason": _("the amount no longer needs this tier")}
                    )
                    to_reschedule |= order
                continue
            to_void[reason] |= order
        if to_reschedule:
            to_reschedule._backops_schedule_approval_activities()
        for reason, orders in to_void.items():
            orders._backops_void_approvals(reason)
        to_ask_again = self.browse().union(*to_void.values())
        if to_ask_again:
            to_ask_again.filtered(lambda o: o.state != "to approve").write({"state": "to approve"})
            to_ask_again._backops_request_approval()

    def _backops_recheck_approvals(self):
        """Entry point for line changes: only orders under approval tiers that are
        waiting for approval or approved are looked at."""
        orders = self.filtered(
            lambda order: order.state in ("to approve", "purchase", "done")
            and order.company_id.backops_has_approval_tiers
            and order.backops_approval_request_ids
        )
        if orders:
            orders._backops_check_approved_amount()

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
                if not order.company_id.backops_approval_allow_self and approver in (
                    order.create_uid | request.requested_by_id
                ):
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
    # CRUD: no confirmation around the tiers; changes void approvals
    # ------------------------------------------------------------------
    def write(self, vals):
        if vals.get("state") in ("purchase", "done"):
            self._backops_check_confirmation_allowed()
        previous = {}
        if "partner_id" in vals or "currency_id" in vals:
            previous = {order.id: (order.partner_id, order.currency_id) for order in self}
        res = super().write(vals)
        if vals.get("state") in ("draft", "cancel"):
            self._backops_void_approvals(
                _("the order was set back to draft") if vals["state"] == "draft" else _("the order was cancelled")
            )
        elif previous:
            self._backops_check_approved_amount(previous)
        return res

    def _backops_check_confirmation_allowed(self):
        """No order of a company with approval tiers becomes a purchase order without
        the approvals its amount needs, whatever calls ``write``."""
        for order in self:
            if (
                order.state in ("draft", "sent", "to approve")
                and order.company_id.backops_has_approval_tiers
                and not order._approval_allowed()
            ):
                raise AccessError(
                    _(
                        "%(order)s needs approval before it is confirmed (%(tiers)s).",
                        order=order.name,
                        tiers=", ".join(order.backops_missing_tier_ids.mapped("name")),
                    )
                )
