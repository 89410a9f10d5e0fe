from odoo import api, fields, models
from odoo.tools import float_compare, float_is_zero

RETURN_LINE_FIELDS = {"product_id", "product_uom_qty", "product_uom", "order_id", "display_type"}


class SaleOrderLine(models.Model):
    """Lines of a return order (``sale_order_return.py``): goods come back, never
    go out; what came back is their Delivered quantity, credited when invoiced;
    the handling charge is invoiced with it."""

    _inherit = "sale.order.line"

    backops_return_order_id = fields.Many2one(
        "sale.order",
        string="Return Order",
        compute="_compute_backops_return_order_id",
        store=True,
        precompute=True,
        index="btree_not_null",
        help="The line's order when it is a return, empty otherwise.",
    )

    @api.depends("order_id.backops_order_type")
    def _compute_backops_return_order_id(self):
        # what the handling charge's dependency on the other lines goes through
        # (_compute_qty_to_invoice): empty on every other order, whose lines then
        # never depend on each other
        for line in self:
            line.backops_return_order_id = line.order_id if line._backops_is_return() else False

    def _backops_is_return(self):
        self.ensure_one()
        return self.order_id.backops_order_type == "return"

    def _backops_is_return_fee(self):
        """The line is the Return Handling Charge of its return order."""
        self.ensure_one()
        fee = self.order_id.company_id.backops_return_fee_product_id
        return bool(fee and self._backops_is_return() and not self.display_type and self.product_id == fee)

    def _backops_is_returned_goods(self):
        self.ensure_one()
        return bool(
            self._backops_is_return()
            and not self.display_type
            and self.product_id.type == "consu"
            and not self._backops_is_return_fee()
        )

    # ------------------------------------------------------------------
    # The rule (sale_order_return.py): on every line change of a return
    # ------------------------------------------------------------------
    @api.model_create_multi
    def create(self, vals_list):
        lines = super().create(vals_list)
        lines._backops_check_return_lines()
        return lines

    def write(self, vals):
        returns = self.order_id.filtered(lambda order: order.backops_order_type == "return")
        res = super().write(vals)
        if vals.keys() & RETURN_LINE_FIELDS:
            (
                returns | self.order_id.filtered(lambda order: order.backops_order_type == "return")
            )._backops_check_return()
            returns.filtered(lambda order: order.state == "sale")._backops_launch_returns()
        return res

    def _backops_check_return_lines(self):
        orders = self.order_id.filtered(lambda order: order.backops_order_type == "return")
        if orders:
            orders._backops_check_return()
            orders.filtered(lambda order: order.state == "sale")._backops_launch_returns()

    # ------------------------------------------------------------------
    # Stock: a return's lines never launch a delivery
    # ------------------------------------------------------------------
    def _action_launch_stock_rule(self, previous_product_uom_qty=False):
        lines = self.filtered(lambda line: not line._backops_is_return())
        return super(SaleOrderLine, lines)._action_launch_stock_rule(previous_product_uom_qty=previous_product_uom_qty)

    def _is_procurement_need(self):
        return super()._is_procurement_need() and not self._backops_is_return()

    @api.depends("order_id.backops_order_type")
    def _compute_qty_delivered(self):
        """On a return, Delivered is what came back: Odoo counts the receipts
        (returns, ``to_refund``) of a line against what it delivered; a return's
        lines deliver nothing, so what they count is what came back, the other way."""
        res = super()._compute_qty_delivered()
        for line in self:
            if line.qty_delivered_method == "stock_move" and line._backops_is_return():
                line.qty_delivered = -line.qty_delivered
        return res

    # ------------------------------------------------------------------
    # Invoicing: credited, not invoiced
    # ------------------------------------------------------------------
    @api.depends("order_id.backops_order_type", "backops_return_order_id.order_line.qty_delivered")
    def _compute_qty_to_invoice(self):
        """Returned goods: what came back and is not credited yet, to credit (a
        negative quantity: Odoo makes the invoice a credit note). The handling
        charge: charged once something came back, so it depends on the other lines
        of its return; through ``backops_return_order_id``, which only a return's
        lines have, a change on a line of any other order recomputes that line
        alone, as in Odoo."""
        res = super()._compute_qty_to_invoice()
        for line in self:
            if line.state != "sale" or line.display_type or not line._backops_is_return():
                continue
            if line._backops_is_returned_goods():
                # qty_invoiced is negative once credited (Odoo's sign for refunds)
                line.qty_to_invoice = -(line.qty_delivered + line.qty_invoiced)
            elif line._backops_is_return_fee():
                received = any(
                    not float_is_zero(other.qty_delivered, precision_rounding=other.product_uom.rounding or 0.01)
                    for other in line.order_id.order_line
                    if other._backops_is_returned_goods()
                )
                line.qty_to_invoice = line.product_uom_qty - line.qty_invoiced if received else 0.0
        return res

    @api.depends("order_id.backops_order_type")
    def _compute_invoice_status(self):
        res = super()._compute_invoice_status()
        for line in self:
            if line.state != "sale" or not line._backops_is_returned_goods():
                continue
            rounding = line.product_uom.rounding or 0.01
            if not float_is_zero(line.qty_to_invoice, precision_rounding=rounding):
                line.invoice_status = "to invoice"
            elif float_compare(-line.qty_invoiced, line.product_uom_qty, precision_rounding=rounding) >= 0:
                line.invoice_status = "invoiced"
            else:
                line.invoice_status = "no"
        return res
