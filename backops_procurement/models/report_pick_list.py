from collections import defaultdict

from odoo import api, models
from odoo.exceptions import UserError


class ReportPickList(models.AbstractModel):
    """The Pick List of sale lines: one document per company and delivery address,
    listing its orders, their sections and products, with what is ready and where
    it is reserved."""

    _name = "report.backops_procurement.report_pick_list"
    _description = "Pick List of Sale Lines"

    # whether the documents list the source locations of the reservations
    _backops_with_locations = True

    @api.model
    def _get_report_values(self, docids, data=None):
        lines = self.env["sale.order.line"].browse(docids).exists()
        # refuse what the user may not read, rather than print less than asked
        lines.check_access("read")
        lines = lines.filtered(lambda line: not line.display_type and line.product_id)
        if not lines:
            raise UserError(self.env._("Select the sale lines to print."))
        return {
            "doc_ids": lines.ids,
            "doc_model": "sale.order.line",
            "docs": lines,
            "destinations": self._backops_destinations(lines),
            "with_locations": self._backops_with_locations,
        }

    @api.model
    def _backops_destinations(self, lines):
        """[{partner, company, orders: [{order, sections: [{name, rows}]}]}], one entry
        per company and delivery address. A row is {line, ready, delivered,
        locations: [(location, quantity in the line's unit)]}."""
        locations = self._backops_reserved_locations(lines) if self._backops_with_locations else {}
        by_destination = defaultdict(lambda: defaultdict(list))
        for line in lines.sorted(lambda line: (line.order_id.name, line.sequence, line.id)):
            order = line.order_id
            by_destination[(order.company_id, order.partner_shipping_id)][order].append(line)
        destinations = []
        for (company, partner), orders in sorted(
            by_destination.items(), key=lambda item: (item[0][0].id, item[0][1].display_name or "", item[0][1].id)
        ):
            entries = []
            for order, order_lines in orders.items():
                sections = {}
                for line in order_lines:
                    sections.setdefault(line.procurement_section or "", []).append(
                        {
                            "line": line,
                            "ready": line.backops_qty_ready,
                            "delivered": line.qty_delivered,
                            "locations": sorted(
                                locations.get(line, {}).items(), key=lambda item: item[0].complete_name or ""
                            ),
                        }
                    )
                entries.append(
                    {"order": order, "sections": [{"name": name, "rows": rows} for name, rows in sections.items()]}
                )
            destinations.append({"partner": partner, "company": company, "orders": entries})
        return destinations

    @api.model
    def _backops_reserved_locations(self, lines):
        """{line: {source location: reserved quantity in the line's unit}}, read
        with one search of the move lines of the lines' ready moves."""
        move_lines = self.env["stock.move.line"].search([("move_id", "any", lines._backops_ready_move_domain())])
        locations = defaultdict(lambda: defaultdict(float))
        for move_line in move_lines:
            line = move_line.move_id.sale_line_id
            locations[line][move_line.location_id] += move_line.product_uom_id._compute_quantity(
                move_line.quantity, line.product_uom, round=False
            )
        return locations
