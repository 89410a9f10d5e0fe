import math
from collections import defaultdict, namedtuple
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL, float_compare, float_is_zero, float_round

from ..tools import check_ship_date
from .stock_move import OPEN_STATES

# One backordered move in a plan: what it needs, what the stock had for it when its
# turn came (after the moves before it took theirs) and what it ships; quantities in
# the product's unit. ``picking`` is the backorder it was on when planned.
FillRow = namedtuple("FillRow", "move picking needed available fill")
# One sale order in a plan, in priority order: its rows, its outcome (complete,
# partial, skipped), why it is skipped or short, and whether it may only ship complete.
FillOrder = namedtuple("FillOrder", "order rows outcome reason complete_only")


class BackorderFillService(models.AbstractModel):
    """Planning and shipping of backorder fills, shared by Fill Backorders (the
    screen and the scheduled action) and the one-order pop-up.

    ``_plan`` decides, without writing anything, what each backordered move would
    ship from the stock there is now, shared by priority; ``_ship`` ships a plan
    through Odoo's reservation, never more than what it can reserve when it runs."""

    _name = "backops.backorder.fill.service"
    _description = "Backorder Fill Planning and Shipping"

    # ------------------------------------------------------------------
    # Finding
    # ------------------------------------------------------------------
    @api.model
    def _candidate_moves(self, company, products=None, warehouse=None, date_from=None, date_to=None, sale_orders=None):
        """Open moves of ``company``'s backorder deliveries of sale orders; only of
        ``products``, of ``warehouse``, of orders dated from ``date_from`` to
        ``date_to`` (dates, both included) or of ``sale_orders`` when given."""
        Move = self.env["stock.move"]
        domain = [
            *Move._backops_backorder_domain(),
            ("picking_id.sale_id", "!=", False),
            ("company_id", "=", company.id),
            # from the company's own stock: a move from elsewhere (a vendor, an
            # inventory location) reserves nothing, and a transfer of stock owned by
            # a partner takes that partner's stock when it is done
            ("location_id.usage", "=", "internal"),
            ("picking_id.owner_id", "=", False),
            ("restrict_partner_id", "=", False),
        ]
        if products is not None:
            domain.append(("product_id", "in", products.ids))
        if warehouse:
            domain.append(("picking_type_id.warehouse_id", "=", warehouse.id))
        if sale_orders is not None:
            domain.append(("picking_id.sale_id", "in", sale_orders.ids))
        if date_from:
            domain.append(("picking_id.sale_id.date_order", ">=", fields.Datetime.to_datetime(date_from)))
        if date_to:
            domain.append(
                ("picking_id.sale_id.date_order", "<", fields.Datetime.to_datetime(date_to) + timedelta(days=1))
            )
        return Move.search(domain)

    @api.model
    def _sorted_moves(self, moves):
        """The order in which one sale order's moves take from the stock."""
        return moves.sorted(lambda m: (m.picking_id.id, m.sequence, m.id))

    @api.model
    def _order_key(self, priority):
        if priority == "commitment":
            return lambda order: (
                not order.commitment_date,
                order.commitment_date or fields.Datetime.now(),
                order.name,
            )
        return lambda order: (order.date_order, order.name)

    # ------------------------------------------------------------------
    # Planning: reads, never writes
    # ------------------------------------------------------------------
    @api.model
    def _stock_pool(self, moves):
        """{(product id, source location id): quantity ``moves`` could take}: the
        product's free quantity in the location and below (Odoo's ``free_qty``, one
        read per source location) plus what these moves reserve themselves. Not
        storable products are not counted: the pool has no end."""
        pool = defaultdict(float)
        products_by_location = defaultdict(lambda: self.env["product.product"])
        for move in moves:
            if move.product_id.is_storable:
                products_by_location[move.location_id] |= move.product_id
            else:
                pool[(move.product_id.id, move.location_id.id)] = math.inf
        for location, products in products_by_location.items():
            # not stored and not recomputed when quants change: read afresh
            products = products.with_context(location=location.id)
            products.invalidate_recordset(["free_qty"])
            for product, free in zip(products, products.mapped("free_qty"), strict=True):
                pool[(product.id, location.id)] = max(free, 0.0)
        for move in moves:
            if move.product_id.is_storable:
                pool[(move.product_id.id, move.location_id.id)] += move._backops_reserved_product_qty()
        return pool

    @api.model
    def _take(self, moves, pool, wanted=None):
        """What ``moves``, in this order, could take from ``pool``: each takes what
        it needs (capped by ``wanted``, {move: quantity in the product's unit}, when
        given) from what the moves before it left. ``pool`` is not changed.

        Returns ([FillRow], {pool key: quantity taken})."""
        used = defaultdict(float)
        rows = []
        for move in moves:
            key = (move.product_id.id, move.location_id.id)
            needed = move.product_qty
            cap = needed if wanted is None else min(needed, wanted.get(move, 0.0))
            available = max(pool.get(key, 0.0) - used[key], 0.0)
            fill = float_round(
                min(cap, available), precision_rounding=move.product_id.uom_id.rounding, rounding_method="DOWN"
            )
            used[key] += fill
            shown = available if math.isfinite(available) else needed
            rows.append(FillRow(move, move.picking_id, needed, shown, fill))
        return rows, used

    @api.model
    def _plan(self, moves, mode, priority, wanted=None):
        """Decide what each of ``moves`` ships, without writing anything.

        The stock ``moves`` could take (``_stock_pool``) is shared by priority: sale
        orders in ``priority`` order ("oldest" or "commitment"), and within an order
        its moves one after the other, take from it; two moves of the same product
        never both count the same units. In ``complete`` mode an order takes only if
        all its moves fit together, so an order that cannot complete leaves the
        stock to later orders. ``wanted`` ({move: quantity, product unit}) caps a
        move below its demand.

        Returns [FillOrder] in priority order."""
        pool = self._stock_pool(moves)
        moves_by_order = defaultdict(lambda: self.env["stock.move"])
        for move in moves:
            moves_by_order[move.picking_id.sale_id] |= move
        # complete means nothing left backordered: an order that also waits for what
        # this fill does not cover (other products, another warehouse) cannot complete
        outside = defaultdict(lambda: self.env["stock.move"])
        if mode == "complete" and moves:
            # every open delivery of the orders, backorder or not
            for move in self.env["stock.move"].search(
                [
                    ("picking_id.sale_id", "in", moves.picking_id.sale_id.ids),
                    ("picking_code", "=", "outgoing"),
                    ("state", "in", OPEN_STATES + ("draft",)),
                    ("id", "not in", moves.ids),
                ]
            ):
                outside[move.picking_id.sale_id] |= move
        plan = []
        for order in sorted(moves_by_order, key=self._order_key(priority)):
            if outside.get(order):
                rows, _used = self._take(self._sorted_moves(moves_by_order[order]), pool, wanted)
                rows = [row._replace(fill=0.0) for row in rows]
                reason = self.env._(
                    "it also waits for %(products)s, not in this fill",
                    products=", ".join(outside[order].product_id.mapped("display_name")),
                )
                plan.append(FillOrder(order, rows, "skipped", reason, True))
                continue
            rows, used = self._take(self._sorted_moves(moves_by_order[order]), pool, wanted)
            short = [row for row in rows if self._compare(row.fill, row.needed, row.move) < 0]
            if mode == "complete" and short:
                reason = self._short_reason(rows, short[0].move.product_id, pool)
                plan.append(FillOrder(order, [row._replace(fill=0.0) for row in rows], "skipped", reason, True))
                continue
            for key, quantity in used.items():
                pool[key] -= quantity
            plan.append(FillOrder(order, rows, self._outcome(rows), False, mode == "complete"))
            if plan[-1].outcome == "skipped":
                plan[-1] = plan[-1]._replace(reason=self.env._("nothing of it is in stock"))
        return plan

    @api.model
    def _compare(self, quantity, other, move):
        return float_compare(quantity, other, precision_rounding=move.product_id.uom_id.rounding)

    @api.model
    def _outcome(self, rows):
        if all(float_is_zero(row.fill, precision_rounding=row.move.product_id.uom_id.rounding) for row in rows):
            return "skipped"
        if any(self._compare(row.fill, row.needed, row.move) < 0 for row in rows):
            return "partial"
        return "complete"

    @api.model
    def _short_reason(self, rows, product, pool):
        """Why an order cannot complete: all it needs of ``product`` next to all the
        stock it could have of it."""
        product_rows = [row for row in rows if row.move.product_id == product]
        keys = {(product.id, row.move.location_id.id) for row in product_rows}
        return self.env._(
            "%(product)s: %(needed)s %(uom)s backordered, %(available)s available",
            product=product.display_name,
            needed=sum(row.needed for row in product_rows),
            available=sum(max(pool.get(key, 0.0), 0.0) for key in keys),
            uom=product.uom_id.name,
        )

    @api.model
    def _planned_emails(self, plan, email_complete, email_partial):
        """{sale order id: 'complete' / 'partial' / False}: the email each customer
        of an order the plan ships would get, given which emails are on."""
        emails = {}
        shipping_orders = [entry.order for entry in plan if entry.outcome != "skipped"]
        if not shipping_orders:
            return emails
        # moves of the orders' deliveries that the plan leaves unshipped
        planned = {row.move.id: row.fill for entry in plan if entry.outcome != "skipped" for row in entry.rows}
        left = defaultdict(float)
        for move in self.env["stock.move"].search(
            [
                ("picking_id.sale_id", "in", [order.id for order in shipping_orders]),
                ("picking_code", "=", "outgoing"),
                ("state", "in", OPEN_STATES + ("draft",)),
            ]
        ):
            remaining = move.product_qty - planned.get(move.id, 0.0)
            if self._compare(remaining, 0.0, move) > 0:
                left[move.picking_id.sale_id.id] += remaining
        for order in shipping_orders:
            kind = "partial" if left.get(order.id) else "complete"
            enabled = email_partial if kind == "partial" else email_complete
            emails[order.id] = kind if enabled else False
        return emails

    # ------------------------------------------------------------------
    # Shipping
    # ------------------------------------------------------------------
    @api.model
    def _ship(self, plan, ship_date=None, reassign=True):
        """Ship what ``plan`` says, never more than is there when it runs.

        The moves and the stock they could take are locked first (a concurrent fill
        waits, then fails to serialize and Odoo retries it). The plan's moves give
        up their reservations; the moves to ship reserve in the plan's priority order
        through Odoo (``_action_assign``), each at most its planned quantity; only
        what got reserved ships. An order that may only ship complete and no longer
        can ships nothing. The deliveries are validated (what does not ship stays on
        a further backorder) and carry ``ship_date`` as their actual ship date.
        With ``reassign``, the moves that did not ship reserve what is left.

        Returns ([FillOrder] of what really shipped, the deliveries validated)."""
        ship_date = check_ship_date(self.env, ship_date)
        Picking = self.env["stock.picking"]
        all_moves = self.env["stock.move"].concat(*(row.move for entry in plan for row in entry.rows))
        planned = {
            row.move: row.fill
            for entry in plan
            if entry.outcome != "skipped"
            for row in entry.rows
            if not float_is_zero(row.fill, precision_rounding=row.move.product_id.uom_id.rounding)
        }
        if not planned:
            return list(plan), Picking
        self._lock_stock(all_moves)
        bad = all_moves.filtered(lambda m: m.state not in OPEN_STATES or m.picking_id.state not in OPEN_STATES)
        if bad:
            raise UserError(
                self.env._(
                    "%(pickings)s is done or cancelled: nothing was shipped.",
                    pickings=", ".join(bad.picking_id.mapped("name")),
                )
            )
        self._release(all_moves)
        self._reserve(list(planned.items()))
        reserved = {move: move._backops_reserved_product_qty() for move in planned}
        for move, quantity in reserved.items():
            if self._compare(quantity, planned[move], move) > 0:
                # Odoo reserved beyond the plan (a chained move): ship the plan only
                move.quantity = move.product_id.uom_id._compute_quantity(planned[move], move.product_uom)
                reserved[move] = planned[move]
        # an order that may only ship complete and did not get all it needs gives it back
        incomplete = [
            entry
            for entry in plan
            if entry.complete_only
            and entry.outcome != "skipped"
            and any(self._compare(reserved.get(row.move, 0.0), row.needed, row.move) < 0 for row in entry.rows)
        ]
        released = self.env["stock.move"].concat(*(row.move for entry in incomplete for row in entry.rows))
        released._do_unreserve()
        released_ids = set(released.ids)
        ship_moves = self.env["stock.move"].concat(
            *(
                move
                for move, quantity in reserved.items()
                if move.id not in released_ids
                and not float_is_zero(quantity, precision_rounding=move.product_id.uom_id.rounding)
            )
        )
        pickings = self.env["stock.picking"]
        if ship_moves:
            pickings = ship_moves._backops_validate({move: move.quantity for move in ship_moves})
            pickings.write({"backops_ship_date": ship_date})
        results = self._as_shipped(plan, planned, {entry.order.id for entry in incomplete})
        if reassign:
            self._reassign(plan)
        return results, pickings

    @api.model
    def _lock_stock(self, moves):
        """Lock ``moves`` and the quants of their products in their source locations
        (``SELECT … FOR NO KEY UPDATE``, in id order), then forget what was read of
        them: what follows reads the stock as it is now. A transaction that changed
        these rows since this one started makes the lock fail to serialize (Odoo
        retries the request); one that is changing them makes it wait."""
        self.env.flush_all()
        self.env.cr.execute(
            SQL("SELECT id FROM stock_move WHERE id IN %s ORDER BY id FOR NO KEY UPDATE", tuple(moves.ids))
        )
        storable = moves.filtered(lambda m: m.product_id.is_storable)
        if storable:
            # sudo: the lock covers every quant the reservation may take, whoever may read it
            query = (
                self.env["stock.quant"]
                .sudo()
                ._search(
                    [
                        ("product_id", "in", storable.product_id.ids),
                        ("location_id", "child_of", storable.location_id.ids),
                    ],
                    order="id",
                )
            )
            self.env.cr.execute(SQL("%s FOR NO KEY UPDATE", query.select()))
        for model in ("stock.quant", "stock.move.line", "stock.move", "stock.picking"):
            self.env[model].invalidate_model()

    @api.model
    def _release(self, moves):
        """The moves give up their reservations, to take stock again by the plan."""
        moves = moves.filtered(lambda m: m.state in OPEN_STATES)
        moves.filtered("picked").picked = False
        moves._do_unreserve()

    @api.model
    def _reserve(self, to_ship):
        """Reserve ``to_ship`` ([(move, quantity in the product's unit)]) in that
        order through Odoo, each move at most its quantity: moves taking their whole
        demand in one ``_action_assign``, the others one by one with ``force_qty``."""
        Move = self.env["stock.move"]
        whole = Move
        for move, quantity in to_ship:
            if self._compare(quantity, move.product_qty, move) >= 0:
                whole |= move
                continue
            if whole:
                whole._action_assign()
                whole = Move
            move._action_assign(
                force_qty=move.product_id.uom_id._compute_quantity(quantity, move.product_uom, rounding_method="DOWN")
            )
        if whole:
            whole._action_assign()

    @api.model
    def _as_shipped(self, plan, planned, incomplete_order_ids):
        """``plan`` as it really shipped: each row's fill is what its move shipped;
        the orders of ``incomplete_order_ids`` were given up."""
        results = []
        for entry in plan:
            if entry.outcome == "skipped":
                results.append(entry)
                continue
            if entry.order.id in incomplete_order_ids:
                results.append(
                    entry._replace(
                        rows=[row._replace(fill=0.0) for row in entry.rows],
                        outcome="skipped",
                        reason=self.env._("the stock changed since the plan: the order can no longer ship complete"),
                    )
                )
                continue
            rows = []
            notes = []
            for row in entry.rows:
                move = row.move
                shipped = 0.0
                if move.state == "done":
                    shipped = move.product_uom._compute_quantity(move.quantity, move.product_id.uom_id, round=False)
                if self._compare(shipped, planned.get(move, 0.0), move) < 0:
                    notes.append(
                        self.env._(
                            "%(product)s: %(planned)s planned, %(shipped)s still in stock",
                            product=move.product_id.display_name,
                            planned=planned.get(move, 0.0),
                            shipped=shipped,
                        )
                    )
                rows.append(row._replace(fill=shipped))
            outcome = self._outcome(rows)
            reason = "; ".join(notes) or (self.env._("nothing of it is in stock") if outcome == "skipped" else False)
            results.append(entry._replace(rows=rows, outcome=outcome, reason=reason))
        return results

    @api.model
    def _reassign(self, plan):
        """The plan's moves that did not ship reserve what is left, by the plan's priority."""
        moves = self.env["stock.move"].concat(*(row.move for entry in plan for row in entry.rows))
        moves.exists().filtered(lambda m: m.state in OPEN_STATES)._action_assign()

    # ------------------------------------------------------------------
    # Emails
    # ------------------------------------------------------------------
    @api.model
    def _send_fill_emails(self, pickings, template_complete, template_partial):
        """Queue one email per shipped delivery: ``template_complete`` when its sale
        order has nothing left to deliver, ``template_partial`` otherwise (none when
        the template is empty). Returns {sale order id: 'complete' / 'partial'} of
        the emails queued."""
        complete, partial = self._split_complete(pickings)
        sent = {}
        if template_complete and complete:
            template_complete.send_mail_batch(complete.ids)
            sent.update(dict.fromkeys(complete.sale_id.ids, "complete"))
        if template_partial and partial:
            template_partial.send_mail_batch(partial.ids)
            sent.update(dict.fromkeys(partial.sale_id.ids, "partial"))
        return sent

    @api.model
    def _split_complete(self, pickings):
        """(pickings whose sale order has nothing left to deliver, the others)."""
        open_orders = {
            order.id
            for [order] in self.env["stock.picking"]._read_group(
                [
                    ("sale_id", "in", pickings.sale_id.ids),
                    ("picking_type_code", "=", "outgoing"),
                    ("state", "in", OPEN_STATES + ("draft",)),
                ],
                ["sale_id"],
            )
        }
        complete = pickings.filtered(lambda p: p.sale_id.id not in open_orders)
        return complete, pickings - complete
