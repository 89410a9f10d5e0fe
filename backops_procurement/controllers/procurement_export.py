import datetime
import tempfile

import xlsxwriter
from werkzeug.exceptions import BadRequest, NotFound
from werkzeug.wsgi import wrap_file

from odoo import fields
from odoo.exceptions import UserError
from odoo.http import Controller, content_disposition, request, route

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def write_procurement_workbook(sheets, output):
    """Write ``sheets`` — (title, headers, rows) as gathered by
    ``sale.order.line._get_procurement_export_data`` — to the file object ``output``.

    xlsxwriter's constant-memory mode flushes each row to a temporary file as it is
    written, so that the workbook is never held in memory, whatever its size."""
    workbook = xlsxwriter.Workbook(
        output, {"constant_memory": True, "tmpdir": tempfile.gettempdir(), "remove_timezone": True}
    )
    bold = workbook.add_format({"bold": True})
    number = workbook.add_format({"num_format": "#,##0.00"})
    date = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    for title, headers, rows in sheets:
        sheet = workbook.add_worksheet(title)
        sheet.freeze_panes(1, 0)
        sheet.set_column(0, len(headers) - 1, 16)
        sheet.write_row(0, 0, headers, bold)
        for row_index, row in enumerate(rows, start=1):
            for col_index, value in enumerate(row):
                if isinstance(value, float):
                    sheet.write_number(row_index, col_index, value, number)
                elif isinstance(value, datetime.datetime):
                    sheet.write_datetime(row_index, col_index, value, date)
                else:
                    sheet.write(row_index, col_index, value if value not in (False, None) else "")
    workbook.close()


class ProcurementExportController(Controller):
    @route("/backops_procurement/needs.xlsx", type="http", auth="user")
    def export_needs(self, domain="[]", export_id=None):
        """The needs matching ``domain`` (JSON), or those of the export ``export_id``
        (``sale.order.line.action_export_procurement_xlsx``), and their allocations,
        as XLSX. A malformed domain is a 400; an export that is not the user's, a 404."""
        Export = request.env["backops.procurement.export"]
        try:
            if export_id:
                export = self._get_record(Export, export_id)
                if export.res_model != "sale.order.line":
                    raise NotFound()
                domain = export._get_domain()
            else:
                domain = Export._parse_domain(domain)
        except UserError as error:
            raise BadRequest(error.args[0]) from None
        sheets = request.env["sale.order.line"]._get_procurement_export_data(domain)
        filename = request.env._("Procurement Needs %(date)s.xlsx", date=fields.Date.context_today(request.env.user))
        return self._xlsx_response(sheets, filename)

    @route("/backops_procurement/backorder_fill/<int:fill_id>.xlsx", type="http", auth="user")
    def export_backorder_fill(self, fill_id):
        """The summary of a Fill Backorders run, as XLSX."""
        fill = self._get_record(request.env["backops.backorder.fill"], fill_id)
        filename = request.env._(
            "Backorders Filled %(date)s.xlsx", date=fields.Date.to_string(fill.run_date or fill.create_date)
        )
        return self._xlsx_response(fill._get_export_sheets(), filename)

    @route("/backops_procurement/quoted_vs_actual.xlsx", type="http", auth="user")
    def export_quoted_vs_actual(self, export_id):
        """The Quoted vs Actual lines of the export ``export_id``
        (``backops.quoted.actual.report.action_backops_export_xlsx``), as XLSX."""
        export = self._get_record(request.env["backops.procurement.export"], export_id)
        if export.res_model != "backops.quoted.actual.report":
            raise NotFound()
        try:
            domain = export._get_domain()
        except UserError as error:
            raise BadRequest(error.args[0]) from None
        sheets = request.env["backops.quoted.actual.report"]._get_export_sheets(domain)
        filename = request.env._("Quoted vs Actual %(date)s.xlsx", date=fields.Date.context_today(request.env.user))
        return self._xlsx_response(sheets, filename)

    def _get_record(self, model, record_id):
        """The record ``record_id`` of ``model`` if the user may read it; a 404 for
        one that does not exist and for one of another user or company alike, so
        that the answer does not tell them apart."""
        try:
            record_id = int(record_id)
        except (TypeError, ValueError):
            raise NotFound() from None
        record = model.browse(record_id if 0 < record_id < 2**31 else ()).exists()
        if not record or not record.has_access("read"):
            raise NotFound()
        return record

    def _xlsx_response(self, sheets, filename):
        """Write the workbook to a temporary file and stream it from there."""
        output = tempfile.TemporaryFile()
        write_procurement_workbook(sheets, output)
        size = output.tell()
        output.seek(0)
        return request.make_response(
            wrap_file(request.httprequest.environ, output),
            headers=[
                ("Content-Type", XLSX_MIMETYPE),
                ("Content-Length", str(size)),
                ("Content-Disposition", content_disposition(filename)),
            ],
        )
