import io
from unittest.mock import patch
from urllib.parse import parse_qs

import openpyxl

from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from odoo.addons.backops_procurement.controllers.procurement_export import write_procurement_workbook

from .common import ProcurementCommon


@tagged("post_install", "-at_install")
class TestProcurementExport(ProcurementCommon):
    def test_needs_and_allocations_by_vendor(self):
        order = self._create_sale_order(["Transport", (self.golf_cart, 50), "Staging", (self.stage_deck, 24)])
        cart = self._line(order, self.golf_cart)
        rfq_a = self._create_rfq(self.vendor_a, [(self.golf_cart, 30)])
        rfq_b = self._create_rfq(self.vendor_b, [(self.golf_cart, 20)])
        self._allocate(cart, rfq_a.order_line, 30)
        self._allocate(cart, rfq_b.order_line, 20)
        rfq_a.button_confirm()

        sheets = self.env["sale.order.line"]._get_procurement_export_data([("order_id", "=", order.id)])
        output = io.BytesIO()
        write_procurement_workbook(sheets, output)
        workbook = openpyxl.load_workbook(io.BytesIO(output.getvalue()))
        self.assertEqual(workbook.sheetnames, ["Needs", "Allocations by Vendor"])

        needs = list(workbook["Needs"].values)
        header = needs[0]
        rows = {row[header.index("Product")]: dict(zip(header, row, strict=True)) for row in needs[1:]}
        self.assertEqual(set(rows), {"Golf Cart", "Stage Deck"})
        self.assertEqual(rows["Golf Cart"]["Status"], "On Order")
        self.assertEqual(rows["Golf Cart"]["Ordered"], 30)  # confirmed with vendor A
        self.assertEqual(rows["Golf Cart"]["Allocated"], 50)
        self.assertEqual(rows["Golf Cart"]["Section"], "Transport")
        self.assertEqual(rows["Stage Deck"]["Status"], "Needs Order")
        self.assertEqual(rows["Stage Deck"]["Remaining"], 24)

        allocations = list(workbook["Allocations by Vendor"].values)
        header = allocations[0]
        by_vendor = {row[header.index("Vendor")]: dict(zip(header, row, strict=True)) for row in allocations[1:]}
        self.assertEqual(by_vendor["FairwayFleet Carts"]["RFQ / PO"], rfq_a.name)
        self.assertEqual(by_vendor["FairwayFleet Carts"]["Allocated"], 30)
        self.assertEqual(by_vendor["GreenLane Cart Hire"]["Allocated"], 20)

    def _export_of(self, action):
        self.assertEqual(action["type"], "ir.actions.act_url")
        path, query = action["url"].split("?")
        self.assertEqual(path, "/backops_procurement/needs.xlsx")
        export_id = parse_qs(query)["export_id"]
        return self.env["backops.procurement.export"].browse(int(export_id[0]))

    def test_export_action_of_the_list(self):
        order = self._create_sale_order([(self.golf_cart, 5), (self.stage_deck, 2)])
        # the selection stays on the server: the URL carries the export, not the needs
        export = self._export_of(order.order_line.with_user(self.buyer).action_export_procurement_xlsx())
        self.assertEqual(export.create_uid, self.buyer)
        self.assertEqual(export._get_domain(), [["id", "in", order.order_line.ids]])
        # nothing selected: the whole list
        action = (
            self.env["sale.order.line"]
            .with_context(active_domain=[("procurement_status", "=", "needs_order")])
            .action_export_procurement_xlsx()
        )
        self.assertEqual(self._export_of(action)._get_domain(), [["procurement_status", "=", "needs_order"]])
        # a list domain the export cannot use is refused before anything is created
        with self.assertRaisesRegex(UserError, "Invalid field"):
            self.env["sale.order.line"].with_context(
                active_domain=[("no_such_field", "=", 1)]
            ).action_export_procurement_xlsx()
        # only its creator reads an export
        with self.assertRaises(AccessError):
            export.with_user(self.purchase_manager).read(["domain"])

    def test_rows_read_in_chunks_keep_their_order(self):
        orders = self.env["sale.order"]
        for _i in range(3):
            orders |= self._create_sale_order([(self.golf_cart, 2), (self.stage_deck, 1)])
        rfq_b = self._create_rfq(self.vendor_b, [(self.golf_cart, 6)])
        rfq_a = self._create_rfq(self.vendor_a, [(self.golf_cart, 6), (self.stage_deck, 3)])
        for order in orders:
            self._allocate(self._line(order, self.golf_cart), rfq_b.order_line, 2)
            self._allocate(self._line(order, self.stage_deck), self._line(rfq_a, self.stage_deck), 1)
        rfq_b.button_confirm()
        domain = [("order_id", "in", orders.ids)]
        whole = self._sheet_values(domain)
        # two records at a time: the same rows, in the same order
        with patch("odoo.addons.backops_procurement.models.procurement_export.EXPORT_CHUNK", 2):
            self.assertEqual(self._sheet_values(domain), whole)
        needs, allocations = whole
        newest_first = orders.sorted(lambda order: (order.date_order, order.id), reverse=True)
        self.assertEqual([row[0] for row in needs], [name for name in newest_first.mapped("name") for _i in range(2)])
        self.assertEqual([row[7] for row in needs], [2.0, 0.0] * 3)  # ordered: confirmed with vendor B
        # by vendor, then RFQ
        self.assertEqual([row[0] for row in allocations], ["FairwayFleet Carts"] * 3 + ["GreenLane Cart Hire"] * 3)
        self.assertEqual({row[1] for row in allocations[3:]}, {rfq_b.name})

    def _sheet_values(self, domain):
        self.env.invalidate_all()
        return [
            list(rows) for _title, _headers, rows in self.env["sale.order.line"]._get_procurement_export_data(domain)
        ]
