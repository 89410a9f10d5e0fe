from odoo.tests import Form, tagged
from odoo.tools.safe_eval import safe_eval

from .common import ProcurementCommon


@tagged("post_install", "-at_install")
class TestSaleOrderProcurement(ProcurementCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.order = cls._create_sale_order(
            ["Staging", (cls.stage_deck, 24), "Hospitality", (cls.chair, 120), "Transport", (cls.golf_cart, 50)]
        )

    def test_counts_and_summary(self):
        order = self.order
        self.assertEqual(order.procurement_need_count, 3)
        self.assertEqual(order.procurement_needs_order_count, 3)
        self.assertEqual(order.procurement_summary, "needs_order")

        rfq_a = self._create_rfq(self.vendor_a, [(self.golf_cart, 30), (self.stage_deck, 24)])
        rfq_b = self._create_rfq(self.vendor_b, [(self.golf_cart, 20), (self.chair, 10)])
        cart = self._line(order, self.golf_cart)
        self._allocate(cart, self._line(rfq_a, self.golf_cart), 30)
        self._allocate(cart, self._line(rfq_b, self.golf_cart), 20)
        self._allocate(self._line(order, self.chair), self._line(rfq_b, self.chair), 120)
        order.invalidate_recordset()
        self.assertEqual(order.procurement_needs_order_count, 1)
        self.assertEqual(order.procurement_short_count, 0)
        self.assertEqual(order.procurement_on_order_count, 2)
        self.assertEqual(order.procurement_summary, "needs_order")

        self._allocate(self._line(order, self.stage_deck), self._line(rfq_a, self.stage_deck), 20)
        order.invalidate_recordset()
        self.assertEqual(order.procurement_short_count, 1)
        self.assertEqual(order.procurement_summary, "short")

        self._line(order, self.stage_deck).procurement_allocation_ids.quantity = 24
        order.invalidate_recordset()
        self.assertEqual(order.procurement_summary, "on_order")
        self.assertEqual(order.procurement_on_order_count, 3)

    def test_search_by_summary(self):
        quotation = self._create_sale_order([(self.golf_cart, 1)], confirm=False)
        covered = self._create_sale_order([(self.golf_cart, 5)])
        rfq = self._create_rfq(self.vendor_a, [(self.golf_cart, 6)])
        self._allocate(covered.order_line, rfq.order_line, 6)
        SaleOrder = self.env["sale.order"]
        orders = self.order | quotation | covered
        domain = [("id", "in", orders.ids)]
        self.assertEqual(SaleOrder.search(domain + [("procurement_summary", "=", "needs_order")]), self.order)
        self.assertEqual(SaleOrder.search(domain + [("procurement_summary", "=", "excess")]), covered)
        self.assertEqual(SaleOrder.search(domain + [("procurement_summary", "=", False)]), quotation)
        self.assertEqual(
            SaleOrder.search(domain + [("procurement_summary", "in", ("needs_order", "short"))]), self.order
        )
        self.assertEqual(SaleOrder.search(domain + [("procurement_summary", "!=", "needs_order")]), quotation | covered)

    def test_smart_button_lists_covering_purchase_orders(self):
        rfq_a = self._create_rfq(self.vendor_a, [(self.golf_cart, 30)])
        rfq_b = self._create_rfq(self.vendor_b, [(self.golf_cart, 20)])
        cart = self._line(self.order, self.golf_cart)
        self.assertEqual(self.order.purchase_order_count, 0)
        self._allocate(cart, rfq_a.order_line, 30)
        self._allocate(cart, rfq_b.order_line, 20)
        self.assertEqual(self.order.purchase_order_count, 2)
        action = self.order.action_view_purchase_orders()
        self.assertEqual(self.env["purchase.order"].search(action["domain"]), rfq_a | rfq_b)
        # and from the purchase order, back to the sale order
        self.assertEqual(rfq_a.sale_order_count, 1)
        self.assertEqual(rfq_a.action_view_sale_orders()["res_id"], self.order.id)

    def test_needs_action_of_an_order(self):
        action = self.order.action_view_procurement_needs()
        needs = self.env["sale.order.line"].search(action["domain"])
        self.assertEqual(needs, self.order.order_line.filtered("procurement_status"))
        self.assertEqual(len(needs), 3)

    def test_needs_list_grouped_by_order_and_section(self):
        action = self.env["ir.actions.act_window"]._for_xml_id("backops_procurement.action_procurement_needs")
        groups = self.env["sale.order.line"].read_group(
            safe_eval(action["domain"]) + [("order_id", "=", self.order.id)],
            ["product_uom_qty:sum"],
            ["order_id", "procurement_section"],
            lazy=False,
        )
        self.assertEqual(
            sorted(group["procurement_section"] for group in groups), ["Hospitality", "Staging", "Transport"]
        )

    def test_form_shows_line_statuses(self):
        arch = self.env["sale.order"].get_view(view_type="form")["arch"]
        self.assertIn('name="procurement_status"', arch)
        self.assertIn('name="procurement_summary"', arch)
        with Form(self.order) as form:
            self.assertEqual(form.procurement_summary, "needs_order")
            self.assertEqual(form.procurement_needs_order_count, 3)
