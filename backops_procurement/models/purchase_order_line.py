import contextvars
from collections import defaultdict
from contextlib import contextmanager

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import float_compare

from ..tools import check_not_derived

# what the addon derives on purchase lines: never written by hand
DERIVED_FIELDS = ("procurement_allocated_qty",)

# ids of the lines Odoo's buy rule wrote while it runs (see _backops_defer_sync): set
# by Python code only, never reachable from a request's context
_DEFERRED_SYNC = contextvars.ContextVar("backops_deferred_sync", default=None)


class PurchaseOrderLine(models.Model):
    _inherit = "purchase.order.line"

    procurement_allocation_ids = fields.One2many(
        "backops.procurement.allocation",
        "purchase_line_id",
        string="Allocations",
        help="Needs (sale order lines) this line covers, with the quantity of each.",
    )
    procurement_sale_line_ids = fields.Many2many(
        "sale.order.line",
        string="Needs Covered",
        compute="_compute_procurement_sale_line_ids",
    )
    # stored: every allocation made or changed on the line writes its row, which the
    # capacity check locks (see backops.procurement.allocation._lock_rows)
    procurement_allocated_qty = fields.Float(
        string="Allocated",
        compute="_compute_procurement_allocated_qty",
        store=True,
        digits="Product Unit of Measure",
        help="Quantity of this line allocated to needs, in the line's unit of measure.",
    )

    @api.depends("procurement_allocation_ids")
    def _compute_procurement_sale_line_ids(self):
        for line in self:
            line.procurement_sale_line_ids = line.procurement_allocation_ids.sale_line_id

    @api.depends("procurement_allocation_ids.purchase_uom_qty")
    def _compute_procurement_allocated_qty(self):
        allocated = defaultdict(float)
        stored = self.filtered("id")
        if stored:
            for line, quantity in (
                self.env["backops.procurement.allocation"]
                .sudo()
                ._read_group([("purchase_line_id", "in", stored.ids)], ["purchase_line_id"], ["purchase_uom_qty:sum"])
            ):
                allocated[line.id] = quantity
        for line in self - stored:
            allocated[line.id] = sum(line.procurement_allocation_ids.mapped("purchase_uom_qty"))
        for line in self:
            line.procurement_allocated_qty = allocated[line.id]

    # ------------------------------------------------------------------
    # Consistency between the line's quantity and its allocations
    # ------------------------------------------------------------------
    def _manual_allocated_qty(self):
        """Return {line id: quantity allocated by hand, in the line's unit}."""
        if not self:
            return {}
        groups = (
            self.env["backops.procurement.allocation"]
            .sudo()
            ._read_group(
                [("purchase_line_id", "in", self.ids), ("is_automatic", "=", False)],
                ["purchase_line_id"],
                ["purchase_uom_qty:sum"],
            )
        )
        return {line.id: qty for line, qty in groups}

    def _check_procurement_allocated_qty(self):
        """Never more allocated by hand on a line than it orders."""
        manual = self._manual_allocated_qty()
        for line in self:
            allocated = manual.get(line.id, 0.0)
            if float_compare(allocated, line.product_qty, precision_rounding=line.product_uom.rounding) > 0:
                raise ValidationError(
                    self.env._(
                        "%(order)s: the line %(product)s orders %(qty)s %(uom)s but %(allocated)s %(uom)s "
                        "are allocated to needs. Lower the allocations first (Line Item Editor) "
                        "or order more.",
                        order=line.order_id.name,
                        product=line.product_id.display_name,
                        qty=line.product_qty,
                        allocated=allocated,
                        uom=line.product_uom.name,
                    )
                )

    def _get_procured_sale_lines(self):
        """Sale lines Odoo itself procured with each line: ``{line id: {sale line:
        quantity in the line's unit, or None for all of it}}``. Service-to-purchase
        and dropship lines carry ``sale_line_id``; make-to-order lines reach the sale
        lines through the customer moves they feed (``move_dest_ids``), possibly
        several steps down and for several sale orders. Once the order is confirmed,
        Odoo moves that link onto the line's receipt moves (as its
        ``_prepare_stock_moves`` reads it): it is followed from there."""
        result = {}
        for line in self:
            if line.sale_line_id:
                # what Odoo bought for the sale line; more on the line is for stock
                sale_line = line.sale_line_id
                quantity = None
                if sale_line.product_uom.category_id == line.product_uom.category_id:
                    quantity = sale_line.product_uom._compute_quantity(
                        sale_line.product_uom_qty, line.product_uom, round=False
                    )
                result[line.id] = {sale_line: quantity}
                continue
            quantities = defaultdict(float)
            seen = set()
            moves = (
                line.move_dest_ids
                or line.move_ids.filtered(
                    lambda move: move.state != "cancel" and move.location_dest_id.usage != "supplier"
                ).move_dest_ids
            )
            while moves:
                next_moves = moves.browse()
                for move in moves:
                    if move.id in seen or move.state == "cancel":
                        continue
                    seen.add(move.id)
                    if move.sale_line_id:
                        quantities[move.sale_line_id] += move.product_uom._compute_quantity(
                            move.product_uom_qty, line.product_uom, round=False
                        )
                    else:
                        next_moves |= move.move_dest_ids
                moves = next_moves
            result[line.id] = quantities
        return result

    def _sync_automatic_allocations(self):
        """Keep the allocations of the sale lines Odoo procured with each line (see
        ``_get_procured_sale_lines``) within what the buyer's own allocations leave
        of the line's quantity.

        Odoo's procurements make these links as superuser. Where a user's change
        makes or grows them (a line created for a sale as that user, moves linked by
        hand), the allocations made or grown meet the buyer's rules: a confirmed
        need, an order whose lines may change, and Block Over-Ordering."""
        lines = self.exists()
        if not lines:
            return
        checked = not self.env.su
        # sudo: Odoo links sale and purchase lines whatever the user's rights
        # (procurements run as superuser); these allocations only mirror that link.
        Allocation = self.env["backops.procurement.allocation"].sudo()
        # only lines Odoo linked to sales, or that still carry allocations it made
        lines = (
            lines.filtered(lambda line: line.sale_line_id or line.move_dest_ids)
            | Allocation.search([("purchase_line_id", "in", lines.ids), ("is_automatic", "=", True)]).purchase_line_id
        )
        if not lines:
            return
        allocations = Allocation.search([("purchase_line_id", "in", lines.ids)])
        automatic = {}
        manual_pairs = set()
        for allocation in allocations:
            key = (allocation.purchase_line_id.id, allocation.sale_line_id.id)
            if allocation.is_automatic:
                automatic[key] = allocation
            else:
                manual_pairs.add(key)
        manual_qty = lines._manual_allocated_qty()
        procured = lines._get_procured_sale_lines()

        targets = {}
        for line in lines:
            if line.display_type:
                continue
            rounding = line.product_uom.rounding
            available = line.product_qty - manual_qty.get(line.id, 0.0)
            for sale_line, quantity in sorted(procured[line.id].items(), key=lambda item: item[0].id):
                eligible = (
                    sale_line.product_id == line.product_id
                    and sale_line.product_uom.category_id == line.product_uom.category_id
                    and (line.id, sale_line.id) not in manual_pairs
                )
                quantity = available if quantity is None else min(quantity, available)
                if not eligible or float_compare(quantity, 0.0, precision_rounding=rounding) <= 0:
                    continue
                available -= quantity
                targets[(line.id, sale_line.id)] = line.product_uom._compute_quantity(
                    quantity, sale_line.product_uom, round=False
                )

        Allocation.browse(
            [allocation.id for key, allocation in automatic.items() if key not in targets]
        )._unlink_allocations(sync=False)
        to_create = []
        changed = {}
        grown_needs = set()
        for (line_id, sale_line_id), quantity in targets.items():
            allocation = automatic.get((line_id, sale_line_id))
            if not allocation:
                to_create.append({"sale_line_id": sale_line_id, "purchase_line_id": line_id, "quantity": quantity})
                grown_needs.add(sale_line_id)
            elif comparison := float_compare(
                quantity, allocation.quantity, precision_rounding=allocation.sale_line_id.product_uom.rounding
            ):
                changed[allocation] = quantity
                if comparison > 0:
                    grown_needs.add(sale_line_id)
        if not (changed or to_create):
            return
        needs = self.env["sale.order.line"].browse(sorted(grown_needs))
        totals_before = Allocation._allocated_per_need(Allocation._blocking_needs(needs)) if checked else {}
        # one write per quantity, not per allocation
        by_quantity = defaultdict(lambda: Allocation)
        for allocation, quantity in changed.items():
            by_quantity[quantity] |= allocation
        for quantity, same in by_quantity.items():
            same._write_allocations({"quantity": quantity}, automatic=True)
        created = Allocation._create_allocations(to_create, automatic=True) if to_create else Allocation
        if checked:
            grown = created | Allocation.browse([a.id for a, q in changed.items() if a.sale_line_id.id in grown_needs])
            grown._check_editable()
            grown._check_over_ordering(totals_before)

    # ------------------------------------------------------------------
    # CRUD: allocations and approvals follow the lines, on every path
    # ------------------------------------------------------------------
    @api.model_create_multi
    def create(self, vals_list):
        check_not_derived(self, vals_list, DERIVED_FIELDS)
        orders = self.env["purchase.order"].browse({vals.get("order_id") for vals in vals_list if vals.get("order_id")})
        with orders._backops_guard_approvals(regroup=True):
            lines = super().create(vals_list)
            lines.filtered(lambda line: line.sale_line_id or line.move_dest_ids)._sync_automatic_allocations()
        return lines

    def _backops_sale_links(self):
        """{line id: the sale line and customer moves Odoo linked the line to}."""
        return {line.id: (line.sale_line_id.id, frozenset(line.move_dest_ids.ids)) for line in self}

    @api.model
    @contextmanager
    def _backops_defer_sync(self):
        """Odoo's buy rule (``stock.rule._run_buy``) writes the RFQ line of each
        procurement it merges, one write per line. While it runs, those superuser
        writes only record the lines, and their allocations follow once at the end
        for all of them (``_backops_sync_written``). Nothing is synced if it fails."""
        if _DEFERRED_SYNC.get() is not None:
            yield
            return
        # the lines written, and the orders whose lines' allocations were read (write)
        written, read_orders = set(), set()
        token = _DEFERRED_SYNC.set((written, read_orders))
        try:
            yield
        finally:
            _DEFERRED_SYNC.reset(token)
        if written:
            self.sudo().browse(sorted(written)).exists()._backops_sync_written()

    def _backops_sync_written(self):
        """After a write of these lines' quantities or sale links: the allocations
        Odoo's links make follow, and every line still covers its allocations."""
        lines = self.filtered(lambda line: line.sale_line_id or line.move_dest_ids or line.procurement_allocation_ids)
        if lines:
            lines._sync_automatic_allocations()
            lines.procurement_allocation_ids._check_lines()
            lines._check_procurement_allocated_qty()

    def write(self, vals):
        check_not_derived(self, [vals], DERIVED_FIELDS)
        deferred = _DEFERRED_SYNC.get()
        if deferred is not None and self.env.su and not vals.keys() & {"order_id", "company_id"}:
            # Odoo's buy rule filling its draft RFQs (see _backops_defer_sync). The write
            # marks what depends on the lines' allocations, which the ORM reads line by
            # line: read those of every line of an order at once, its first time only
            written, read_orders = deferred
            unread = self.order_id.browse(set(self.order_id.ids) - read_orders)
            if unread:
                unread.order_line.procurement_allocation_ids.mapped("sale_line_id")
                read_orders.update(unread.ids)
            with self.order_id._backops_guard_approvals(regroup=True):
                res = super().write(vals)
            written.update(self.ids)
            return res
        orders = self.order_id | self.env["purchase.order"].browse(vals.get("order_id"))
        before = {line.id: (line.order_id, line.company_id) for line in self}
        links = self._backops_sale_links() if not self.env.su else {}
        Allocation = self.env["backops.procurement.allocation"]
        # what the needs of these lines have on order, for Block Over-Ordering if the
        # lines move (a line taken off a cancelled RFQ counts again)
        needs = Allocation._blocking_needs(self.procurement_allocation_ids.sale_line_id)
        totals_before = Allocation._allocated_per_need(needs) if needs else {}
        with orders._backops_guard_approvals(regroup=True):
            res = super().write(vals)
            # taking links away is Odoo's own cancel (as the user) and only lowers what is
            # on order; adding or changing one is not for users
            relinked = [
                line_id
                for line_id, (sale_line, moves) in self.browse(links)._backops_sale_links().items()
                if sale_line not in (links[line_id][0], False) or not moves <= links[line_id][1]
            ]
            if relinked:
                raise UserError(
                    self.env._(
                        "%(line)s: Odoo links purchase lines to sales itself (make-to-order, dropship, "
                        "services bought for a sale). To cover a need, allocate it (Line Item Editor).",
                        line=self.browse(relinked[0]).display_name,
                    )
                )
            lines = self.filtered(
                lambda line: line.sale_line_id or line.move_dest_ids or line.procurement_allocation_ids
            )
            if lines:
                lines._backops_sync_written()
                # a line moved to another order (Odoo's merge of RFQs) or company takes
                # its allocations along: they meet the rules there
                moved = lines.filtered(lambda line: before[line.id] != (line.order_id, line.company_id))
                moved.procurement_allocation_ids._check_companies()
                moved.procurement_allocation_ids.filtered(lambda a: not a.is_automatic)._check_editable()
                moved.procurement_allocation_ids._check_over_ordering(totals_before)
        return res

    def unlink(self):
        orders = self.order_id
        with orders._backops_guard_approvals(regroup=True):
            # through the ORM (not only ON DELETE CASCADE) so that the needs'
            # statuses are recomputed in the same transaction
            self.procurement_allocation_ids._unlink_allocations(sync=False)
            res = super().unlink()
        return res

    def _merge_po_line(self, rfq_line):
        """Odoo's Merge RFQs adds ``rfq_line``'s quantity to this line and cancels its
        RFQ: its allocations come along, so that the needs stay covered."""
        super()._merge_po_line(rfq_line)
        incoming = rfq_line.procurement_allocation_ids.filtered(lambda a: not a.is_automatic)
        if not incoming:
            return
        here = {allocation.sale_line_id: allocation for allocation in self.procurement_allocation_ids}
        for allocation in incoming:
            existing = here.get(allocation.sale_line_id)
            if existing:
                quantity = existing.quantity + allocation.quantity
                allocation.unlink()
                existing.quantity = quantity
            else:
                allocation.purchase_line_id = self
