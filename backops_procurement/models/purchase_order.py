from collections import defaultdict

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError
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
