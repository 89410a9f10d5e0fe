from datetime import datetime

from odoo.exceptions import ValidationError
from odoo.tests import Form, tagged

from .common import ProcurementCommon


@tagged("post_install", "-at_install")
class TestRfqDocument(ProcurementCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.order = cls._create_sale_order(["Transport", (cls.golf_cart, 50), "Staging", (cls.stage_deck, 24)])
        cls.cart = cls._line(cls.order, cls.golf_cart)
        cls.rfq = cls._create_rfq(cls.vendor_a, [(cls.golf_cart, 30)])
        cls._allocate(cls.cart, cls.rfq.order_line, 30)
        cls.site_contact = cls.env["res.partner"].create({"name": "Dana Site", "phone": "+44 1234 567"})

    def _html(self, order, report="purchase.report_purchasequotation"):
        html, _format = self.env["ir.actions.report"]._render_qweb_html(report, order.ids)
        return html.decode()

    def test_delivery_and_billing_defaults(self):
        warehouse_partner = self.rfq.picking_type_id.warehouse_id.partner_id
        self.assertEqual(self.rfq.delivery_mode, "delivery")
        self.assertEqual(self.rfq.delivery_address_id, warehouse_partner)
        self.assertEqual(self.rfq.bill_to_id, self.env.company.partner_id)
        with Form(self.rfq) as form:
            form.delivery_mode = "pickup"
            self.assertEqual(form.delivery_address_id, self.vendor_a)

    def test_delivery_window_must_end_after_it_starts(self):
        with self.assertRaisesRegex(ValidationError, "ends before it starts"):
            self.rfq.write(
                {"delivery_window_start": datetime(2026, 12, 1, 10), "delivery_window_end": datetime(2026, 12, 1, 8)}
            )

    def test_rfq_document_shows_details_and_covered_needs(self):
        with Form(self.rfq) as form:
            form.delivery_mode = "pickup"
            form.delivery_window_start = datetime(2026, 12, 1, 8, 0)
            form.delivery_window_end = datetime(2026, 12, 1, 12, 0)
            form.delivery_contact_id = self.site_contact
            form.delivery_instructions = "Gate 3, ask for the production office"
            form.rfq_notes = "<p>Carts must be charged on arrival</p>"
        html = self._html(self.rfq)
        self.assertIn("Pickup at:", html)
        # in place of Odoo's shipping address (the warehouse), which would contradict it
        self.assertNotIn("Shipping address", html)
        self.assertIn("FairwayFleet Carts", html)
        self.assertIn("Dana Site", html)
        self.assertIn("+44 1234 567", html)
        self.assertIn("Gate 3, ask for the production office", html)
        self.assertIn("Carts must be charged on arrival", html)
        self.assertIn("Bill To", html)
        self.assertIn(self.env.company.partner_id.name, html)
        # the line says which sale order and section it is for
        self.assertIn(f"{self.order.name} · Transport", html)
        self.assertIn("backops_line_coverage", html)
        # the purchase order document too, once confirmed
        self.rfq.button_confirm()
        html = self._html(self.rfq, "purchase.report_purchaseorder")
        self.assertIn("Gate 3, ask for the production office", html)
        self.assertIn(f"{self.order.name} · Transport", html)

    def test_odoo_documents_without_needs_stay_as_they_are(self):
        plain = self._create_rfq(self.vendor_b, [(self.pa_system, 1)])
        html = self._html(plain)
        self.assertIn("Shipping address", html)
        self.assertNotIn("backops_delivery", html)
        self.assertNotIn("backops_rfq_details", html)
        self.assertNotIn("backops_line_coverage", html)
        self.assertNotIn("Bill To", html)

    def test_download_pdf(self):
        self.env.company.external_report_layout_id = self.env.ref("web.external_layout_standard")
        action = self.rfq.action_download_pdf()
        self.assertEqual(action["report_name"], "purchase.report_purchasequotation")
        self.rfq.button_confirm()
        self.assertEqual(self.rfq.action_download_pdf()["report_name"], "purchase.report_purchaseorder")

    def test_backops_status_follows_state_and_receipts(self):
        self.assertEqual(self.rfq.backops_status, "draft")
        self.rfq.write({"state": "sent"})
        self.assertEqual(self.rfq.backops_status, "sent")
        self.rfq.button_confirm()
        self.assertEqual(self.rfq.backops_status, "ordered")
        receipt = self.rfq.picking_ids
        receipt.move_ids.quantity = 10
        receipt.move_ids.picked = True
        Form.from_action(self.env, receipt.button_validate()).save().process()
        self.assertEqual(self.rfq.order_line.qty_received, 10)
        self.assertEqual(self.rfq.backops_status, "partial")
        backorder = self.rfq.picking_ids - receipt
        backorder.move_ids.quantity = 20
        backorder.move_ids.picked = True
        backorder.button_validate()
        self.assertEqual(self.rfq.backops_status, "fulfilled")

    def test_cancelled_status(self):
        self.rfq.button_cancel()
        self.assertEqual(self.rfq.backops_status, "cancel")
