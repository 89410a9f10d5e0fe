from odoo import models


class ReportPackingList(models.AbstractModel):
    """The Packing List of sale lines: the Pick List's documents, with what is
    ready and what is shipped, without the stock's locations."""

    _name = "report.backops_procurement.report_packing_list"
    _inherit = "report.backops_procurement.report_pick_list"
    _description = "Packing List of Sale Lines"

    _backops_with_locations = False
