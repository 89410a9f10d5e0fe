from collections import defaultdict

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import float_compare, float_round

from ..tools import without_client_context
from .stock_move import OPEN_STATES

# the state of an order whose lines still expect goods that can be closed
CLOSABLE_STATE = "purchase"


class PurchaseOrderLine(models.Model):
    """Close Remaining: the vendor will not ship the rest of a confirmed line. The
    line's quantity comes down to what was received, through Odoo's own write
    (purchase_stock takes the rest off the open receipt), the needs it covered lose
    what will not come, latest promised first, and both sides are told."""

    _inherit = "purchase.order.line"

    backops_qty_to_close = fields.Float(
        string="To Close",
        compute="_compute_backops_qty_to_close",
        digits="Product Unit of Measure",
        help="What Close Remaining takes off the line: ordered and not received, in the "
        "line's unit, on a confirmed order.",
    )

    @api.depends("order_id.state", "display_type", "product_qty", "qty_received", "product_uom")
    def _compute_backops_qty_to_close(self):
        for line in self:
            quantity = 0.0
            if line.order_id.state == CLOSABLE_STATE and not line.display_type:
                quantity = max(
                    float_round(
                        line.product_qty - line.qty_received, precision_rounding=line.product_uom.rounding or 0.01
                    ),
                    0.0,
                )
            line.backops_qty_to_close = quantity

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_backops_close_remaining(self, reason=None):
        """Close what these lines still expect: the vendor will not ship it. Without
        a reason (the buttons), opens the wizard that asks for one; with one (RPC),
        closes the lines at once and returns a notification."""
        self = without_client_context(self)
        self._backops_check_closable()
        self._backops_check_something_to_close()
        if reason is None:
            action = self.env["ir.actions.act_window"]._for_xml_id("backops_procurement.action_close_remaining")
            action["context"] = {"active_model": self._name, "active_ids": self.ids}
            return action
        self._backops_close_remaining(reason)
        return self._backops_closed_notification({"type": "ir.actions.client", "tag": "soft_reload"})

    def _backops_closed_notification(self, next_action):
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "success",
                "message": self.env._("Closed: %(orders)s.", orders=", ".join(self.order_id.mapped("name"))),
                "next": next_action,
            },
        }

    # ------------------------------------------------------------------
    # Rules: checked for every line before anything changes
    # ------------------------------------------------------------------
    def _backops_check_closable(self):
        """Refuse, naming the first line concerned: a user without purchase rights,
        lines the user cannot read or write or of a company they are not working in,
        and lines of orders that are not confirmed (or are locked)."""
        if not self.env.su and not self.env.user.has_group("purchase.group_purchase_user"):
            raise AccessError(
                self.env._(
                    "Only Purchase users can close purchase lines (%(user)s is not one).", user=self.env.user.name
                )
            )
        if not self:
            raise UserError(self.env._("Select the purchase lines whose rest will not come."))
        if self.exists() != self:
            raise UserError(self.env._("Some of these purchase lines no longer exist: reload the list."))
        self.check_access("read")
        self.check_access("write")
        companies = self.env.companies
        states = dict(self.env["purchase.order"]._fields["state"]._description_selection(self.env))
        for line in self:
            order = line.order_id
            if line.company_id not in companies:
                raise AccessError(
                    self.env._(
                        "%(order)s is not of the companies you are working in: switch to its company first.",
                        order=order.name,
                    )
                )
            if order._backops_is_locked():
                raise UserError(
                    self.env._("%(order)s is locked: unlock it first to close what it still expects.", order=order.name)
                )
            if order.state == "cancel":
                raise UserError(
                    self.env._("%(order)s is cancelled: nothing of it is expected any more.", order=order.name)
                )
            if order.state != CLOSABLE_STATE:
                raise UserError(
                    self.env._(
                        "%(order)s is %(state)s, not confirmed: change the quantities on the RFQ itself.",
                        order=order.name,
                        state=states[order.state],
                    )
                )
            if line.display_type:
                raise UserError(self.env._("%(order)s: a section or a note expects nothing.", order=order.name))

    def _backops_check_something_to_close(self):
        for line in self:
            if float_compare(line.product_qty, line.qty_received, precision_rounding=line.product_uom.rounding) <= 0:
                raise UserError(
                    self.env._(
                        "%(order)s: %(product)s is received in full (%(received)s %(uom)s): nothing is left to close.",
                        order=line.order_id.name,
                        product=line.product_id.display_name,
                        received=line.qty_received,
                        uom=line.product_uom.name,
                    )
                )

    @api.model
    def _backops_check_close_reason(self, reason):
        if not isinstance(reason, str) or not reason.strip():
            raise UserError(self.env._("Give the reason the rest will not come: it is posted on the purchase order."))
        return reason.strip()

    # ------------------------------------------------------------------
    # Closing
    # ------------------------------------------------------------------
    def _backops_close_remaining(self, reason):
        """Close what these lines still expect, after every line is checked: the
        allocations shrink to what was received (latest promised need first), the
        open receipt moves are cancelled and each line's quantity comes down to what
        it received (Odoo's own cancel and write), the purchase orders say what was
        closed and why, and each salesperson whose need lost something gets an
        activity.
        Returns {line: quantity closed, in the line's unit}."""
        reason = self._backops_check_close_reason(reason)
        self._backops_check_closable()
        # what receiving locks first (the moves), then the needs and lines allocations
        # lock: closing and receiving or allocating the same line at once wait for
        # each other, and the checks below read what the other one wrote
        self._backops_lock_receipts()
        Allocation = self.env["backops.procurement.allocation"]
        Allocation._lock_rows(self.procurement_allocation_ids.sale_line_id, self)
        self.invalidate_recordset(["product_qty", "procurement_allocation_ids"])
        Allocation.invalidate_model()
        self._backops_check_something_to_close()

        rows = {line: (line.product_qty, line.qty_received) for line in self}
        before = self._backops_allocated_per_need()
        self._backops_shrink_allocations()
        moves_before = self.move_ids
        # the open receipt moves first, all at once with Odoo's own cancel; the
        # lines' quantities then come down to what was received and purchase_stock
        # finds nothing more to take off (a negative move per line merged into
        # each receipt otherwise, and one it cannot merge becomes a return)
        self._backops_open_incoming_moves()._action_cancel()
        for quantity, lines in self._backops_group_by_received().items():
            lines.write({"product_qty": quantity})
        self._backops_cancel_open_receipts(moves_before)

        after = self._backops_allocated_per_need()
        lost = {
            key: quantity - after.get(key, 0.0)
            for key, quantity in before.items()
            if float_compare(quantity, after.get(key, 0.0), precision_rounding=key[1].product_uom.rounding) > 0
        }
        self._backops_post_closed(rows, lost, reason)
        self._backops_notify_needs_closed(lost, reason)
        return {line: ordered - received for line, (ordered, received) in rows.items()}

    def _backops_allocated_per_need(self):
        """{(line, need): quantity allocated, in the need's unit} of these lines."""
        allocated = defaultdict(float)
        for allocation in self.procurement_allocation_ids:
            allocated[(allocation.purchase_line_id, allocation.sale_line_id)] += allocation.quantity
        return allocated

    def _backops_group_by_received(self):
        """{received quantity: lines}: one write per quantity."""
        groups = defaultdict(lambda: self.browse())
        for line in self:
            groups[line.qty_received] |= line
        return groups

    def _backops_shrink_allocations(self):
        """Lower the allocations of each line so that they add up to no more than it
        received: the latest promised need first (then the latest sale order), the
        reverse of the order in which receipts go to the needs. The buyers'
        allocations are written here, through the allocation model; Odoo's own
        (``is_automatic``) follow the line's quantity when it is written
        (``_sync_automatic_allocations``), and take their part of the cut there."""
        Allocation = self.env["backops.procurement.allocation"]
        to_unlink = Allocation
        to_write = defaultdict(lambda: Allocation)
        for line in self:
            rounding = line.product_uom.rounding
            allocations = line.procurement_allocation_ids
            excess = sum(allocations.mapped("purchase_uom_qty")) - line.qty_received
            # sudo: the promised dates decide the order; buyers do not read them all
            ordered = allocations.sudo().sorted(lambda a: a._backops_share_order(), reverse=True).with_env(self.env)
            for allocation in ordered:
                if float_compare(excess, 0.0, precision_rounding=rounding) <= 0:
                    break
                cut = min(allocation.purchase_uom_qty, excess)
                excess -= cut
                if allocation.is_automatic:
                    continue
                need_uom = allocation.sale_line_id.product_uom
                quantity = float_round(
                    allocation.quantity - line.product_uom._compute_quantity(cut, need_uom, round=False),
                    precision_rounding=need_uom.rounding,
                    rounding_method="DOWN",
                )
                if float_compare(quantity, 0.0, precision_rounding=need_uom.rounding) <= 0:
                    to_unlink |= allocation
                else:
                    to_write[quantity] |= allocation
        if to_unlink:
            # the lines' quantities are written next: Odoo's allocations are synced then
            to_unlink._unlink_allocations(sync=False)
        for quantity, allocations in to_write.items():
            # a system change: the allocation stays the buyer's, and lowering
            # meets no buyer's rule
            allocations._write_allocations({"quantity": quantity}, automatic=True)

    def _backops_open_incoming_moves(self):
        """The lines' moves still expected from the vendor (open, not a return)."""
        return self.move_ids.filtered(
            lambda move: move.state in OPEN_STATES and move.location_dest_id.usage != "supplier"
        )

    def _backops_cancel_open_receipts(self, moves_before):
        """Cancel whatever Odoo's write of the quantities left open, if anything: a
        move still expected, or one the write made (for a make-to-order line, Odoo
        weighs the line against the customer's demand and may make a move and a
        negative one that it merges away). Returns started before are the user's
        and stay."""
        leftovers = self._backops_open_incoming_moves() | (self.move_ids - moves_before).filtered(
            lambda move: move.state in OPEN_STATES
        )
        if leftovers:
            leftovers._action_cancel()

    # ------------------------------------------------------------------
    # Telling the buyer and the salespeople
    # ------------------------------------------------------------------
    def _backops_post_closed(self, rows, lost, reason):
        """One message per purchase order: per line, what was ordered, received and
        closed, and the needs that lost something."""
        lost_by_line = defaultdict(list)
        for (line, need), quantity in lost.items():
            lost_by_line[line].append((need, quantity))
        by_order = defaultdict(list)
        for line, (ordered, received) in rows.items():
            by_order[line.order_id].append(
                {
                    "line": line,
                    "ordered": ordered,
                    "received": received,
                    "closed": float_round(ordered - received, precision_rounding=line.product_uom.rounding),
                    # sudo: the buyer names the needs they covered (sale order, product)
                    "needs": [(need.sudo(), quantity) for need, quantity in lost_by_line[line]],
                }
            )
        for order, order_rows in by_order.items():
            body = self.env["ir.qweb"]._render(
                "backops_procurement.message_close_remaining",
                {"rows": order_rows, "reason": reason, "user": self.env.user},
            )
            order.message_post(body=body, subtype_xmlid="mail.mt_note")

    def _backops_notify_needs_closed(self, lost, reason):
        """One activity per need that lost something, for its salesperson: which
        need, which purchase orders, how much no longer comes and why. Created in
        one batch."""
        by_need = defaultdict(dict)
        for (line, need), quantity in lost.items():
            by_need[need][line] = quantity
        if not by_need:
            return
        activity_type = self.env.ref("backops_procurement.mail_activity_purchase_closed")
        vals_list = [
            self._prepare_backops_closed_activity_vals(activity_type, need, lines, reason)
            for need, lines in by_need.items()
        ]
        # sudo: the salesperson is told whoever closed the line (a buyer cannot write
        # on sale orders, which their activities need)
        Activity = self.env["mail.activity"].sudo()
        # Odoo's batch create subscribes each assignee to the records with their ids
        # repeated when a record gets several activities (a duplicate follower):
        # subscribe them once per order first, as that create would
        followers = defaultdict(set)
        for vals in vals_list:
            followers[vals["user_id"]].add(vals["res_id"])
        SaleOrder = self.env["sale.order"].sudo()
        for user_id, order_ids in followers.items():
            SaleOrder.browse(sorted(order_ids)).message_subscribe(
                partner_ids=self.env["res.users"].browse(user_id).partner_id.ids
            )
        Activity.create(vals_list)

    def _prepare_backops_closed_activity_vals(self, activity_type, need, lines, reason):
        """``lines``: {purchase line: quantity of ``need`` no longer coming}."""
        # sudo: the need's order and salesperson, which buyers may not read in full
        need = need.sudo()
        order = need.order_id
        purchase_orders = self.env["purchase.order"].union(*(line.order_id for line in lines))
        note = self.env["ir.qweb"]._render(
            "backops_procurement.message_close_remaining_need",
            {
                "need": need,
                "purchase_orders": purchase_orders,
                "total": sum(lines.values()),
                "reason": reason,
                "user": self.env.user,
            },
        )
        return {
            "activity_type_id": activity_type.id,
            "summary": self.env._(
                "%(orders)s will not deliver the rest for %(need)s",
                orders=", ".join(purchase_orders.mapped("name")),
                need=need._procurement_label(),
            ),
            "note": note,
            "automated": True,
            "date_deadline": fields.Date.context_today(self),
            "res_model_id": self.env["ir.model"]._get_id("sale.order"),
            "res_id": order.id,
            "user_id": (order.user_id or order.create_uid).id,
        }
