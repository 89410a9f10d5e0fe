import math

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import SQL, float_compare, float_is_zero, float_round

from ..tools import check_quantity, without_client_context
from .stock_move import OPEN_STATES

# purchase order states whose lines wait for their goods
RECEIVING_STATES = ("purchase", "done")
SEARCH_OPERATORS = {"=": "=", "!=": "!=", ">": ">", ">=": ">=", "<": "<", "<=": "<="}


class PurchaseOrderLine(models.Model):
    """Receiving: purchase lines still on order, received in batch through Odoo's
    own receipts (what is not received stays on Odoo's backorder)."""

    _inherit = "purchase.order.line"

    backops_qty_to_receive = fields.Float(
        string="To Receive",
        compute="_compute_backops_qty_to_receive",
        search="_search_backops_qty_to_receive",
        digits="Product Unit of Measure",
        help="Ordered and not received yet, in the line's unit: only for confirmed "
        "orders and products Odoo receives through receipts.",
    )
    backops_expected_date = fields.Datetime(related="date_planned", string="Expected")
    backops_needs_covered = fields.Char(
        string="Needs",
        compute="_compute_backops_needs_covered",
        help="Sale orders (and their sections) whose needs this line covers.",
    )

    @api.depends("order_id.state", "display_type", "qty_received_method", "product_qty", "qty_received", "product_uom")
    def _compute_backops_qty_to_receive(self):
        for line in self:
            quantity = 0.0
            if line._backops_is_receivable():
                quantity = max(
                    float_round(
                        line.product_qty - line.qty_received, precision_rounding=line.product_uom.rounding or 0.01
                    ),
                    0.0,
                )
            line.backops_qty_to_receive = quantity

    def _search_backops_qty_to_receive(self, operator, value):
        if operator not in SEARCH_OPERATORS or isinstance(value, bool) or not isinstance(value, (int, float)):
            raise UserError(self.env._("Search on the quantity to receive with a number (=, !=, >, >=, <, <=)."))
        if not math.isfinite(value):
            raise UserError(self.env._("Search on the quantity to receive with a number, not %(value)s.", value=value))
        # the subquery reads these columns: write what is pending first
        self.flush_model(["order_id", "display_type", "qty_received_method", "product_qty", "qty_received"])
        self.env["purchase.order"].flush_model(["state"])
        # one subquery: the same rule as the compute (product_qty and qty_received
        # are numeric columns, their difference is exact)
        query = SQL(
            """
            (SELECT line.id
              FROM purchase_order_line line
              JOIN purchase_order po ON po.id = line.order_id
             WHERE (CASE WHEN po.state IN %(states)s
                          AND line.display_type IS NULL
                          AND line.qty_received_method = 'stock_moves'
                         THEN GREATEST(COALESCE(line.product_qty, 0) - COALESCE(line.qty_received, 0), 0)
                         ELSE 0 END) %(operator)s %(value)s)
            """,
            states=RECEIVING_STATES,
            operator=SQL(SEARCH_OPERATORS[operator]),
            value=value,
        )
        return [("id", "in", query)]

    @api.depends(
        "procurement_allocation_ids.sale_order_id.name", "procurement_allocation_ids.sale_line_id.procurement_section"
    )
    def _compute_backops_needs_covered(self):
        for line in self:
            names = []
            for allocation in line.procurement_allocation_ids:
                section = allocation.sale_line_id.procurement_section
                name = allocation.sale_order_id.name
                name = f"{name} · {section}" if section else name
                if name not in names:
                    names.append(name)
            line.backops_needs_covered = ", ".join(names)

    def _backops_is_receivable(self):
        """Whether the line waits for goods that Odoo receives through receipts."""
        self.ensure_one()
        return (
            self.order_id.state in RECEIVING_STATES
            and not self.display_type
            and self.qty_received_method == "stock_moves"
        )

    # ------------------------------------------------------------------
    # Receiving
    # ------------------------------------------------------------------
    def action_backops_receive_full(self):
        """Receive everything still expected on these lines, in one validation of
        their receipts."""
        self = without_client_context(self)
        self._backops_check_can_receive()
        pickings = self._backops_receive({line.id: line.backops_qty_to_receive for line in self})
        return self._backops_received_notification(pickings, {"type": "ir.actions.client", "tag": "soft_reload"})

    def action_backops_open_receive(self):
        """Receive Partial: the wizard with one row per selected line."""
        action = self.env["ir.actions.act_window"]._for_xml_id("backops_procurement.action_receive")
        action["context"] = {"active_model": self._name, "active_ids": self.ids}
        return action

    @api.model
    def _backops_check_can_receive(self):
        if not self.env.su and not self.env.user.has_group("stock.group_stock_user"):
            raise AccessError(
                self.env._(
                    "Only Inventory users can receive purchase orders (%(user)s is not one).", user=self.env.user.name
                )
            )

    def _backops_check_receivable(self):
        """Refuse lines that cannot be received here, naming the first one."""
        for line in self:
            order = line.order_id
            if order.state == "cancel":
                raise UserError(self.env._("%(order)s is cancelled: nothing of it can be received.", order=order.name))
            if order.state not in RECEIVING_STATES:
                raise UserError(
                    self.env._(
                        "%(order)s is not confirmed yet: confirm the order before receiving it.", order=order.name
                    )
                )
            if line.display_type:
                raise UserError(self.env._("%(order)s: a section or a note is not received.", order=order.name))
            if line.qty_received_method != "stock_moves":
                raise UserError(
                    self.env._(
                        "%(order)s: %(product)s is not received through receipts: "
                        "set its received quantity on the order.",
                        order=order.name,
                        product=line.product_id.display_name,
                    )
                )

    @api.model
    def _backops_receive(self, quantities):
        """Receive ``quantities`` ({purchase line id: quantity in the line's unit};
        zero receives nothing of that line) through Odoo's receipts: their open
        incoming moves take exactly those quantities and every receipt concerned is
        validated in one batch; what they do not receive stays on Odoo's backorder
        of each receipt. Every line and quantity is checked before anything is
        written: one bad line receives nothing. Returns the receipts validated."""
        self._backops_check_can_receive()
        if not isinstance(quantities, dict):
            raise ValidationError(self.env._("Give the quantities to receive per purchase line."))
        checked = {}
        for line_id, quantity in quantities.items():
            if isinstance(line_id, bool) or not isinstance(line_id, int):
                raise ValidationError(self.env._("%(line)r is not a purchase line.", line=line_id))
            checked[line_id] = quantity
        lines = self.browse(list(checked))
        if lines.exists() != lines:
            raise UserError(self.env._("Some of these purchase lines no longer exist: reload the list."))
        lines.check_access("read")
        lines._backops_check_receivable()
        checked = {
            line: check_quantity(self.env, checked[line.id], f"{line.order_id.name}: {line.product_id.display_name}")
            for line in lines
        }
        checked = {
            line: quantity
            for line, quantity in checked.items()
            if not float_is_zero(quantity, precision_rounding=line.product_uom.rounding)
        }
        if not checked:
            raise UserError(self.env._("Nothing to receive: set the quantities to receive."))

        lines = self.concat(*checked)
        lines._backops_lock_receipts()
        move_quantities = {}
        for line, quantity in checked.items():
            move_quantities.update(line._backops_plan_receipt(quantity))
        return self.env["stock.move"]._backops_validate(move_quantities)

    def _backops_lock_receipts(self):
        """Lock the lines' moves (``FOR NO KEY UPDATE``), then forget what was read
        of them and of the lines: the checks read them as they are now. Receiving
        the same line twice at once makes the second wait, then fail to serialize
        (Odoo retries it, and it sees what the first received)."""
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                "SELECT id FROM stock_move WHERE purchase_line_id IN %s ORDER BY id FOR NO KEY UPDATE",
                tuple(self.ids),
            )
        )
        self.env["stock.move"].invalidate_model()
        self.invalidate_recordset(["qty_received", "move_ids"])

    def _backops_open_receipt_moves(self):
        """The line's moves still to receive: open, on an incoming receipt, of the
        line's product, in the order they are due."""
        self.ensure_one()
        return self.move_ids.filtered(
            lambda move: (
                move.state in OPEN_STATES
                and move.picking_id
                and move.picking_type_id.code == "incoming"
                and move.product_id == self.product_id
            )
        ).sorted(lambda move: (move.date, move.id))

    def _backops_plan_receipt(self, quantity):
        """{move: quantity in the move's unit} receiving exactly ``quantity`` (in the
        line's unit) of the line: its open receipt moves in turn, each in full until
        what is left is less than a move. Raises when the line does not expect that
        much or a quantity cannot be counted in the move's unit. Writes nothing."""
        self.ensure_one()
        uom = self.product_uom
        rounding = uom.rounding
        label = f"{self.order_id.name}: {self.product_id.display_name}"
        if float_compare(quantity, self.backops_qty_to_receive, precision_rounding=rounding) > 0:
            raise UserError(
                self.env._(
                    "%(line)s: %(quantity)s %(uom)s to receive, but only %(expected)s %(uom)s are still expected.",
                    line=label,
                    quantity=quantity,
                    expected=self.backops_qty_to_receive,
                    uom=uom.name,
                )
            )
        moves = self._backops_open_receipt_moves()
        demands = [(move, move.product_uom._compute_quantity(move.product_uom_qty, uom, round=False)) for move in moves]
        open_qty = sum(demand for _move, demand in demands)
        if float_compare(quantity, open_qty, precision_rounding=rounding) > 0:
            raise UserError(
                self.env._(
                    "%(line)s: %(quantity)s %(uom)s to receive, but its open receipts expect %(open)s %(uom)s. "
                    "Receive the rest from the receipt itself.",
                    line=label,
                    quantity=quantity,
                    open=float_round(open_qty, precision_rounding=rounding),
                    uom=uom.name,
                )
            )
        plan = {}
        remaining = quantity
        for move, demand in demands:
            if float_is_zero(remaining, precision_rounding=rounding):
                break
            if float_compare(remaining, demand, precision_rounding=rounding) >= 0:
                plan[move] = move.product_uom_qty
                remaining -= demand
                continue
            move_qty = float_round(
                uom._compute_quantity(remaining, move.product_uom, round=False),
                precision_rounding=move.product_uom.rounding,
            )
            received = move.product_uom._compute_quantity(move_qty, uom, round=False)
            if float_is_zero(move_qty, precision_rounding=move.product_uom.rounding) or float_compare(
                received, remaining, precision_rounding=rounding
            ):
                raise UserError(
                    self.env._(
                        "%(line)s: %(quantity)s %(uom)s cannot be received exactly: the receipt counts it in "
                        "%(move_uom)s (to %(move_rounding)s). Receive a quantity that makes whole %(move_uom)s.",
                        line=label,
                        quantity=quantity,
                        uom=uom.name,
                        move_uom=move.product_uom.name,
                        move_rounding=move.product_uom.rounding,
                    )
                )
            plan[move] = move_qty
            remaining = 0.0
        return plan

    def _backops_received_notification(self, pickings, next_action):
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "success",
                "message": self.env._("Received: %(receipts)s.", receipts=", ".join(pickings.mapped("name"))),
                "next": next_action,
            },
        }
