from collections import defaultdict

from odoo import api, fields, models
from odoo.tools import float_compare, float_is_zero

from .stock_move_hold import HOLD_STATES


class SaleOrderLine(models.Model):
    """What a quotation line holds of its product's stock (``stock_move_hold.py``), and
    the rule that keeps it within the line: whatever changes the line (its quantity,
    unit or product, the order's warehouse or state) or removes it, the hold follows."""

    _inherit = "sale.order.line"

    backops_hold_move_ids = fields.One2many("stock.move", "backops_hold_sale_line_id", string="Stock Holds")
    backops_reserved_qty = fields.Float(
        string="Held",
        compute="_compute_backops_reserved_qty",
        digits="Product Unit of Measure",
        help="Stock held for this quotation line, in the line's unit: no other order can reserve it.",
    )

    @api.depends("backops_hold_move_ids.quantity", "backops_hold_move_ids.state", "product_uom")
    def _compute_backops_reserved_qty(self):
        held = self.env["stock.move"]._backops_held_quantities(self.filtered("id"))
        for line in self:
            quantity = held.get(line.id, 0.0)
            line.backops_reserved_qty = (
                line.product_id.uom_id._compute_quantity(quantity, line.product_uom) if quantity else 0.0
            )

    def _compute_qty_at_date(self):
        """Odoo's availability widget of a quotation counts what the quotation itself
        holds as available to it: held stock is no longer free, but it is free for
        this quotation."""
        res = super()._compute_qty_at_date()
        quotation_lines = self.filtered(lambda line: line.id and line.state in ("draft", "sent") and line.product_id)
        held = self.env["stock.move"]._backops_held_quantities(quotation_lines)
        if not held:
            return res
        held_per_product = defaultdict(float)  # (order, product): in the product's unit
        for line in quotation_lines:
            held_per_product[line.order_id, line.product_id] += held.get(line.id, 0.0)
        for line in quotation_lines:
            quantity = held_per_product[line.order_id, line.product_id]
            if quantity and line.product_uom:
                line.free_qty_today += line.product_id.uom_id._compute_quantity(quantity, line.product_uom)
        return res

    def _backops_hold_wanted_qty(self):
        """What the line may hold, in its product's unit."""
        self.ensure_one()
        return self.product_uom._compute_quantity(self.product_uom_qty, self.product_id.uom_id)

    def _backops_can_hold(self):
        self.ensure_one()
        return (
            not self.display_type
            and self.product_id.is_storable
            and self.order_id.state in ("draft", "sent")
            and self.order_id.backops_order_type == "order"
            and self.order_id.warehouse_id
        )

    def _backops_hold_location(self):
        self.ensure_one()
        return self.order_id.warehouse_id.lot_stock_id

    def _prepare_backops_hold_move_vals(self, quantity):
        """A hold of ``quantity`` (in the product's unit) for this line: from its
        warehouse's stock to that same stock, never picked, never done."""
        self.ensure_one()
        order = self.order_id
        location = self._backops_hold_location()
        return {
            "name": self.env._("Held for %(order)s", order=order.name),
            "origin": order.name,
            "product_id": self.product_id.id,
            "product_uom": self.product_id.uom_id.id,
            "product_uom_qty": quantity,
            "location_id": location.id,
            "location_dest_id": location.id,
            "warehouse_id": order.warehouse_id.id,
            "company_id": order.company_id.id,
            "partner_id": order.partner_shipping_id.id,
            "procure_method": "make_to_stock",
            "backops_hold_sale_line_id": self.id,
        }

    def _backops_hold(self):
        """Hold, for each line, what is free of its quantity, topping up what it
        already holds. The caller checked the user may do so; moves are written as
        superuser (see ``sale.order._backops_check_hold_access``)."""
        lines = self.filtered(lambda line: line._backops_can_hold())
        if not lines:
            return lines
        Move = self.env["stock.move"].sudo()
        moves = Move.search([("backops_hold_sale_line_id", "in", lines.ids), ("state", "in", HOLD_STATES)])
        Move._backops_lock_quants(lines.product_id, lines.order_id.warehouse_id.lot_stock_id)
        current = {move.backops_hold_sale_line_id: move for move in moves}
        quantities, new_vals = {}, []
        for line in lines:
            wanted = line._backops_hold_wanted_qty()
            move = current.get(line)
            if move:
                # reserving again tops the hold up to the line's quantity, never beyond
                if float_compare(wanted, move.quantity, precision_rounding=move.product_uom.rounding) > 0:
                    quantities[move] = wanted
            elif not float_is_zero(wanted, precision_rounding=line.product_id.uom_id.rounding):
                new_vals.append(line._prepare_backops_hold_move_vals(wanted))
        new_moves = Move.with_company(lines.company_id[:1]).create(new_vals)
        new_moves._action_confirm(merge=False)
        for move in new_moves:
            quantities[move] = move.product_uom_qty
        return Move._backops_hold_fit(quantities).backops_hold_sale_line_id

    def _backops_sync_holds(self):
        """The one gate keeping holds within their lines: a hold that no longer fits
        its line (order confirmed, cancelled or no longer a quotation, another product
        or warehouse) is released; one above the line's quantity shrinks to it."""
        # sudo: the hold moves follow the line whoever may change it
        moves = (
            self.env["stock.move"]
            .sudo()
            .search([("backops_hold_sale_line_id", "in", self.ids), ("state", "in", HOLD_STATES)])
        )
        if not moves:
            return
        to_release = self.env["stock.move"].sudo()
        to_shrink = {}
        for move in moves:
            line = move.backops_hold_sale_line_id
            if (
                not line._backops_can_hold()
                or move.product_id != line.product_id
                or move.location_id != line._backops_hold_location()
                or move.company_id != line.company_id
            ):
                to_release |= move
                continue
            wanted = line._backops_hold_wanted_qty()
            rounding = move.product_uom.rounding
            if float_is_zero(wanted, precision_rounding=rounding):
                to_release |= move
            elif float_compare(move.quantity, wanted, precision_rounding=rounding) > 0:
                to_shrink[move] = wanted
        to_release._backops_hold_release()
        if to_shrink:
            shrinking = to_release.concat(*to_shrink)
            to_release._backops_lock_quants(shrinking.product_id, shrinking.location_id)
            to_release._backops_hold_fit(to_shrink)

    def write(self, vals):
        res = super().write(vals)
        self._backops_sync_holds()
        return res

    def unlink(self):
        # sudo: deleting a quotation line gives back what it held, whoever deletes it
        self.env["stock.move"].sudo().search(
            [("backops_hold_sale_line_id", "in", self.ids), ("state", "in", HOLD_STATES)]
        )._backops_hold_release()
        return super().unlink()
