import io

import openpyxl

from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import Form, new_test_user, tagged

from odoo.addons.backops_procurement.controllers.procurement_export import write_procurement_workbook

from .common import ProcurementCommon


@tagged("post_install", "-at_install")
class TestQuotedVsActual(ProcurementCommon):
    """The report per line of a confirmed order: quoted, ordered and invoiced average
    unit prices, the difference and the percentage, read as the user."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Report = cls.env["backops.quoted.actual.report"]
        cls.engineer = cls._create_product(
            "Sound Engineer (day)", subject=False, type="service", invoice_policy="order", list_price=100.0
        )
        cls.lights = cls._create_product(
            "Lighting Rig", subject=False, type="service", invoice_policy="order", list_price=40.0
        )
        # quoted at 100 and 40, the engineer negotiated up to 110 before confirming
        cls.order = cls._create_sale_order([(cls.engineer, 10), (cls.lights, 5)], confirm=False, user=cls.salesman)
        cls.order.action_quotation_sent()
        cls.engineer_line = cls._line(cls.order, cls.engineer)
        cls.lights_line = cls._line(cls.order, cls.lights)
        cls.engineer_line.price_unit = 110.0
        cls.order.action_confirm()

    def _invoice(self, quantity):
        invoice = self.order._create_invoices()
        for line in invoice.invoice_line_ids:
            line.quantity = quantity if line.product_id == self.engineer else 0.0
        invoice.action_post()
        return invoice

    def _credit_note(self, invoice, quantity):
        wizard = (
            self.env["account.move.reversal"]
            .with_context(active_model="account.move", active_ids=invoice.ids)
            .create({"journal_id": invoice.journal_id.id, "reason": "one day not worked"})
        )
        credit = self.env["account.move"].browse(wizard.refund_moves()["res_id"])
        credit.invoice_line_ids.filtered(lambda line: line.product_id == self.engineer).quantity = quantity
        credit.action_post()
        return credit

    def _row(self, sale_line, user=None):
        report = self.Report.with_user(user) if user else self.Report
        return report.search([("sale_line_id", "=", sale_line.id)])

    def test_changed_price_partial_invoice_and_credit_note(self):
        row = self._row(self.engineer_line, self.salesman)
        self.assertRecordValues(
            row,
            [
                {
                    "order_id": self.order.id,
                    "partner_id": self.customer.id,
                    "product_id": self.engineer.id,
                    "user_id": self.salesman.id,
                    "quoted_price_unit": 100.0,
                    "price_unit": 110.0,
                    "invoiced_price_unit": 0.0,
                    "actual_price_unit": 110.0,  # nothing invoiced yet: the ordered price
                    "price_difference": 10.0,
                    "price_difference_percent": 10.0,
                    "amount_difference": 100.0,
                }
            ],
        )
        invoice = self._invoice(4)
        self.assertEqual(self.engineer_line.qty_invoiced, 4)
        self._credit_note(invoice, 1)
        self.assertEqual(self.engineer_line.qty_invoiced, 3)
        # a draft invoice counts for nothing
        draft = self.order._create_invoices()
        self.assertEqual(draft.state, "draft")

        row = self._row(self.engineer_line, self.salesman)
        self.assertEqual(row.qty_invoiced_net, 3.0)
        self.assertAlmostEqual(row.invoiced_price_unit, 110.0)  # (440 - 110) / (4 - 1)
        self.assertAlmostEqual(row.actual_price_unit, 110.0)
        self.assertAlmostEqual(row.price_difference, 10.0)

        # a second credit note of one more day: (440 - 110 - 110) / (4 - 1 - 1)
        credit = self._credit_note(invoice, 1)
        self.assertEqual(credit.move_type, "out_refund")
        second_credit_line = credit.invoice_line_ids.filtered(lambda line: line.product_id == self.engineer)
        self.assertEqual(second_credit_line.price_subtotal, 110.0)
        row = self._row(self.engineer_line, self.salesman)
        self.assertEqual(row.qty_invoiced_net, 2.0)
        self.assertAlmostEqual(row.invoiced_price_unit, 110.0)

        lights = self._row(self.lights_line)
        self.assertRecordValues(
            lights, [{"quoted_price_unit": 40.0, "price_unit": 40.0, "price_difference": 0.0, "qty_invoiced_net": 0.0}]
        )

    def test_invoiced_at_another_price_and_unit(self):
        invoice = self.order._create_invoices()
        engineer = invoice.invoice_line_ids.filtered(lambda line: line.product_id == self.engineer)
        (invoice.invoice_line_ids - engineer).quantity = 0.0
        with Form(invoice) as form:
            with form.invoice_line_ids.edit(list(invoice.invoice_line_ids).index(engineer)) as edit:
                edit.quantity = 5
                edit.price_unit = 120.0
        invoice.action_post()
        row = self._row(self.engineer_line)
        self.assertAlmostEqual(row.invoiced_price_unit, 120.0)
        self.assertAlmostEqual(row.actual_price_unit, 120.0)
        self.assertAlmostEqual(row.price_difference, 20.0)
        self.assertAlmostEqual(row.price_difference_percent, 20.0)

    def test_only_confirmed_orders_of_type_order(self):
        quotation = self._create_sale_order([(self.engineer, 1)], confirm=False)
        cancelled = self._create_sale_order([(self.engineer, 1)])
        cancelled._action_cancel()
        # a return (only Create Return makes one): its handling charge is no sale price
        riser = self._create_product("Stage Riser", subject=False, is_storable=True, list_price=50.0)
        stock = self.env["stock.warehouse"].search([("company_id", "=", self.company.id)], limit=1).lot_stock_id
        self.env["stock.quant"]._update_available_quantity(riser, stock, 5)
        original = self._create_sale_order([(riser, 2)])
        self._validate(original.picking_ids, {riser: 2})
        self.company.backops_return_fee_product_id = self._create_product(
            "Return Handling Charge", subject=False, type="service", list_price=25.0
        )
        returned = self.env["sale.order"].browse(original.action_backops_create_return()["res_id"])
        self._line(returned, riser).product_uom_qty = 1
        returned.action_confirm()
        self.assertEqual((returned.backops_order_type, returned.state), ("return", "sale"))
        lines = (quotation | cancelled | returned).order_line
        self.assertFalse(self.Report.search([("sale_line_id", "in", lines.ids)]))
        # sections carry no price
        with_section = self._create_sale_order(["Crew", (self.engineer, 2)])
        self.assertEqual(
            self.Report.search([("order_id", "=", with_section.id)]).sale_line_id.product_id, self.engineer
        )

    def test_order_created_from_a_quote(self):
        quote = self._create_sale_order([(self.engineer, 2), (self.lights, 1)], confirm=False, user=self.salesman)
        action = quote.with_user(self.salesman).action_backops_create_order()
        order = self.env["sale.order"].browse(action["res_id"])
        self._line(order, self.engineer).price_unit = 95.0
        order.action_confirm()
        row = self._row(self._line(order, self.engineer), self.salesman)
        self.assertRecordValues(
            row,
            [{"ref_order_id": quote.id, "quoted_price_unit": 100.0, "price_unit": 95.0, "price_difference": -5.0}],
        )
        self.assertAlmostEqual(row.price_difference_percent, -5.0)
        self.assertFalse(self.Report.search([("order_id", "=", quote.id)]), "the quote is no order")
        # a line confirmed before quoted prices were recorded (an upgraded database):
        # the quote's line of the same product is its quoted price; none, no figure
        lights = self._line(order, self.lights)
        (lights | self.lights_line).sudo().write({"backops_quoted_price_unit": 0.0, "backops_quoted_date": False})
        self.assertEqual(self._row(lights).quoted_price_unit, 40.0)
        self.assertRecordValues(self._row(self.lights_line), [{"quoted_price_unit": 0.0, "price_difference": 0.0}])
        self.env.cr.execute(
            "SELECT quoted_price_unit, price_difference FROM backops_quoted_actual_report WHERE id = %s",
            [self.lights_line.id],
        )
        self.assertEqual(self.env.cr.fetchall(), [(None, None)])

    def test_grouped_by_customer_product_salesperson_month(self):
        for groupby in ("partner_id", "product_id", "user_id", "date:month"):
            with self.subTest(groupby=groupby):
                groups = self.Report.with_user(self.salesman).read_group(
                    [("order_id", "=", self.order.id)],
                    ["quoted_price_unit:avg", "price_difference:avg", "amount_difference:sum"],
                    [groupby],
                )
                self.assertEqual(len(groups), 1 if groupby != "product_id" else 2)
                if groupby != "product_id":
                    self.assertAlmostEqual(groups[0]["quoted_price_unit"], 70.0)
                    self.assertAlmostEqual(groups[0]["amount_difference"], 100.0)

    def test_who_reads_it(self):
        self.assertTrue(self._row(self.engineer_line, self.salesman))
        # a salesman who sees their own orders, as in Odoo's Sales Analysis
        self.assertFalse(self._row(self.engineer_line, self.other_salesman))
        manager = new_test_user(self.env, "backops_sale_manager", groups="sales_team.group_sale_manager")
        self.assertTrue(self._row(self.engineer_line, manager))
        for user in (self.employee, self.buyer):
            with self.subTest(user=user.login), self.assertRaises(AccessError):
                self.Report.with_user(user).search([])
        south = self.env["res.company"].create({"name": "BackOps Events South"})
        outsider = new_test_user(
            self.env,
            "backops_south_sales",
            groups="sales_team.group_sale_manager",
            company_id=south.id,
            company_ids=[Command.set(south.ids)],
        )
        self.assertFalse(self._row(self.engineer_line, outsider))
        with self.assertRaises(AccessError):
            self._row(self.engineer_line).with_user(outsider).read(["price_unit"])
        with self.assertRaises(AccessError):
            self._row(self.engineer_line).with_user(self.salesman).write({"price_unit": 1.0})

    def test_xlsx_export(self):
        self._invoice(4)
        sheets = self.Report.with_user(self.salesman)._get_export_sheets([("order_id", "=", self.order.id)])
        output = io.BytesIO()
        write_procurement_workbook(sheets, output)
        workbook = openpyxl.load_workbook(io.BytesIO(output.getvalue()))
        self.assertEqual(workbook.sheetnames, ["Quoted vs Actual"])
        values = list(workbook["Quoted vs Actual"].values)
        header = values[0]
        rows = {row[header.index("Product")]: dict(zip(header, row, strict=True)) for row in values[1:]}
        self.assertEqual(set(rows), {"Sound Engineer (day)", "Lighting Rig"})
        engineer = rows["Sound Engineer (day)"]
        self.assertEqual(engineer["Order"], self.order.name)
        self.assertEqual(engineer["Customer"], self.customer.name)
        self.assertEqual(engineer["Salesperson"], "Sales Sam")
        self.assertEqual(
            (engineer["Quoted Unit Price"], engineer["Ordered Unit Price"], engineer["Invoiced Average Unit Price"]),
            (100, 110, 110),
        )
        self.assertEqual((engineer["Difference"], engineer["Difference (%)"]), (10, 10))
        self.assertEqual(engineer["Quantity Invoiced"], 4)

    def test_export_action_keeps_the_selection_on_the_server(self):
        rows = self.Report.with_user(self.salesman).search([("order_id", "=", self.order.id)])
        action = rows.action_backops_export_xlsx()
        self.assertEqual(action["type"], "ir.actions.act_url")
        path, export_id = action["url"].split("?export_id=")
        self.assertEqual(path, "/backops_procurement/quoted_vs_actual.xlsx")
        export = self.env["backops.procurement.export"].browse(int(export_id))
        self.assertEqual((export.res_model, export.create_uid), ("backops.quoted.actual.report", self.salesman))
        self.assertEqual(export._get_domain(), [["id", "in", rows.ids]])
        # the whole list: its domain, checked on the report's fields
        action = (
            self.Report.with_user(self.salesman)
            .with_context(active_domain=[("price_difference", ">", 0)])
            .action_backops_export_xlsx()
        )
        export = self.env["backops.procurement.export"].browse(int(action["url"].split("=")[1]))
        self.assertEqual(export._get_domain(), [["price_difference", ">", 0]])

    def test_read_is_flat_in_the_number_of_lines(self):
        fields = ["order_id", "partner_id", "product_id", "user_id", "date", "quoted_price_unit", "price_difference"]
        counts = []
        # warm: the user's groups and rules, read once per request anyway
        self.Report.with_user(self.salesman).search_read([("order_id", "=", self.order.id)], fields)
        for size in (2, 12):
            order = self._create_sale_order([(self.engineer, 1)] * size, confirm=False, user=self.salesman)
            order.action_quotation_sent()
            order.action_confirm()
            self._invoice_order(order)
            self.env.invalidate_all()
            before = self.env.cr.sql_log_count
            rows = self.Report.with_user(self.salesman).search_read([("order_id", "=", order.id)], fields)
            counts.append(self.env.cr.sql_log_count - before)
            self.assertEqual(len(rows), size)
        self.assertEqual(counts[0], counts[1], counts)
        self.assertLessEqual(counts[0], 10, "a search and one read per model read")

    def _invoice_order(self, order):
        order._create_invoices().action_post()
