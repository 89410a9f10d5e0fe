from collections import defaultdict

from odoo import api, fields, models
from odoo.tools import float_compare, float_round

from .procurement_allocation import CONFIRMED_PURCHASE_STATES

# deliveries that may still wait for stock ("assigned" with part of the demand
# reserved, when the operation ships what is available)
WAITING_STATES = ("confirmed", "partially_available", "assigned")


class ProcurementAllocation(models.Model):
    """What each allocation has received: the purchase line's received quantity
    shared out over the needs it covers."""

    _inherit = "backops.procurement.allocation"

    received_qty = fields.Float(
        string="Received",
        compute="_compute_received_qty",
        store=True,
        digits="Product Unit of Measure",
        help="Part of the purchase line's received quantity that went to this need, in the "
        "need's unit. Receipts Odoo links to the need's own delivery (make-to-order) go to "
        "that need first; the rest is shared out earliest promised need first, then by sale "
        "order reference. Zero until the purchase order is confirmed.",
    )

    @api.depends(
        "quantity",
        "purchase_uom_qty",
        "purchase_line_id.qty_received",
        "purchase_line_id.order_id.state",
        "purchase_line_id.procurement_allocation_ids.purchase_uom_qty",
        "purchase_line_id.procurement_allocation_ids.sale_line_id.backops_promised_date",
        "purchase_line_id.move_ids.state",
        "purchase_line_id.move_ids.quantity",
    )
    def _compute_received_qty(self):
        shares = {}
        for purchase_line in self.purchase_line_id:
            shares.update(self._received_shares(purchase_line))
        for allocation in self:
            allocation.received_qty = shares.get(allocation.id, 0.0)

    def _backops_share_order(self):
        """The order in which a purchase line's receipts go to the needs it covers."""
        need = self.sale_line_id
        return (
            need.backops_promised_date or fields.Datetime.to_datetime("9999-12-31"),
            self.sale_order_id.name or "",
            self.id or 0,
        )

    @api.model
    def _mto_received(self, purchase_line):
        """Quantity received on ``purchase_line`` (in its unit) whose receipts Odoo chained to
        a sale line's own delivery moves, per sale line."""
        linked = defaultdict(float)
        for move in purchase_line.move_ids:
            if move.state != "done" or move.location_dest_id.usage in ("supplier", "customer"):
                continue
            sale_lines = move.move_dest_ids.sale_line_id
            if len(sale_lines) == 1:
                linked[sale_lines] += move.product_uom._compute_quantity(
                    move.quantity, purchase_line.product_uom, round=False
                )
        return linked

    @api.model
    def _received_shares(self, purchase_line):
        """{allocation id: received quantity in the need's unit} for ``purchase_line``."""
        allocations = purchase_line.procurement_allocation_ids
        if not allocations:
            return {}
        if purchase_line.order_id.state not in CONFIRMED_PURCHASE_STATES:
            return dict.fromkeys(allocations.ids, 0.0)
        remaining = max(purchase_line.qty_received, 0.0)
        taken = defaultdict(float)
        # what Odoo chained to a need's delivery goes to that need first
        linked = self._mto_received(purchase_line) if remaining else {}
        for allocation in allocations:
            share = min(linked.get(allocation.sale_line_id, 0.0), allocation.purchase_uom_qty, remaining)
            if share > 0:
                taken[allocation.id] += share
                linked[allocation.sale_line_id] -= share
                remaining -= share
        for allocation in allocations.sorted(lambda a: a._backops_share_order()):
            if remaining <= 0:
                break
            share = min(allocation.purchase_uom_qty - taken[allocation.id], remaining)
            if share > 0:
                taken[allocation.id] += share
                remaining -= share
        return {
            allocation.id: (
                allocation.quantity * taken[allocation.id] / allocation.purchase_uom_qty
                if allocation.purchase_uom_qty
                else 0.0
            )
            for allocation in allocations
        }

    def _backops_reserve_received(self, before):
        """Reserve, on each need's open deliveries, what its allocation received since
        ``before`` ({allocation id: received quantity}), in the order receipts are
        shared out (make-to-order links first, then earliest promise)."""
        # read after the receipt: the received quantities are recomputed from it
        to_reserve = defaultdict(float)  # need: quantity in its unit
        for allocation in self.exists():
            received = allocation.received_qty - before.get(allocation.id, 0.0)
            if float_compare(received, 0.0, precision_rounding=allocation.product_uom.rounding or 0.01) > 0:
                to_reserve[allocation.sale_line_id] += received
        if not to_reserve:
            return
        needs = self.env["sale.order.line"].concat(*to_reserve)
        # the first step out of stock of each need's deliveries, still waiting; chained
        # steps (make-to-order, pick then ship) are reserved by Odoo's own links
        moves = self.env["stock.move"].search(
            [
                ("sale_line_id", "in", needs.ids),
                ("state", "in", WAITING_STATES),
                ("move_orig_ids", "=", False),
                ("location_id.usage", "=", "internal"),
            ],
            order="date, id",
        )
        moves_by_need = defaultdict(lambda: self.env["stock.move"])
        for move in moves:
            moves_by_need[move.sale_line_id] |= move
        for need in needs.sorted(lambda line: (line.backops_promised_date or line.create_date, line.id)):
            quantity = to_reserve[need]
            for move in moves_by_need[need]:
                if quantity <= 0:
                    break
                missing = move.product_uom_qty - move.quantity
                wanted = min(missing, need.product_uom._compute_quantity(quantity, move.product_uom, round=False))
                wanted = float_round(wanted, precision_rounding=move.product_uom.rounding, rounding_method="DOWN")
                if wanted <= 0:
                    continue
                reserved_before = move.quantity
                move._action_assign(force_qty=wanted)
                taken = move.quantity - reserved_before
                quantity -= move.product_uom._compute_quantity(taken, need.product_uom, round=False)
