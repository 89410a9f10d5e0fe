from collections import defaultdict

from odoo import api, models
from odoo.exceptions import UserError
from odoo.tools import float_compare, float_is_zero, float_round

from ..tools import check_quantity


class ProcurementAllocation(models.Model):
    """The allocation service: the one place that turns needs into RFQ lines, for
    the Line Item Editor, Create RFQs and Replenish Backorders. It writes through the
    allocations' ``create``/``write``/``unlink``, so their rules apply to it as to
    any other path."""

    _inherit = "backops.procurement.allocation"

    @api.model
    def _allocate(self, plan):
        """Set how much of each need each RFQ covers.

        ``plan`` maps RFQs (purchase.order records) to ``{sale order line: quantity}``,
        quantities in each need's unit of measure; 0 takes the need off the RFQ. The
        RFQs' lines are created or resized, one per product, in the product's purchase
        unit and priced by Odoo from the vendor's prices; allocations are created,
        changed or removed in batch, through ``create``/``write``/``unlink`` and their
        rules. The plan's own input is checked before anything is written.
        """
        plan = {order: quantities for order, quantities in plan.items() if quantities}
        if not plan:
            return
        PurchaseOrder = self.env["purchase.order"]
        orders = PurchaseOrder.browse([order.id for order in plan])
        needs = self.env["sale.order.line"].browse(
            list({need.id for quantities in plan.values() for need in quantities})
        )
        orders.check_access("write")
        self.check_access("create")
        self._check_plan(plan)
        orders._check_procurement_editable()
        self._lock_rows(needs, self.env["purchase.order.line"])

        current = {
            (allocation.purchase_order_id.id, allocation.sale_line_id.id): allocation
            for allocation in self.search([("purchase_order_id", "in", orders.ids), ("sale_line_id", "in", needs.ids)])
        }
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
                    line_items[line].append((need, quantity, self.browse()))
                else:
                    new_lines.setdefault((order.id, need.product_id.id), []).append((need, quantity))

        # lines: new ones in one batch, existing ones resized by what changes on them
        created = Line.create(
            [
                {
                    "order_id": order_id,
                    "product_id": product_id,
                    "product_uom": items[0][0].product_id.uom_po_id.id,
                    "product_qty": self._line_quantity(
                        0.0,
                        items[0][0].product_id.uom_po_id,
                        [(need, quantity, self.browse()) for need, quantity in items],
                    ),
                }
                for (order_id, product_id), items in new_lines.items()
            ]
        )
        for line, items in zip(created, new_lines.values(), strict=True):
            line_items[line] = [(need, quantity, self.browse()) for need, quantity in items]

        grown, shrunk = {}, {}
        for line, items in line_items.items():
            if line in created:
                continue
            new_qty = self._line_quantity(line.product_qty, line.product_uom, items)
            comparison = float_compare(new_qty, line.product_qty, precision_rounding=line.product_uom.rounding)
            if comparison > 0:
                grown[line] = new_qty
            elif comparison < 0:
                shrunk[line] = new_qty
        self._write_by_value(Line, grown, "product_qty")

        # allocations: lower and remove first, then raise and add
        to_remove = self.browse()
        changed, to_create = {}, []
        for line, items in line_items.items():
            for need, quantity, allocation in items:
                rounding = need.product_uom.rounding
                if not allocation:
                    to_create.append({"sale_line_id": need.id, "purchase_line_id": line.id, "quantity": quantity})
                elif float_is_zero(quantity, precision_rounding=rounding):
                    to_remove |= allocation
                elif float_compare(quantity, allocation.quantity, precision_rounding=rounding):
                    changed[allocation] = quantity
        to_remove.unlink()
        lowered = {allocation: qty for allocation, qty in changed.items() if qty < allocation.quantity}
        self._write_by_value(self, lowered, "quantity")
        self._write_by_value(self, {a: q for a, q in changed.items() if a not in lowered}, "quantity")
        self.create(to_create)

        # lines that shrink, and lines of an RFQ left without anything to order
        to_unlink = Line
        kept = {}
        for line, quantity in shrunk.items():
            if (
                float_is_zero(quantity, precision_rounding=line.product_uom.rounding)
                and line.state in ("draft", "sent", "to approve")
                and not line.procurement_allocation_ids
            ):
                to_unlink |= line
            else:
                kept[line] = quantity
        self._write_by_value(Line, kept, "product_qty")
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

    @api.model
    def _write_by_value(self, model, values, fname):
        """Write ``{record: value}`` with one ``write`` per distinct value."""
        groups = defaultdict(list)
        for record, value in values.items():
            groups[value].append(record.id)
        for value, ids in groups.items():
            model.browse(ids).write({fname: value})

    @api.model
    def _check_plan(self, plan):
        """The plan's own input: numbers, companies and needs, before anything is written."""
        for order, quantities in plan.items():
            for need, quantity in quantities.items():
                check_quantity(self.env, quantity, need._procurement_label())
                if need.company_id != order.company_id:
                    raise UserError(
                        self.env._(
                            "%(need)s belongs to %(company)s; it can only be allocated to RFQs of %(company)s.",
                            need=need._procurement_label(),
                            company=need.company_id.name,
                        )
                    )
                if quantity and not need._is_procurement_need():
                    raise UserError(
                        self.env._(
                            "%(need)s is not a need: its sale order is not confirmed, or its "
                            "product is not subject to procurement.",
                            need=need._procurement_label(),
                        )
                    )

    @api.model
    def _line_quantity(self, line_qty, line_uom, items):
        """New quantity of a purchase line in ``line_uom`` once ``items``, a list of
        (need, new quantity, current allocation), are applied: what is not allocated
        on the line (bought for stock) stays, rounded up to the unit."""
        delta = 0.0
        for need, quantity, allocation in items:
            delta += need.product_uom._compute_quantity(quantity, line_uom, round=False)
            if allocation:
                delta -= allocation.purchase_uom_qty
        return float_round(max(line_qty + delta, 0.0), precision_rounding=line_uom.rounding, rounding_method="UP")
