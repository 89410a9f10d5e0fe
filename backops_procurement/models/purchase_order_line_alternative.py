from collections import defaultdict

from odoo import models
from odoo.tools import float_compare, float_is_zero, float_round

from .purchase_order_alternative import kept_order_key

# the states in which Odoo's comparison of alternatives clears a line's quantity
RFQ_STATES = ("draft", "sent", "to approve")


class PurchaseOrderLine(models.Model):
    _inherit = "purchase.order.line"

    def _get_procured_sale_lines(self):
        """A make-to-order line copied onto an alternative (purchase_requisition_stock
        copies Odoo's link with it) does not put the need on order a second time: in a
        group of alternatives, the sale line counts on the order that already holds it,
        else on the first alternative kept (see ``kept_order_key``), until that one is
        given up."""
        result = super()._get_procured_sale_lines()
        grouped = self.filtered(lambda line: line.order_id.purchase_group_id and line.state != "cancel")
        if not grouped:
            return result
        orders = grouped.order_id.purchase_group_id.order_ids.filtered(lambda order: order.state != "cancel")
        # sudo: Odoo's own links count whatever the user's rights, as
        # _sync_automatic_allocations reads them
        held = (
            self.env["backops.procurement.allocation"]
            .sudo()
            .search([("purchase_order_id", "in", orders.ids), ("is_automatic", "=", True)])
        )
        # the order that holds each sale line in its group: all its lines count (Odoo may
        # buy one sale line on two lines of an order), the other alternatives' do not
        holders = {
            (
                allocation.purchase_order_id.purchase_group_id.id,
                allocation.sale_line_id.id,
            ): allocation.purchase_order_id
            for allocation in held
        }
        holding = set(held.purchase_order_id.ids)
        for line in grouped.sorted(
            lambda line: (line.order_id.id not in holding, kept_order_key(line.order_id), line.id)
        ):
            order = line.order_id
            for sale_line in list(result[line.id]):
                if holders.setdefault((order.purchase_group_id.id, sale_line.id), order) != order:
                    del result[line.id][sale_line]
        return result

    def action_choose(self):
        """Odoo's comparison of alternatives: choosing lines clears the other lines of
        their products in the group. The needs of those lines move to the chosen ones,
        within their quantities; what does not fit leaves the cleared line (its need
        shows Short)."""
        group_lines = (self.order_id | self.order_id.alternative_po_ids).order_line
        # the lines Odoo's action_choose clears
        cleared = group_lines.filtered(
            lambda line: (
                line.product_qty
                and line.product_id in self.product_id
                and line not in self
                and line.state in RFQ_STATES
            )
        )
        allocations = cleared.procurement_allocation_ids.filtered(lambda a: not a.is_automatic)
        self._backops_take_allocations(allocations, drop_rest=True)
        res = super().action_choose()
        self._sync_automatic_allocations()
        return res

    def _backops_take_allocations(self, allocations, drop_rest=False):
        """Move the buyer's ``allocations`` (on lines of alternatives given up) to these
        lines of the same product, taken in order, within what each line orders and not
        above the remaining need under Block Over-Ordering. What does not fit stays
        where it was, or is removed with ``drop_rest``.

        As the current user (record rules apply: allocations of a company the user
        does not work in are not seen, so never move), through the allocations'
        ``create``/``write``/``unlink`` and their rules."""
        Allocation = self.env["backops.procurement.allocation"]
        allocations = allocations.filtered(lambda a: not a.is_automatic and a.purchase_line_id not in self)
        lines = self.filtered(
            lambda line: not line.display_type and line.product_id and line.order_id._backops_takes_needs()
        )
        if not allocations or not lines:
            return
        needs = allocations.sale_line_id
        Allocation._lock_rows(needs, lines)
        manual = lines._manual_allocated_qty()
        free = {line.id: line.product_qty - manual.get(line.id, 0.0) for line in lines}
        # with Block Over-Ordering, a need takes back at most what it lacks once the
        # allocations leave (the sale may have been lowered since)
        blocking = Allocation._blocking_needs(needs)
        totals = Allocation._allocated_per_need(blocking)
        leaving = defaultdict(float)
        for allocation in allocations:
            if allocation.purchase_order_id.state != "cancel":
                leaving[allocation.sale_line_id.id] += allocation.quantity
        room = {need.id: need.product_uom_qty - (totals[need.id] - leaving[need.id]) for need in blocking}
        lines_by_product = defaultdict(list)
        for line in lines:
            lines_by_product[line.product_id].append(line)
        existing = {
            (allocation.purchase_line_id.id, allocation.sale_line_id.id): allocation
            for allocation in lines.procurement_allocation_ids
        }

        moves = defaultdict(float)  # (line id, need id) -> quantity in the need's unit
        moved = {}  # allocation -> quantity that leaves it
        for allocation in allocations.sorted(lambda a: (a.sale_line_id.id, a.id)):
            need = allocation.sale_line_id
            need_uom = need.product_uom
            remaining = allocation.quantity
            for line in lines_by_product[allocation.product_id]:
                if line.company_id != allocation.company_id or line.product_uom.category_id != need_uom.category_id:
                    continue
                fits = line.product_uom._compute_quantity(free[line.id], need_uom, round=False)
                quantity = min(remaining, fits, room.get(need.id, remaining))
                quantity = float_round(quantity, precision_rounding=need_uom.rounding, rounding_method="DOWN")
                if float_compare(quantity, 0.0, precision_rounding=need_uom.rounding) <= 0:
                    continue
                moves[(line.id, need.id)] += quantity
                free[line.id] -= need_uom._compute_quantity(quantity, line.product_uom, round=False)
                remaining -= quantity
                if need.id in room:
                    room[need.id] -= quantity
                if float_is_zero(remaining, precision_rounding=need_uom.rounding):
                    break
            moved[allocation] = allocation.quantity - remaining
        if not moves and not drop_rest:
            return

        # what stays: nothing with drop_rest, else what did not fit, but with Block
        # Over-Ordering not above what the need still lacks (until its order is
        # cancelled, it counts: the need would be put in Excess on the way)
        staying = {a: 0.0 if drop_rest else a.quantity - quantity for a, quantity in moved.items()}
        for allocation in staying:
            need_id = allocation.sale_line_id.id
            if need_id in room and allocation.purchase_order_id.state != "cancel":
                staying[allocation] = min(staying[allocation], max(room[need_id], 0.0))
                room[need_id] -= staying[allocation]
        sources = allocations.purchase_order_id
        # leave first (the needs' totals come down), then arrive
        gone = Allocation.browse(
            [
                allocation.id
                for allocation, quantity in staying.items()
                if float_is_zero(quantity, precision_rounding=allocation.product_uom.rounding)
            ]
        )
        lowered = {
            a: quantity
            for a, quantity in staying.items()
            if a not in gone and float_compare(quantity, a.quantity, precision_rounding=a.product_uom.rounding) < 0
        }
        gone.unlink()
        Allocation._write_by_value(Allocation, lowered, "quantity")
        raised = {}
        to_create = []
        for (line_id, need_id), quantity in moves.items():
            allocation = existing.get((line_id, need_id))
            if allocation:
                raised[allocation] = allocation.quantity + quantity
            else:
                to_create.append({"sale_line_id": need_id, "purchase_line_id": line_id, "quantity": quantity})
        Allocation._write_by_value(Allocation, raised, "quantity")
        Allocation.create(to_create)
        self._backops_log_taken_over(sources, moves)

    def _backops_log_taken_over(self, sources, moves):
        """Say on each order that took needs over from the orders ``sources`` where they came from."""
        by_order = defaultdict(lambda: self.env["sale.order"])
        for line_id, need_id in moves:
            by_order[self.browse(line_id).order_id] |= self.env["sale.order.line"].browse(need_id).order_id
        for order, sale_orders in by_order.items():
            order.message_post(
                body=self.env._(
                    "Needs of %(sales)s taken over from the alternative %(orders)s.",
                    sales=", ".join(sale_orders.mapped("name")),
                    orders=", ".join((sources - order).mapped("name")),
                ),
                subtype_xmlid="mail.mt_note",
            )
