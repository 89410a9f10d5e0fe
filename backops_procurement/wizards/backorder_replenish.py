from collections import defaultdict
from datetime import timedelta

from odoo import Command, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import float_compare, float_round

from ..models.stock_move import OPEN_STATES
from ..tools import check_quantity, without_client_context

# backorders older than a century are not looked for
MAX_DAYS = 36500


class BackorderReplenish(models.TransientModel):
    """RFQs, one per vendor, for what backorders need beyond the stock on hand and
    the receipts on their way."""

    _name = "backops.backorder.replenish"
    _description = "Replenish Backorders"

    company_id = fields.Many2one("res.company", required=True, default=lambda self: self.env.company)
    days = fields.Integer(
        string="Backorders of the Last (days)",
        default=30,
        required=True,
        help="Backorders created within this many days count.",
    )
    line_ids = fields.One2many("backops.backorder.replenish.line", "wizard_id", string="Products")

    @api.onchange("days", "company_id")
    def _onchange_days(self):
        self.line_ids = [Command.clear()] + [Command.create(vals) for vals in self._prepare_line_values()]

    @api.model
    def default_get(self, fields_list):
        res = super().default_get(fields_list)
        if "line_ids" in fields_list:
            wizard = self.new({"company_id": res.get("company_id"), "days": res.get("days", 30)})
            res["line_ids"] = [Command.create(vals) for vals in wizard._prepare_line_values()]
        return res

    def _backorder_moves(self):
        self.ensure_one()
        if not 0 <= self.days <= MAX_DAYS:
            raise UserError(
                self.env._(
                    "The number of days must be between 0 and %(max)s, not %(days)s.", max=MAX_DAYS, days=self.days
                )
            )
        since = fields.Datetime.now() - timedelta(days=self.days)
        return self.env["stock.move"].search(
            [
                *self.env["stock.move"]._backops_backorder_domain(),
                ("picking_id.create_date", ">=", since),
                ("company_id", "=", self.company_id.id),
                ("product_id.is_storable", "=", True),
            ]
        )

    def _prepare_line_values(self):
        """Per product: backordered, free on hand, incoming, and the shortage."""
        moves = self._backorder_moves()
        if not moves:
            return []
        products = moves.product_id
        backordered = defaultdict(float)
        for move in moves:
            backordered[move.product_id] += move.product_qty
        warehouses = moves.picking_type_id.warehouse_id
        stock_locations = warehouses.lot_stock_id
        located = products.with_context(location=stock_locations.ids)
        located.invalidate_recordset(["free_qty"])  # not recomputed when quants change
        free = defaultdict(float, zip(products, located.mapped("free_qty"), strict=True))
        for move in moves:
            # stock reserved for the backorders themselves still serves them
            free[move.product_id] += move._backops_reserved_product_qty()
        incoming = defaultdict(float)
        for product, quantity in (
            self.env["stock.move"]
            .sudo()
            ._read_group(
                [
                    ("product_id", "in", products.ids),
                    ("state", "in", OPEN_STATES + ("draft",)),
                    ("picking_code", "=", "incoming"),
                    ("location_dest_id", "child_of", warehouses.view_location_id.ids),
                ],
                ["product_id"],
                ["product_qty:sum"],
            )
        ):
            incoming[product] += quantity
        values = []
        for product in products:
            shortage = backordered[product] - max(free[product], 0.0) - incoming[product]
            shortage = float_round(max(shortage, 0.0), precision_rounding=product.uom_id.rounding, rounding_method="UP")
            vendor = product._get_backops_vendor(self.company_id)
            values.append(
                {
                    "product_id": product.id,
                    "backordered_qty": backordered[product],
                    "free_qty": max(free[product], 0.0),
                    "incoming_qty": incoming[product],
                    "order_qty": shortage,
                    "partner_id": vendor.id,
                }
            )
        return values

    def action_create_rfqs(self):
        """One RFQ per vendor for the quantities to order; the backordered sale lines
        that are needs get the quantities allocated, oldest order first."""
        self = without_client_context(self)
        self.ensure_one()
        for line in self.line_ids:
            check_quantity(self.env, line.order_qty, line.product_id.display_name)
        lines = self.line_ids.filtered(
            lambda line: float_compare(line.order_qty, 0.0, precision_rounding=line.product_id.uom_id.rounding) > 0
        )
        if not lines:
            raise UserError(
                self.env._("Nothing to order: the stock on hand and the receipts on their way cover the backorders.")
            )
        missing = lines.filtered(lambda line: not line.partner_id)
        if missing:
            raise UserError(
                self.env._(
                    "Choose a vendor for %(products)s.", products=", ".join(missing.product_id.mapped("display_name"))
                )
            )
        moves = self._backorder_moves()
        PurchaseOrder = self.env["purchase.order"].with_company(self.company_id)
        orders = PurchaseOrder.create(
            [
                {"partner_id": vendor.id, "company_id": self.company_id.id, "user_id": self.env.uid}
                for vendor in lines.partner_id
            ]
        )
        order_by_vendor = dict(zip(lines.partner_id, orders, strict=True))
        plan = defaultdict(dict)
        plain_lines = []
        for line in lines:
            order = order_by_vendor[line.partner_id]
            to_order = line.order_qty  # product unit
            # needs first: the backordered sale lines still to be ordered, oldest first
            product_moves = moves.filtered(lambda m, line=line: m.product_id == line.product_id)
            for sale_line in product_moves.sale_line_id.sorted(lambda line: (line.order_id.date_order, line.id)):
                if to_order <= 0 or not sale_line._is_procurement_need():
                    continue
                remaining = sale_line.product_uom._compute_quantity(
                    sale_line.procurement_remaining_qty, line.product_id.uom_id, round=False
                )
                quantity = min(remaining, to_order)
                if quantity > 0:
                    # a new RFQ: the quantity it covers is the need's whole allocation on it
                    plan[order][sale_line] = line.product_id.uom_id._compute_quantity(
                        quantity, sale_line.product_uom, round=False
                    )
                    to_order -= quantity
            if float_compare(to_order, 0.0, precision_rounding=line.product_id.uom_id.rounding) > 0:
                plain_lines.append(
                    {
                        "order_id": order.id,
                        "product_id": line.product_id.id,
                        "product_uom": line.product_id.uom_po_id.id,
                        "product_qty": line.product_id.uom_id._compute_quantity(
                            to_order, line.product_id.uom_po_id, rounding_method="UP"
                        ),
                    }
                )
        self.env["purchase.order.line"].create(plain_lines)
        PurchaseOrder._allocate_procurement_needs(plan)
        for order in orders:
            order.origin = ", ".join(filter(None, [order.origin, self.env._("Backorders")]))
        return orders._get_records_action(name=self.env._("RFQs for Backorders"))


class BackorderReplenishLine(models.TransientModel):
    _name = "backops.backorder.replenish.line"
    _inherit = ["backops.quantity.input.mixin"]
    _description = "Replenish Backorders: Product"
    _backops_quantity_fields = ("order_qty",)

    wizard_id = fields.Many2one("backops.backorder.replenish", required=True, ondelete="cascade")
    product_id = fields.Many2one("product.product", required=True, readonly=True)
    product_uom = fields.Many2one(related="product_id.uom_id", string="Unit")
    backordered_qty = fields.Float(string="Backordered", digits="Product Unit of Measure", readonly=True)
    free_qty = fields.Float(string="On Hand", digits="Product Unit of Measure", readonly=True)
    incoming_qty = fields.Float(string="Incoming", digits="Product Unit of Measure", readonly=True)
    order_qty = fields.Float(string="To Order", digits="Product Unit of Measure")
    partner_id = fields.Many2one("res.partner", string="Vendor")
