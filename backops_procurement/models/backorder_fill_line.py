from odoo import api, fields, models

OUTCOMES = [("complete", "Completed"), ("partial", "Partly Filled"), ("skipped", "Skipped")]


class BackorderFillLine(models.Model):
    """One backordered line of a Fill Backorders run or preview. Users only read
    these lines: the fill writes them (``backops.backorder.fill._write_results``)."""

    _name = "backops.backorder.fill.line"
    _description = "Fill Backorders Line"
    _order = "id"
    _check_company_auto = True

    fill_id = fields.Many2one("backops.backorder.fill", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="fill_id.company_id", store=True, index=True)
    sale_order_id = fields.Many2one("sale.order", readonly=True, check_company=True)
    partner_id = fields.Many2one(related="sale_order_id.partner_id", string="Customer")
    picking_id = fields.Many2one("stock.picking", string="Backorder", readonly=True, check_company=True)
    product_id = fields.Many2one("product.product", readonly=True, check_company=True)
    product_uom = fields.Many2one(related="product_id.uom_id", string="Unit")
    needed_qty = fields.Float(string="Needed", digits="Product Unit of Measure", readonly=True)
    available_qty = fields.Float(string="Available", digits="Product Unit of Measure", readonly=True)
    fill_qty = fields.Float(string="Ships", digits="Product Unit of Measure", readonly=True)
    remaining_qty = fields.Float(string="Remains", digits="Product Unit of Measure", compute="_compute_remaining_qty")
    outcome = fields.Selection(OUTCOMES, readonly=True)
    reason = fields.Char(readonly=True)
    invoice_id = fields.Many2one(
        "account.move",
        readonly=True,
        check_company=True,
        groups="account.group_account_invoice,sales_team.group_sale_salesman",
    )
    invoice_note = fields.Char(string="Invoicing", readonly=True)
    email = fields.Selection([("complete", "Order complete"), ("partial", "Partial shipment")], readonly=True)

    @api.depends("needed_qty", "fill_qty")
    def _compute_remaining_qty(self):
        for line in self:
            line.remaining_qty = max(line.needed_qty - line.fill_qty, 0.0)
