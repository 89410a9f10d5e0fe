from collections import defaultdict

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL, float_compare, float_is_zero, float_round

DEMAND_CHANGE_STATES = [
    ("proposed", "Proposed"),
    ("applied", "Applied"),
    ("dismissed", "Dismissed"),
]


class DemandChange(models.Model):
    """A proposal, made when the quantity of a need covered by RFQs/POs changes, of
    how each RFQ or PO line covering it should change (``line_ids``). Buyers apply it
    (``action_apply``: through the allocation service and its rules, the approval
    gate included) or dismiss it; salespeople read the proposals of their orders.
    The proposals are made by ``_propose_demand_changes`` (demand_change_planner.py)."""

    _name = "backops.demand.change"
    _description = "Demand Change"
    _order = "id desc"
    _check_company_auto = True
    _rec_names_search = ["sale_order_id", "product_id"]

    sale_line_id = fields.Many2one(
        "sale.order.line",
        string="Need",
        index=True,
        readonly=True,
        ondelete="set null",
        help="Empty once the sale line was removed: the proposal still shrinks the RFQ lines that covered it.",
    )
    # stored copies, not related fields: they stay when the need is removed
    sale_order_id = fields.Many2one("sale.order", index=True, readonly=True, ondelete="set null")
    salesperson_id = fields.Many2one("res.users", index=True, readonly=True)
    product_id = fields.Many2one("product.product", required=True, readonly=True)
    product_uom_id = fields.Many2one("uom.uom", string="Unit", required=True, readonly=True)
    company_id = fields.Many2one("res.company", required=True, index=True, readonly=True)
    old_qty = fields.Float(
        string="Old Quantity",
        digits="Product Unit of Measure",
        readonly=True,
        help="What the need asked for when its RFQs/POs were last planned.",
    )
    new_qty = fields.Float(
        string="New Quantity",
        digits="Product Unit of Measure",
        readonly=True,
        help="What the need asks for now (0 once its sale is cancelled or the line removed).",
    )
    allocated_qty = fields.Float(
        string="On Order",
        digits="Product Unit of Measure",
        readonly=True,
        help="What RFQs/POs covered of the need when the proposal was made.",
    )
    state = fields.Selection(DEMAND_CHANGE_STATES, default="proposed", required=True, readonly=True, index=True)
    line_ids = fields.One2many("backops.demand.change.line", "change_id", string="Changes", readonly=True)
    needs_vendor_confirmation = fields.Boolean(
        compute="_compute_needs_vendor_confirmation",
        help="Changes a confirmed purchase order: the vendor must agree.",
    )
    applied_uid = fields.Many2one("res.users", string="Applied/Dismissed By", readonly=True)
    applied_date = fields.Datetime(string="Applied/Dismissed On", readonly=True)

    @api.depends("line_ids.needs_vendor_confirmation")
    def _compute_needs_vendor_confirmation(self):
        for change in self:
            change.needs_vendor_confirmation = any(change.line_ids.mapped("needs_vendor_confirmation"))

    @api.depends("sale_order_id", "product_id", "old_qty", "new_qty")
    def _compute_display_name(self):
        for change in self:
            # sudo: the sale order's name only (a buyer may no longer read a cancelled order)
            change.display_name = self.env._(
                "%(order)s · %(product)s: %(old)s → %(new)s",
                order=change.sudo().sale_order_id.name or "",
                product=change.product_id.display_name or "",
                old=change.old_qty,
                new=change.new_qty,
            )

    # ------------------------------------------------------------------
    # CRUD: proposals are made by the planner only
    # ------------------------------------------------------------------
    @api.model_create_multi
    def create(self, vals_list):  # pylint: disable=method-required-super
        raise UserError(self.env._("Demand changes are proposed by BackOps when a need's quantity changes."))

    def write(self, vals):  # pylint: disable=method-required-super
        # whoever may not even write it (another company, a salesperson) is refused as such
        self.check_access("write")
        raise UserError(self.env._("A demand change is applied or dismissed, not edited."))

    def unlink(self):  # pylint: disable=method-required-super
        raise UserError(self.env._("A demand change is dismissed, not deleted."))

    @api.model
    def _create_changes(self, vals_list):
        return super().create(vals_list)

    def _write_changes(self, vals):
        return super().write(vals)

    def _unlink_changes(self):
        return super().unlink()

    # ------------------------------------------------------------------
    # The one gate of applying and dismissing
    # ------------------------------------------------------------------
    def _check_can_decide(self, verb):
        """Buyers decide demand changes: refuse anyone else, and anything but pending
        proposals, before anything is written. The proposals are locked first, so that
        two transactions cannot both decide one."""
        if not self.env.su and not self.env.user.has_group("purchase.group_purchase_user"):
            raise AccessError(self.env._("Only purchasing users can %(verb)s demand changes.", verb=verb))
        self.check_access("read")
        if not self:
            return
        self.env.cr.execute(
            SQL(
                "SELECT id FROM backops_demand_change WHERE id = ANY(%s) ORDER BY id FOR NO KEY UPDATE",
                sorted(self.ids),
            )
        )
        self.invalidate_recordset(["state"])
        decided = self.filtered(lambda change: change.state != "proposed")
        if decided:
            change = decided[0]
            raise UserError(
                self.env._(
                    "%(change)s is already %(state)s: only a proposed change can be applied or dismissed.",
                    change=change.display_name,
                    state=dict(change._fields["state"]._description_selection(self.env))[change.state],
                )
            )

    def action_dismiss(self):
        self._check_can_decide(self.env._("dismiss"))
        # sudo: the buyer decided (checked above); the record is not editable by hand
        self.sudo()._write_changes(
            {"state": "dismissed", "applied_uid": self.env.uid, "applied_date": fields.Datetime.now()}
        )
        self._close_activities()
        return True

    def action_apply(self):
        """Change the RFQ/PO lines as proposed, for one or many proposals at once:
        allocations first lowered, lines resized by this need's share only, new RFQs
        for what no covering RFQ could take. Everything goes through the allocation
        service (``_allocate``), so its rules and the approval gate decide; lines
        left at zero are removed and RFQs left empty cancelled, their chatter saying
        why. Confirmed purchase orders get a message asking for the vendor's
        confirmation."""
        self._check_can_decide(self.env._("apply"))
        rows = self.line_ids
        rows.purchase_line_id.check_access("write")
        Allocation = self.env["backops.procurement.allocation"]
        needs = self.sale_line_id
        current = {
            (allocation.sale_line_id.id, allocation.purchase_line_id.id): allocation
            for allocation in Allocation.search(
                [("sale_line_id", "in", needs.ids), ("purchase_line_id", "in", rows.purchase_line_id.ids)]
            )
        }
        for row in rows.filtered("purchase_line_id"):
            need = row.change_id.sale_line_id
            if not need:
                continue
            allocation = current.get((need.id, row.purchase_line_id.id))
            quantity = allocation.quantity if allocation else 0.0
            if float_compare(quantity, row.current_allocation_qty, precision_rounding=need.product_uom.rounding):
                raise UserError(
                    self.env._(
                        "%(change)s is out of date: %(order)s now covers %(qty)s %(uom)s of the need, not %(was)s. "
                        "Dismiss it; the next change of the need proposes again.",
                        change=row.change_id.display_name,
                        order=row.purchase_order_id.name,
                        qty=quantity,
                        was=row.current_allocation_qty,
                        uom=need.product_uom.name,
                    )
                )
        missing_vendor = rows.filtered(lambda row: not row.purchase_line_id and not row.partner_id)
        if missing_vendor:
            raise UserError(
                self.env._(
                    "%(change)s: choose the vendor of the new RFQ first.",
                    change=missing_vendor[0].change_id.display_name,
                )
            )
        gone = rows.filtered(lambda row: row.purchase_order_id and not row.purchase_line_id)
        if gone:
            raise UserError(
                self.env._(
                    "%(change)s is out of date: a line of %(order)s it changes was removed. Dismiss it.",
                    change=gone[0].change_id.display_name,
                    order=gone[0].purchase_order_id.name,
                )
            )

        # new RFQs: one per company and vendor for the whole batch
        new_rows = rows.filtered(lambda row: not row.purchase_line_id)
        vendors = defaultdict(list)
        for row in new_rows:
            vendors[(row.company_id.id, row.partner_id.id)].append(row)
        PurchaseOrder = self.env["purchase.order"]
        new_orders = PurchaseOrder.create(
            [
                {
                    "partner_id": partner_id,
                    "company_id": company_id,
                    "origin": ", ".join(
                        dict.fromkeys(row.change_id.sale_order_id.name for row in items if row.change_id.sale_order_id)
                    ),
                }
                for (company_id, partner_id), items in vendors.items()
            ]
        )
        order_of_row = {}
        for order, items in zip(new_orders, vendors.values(), strict=True):
            for row in items:
                order_of_row[row] = order

        plan = defaultdict(dict)
        direct = {}  # purchase line -> new quantity, for needs that were removed
        for row in rows:
            need = row.change_id.sale_line_id
            if not need:
                if row.purchase_line_id:
                    line = row.purchase_line_id
                    direct[line] = direct.get(line, line.product_qty) - (row.current_qty - row.proposed_qty)
                continue
            order = order_of_row.get(row) or row.purchase_line_id.order_id
            plan[order][need] = plan[order].get(need, 0.0) + row.allocation_qty
        lines_before = rows.purchase_line_id
        orders_before = rows.purchase_order_id
        line_of_row = {row.id: row.purchase_line_id.id for row in rows}
        Allocation._allocate(dict(plan))
        self._shrink_lines(direct)
        removed = set((lines_before - lines_before.exists()).ids)
        self._post_line_messages(rows, {row_id for row_id, line_id in line_of_row.items() if line_id in removed})
        self._cancel_emptied_orders(orders_before)
        for row, order in order_of_row.items():
            row.sudo().write(
                {
                    "purchase_order_id": order.id,
                    "purchase_line_id": order._get_procurement_line(row.change_id.product_id).id,
                }
            )
        # sudo: the buyer decided (checked above); the record is not editable by hand
        self.sudo()._write_changes(
            {"state": "applied", "applied_uid": self.env.uid, "applied_date": fields.Datetime.now()}
        )
        self._close_activities()
        return True

    @api.model
    def _shrink_lines(self, quantities):
        """Lines that covered removed needs lose their share: removed when nothing is
        left on them and their RFQ still changes freely, else resized."""
        to_unlink = self.env["purchase.order.line"]
        for line, quantity in quantities.items():
            quantity = float_round(
                max(quantity, 0.0), precision_rounding=line.product_uom.rounding, rounding_method="UP"
            )
            if (
                float_is_zero(quantity, precision_rounding=line.product_uom.rounding)
                and line.state in ("draft", "sent", "to approve")
                and not line.procurement_allocation_ids
            ):
                to_unlink |= line
            else:
                line.product_qty = quantity
        to_unlink.unlink()

    def _post_line_messages(self, rows, removed):
        """One message per RFQ/PO changed, saying which customer change it follows.
        ``removed``: ids of the rows whose line was removed."""
        by_order = defaultdict(list)
        for row in rows:
            by_order[row.purchase_order_id].append(row)
        for order, items in by_order.items():
            order = order.exists()
            if not order:
                continue
            body = self.env["ir.qweb"]._render(
                "backops_procurement.message_demand_change_applied",
                {
                    # sudo: names and quantities of what the buyer just applied
                    "rows": [row.sudo() for row in items],
                    "removed": removed,
                    "confirmed": order.state in ("purchase", "done"),
                },
            )
            order.message_post(body=body, subtype_xmlid="mail.mt_note")

    def _cancel_emptied_orders(self, orders):
        """RFQs left without anything to order are cancelled, saying why."""
        emptied = orders.exists().filtered(
            lambda order: (
                order.state in ("draft", "sent")
                and not order.order_line.filtered(lambda line: not line.display_type and line.product_qty)
            )
        )
        for order in emptied:
            order.message_post(
                body=self.env._("Cancelled: the customers' changes left nothing to order on this RFQ."),
                subtype_xmlid="mail.mt_note",
            )
        emptied.button_cancel()

    def _close_activities(self):
        """The activities telling buyers of pending changes are done once no change
        is pending on their RFQ/PO."""
        orders = self.line_ids.purchase_order_id
        if not orders:
            return
        activity_type = self.env.ref("backops_procurement.mail_activity_demand_change")
        # sudo: activities are the buyers'; only those of this type on these orders
        pending_orders = {
            order.id
            for [order] in self.env["backops.demand.change.line"]
            .sudo()
            ._read_group(
                [("purchase_order_id", "in", orders.ids), ("change_id.state", "=", "proposed")], ["purchase_order_id"]
            )
        }
        activities = (
            self.env["mail.activity"]
            .sudo()
            .search(
                [
                    ("res_model", "=", "purchase.order"),
                    ("res_id", "in", [order_id for order_id in orders.ids if order_id not in pending_orders]),
                    ("activity_type_id", "=", activity_type.id),
                ]
            )
        )
        activities.action_feedback(feedback=self.env._("Demand changes decided."))

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_view_purchase_orders(self):
        return self.line_ids.purchase_order_id._get_records_action(name=self.env._("RFQs & Orders"))
