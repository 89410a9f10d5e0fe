import datetime
import json
import tempfile

import xlsxwriter
from werkzeug.wsgi import wrap_file

from odoo import _, fields
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
    def export_needs(self, domain="[]"):
        """The needs matching ``domain`` (JSON) and their allocations, as XLSX."""
        sheets = request.env["sale.order.line"]._get_procurement_export_data(json.loads(domain))
        filename = _("Procurement Needs %(date)s.xlsx", date=fields.Date.context_today(request.env.user))
        return self._xlsx_response(sheets, filename)

    @route("/backops_procurement/backorder_fill/<int:fill_id>.xlsx", type="http", auth="user")
    def export_backorder_fill(self, fill_id):
        """The summary of a Fill Backorders run, as XLSX."""
        fill = request.env["backops.backorder.fill"].browse(fill_id)
        fill.check_access("read")
        filename = _("Backorders Filled %(date)s.xlsx", date=fields.Date.to_string(fill.run_date or fill.create_date))
        return self._xlsx_response(fill._get_export_sheets(), filename)

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
