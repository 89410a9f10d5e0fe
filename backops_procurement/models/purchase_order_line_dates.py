from odoo import fields, models

from .procurement_allocation import CONFIRMED_PURCHASE_STATES


class PurchaseOrderLine(models.Model):
    """Tell the salesperson when a confirmed purchase line covering their need now
    arrives after the date promised to the customer: once per change of date."""

    _inherit = "purchase.order.line"

    def write(self, vals):
        if "date_planned" not in vals:
            return super().write(vals)
        old_dates = {
            line.id: line.date_planned
            for line in self
            if line.procurement_allocation_ids and line.order_id.state in CONFIRMED_PURCHASE_STATES
        }
        res = super().write(vals)
        if old_dates:
            self.browse(list(old_dates))._backops_schedule_slip_activities(old_dates)
        return res

    def _backops_schedule_slip_activities(self, old_dates):
        activity_type = self.env.ref("backops_procurement.mail_activity_procurement_slip", raise_if_not_found=False)
        if not activity_type:
            return
        for line in self:
            old, new = old_dates[line.id], line.date_planned
            if not new or (old and new <= old) or line.qty_received >= line.product_qty:
                continue  # earlier, unchanged, or nothing left to arrive
            for allocation in line.procurement_allocation_ids:
                need = allocation.sale_line_id
                promised = need.backops_promised_date
                if not promised or new <= promised or need.backops_fulfilment_status == "delivered":
                    continue
                order = need.order_id
                note = self.env["ir.qweb"]._render(
                    "backops_procurement.message_fulfilment_slip",
                    {
                        "purchase_order": line.order_id,
                        "product": line.product_id,
                        "need": need,
                        "old_date": fields.Datetime.to_string(old) if old else "-",
                        "new_date": fields.Datetime.to_string(new),
                        "promised_date": fields.Datetime.to_string(promised),
                    },
                )
                # sudo: the salesperson is told whoever moved the date (a buyer
                # cannot write on sale orders)
                order.sudo().activity_schedule(
                    activity_type_id=activity_type.id,
                    summary=self.env._(
                        "%(po)s slips past the promised date for %(need)s",
                        po=line.order_id.name,
                        need=need._procurement_label(),
                    ),
                    note=note,
                    user_id=(order.user_id or order.create_uid).id,
                )
