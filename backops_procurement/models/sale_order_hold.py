import logging
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import float_compare, float_round

from .stock_move_hold import HOLD_STATES

_logger = logging.getLogger(__name__)

QUOTATION_STATES = ("draft", "sent")


class SaleOrder(models.Model):
    """Hold stock for a quotation (Autotask's reserve-for-quote): **Reserve** holds, per
    line of a storable product, what is free of its quantity in the order's warehouse
    until ``backops_reservation_expiry``; confirming the quotation hands what was held
    to its delivery; cancelling it, **Release** or expiry give it back. The holds are
    Odoo stock moves reserving quants (``stock_move_hold.py``)."""

    _inherit = "sale.order"

    backops_reservation_expiry = fields.Date(
        string="Hold Until",
        copy=False,
        tracking=True,
        help="Stock held for this quotation is given back after this day. Reserve proposes "
        "today plus the company's hold period.",
    )
    backops_has_stock_hold = fields.Boolean(string="Holds Stock", compute="_compute_backops_has_stock_hold")

    @api.depends("order_line.backops_hold_move_ids.state")
    def _compute_backops_has_stock_hold(self):
        holding = {
            order.id
            for [order] in self.env["stock.move"]
            .sudo()
            ._read_group(
                [("backops_hold_order_id", "in", self.filtered("id").ids), ("state", "in", HOLD_STATES)],
                ["backops_hold_order_id"],
            )
        }
        for order in self:
            order.backops_has_stock_hold = order.id in holding

    @api.constrains("backops_reservation_expiry")
    def _check_backops_reservation_expiry(self):
        holding = self.filtered(lambda order: not order.backops_reservation_expiry and order.backops_has_stock_hold)
        if holding:
            raise ValidationError(
                self.env._(
                    "%(orders)s hold stock: they need a Hold Until date (Release the stock to clear it).",
                    orders=", ".join(holding.mapped("name")),
                )
            )

    # ------------------------------------------------------------------
    # Reserve and Release
    # ------------------------------------------------------------------
    def action_backops_reserve(self):
        """Hold, for each line of a storable product, what is free of its quantity in
        the order's warehouse, until the Hold Until date; reserving again tops the
        holds up to the lines' quantities. Only quotations of type Order may hold."""
        self._backops_check_hold_access()
        refused = self.filtered(
            lambda order: order.state not in QUOTATION_STATES or order.backops_order_type != "order"
        )
        if refused:
            raise UserError(
                self.env._(
                    "Only quotations can hold stock: %(orders)s are confirmed, cancelled, recurring "
                    "templates or returns.",
                    orders=", ".join(refused.mapped("display_name")),
                )
            )
        today = fields.Date.context_today(self)
        for order in self:
            if not order.backops_reservation_expiry or order.backops_reservation_expiry < today:
                order.backops_reservation_expiry = today + timedelta(days=order.company_id.backops_quote_hold_days)
        lines = self.order_line
        lines._backops_hold()
        return self._backops_hold_notification(lines)

    def action_backops_release(self):
        """Give back all the stock these quotations hold."""
        self._backops_check_hold_access()
        released = self._backops_release_holds()
        message = (
            self.env._("Stock released: %(orders)s.", orders=", ".join(released.mapped("name")))
            if released
            else self.env._("Nothing was held.")
        )
        return self._backops_notification(message, "info")

    def _backops_check_hold_access(self):
        """Who may hold or release: internal users who may change the orders (a
        salesperson their own quotations). The hold moves are then written as
        superuser, as sales users may not reserve stock themselves."""
        if not self.env.user._is_internal():
            raise AccessError(self.env._("Only internal users may hold stock for quotations."))
        self.check_access("write")

    def _backops_release_holds(self):
        """Release the holds of these orders; returns the orders that held stock."""
        # sudo: the rights were checked by the caller, or the order's own change asks it
        moves = (
            self.env["stock.move"]
            .sudo()
            .search([("backops_hold_order_id", "in", self.ids), ("state", "in", HOLD_STATES)])
        )
        return moves._backops_hold_release().backops_hold_order_id.with_env(self.env)

    def _backops_hold_notification(self, lines):
        held = self.env["stock.move"]._backops_held_quantities(lines)
        short = []
        for line in lines.filtered(lambda line: line._backops_can_hold()):
            wanted = line._backops_hold_wanted_qty()
            rounding = line.product_id.uom_id.rounding
            if float_compare(held.get(line.id, 0.0), wanted, precision_rounding=rounding) < 0:
                short.append(
                    self.env._(
                        "%(order)s, %(product)s: %(held)s of %(wanted)s %(uom)s",
                        order=line.order_id.name,
                        product=line.product_id.display_name,
                        held=float_round(held.get(line.id, 0.0), precision_rounding=rounding),
                        wanted=wanted,
                        uom=line.product_id.uom_id.name,
                    )
                )
        if short:
            return self._backops_notification(
                self.env._("Not enough free stock to hold everything. Held: %(lines)s.", lines="; ".join(short)),
                "warning",
            )
        if not held:
            return self._backops_notification(self.env._("No line of a storable product to hold."), "warning")
        dates = sorted({fields.Date.to_string(order.backops_reservation_expiry) for order in self})
        return self._backops_notification(self.env._("Stock held until %(date)s.", date=", ".join(dates)), "success")

    def _backops_notification(self, message, kind):
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "message": message,
                "type": kind,
                "sticky": False,
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    # ------------------------------------------------------------------
    # The holds follow the order
    # ------------------------------------------------------------------
    def action_confirm(self):
        # what each line holds, before the confirmation writes the state and the
        # holds are released (``write``), so its delivery reserves it in their place
        held = self.env["stock.move"]._backops_held_quantities(self.order_line)
        res = super().action_confirm()
        if held:
            self._backops_reserve_held_on_deliveries(held)
        return res

    def write(self, vals):
        res = super().write(vals)
        # confirmed, cancelled, another warehouse or type: the holds follow (one gate)
        self.order_line._backops_sync_holds()
        return res

    def unlink(self):
        self._backops_release_holds()
        return super().unlink()

    def _backops_reserve_held_on_deliveries(self, held):
        """Reserve on each line's delivery what the line held ({line id: quantity in
        the product's unit}) and Odoo did not reserve itself (its operation type
        reserves manually or by date). Same transaction as the release, quants still
        locked by it: nothing else took the stock in between."""
        lines = self.env["sale.order.line"].browse(list(held))
        # sudo: the salesperson confirming may not reserve stock moves themselves
        moves = (
            self.env["stock.move"]
            .sudo()
            .search(
                [
                    ("sale_line_id", "in", lines.ids),
                    ("state", "in", ("confirmed", "partially_available", "assigned")),
                    ("move_orig_ids", "=", False),
                    ("location_id.usage", "=", "internal"),
                ],
                order="date, id",
            )
        )
        forced = self.env["stock.move"].sudo()
        for line in lines:
            line_moves = moves.filtered(lambda move, line=line: move.sale_line_id == line)
            product_uom = line.product_id.uom_id
            missing = held[line.id] - sum(
                move.product_uom._compute_quantity(move.quantity, product_uom, round=False) for move in line_moves
            )
            for move in line_moves:
                if float_compare(missing, 0.0, precision_rounding=product_uom.rounding) <= 0:
                    break
                open_qty = move.product_uom_qty - move.quantity
                wanted = min(open_qty, product_uom._compute_quantity(missing, move.product_uom, round=False))
                wanted = float_round(wanted, precision_rounding=move.product_uom.rounding, rounding_method="DOWN")
                if wanted <= 0:
                    continue
                before = move.quantity
                move._action_assign(force_qty=wanted)
                forced |= move
                missing -= move.product_uom._compute_quantity(move.quantity - before, product_uom, round=False)
        # a forced reservation marks the move assigned: its state follows what it reserved
        forced._recompute_state()

    # ------------------------------------------------------------------
    # Expiry
    # ------------------------------------------------------------------
    @api.model
    def _cron_backops_release_expired_holds(self, batch_size=200):
        """Give back the stock of holds past their Hold Until date (or whose order is
        no longer a quotation), a batch of orders at a time; progress is reported to
        the scheduler and each batch committed there; an order that fails is logged
        and skipped. Safe to run again."""
        today = fields.Date.context_today(self)
        # sudo: the scheduler's user releases every company's expired holds
        Move = self.env["stock.move"].sudo()
        domain = [
            *Move._backops_hold_domain(),
            "|",
            ("backops_hold_order_id.backops_reservation_expiry", "<", today),
            ("backops_hold_order_id.state", "not in", QUOTATION_STATES),
        ]
        failed = []
        done = 0
        in_scheduler = bool(self.env.context.get("ir_cron_progress_id"))
        while True:
            batch_domain = [*domain, ("backops_hold_order_id", "not in", failed)]
            orders = Move._read_group(batch_domain, ["backops_hold_order_id"], limit=batch_size)
            if not orders:
                break
            for [order] in orders:
                try:
                    with self.env.cr.savepoint():
                        order._backops_release_holds()
                        order.message_post(
                            body=self.env._(
                                "The stock held for this quotation was released (held until %(date)s).",
                                date=order.backops_reservation_expiry,
                            ),
                        )
                    done += 1
                except Exception:  # noqa: BLE001 - one failing order never stops the rest
                    _logger.exception("Releasing the stock held for %s failed", order.name)
                    failed.append(order.id)
            remaining = len(
                Move._read_group([*domain, ("backops_hold_order_id", "not in", failed)], ["backops_hold_order_id"])
            )
            self.env["ir.cron"]._notify_progress(done=done, remaining=remaining)
            if in_scheduler:
                # in the scheduler, each batch released stays released
                self.env.cr.commit()  # pylint: disable=invalid-commit
        _logger.info("Quotation holds released for %s orders, %s failed", done, len(failed))
        return done
