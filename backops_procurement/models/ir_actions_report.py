from odoo import models

# the documents of a quotation the customer is given: the quotation and its pro-forma
QUOTATION_REPORTS = ("sale.report_saleorder", "sale.report_saleorder_pro_forma")


class IrActionsReport(models.Model):
    _inherit = "ir.actions.report"

    def _render_qweb_pdf(self, report_ref, res_ids=None, data=None):
        # every PDF of a quotation: Print, the portal's download, the mail's attachment
        report = self._get_report(report_ref)
        if report.model == "sale.order" and report.report_name in QUOTATION_REPORTS and res_ids:
            ids = [res_ids] if isinstance(res_ids, int) else res_ids
            self.env["sale.order"].browse(ids)._backops_record_quoted_prices()
        return super()._render_qweb_pdf(report_ref, res_ids=res_ids, data=data)
