from collections import defaultdict

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import float_compare, float_is_zero, is_html_empty

from ..tools import check_not_derived

BACKOPS_STATUSES = [
    ("draft", "Draft"),
    ("sent", "Sent"),
    ("ordered", "Ordered"),
    ("partial", "Received Partial"),
    ("fulfilled", "Received Full"),
    ("cancel", "Canceled"),
]
# Odoo's receipt status (purchase_stock) -> the BackOps status of a confirmed order
RECEIPT_STATUSES = {"pending": "ordered", "partial": "partial", "full": "fulfilled"}
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
        help="Derived from Odoo's state and receipt status: Draft, Sent, Ordered "
        "(confirmed), Received Partial, Received Full (every receipt done), Canceled. "
        "Orders without receipts (services) follow the quantities received.",
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
        "receipt_status",
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
            elif order.receipt_status:
                # Odoo's own receipt status wherever the order has receipts
                order.backops_status = RECEIPT_STATUSES[order.receipt_status]
            else:
                lines = order.order_line.filtered(
                    lambda line: not line.display_type and not line.is_downpayment and line.product_id
                )
                received = [(line.qty_received, line.product_qty, line.product_uom.rounding or 0.01) for line in lines]
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
                    self.env._("%(order)s: the delivery window ends before it starts.", order=order.name)
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
        res = super()._activity_cancel_on_sale()
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
        return res

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_open_line_item_editor(self):
        self.ensure_one()
        self._check_procurement_editable()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Line Item Editor: %(order)s", order=self.name),
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
    # Allocating needs (the allocation model does it; this is the public entry point)
    # ------------------------------------------------------------------
    def _backops_is_locked(self):
        """Whether Odoo locked the order (done): its lines no longer change. The one
        place that knows how a locked order looks (a flag in Odoo 19)."""
        self.ensure_one()
        return self.state == "done"

    def _backops_takes_needs(self):
        """Whether needs may be allocated to this order's lines: Odoo still lets them change."""
        self.ensure_one()
        return self.state in EDITABLE_STATES and not self._backops_is_locked()

    def _check_procurement_editable(self):
        for order in self:
            if not order._backops_takes_needs():
                raise UserError(
                    self.env._(
                        "%(order)s is %(state)s: its lines can no longer change.",
                        order=order.name,
                        state=dict(order._fields["state"]._description_selection(self.env))[order.state],
                    )
                )

    @api.model
    def _allocate_procurement_needs(self, plan):
        """Set how much of each need each RFQ covers: ``plan`` maps RFQs to ``{sale
        order line: quantity}`` (see ``backops.procurement.allocation._allocate``)."""
        return self.env["backops.procurement.allocation"]._allocate(plan)

    def _get_procurement_line(self, product):
        """The line of this RFQ that takes needs for ``product`` allocated by buyers:
        one that Odoo did not create for a sale (make-to-order, dropship)."""
        self.ensure_one()
        return self.order_line.filtered(
            lambda line: (
                line.product_id == product
                and not line.display_type
                and not line.sale_line_id
                and not line.move_dest_ids
                and line.product_uom == product.uom_po_id
            )
        )[:1]

    # ------------------------------------------------------------------
    # CRUD: what allocations depend on stays consistent
    # ------------------------------------------------------------------
    @api.model_create_multi
    def create(self, vals_list):
        check_not_derived(self, vals_list, ("backops_status",))
        return super().create(vals_list)

    def write(self, vals):
        check_not_derived(self, [vals], ("backops_status",))
        reopened = self.filtered(lambda order: order.state == "cancel")
        companies = {order.id: order.company_id for order in self}
        res = super().write(vals)
        # an order moved to another company takes its lines along: its allocations
        # would cross companies
        moved = self.filtered(lambda order: companies[order.id] != order.company_id)
        if moved:
            moved.order_line.procurement_allocation_ids._check_companies()
        # a cancelled order set back to draft counts its allocations again: Block
        # Over-Ordering decides as if they were made now
        reopened = reopened.filtered(lambda order: order.state != "cancel")
        if reopened:
            reopened.order_line.procurement_allocation_ids._check_over_ordering()
        return res
