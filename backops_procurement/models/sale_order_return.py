from collections import defaultdict

from odoo import Command, api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL, float_compare, float_is_zero, float_round

from ..tools import check_quantity, without_client_context


class SaleOrder(models.Model):
    """Returns with a handling charge: an order of type ``return`` made from a
    confirmed order (``action_backops_create_return``). Confirming it brings the
    goods back with Odoo's return of the original's deliveries, received on the
    return order; invoicing it gives the customer a credit note for what came back,
    less the handling charge, through Odoo's own invoicing."""

    _inherit = "sale.order"

    # the inverse of the return lines' link (sale_order_line_return.py): Odoo finds
    # the lines whose handling charge a delivered quantity changes through it, read
    # once per order and then kept in the cache, instead of a search of the lines
    # on each change of a line of any order
    backops_return_line_ids = fields.One2many(
        "sale.order.line", "backops_return_order_id", string="Return Lines", readonly=True
    )

    # ------------------------------------------------------------------
    # Create Return
    # ------------------------------------------------------------------
    def action_backops_create_return(self):
        """A draft return of this confirmed order: one line per product of the
        order at quantity 0 (the quantity to return is typed in), at the order's
        price, and the company's Return Handling Charge. Opens it."""
        self = without_client_context(self)
        self.ensure_one()
        self._backops_check_can_return()
        fee = self.company_id.backops_return_fee_product_id
        if not fee:
            raise UserError(
                self.env._(
                    "Set the Return Handling Charge of %(company)s in the Sales settings first.",
                    company=self.company_id.name,
                )
            )
        self.check_access("read")
        self.env["sale.order"].check_access("create")
        # sudo: a return's type and original are set by this action only (never in a
        # user's vals, see sale_order_reference.py); the checks above and
        # _backops_check_can_return are the user's. The creator stays the user.
        order = self.sudo().create(self._prepare_backops_return_vals()).sudo(False)
        return self._backops_orders_action(order)

    def _backops_check_can_return(self):
        """The one gate of making a return of these orders: sales users only, of
        confirmed orders (type order) they may read."""
        if not self.env.su and not self.env.user.has_group("sales_team.group_sale_salesman"):
            raise AccessError(self.env._("Only sales users can create returns."))
        self.check_access("read")
        for order in self:
            if order.backops_order_type != "order":
                raise UserError(
                    self.env._(
                        "%(order)s is a %(type)s: only a confirmed order can be returned.",
                        order=order.name,
                        type=dict(order._fields["backops_order_type"]._description_selection(self.env))[
                            order.backops_order_type
                        ],
                    )
                )
            if order.state != "sale":
                raise UserError(
                    self.env._(
                        "%(order)s is not a confirmed order (it is %(state)s): nothing of it can be returned.",
                        order=order.name,
                        state=dict(order._fields["state"]._description_selection(self.env))[order.state],
                    )
                )

    def _prepare_backops_return_vals(self):
        """Values of a return of this order; writes nothing."""
        self.ensure_one()
        lines = []
        seen = set()
        for line in self.order_line:
            product = line.product_id
            if line.display_type or not product or product.type != "consu" or product in seen:
                continue
            seen.add(product)
            lines.append(
                Command.create(
                    {
                        "product_id": product.id,
                        "name": line.name,
                        "product_uom": line.product_uom.id,
                        "product_uom_qty": 0.0,
                        "price_unit": line.price_unit,
                        "discount": line.discount,
                        "tax_id": [Command.set(line.tax_id.ids)],
                    }
                )
            )
        fee = self.company_id.backops_return_fee_product_id
        if fee:
            lines.append(Command.create({"product_id": fee.id, "product_uom_qty": 1.0}))
        return {
            "backops_order_type": "return",
            "backops_ref_order_id": self.id,
            "partner_id": self.partner_id.id,
            "partner_invoice_id": self.partner_invoice_id.id,
            "partner_shipping_id": self.partner_shipping_id.id,
            "company_id": self.company_id.id,
            "pricelist_id": self.pricelist_id.id,
            "currency_id": self.currency_id.id,
            "fiscal_position_id": self.fiscal_position_id.id,
            "payment_term_id": self.payment_term_id.id,
            "warehouse_id": self.warehouse_id.id,
            "user_id": self.env.uid if self.env.user._is_internal() else self.user_id.id,
            "team_id": self.team_id.id,
            "client_order_ref": self.client_order_ref,
            "origin": self.name,
            "order_line": lines,
        }

    # ------------------------------------------------------------------
    # The rule: what a return may take back, in one gate
    # ------------------------------------------------------------------
    @api.model_create_multi
    def create(self, vals_list):
        orders = super().create(vals_list)
        orders.filtered(lambda order: order.backops_order_type == "return")._backops_check_return()
        return orders

    def write(self, vals):
        if "backops_order_type" in vals or "backops_ref_order_id" in vals:
            before = {order: (order.backops_order_type, order.backops_ref_order_id) for order in self}
        res = super().write(vals)
        if "backops_order_type" in vals or "backops_ref_order_id" in vals:
            for order, (old_type, old_ref) in before.items():
                if "return" in (old_type, order.backops_order_type) and (
                    old_type != order.backops_order_type or old_ref != order.backops_ref_order_id
                ):
                    raise UserError(
                        self.env._(
                            "%(order)s: a return is made with Create Return from its original order; "
                            "its type and original cannot change.",
                            order=order.name or self.env._("New"),
                        )
                    )
        return res

    def copy_data(self, default=None):
        vals_list = super().copy_data(default=default)
        for order, vals in zip(self, vals_list, strict=True):
            if order.backops_order_type == "return" and "backops_ref_order_id" not in (default or {}):
                # a copy of a return returns from the same original
                vals["backops_ref_order_id"] = order.backops_ref_order_id.id
        return vals_list

    def _backops_return_fee_lines(self):
        return self.order_line.filtered(lambda line: line._backops_is_return_fee())

    def _backops_return_goods_lines(self):
        return self.order_line.filtered(
            lambda line: not line.display_type and not line._backops_is_return_fee() and line.product_id
        )

    def _backops_check_return(self, locked=False):
        """Refuse a return that takes back what its original did not deliver: a
        product not on it, a negative quantity, more than it delivered and has not
        had back yet (by earlier returns, or Cancel Delivery). ``locked``: the
        original's delivered moves are locked (confirmation). Returns {done delivery
        move of the original: quantity of it this return still has to bring back}."""
        to_return = {}
        for order in self:
            original = order.backops_ref_order_id
            if not original:
                raise UserError(self.env._("%(order)s: a return needs its original order.", order=order.name))
            if original.state != "sale" or original.backops_order_type != "order":
                raise UserError(
                    self.env._(
                        "%(order)s returns %(original)s, which is not a confirmed order.",
                        order=order.name,
                        original=original.name,
                    )
                )
            if order.company_id != original.company_id:
                raise UserError(
                    self.env._(
                        "%(order)s must be of the company of %(original)s.", order=order.name, original=original.name
                    )
                )
            if order.partner_id.commercial_partner_id != original.partner_id.commercial_partner_id:
                raise UserError(
                    self.env._(
                        "%(order)s must be for the customer of %(original)s (%(customer)s).",
                        order=order.name,
                        original=original.name,
                        customer=original.partner_id.display_name,
                    )
                )
            original_products = original.order_line.product_id
            wanted = defaultdict(float)
            for line in order._backops_return_goods_lines():
                product = line.product_id
                quantity = check_quantity(self.env, line.product_uom_qty, product.display_name)
                if product not in original_products or product.type != "consu":
                    raise UserError(
                        self.env._(
                            "%(product)s was not delivered by %(original)s: a return takes back only its goods.",
                            product=product.display_name,
                            original=original.name,
                        )
                    )
                wanted[product] += line.product_uom._compute_quantity(quantity, product.uom_id, round=False)
            # sudo: what the original delivered decides, whoever returns it (a
            # salesperson does not read every stock move)
            returnable = original.order_line.sudo()._backops_returnable_quantities()
            on_return = order._backops_return_move_quantities()
            by_product = defaultdict(list)
            for move, quantity in returnable.items():
                by_product[move.product_id].append((move, quantity))
            for product, quantity in wanted.items():
                rounding = product.uom_id.rounding
                missing = float_round(quantity - on_return.get(product, 0.0), precision_rounding=rounding)
                left = sum(qty for _move, qty in by_product[product])
                if float_compare(missing, left, precision_rounding=rounding) > 0:
                    raise UserError(
                        self.env._(
                            "%(product)s: %(quantity)s %(uom)s to return, but %(original)s has only %(left)s "
                            "delivered and not returned yet.",
                            product=product.display_name,
                            quantity=float_round(missing, precision_rounding=rounding),
                            uom=product.uom_id.name,
                            original=original.name,
                            left=float_round(left, precision_rounding=rounding),
                        )
                    )
                if float_compare(missing, 0.0, precision_rounding=rounding) < 0:
                    raise UserError(
                        self.env._(
                            "%(product)s: %(order)s already brings back %(on_return)s %(uom)s; cancel its "
                            "receipt to take back less.",
                            product=product.display_name,
                            order=order.name,
                            on_return=on_return[product],
                            uom=product.uom_id.name,
                        )
                    )
                if locked:
                    for move, qty in by_product[product]:
                        if float_is_zero(missing, precision_rounding=rounding):
                            break
                        take = min(qty, missing)
                        if not float_is_zero(take, precision_rounding=rounding):
                            to_return[move] = (order, take)
                        missing -= take
        return to_return

    def _backops_return_move_quantities(self):
        """{product: quantity this return's receipts bring back (done: received;
        open: expected), in the product's unit}."""
        self.ensure_one()
        quantities = defaultdict(float)
        # sudo: what the receipts bring back decides, whoever edits the return
        moves = self.sudo().order_line.move_ids.filtered(
            lambda move: move.state != "cancel" and move.location_id.usage == "customer"
        )
        for move in moves:
            quantity = move.quantity if move.state == "done" else move.product_uom_qty
            quantities[move.product_id] += move.product_uom._compute_quantity(
                quantity, move.product_id.uom_id, round=False
            )
        return quantities

    def _backops_lock_originals(self):
        """Lock the original orders' lines and their delivered moves before reading
        what they can still return. An UPDATE, not only a lock: under Odoo's
        REPEATABLE READ a transaction that waited for a lock still reads its old
        snapshot; an updated row makes it fail to serialize, and Odoo retries it,
        then it sees the returns of the one before."""
        lines = self.backops_ref_order_id.order_line
        if not lines:
            return
        self.env.flush_all()
        # raw SQL, last resort: the ORM has no way to take a row lock; write_date
        # and write_uid are set as the ORM would, and invalidated below
        self.env.cr.execute(
            SQL(
                """
            UPDATE sale_order_line SET write_date = (now() at time zone 'UTC'), write_uid = %s
             WHERE id IN (SELECT id FROM sale_order_line WHERE id IN %s ORDER BY id FOR NO KEY UPDATE)
            """,
                self.env.uid,
                tuple(lines.ids),
            )
        )
        lines.invalidate_recordset(["write_date", "write_uid"], flush=False)
        Move = self.env["stock.move"].sudo()
        self.env["sale.order.line"]._backops_lock_moves(Move.search(lines.sudo()._backops_delivered_move_domain()))

    # ------------------------------------------------------------------
    # Confirmation: Odoo's return of the original deliveries
    # ------------------------------------------------------------------
    def _action_confirm(self):
        returns = self.filtered(lambda order: order.backops_order_type == "return")
        if returns:
            returns._backops_check_can_return_confirm()
        res = super()._action_confirm()
        returns._backops_launch_returns()
        return res

    def _backops_check_can_return_confirm(self):
        if not self.env.su and not self.env.user.has_group("sales_team.group_sale_salesman"):
            raise AccessError(self.env._("Only sales users can confirm returns."))
        for order in self:
            if not order._backops_return_goods_lines().filtered("product_uom_qty"):
                raise UserError(self.env._("%(order)s: set the quantities to return.", order=order.name))

    def _backops_launch_returns(self):
        """What these confirmed returns still have to bring back comes back with
        Odoo's return of the original deliveries (one return per delivery), left
        for the warehouse to validate and received on the return's lines."""
        returns = self.filtered(lambda order: order.backops_order_type == "return" and order.state == "sale")
        if not returns:
            return self.env["stock.picking"]
        returns._backops_lock_originals()
        to_return = returns._backops_check_return(locked=True)
        if not to_return:
            return self.env["stock.picking"]
        SaleLine = self.env["sale.order.line"]
        # sudo: the salesperson confirming a return has no inventory rights, as
        # Odoo's own confirmation runs the stock rules as superuser
        pickings = SaleLine.sudo()._backops_create_returns({move: qty for move, (_order, qty) in to_return.items()})
        by_origin = {move.origin_returned_move_id: move for move in pickings.move_ids}
        for order in returns:
            group = order.procurement_group_id
            if not group:
                group = (
                    self.env["procurement.group"].sudo().create(order.order_line[:1]._prepare_procurement_group_vals())
                )
                order.procurement_group_id = group
            lines_by_product = {line.product_id: line for line in order._backops_return_goods_lines()}
            for origin, (return_order, _qty) in to_return.items():
                if return_order != order:
                    continue
                by_origin[origin].write({"sale_line_id": lines_by_product[origin.product_id].id, "group_id": group.id})
        return pickings

    # ------------------------------------------------------------------
    # Invoicing: a credit note for what came back, less the charge
    # ------------------------------------------------------------------
    def _create_invoices(self, grouped=False, final=False, date=None):
        """Returns credit what came back (negative quantities to invoice, which
        Odoo invoices only when ``final``, and turns into a credit note); they are
        invoiced apart from orders, never in one move with them."""
        returns = self.filtered(lambda order: order.backops_order_type == "return")
        if not returns:
            return super()._create_invoices(grouped=grouped, final=final, date=date)
        if returns == self:
            return super()._create_invoices(grouped=grouped, final=True, date=date)
        quiet = self.with_context(raise_if_nothing_to_invoice=False)
        moves = super(SaleOrder, quiet - returns)._create_invoices(grouped=grouped, final=final, date=date)
        moves |= super(SaleOrder, returns.with_context(raise_if_nothing_to_invoice=False))._create_invoices(
            grouped=grouped, final=True, date=date
        )
        if not moves and self.env.context.get("raise_if_nothing_to_invoice", True):
            raise UserError(self._nothing_to_invoice_error_message())
        return moves

    # ------------------------------------------------------------------
    # Portal: a customer never accepts or pays a return
    # ------------------------------------------------------------------
    def _has_to_be_signed(self):
        return self.backops_order_type != "return" and super()._has_to_be_signed()

    def _has_to_be_paid(self):
        return self.backops_order_type != "return" and super()._has_to_be_paid()
