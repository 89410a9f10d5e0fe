from odoo import models

# which of the alternatives kept takes the needs first: a confirmed order, then the
# one furthest along, then the oldest
KEPT_PREFERENCE = {"purchase": 0, "to approve": 1, "sent": 2, "draft": 3}


def kept_order_key(order):
    return (KEPT_PREFERENCE.get(order.state, len(KEPT_PREFERENCE)), order.id)


class PurchaseOrder(models.Model):
    """Alternatives of Odoo's Purchase Agreements (``purchase_requisition``): RFQs of
    one group compete for the same needs. The needs are on order once, on the RFQ the
    buyer allocated them to; when the buyer keeps an alternative and cancels the others
    (Odoo's warning on confirmation, Cancel, or Choose in the comparison of lines), the
    needs move to the alternative kept."""

    _inherit = "purchase.order"

    def _backops_kept_alternatives(self):
        """The alternatives of these orders that stay when they are cancelled, in the
        order in which they take the needs (see ``KEPT_PREFERENCE``)."""
        kept = (self.purchase_group_id.order_ids - self).filtered(lambda order: order._backops_takes_needs())
        return kept.sorted(kept_order_key)

    def button_cancel(self):
        """Cancelling alternatives moves what they cover to the alternatives kept in
        their group, before Odoo cancels them (their allocations then still count, so
        moving them changes no need's total); what the kept ones cannot take stays on
        the cancelled order."""
        leaving = self.filtered(lambda order: order.purchase_group_id and order.state != "cancel")
        kept_by_group = {}
        for group in leaving.purchase_group_id:
            orders = leaving.filtered(lambda order, group=group: order.purchase_group_id == group)
            kept = orders._backops_kept_alternatives()
            if kept:
                kept_by_group[group] = kept
                allocations = orders.order_line.procurement_allocation_ids.filtered(lambda a: not a.is_automatic)
                kept.order_line._backops_take_allocations(allocations)
        res = super().button_cancel()
        kept = self.browse().union(*kept_by_group.values())
        if kept:
            # Odoo's own links (make-to-order lines copied onto the alternatives) now
            # count on the alternatives kept
            kept.order_line._sync_automatic_allocations()
        return res

    def write(self, vals):
        groups = {order.id: order.purchase_group_id for order in self}
        res = super().write(vals)
        regrouped = self.filtered(lambda order: groups[order.id] != order.purchase_group_id)
        if regrouped:
            # orders linked as alternatives, or unlinked: Odoo's own links (make-to-order)
            # count once per group
            before = self.env["purchase.order.group"].union(*groups.values()).exists()
            orders = regrouped | regrouped.purchase_group_id.order_ids | before.order_ids
            orders.order_line._sync_automatic_allocations()
        return res
