from odoo import Command, api, fields, models
from odoo.tools import float_compare, float_is_zero

from ..models.stock_move import OPEN_STATES
from ..tools import without_client_context


class ForceBackorder(models.TransientModel):
    """Hold back quantities of a delivery, even if stock is there: they go to a
    backorder of it."""

    _name = "backops.force.backorder"
    _inherit = ["backops.readable.records.mixin"]
    _backops_readable_fields = ("picking_id",)
    _description = "Force Backorder"

    picking_id = fields.Many2one("stock.picking", required=True, readonly=True)
    line_ids = fields.One2many("backops.force.backorder.line", "wizard_id", string="Lines")

    @api.model
    def default_get(self, fields_list):
        res = super().default_get(fields_list)
        picking = self.env["stock.picking"].browse(res.get("picking_id"))
        if not picking or "line_ids" not in fields_list:
            return res
        picking._backops_check_can_hold()
        res["line_ids"] = [
            Command.create({"move_id": move.id, "hold_qty": 0.0})
            for move in picking.move_ids.filtered(lambda m: m.state in OPEN_STATES)
        ]
        return res

    def action_confirm(self):
        self = without_client_context(self)
        self.ensure_one()
        holds = {line.move_id: line.hold_qty for line in self.line_ids if line.hold}
        backorder = self.picking_id._backops_force_backorder(holds)
        return backorder._get_records_action(name=self.env._("Backorder"))


class ForceBackorderLine(models.TransientModel):
    _name = "backops.force.backorder.line"
    _inherit = ["backops.quantity.input.mixin", "backops.readable.records.mixin"]
    _backops_readable_fields = ("move_id",)
    _description = "Force Backorder Line"
    _backops_quantity_fields = ("hold_qty",)

    wizard_id = fields.Many2one("backops.force.backorder", required=True, ondelete="cascade")
    move_id = fields.Many2one("stock.move", required=True, readonly=True)
    product_id = fields.Many2one(related="move_id.product_id")
    demand_qty = fields.Float(related="move_id.product_uom_qty", string="Demand")
    product_uom = fields.Many2one(related="move_id.product_uom", string="Unit")
    hold = fields.Boolean(string="Hold Back")
    hold_qty = fields.Float(string="Quantity to Hold", digits="Product Unit of Measure")

    def _backops_quantity_label(self, vals, fname):
        move = self.env["stock.move"].browse(vals.get("move_id")) or self.move_id[:1]
        return move.product_id.display_name or super()._backops_quantity_label(vals, fname)

    @api.onchange("hold")
    def _onchange_hold(self):
        for line in self:
            if line.hold and float_is_zero(line.hold_qty, precision_rounding=line.product_uom.rounding or 0.01):
                line.hold_qty = line.demand_qty
            elif not line.hold:
                line.hold_qty = 0.0

    @api.onchange("hold_qty")
    def _onchange_hold_qty(self):
        for line in self:
            if float_compare(line.hold_qty, 0.0, precision_rounding=line.product_uom.rounding or 0.01) > 0:
                line.hold = True
