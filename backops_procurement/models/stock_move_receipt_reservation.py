from odoo import models


class StockMove(models.Model):
    """Received units go to the needs they were bought for: when receipt moves of
    purchase lines carrying allocations are done, what each allocation newly received
    is reserved on its need's open customer delivery, before any other delivery can
    take it (Odoo assigns waiting deliveries only after the moves are done)."""

    _inherit = "stock.move"

    def _action_done(self, cancel_backorder=False):
        receipts = self.filtered(
            lambda move: (
                move.purchase_line_id
                and move.state not in ("done", "cancel")
                and move.company_id.backops_reserve_on_receipt
            )
        )
        allocations = receipts.purchase_line_id.procurement_allocation_ids.filtered(
            lambda allocation: allocation.sale_line_id._is_procurement_need()
        )
        before = {allocation.id: allocation.received_qty for allocation in allocations}
        moves = super()._action_done(cancel_backorder=cancel_backorder)
        if allocations:
            allocations._backops_reserve_received(before)
        return moves
