from collections import defaultdict

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL, float_compare, float_is_zero, float_round

from ..tools import check_quantity, check_ship_date

READY_STATES = ("partially_available", "assigned")


class SaleOrderLine(models.Model):
    """Delivering and shipping sale lines from Procurement → Delivery & Shipping:
    what is ready ships through the lines' own customer deliveries, and a delivery
    is cancelled with Odoo's return of it."""

    _inherit = "sale.order.line"

    # not stored: Odoo groups by a related field through a join
    backops_shipping_partner_id = fields.Many2one(
        related="order_id.partner_shipping_id",
        string="Delivery Address",
    )

    # ------------------------------------------------------------------
    # The gate
    # ------------------------------------------------------------------
    def _backops_check_can_ship(self):
        """Delivering, shipping and returning goods is inventory work: refuse
        anyone without inventory rights, and lines the user cannot read."""
        if not self.env.su and not self.env.user.has_group("stock.group_stock_user"):
            raise AccessError(self.env._("Only Inventory users can deliver, ship or return goods."))
        self.check_access("read")
        cancelled = self.filtered(lambda line: line.state == "cancel")
        if cancelled:
            raise UserError(
                self.env._(
                    "%(orders)s is cancelled: its lines are not delivered from here.",
                    orders=", ".join(cancelled.order_id.mapped("name")),
                )
            )

    # ------------------------------------------------------------------
    # Moves
    # ------------------------------------------------------------------
    def _backops_ready_move_domain(self):
        """The moves whose reservation the lines' Ready counts (see
        ``_update_backops_fulfilment``): open customer deliveries, not drop-ships."""
        return [
            ("sale_line_id", "in", self.ids),
            ("picking_id", "!=", False),
            ("state", "in", READY_STATES),
            ("location_dest_id.usage", "=", "customer"),
            ("location_id.usage", "!=", "supplier"),
        ]

    def _backops_ready_moves(self):
        """{line: its ready moves, first to ship first}."""
        moves = self.env["stock.move"].search(self._backops_ready_move_domain(), order="date, id")
        by_line = defaultdict(lambda: self.env["stock.move"])
        for move in moves:
            by_line[move.sale_line_id] |= move
        return by_line

    def _backops_delivered_move_domain(self):
        """The done moves that count in the lines' Delivered (sale_stock's outgoing
        moves) and came from the company's stock: what Cancel Delivery returns."""
        return [
            ("sale_line_id", "in", self.ids),
            ("picking_id", "!=", False),
            ("state", "=", "done"),
            ("location_dest_id.usage", "=", "customer"),
            ("location_id.usage", "!=", "supplier"),
            "|",
            ("origin_returned_move_id", "=", False),
            ("to_refund", "=", True),
        ]

    def _backops_returnable_quantities(self):
        """{done delivery move of the lines: what of it is not returned yet, in the
        product's unit}."""
        Move = self.env["stock.move"]
        moves = Move.search(self._backops_delivered_move_domain(), order="date, id")
        returned = defaultdict(float)
        if moves:
            for back in Move.search([("origin_returned_move_id", "in", moves.ids), ("state", "!=", "cancel")]):
                quantity = back.quantity if back.state == "done" else back.product_uom_qty
                returned[back.origin_returned_move_id] += back.product_uom._compute_quantity(
                    quantity, back.product_id.uom_id, round=False
                )
        quantities = {}
        for move in moves:
            rounding = move.product_id.uom_id.rounding
            done = move.product_uom._compute_quantity(move.quantity, move.product_id.uom_id, round=False)
            quantities[move] = max(float_round(done - returned[move], precision_rounding=rounding), 0.0)
        return quantities

    @api.model
    def _backops_lock_moves(self, moves):
        """Lock ``moves`` (``SELECT … FOR NO KEY UPDATE``, in id order) and forget what
        was read of them and their transfers: what follows reads them as they are
        now. Two deliveries of the same lines at once: the second waits, then
        fails to serialize and Odoo retries it."""
        if not moves:
            return
        self.env.flush_all()
        self.env.cr.execute(
            SQL("SELECT id FROM stock_move WHERE id IN %s ORDER BY id FOR NO KEY UPDATE", tuple(moves.ids))
        )
        for model in ("stock.move.line", "stock.move", "stock.picking"):
            self.env[model].invalidate_model()

    # ------------------------------------------------------------------
    # Deliver/Ship
    # ------------------------------------------------------------------
    def _backops_ready_quantities(self):
        """{line: what its open customer deliveries have reserved, in its unit}."""
        ready = dict.fromkeys(self, 0.0)
        for line, moves in self._backops_ready_moves().items():
            ready[line] = sum(
                move.product_uom._compute_quantity(move.quantity, line.product_uom, round=False) for move in moves
            )
        return ready

    @api.model
    def _backops_deliver(self, quantities, ship_date=None):
        """Ship ``quantities`` ({line: quantity in the line's unit}) of what is ready
        on the lines: their open customer deliveries are validated in one batch for
        those quantities, everything else on them staying on Odoo's backorders, and
        carry ``ship_date`` (now when empty, never in the future) as their actual
        ship date. Every quantity is checked before anything is validated.
        Returns the deliveries validated."""
        lines = self.browse().concat(*quantities)
        lines._backops_check_can_ship()
        ship_date = check_ship_date(self.env, ship_date)
        quantities = {
            line: check_quantity(self.env, quantity, line.product_id.display_name or line.name)
            for line, quantity in quantities.items()
        }
        Move = self.env["stock.move"]
        self._backops_lock_moves(Move.concat(*lines._backops_ready_moves().values()))
        # read again once locked: what is reserved now
        ready_moves = lines._backops_ready_moves()
        Move.concat(*ready_moves.values()).picking_id.check_access("write")
        to_validate = {}
        for line, quantity in quantities.items():
            rounding = line.product_uom.rounding
            moves = ready_moves.get(line, self.env["stock.move"])
            ready = sum(
                move.product_uom._compute_quantity(move.quantity, line.product_uom, round=False) for move in moves
            )
            if float_is_zero(ready, precision_rounding=rounding):
                raise UserError(
                    self.env._("%(line)s has nothing ready to deliver or ship.", line=line._procurement_label())
                )
            if float_compare(quantity, ready, precision_rounding=rounding) > 0:
                raise UserError(
                    self.env._(
                        "%(line)s: %(quantity)s %(uom)s to ship, but only %(ready)s are ready.",
                        line=line._procurement_label(),
                        quantity=quantity,
                        ready=ready,
                        uom=line.product_uom.name,
                    )
                )
            to_validate.update(line._backops_split_over_moves(quantity, moves))
        if not to_validate:
            raise UserError(self.env._("Nothing to ship: set the quantities to deliver or ship."))
        pickings = self.env["stock.move"]._backops_validate(to_validate)
        pickings.write({"backops_ship_date": ship_date})
        return pickings

    def _backops_split_over_moves(self, quantity, moves):
        """{move: quantity in the move's unit}: ``quantity`` (the line's unit) taken
        from the reservations of ``moves`` in their order."""
        self.ensure_one()
        rounding = self.product_uom.rounding
        remaining = quantity
        result = {}
        for move in moves:
            if float_compare(remaining, 0.0, precision_rounding=rounding) <= 0:
                break
            reserved = move.product_uom._compute_quantity(move.quantity, self.product_uom, round=False)
            if float_compare(remaining, reserved, precision_rounding=rounding) >= 0:
                result[move] = move.quantity
                remaining -= reserved
            else:
                result[move] = min(self.product_uom._compute_quantity(remaining, move.product_uom), move.quantity)
                remaining = 0.0
        return result

    # ------------------------------------------------------------------
    # Cancel Delivery
    # ------------------------------------------------------------------
    def _backops_return_deliveries(self, quantities, redeliver=True):
        """Return ``quantities`` ({done delivery move of these lines: quantity in the
        product's unit}) with Odoo's return of each delivery, updating the sale
        lines (``to_refund``), and validate the returns in one batch. With
        ``redeliver``, what came back goes out again on a return of the return:
        an open delivery, reserved, so the lines are ready to ship again.

        Invoices are never changed: when a line is then invoiced beyond what it
        delivers, its salesperson gets an activity saying what came back.
        Returns (the returns, the new deliveries)."""
        self._backops_check_can_ship()
        self._backops_lock_moves(self.env["stock.move"].concat(*quantities))
        # read once locked: what is returned already, by this or another transaction
        returnable = self._backops_returnable_quantities()
        to_return = {}
        for move, quantity in quantities.items():
            product = move.product_id
            quantity = check_quantity(self.env, quantity, product.display_name)
            if move not in returnable:
                raise UserError(
                    self.env._(
                        "%(product)s: that is not a done delivery of the selected lines.", product=product.display_name
                    )
                )
            left = returnable.get(move, 0.0)
            if float_compare(quantity, left, precision_rounding=product.uom_id.rounding) > 0:
                raise UserError(
                    self.env._(
                        "%(product)s: %(quantity)s %(uom)s to return from %(picking)s, but only %(left)s are "
                        "delivered and not returned yet.",
                        product=product.display_name,
                        quantity=quantity,
                        uom=product.uom_id.name,
                        picking=move.picking_id.name,
                        left=left,
                    )
                )
            if not float_is_zero(quantity, precision_rounding=product.uom_id.rounding):
                to_return[move] = quantity
        if not to_return:
            raise UserError(self.env._("Nothing to return: set the quantities to return."))
        delivered_before = {line: line.qty_delivered for line in self}
        returns = self._backops_create_returns(to_return)
        self.env["stock.move"]._backops_validate({move: move.product_uom_qty for move in returns.move_ids})
        redeliveries = self.env["stock.picking"]
        if redeliver:
            redeliveries = self._backops_create_returns(
                {
                    move: move.product_uom._compute_quantity(move.quantity, move.product_id.uom_id, round=False)
                    for move in returns.move_ids
                }
            )
        self._backops_notify_returned_after_invoicing(delivered_before)
        return returns, redeliveries

    @api.model
    def _backops_create_returns(self, quantities):
        """Odoo's return of each done transfer of ``quantities`` ({done move:
        quantity in the product's unit}), updating the sale lines: the returns,
        confirmed and reserved (not validated)."""
        ReturnPicking = self.env["stock.return.picking"]
        returns = self.env["stock.picking"]
        by_picking = defaultdict(dict)
        for move, quantity in quantities.items():
            by_picking[move.picking_id][move] = quantity
        for picking, picking_quantities in by_picking.items():
            wizard = ReturnPicking.create({"picking_id": picking.id})
            for return_line in wizard.product_return_moves:
                return_line.write({"quantity": picking_quantities.get(return_line.move_id, 0.0), "to_refund": True})
            returns |= wizard._create_return()
        return returns

    def _backops_notify_returned_after_invoicing(self, delivered_before):
        """An activity for the salesperson of each order whose lines are now
        invoiced beyond what they deliver: which products came back, how many,
        and what was invoiced. ``delivered_before``: {line: Delivered before the
        return}."""
        by_order = defaultdict(list)
        for line in self:
            rounding = line.product_uom.rounding
            returned = delivered_before[line] - line.qty_delivered
            if float_compare(returned, 0.0, precision_rounding=rounding) <= 0:
                continue
            if float_compare(line.qty_invoiced, line.qty_delivered, precision_rounding=rounding) > 0:
                by_order[line.order_id].append((line, returned))
        for order, rows in by_order.items():
            note = self.env["ir.qweb"]._render(
                "backops_procurement.message_returned_after_invoicing",
                {
                    "rows": rows,
                    # sudo: the salesperson is told which invoices, whoever returned
                    # the goods (a warehouse user does not read invoices)
                    "invoices": self.browse([line.id for line, _returned in rows])
                    .sudo()
                    .invoice_lines.move_id.filtered(lambda move: move.state != "cancel"),
                    "user": self.env.user,
                },
            )
            order.activity_schedule(
                "backops_procurement.mail_activity_returned_after_invoicing",
                summary=self.env._("Returned after invoicing: %(order)s", order=order.name),
                note=note,
                user_id=(order.user_id or order.create_uid).id,
            )

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def _backops_wizard_action(self, name, res_model):
        return {
            "type": "ir.actions.act_window",
            "name": name,
            "res_model": res_model,
            "view_mode": "form",
            "target": "new",
            "context": {"active_model": self._name, "active_ids": self.ids},
        }

    def action_open_backops_deliver(self):
        return self._backops_wizard_action(self.env._("Deliver/Ship"), "backops.deliver")

    def action_open_backops_delivery_return(self):
        return self._backops_wizard_action(self.env._("Cancel Delivery"), "backops.delivery.return")

    def action_print_backops_pick_list(self):
        return self.env.ref("backops_procurement.action_report_pick_list").report_action(self)

    def action_print_backops_packing_list(self):
        return self.env.ref("backops_procurement.action_report_packing_list").report_action(self)
