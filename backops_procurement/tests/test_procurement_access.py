from odoo.exceptions import AccessError
from odoo.tests import tagged

from .common import ProcurementCommon


@tagged("post_install", "-at_install")
class TestProcurementAccess(ProcurementCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.order = cls._create_sale_order([(cls.golf_cart, 50)], user=cls.salesman)
        cls.other_order = cls._create_sale_order([(cls.golf_cart, 10)], user=cls.other_salesman)
        cls.rfq = cls._create_rfq(cls.vendor_a, [(cls.golf_cart, 60)], user=cls.buyer)

    def test_groups(self):
        self.assertTrue(self.buyer.has_group("backops_procurement.group_procurement_user"))
        self.assertFalse(self.buyer.has_group("backops_procurement.group_procurement_manager"))
        self.assertTrue(self.purchase_manager.has_group("backops_procurement.group_procurement_manager"))
        self.assertFalse(self.salesman.has_group("backops_procurement.group_procurement_user"))

    def test_buyer_allocates_and_sees_every_need(self):
        self._allocate(self.order.order_line, self.rfq.order_line, 50, user=self.buyer)
        self._allocate(self.other_order.order_line, self.rfq.order_line, 10, user=self.buyer)
        needs = (
            self.env["sale.order.line"]
            .with_user(self.buyer)
            .search([("procurement_status", "!=", False), ("order_id", "in", (self.order | self.other_order).ids)])
        )
        self.assertEqual(needs.mapped("procurement_status"), ["on_order", "on_order"])
        allocations = (
            self.env["backops.procurement.allocation"]
            .with_user(self.buyer)
            .search([("purchase_line_id", "=", self.rfq.order_line.id)])
        )
        self.assertEqual(len(allocations), 2)
        other = allocations.filtered(lambda a: a.sale_order_id == self.other_order).with_user(self.buyer)
        other.quantity = 5
        self.assertEqual(self.other_order.order_line.procurement_status, "short")
        other.unlink()
        self.assertEqual(self.other_order.order_line.procurement_status, "needs_order")

    def test_salesman_reads_own_statuses_but_cannot_allocate(self):
        self._allocate(self.order.order_line, self.rfq.order_line, 50)
        self._allocate(self.other_order.order_line, self.rfq.order_line, 10)
        line = self.order.order_line.with_user(self.salesman)
        self.assertEqual(line.procurement_status, "on_order")
        self.assertEqual(line.procurement_allocated_qty, 50)
        Allocation = self.env["backops.procurement.allocation"].with_user(self.salesman)
        self.assertEqual(Allocation.search([]).sale_order_id, self.order)
        with self.assertRaises(AccessError):
            Allocation.create(
                {"sale_line_id": self.order.order_line.id, "purchase_line_id": self.rfq.order_line.id, "quantity": 1}
            )
        with self.assertRaises(AccessError):
            line.procurement_allocation_ids.quantity = 10
        with self.assertRaises(AccessError):
            line.procurement_allocation_ids.unlink()
        self.assertEqual(self.order.order_line.procurement_allocated_qty, 50)

    def test_salesman_sale_quantity_change_recomputes_status(self):
        self._allocate(self.order.order_line, self.rfq.order_line, 50)
        self.order.order_line.with_user(self.salesman).product_uom_qty = 55
        self.assertEqual(self.order.order_line.procurement_status, "short")

    def test_employee_without_sales_or_purchase_rights(self):
        self._allocate(self.order.order_line, self.rfq.order_line, 50)
        with self.assertRaises(AccessError):
            self.env["backops.procurement.allocation"].with_user(self.employee).search([])

    def test_procurement_menu_visibility(self):
        menu = self.env.ref("backops_procurement.menu_procurement_root")
        Menu = self.env["ir.ui.menu"]
        self.assertTrue(Menu.with_user(self.buyer).search([("id", "=", menu.id)]))
        self.assertFalse(Menu.with_user(self.salesman).search([("id", "=", menu.id)]))

    def test_multi_company_rules(self):
        company_b = self.env["res.company"].create({"name": "BackOps Events North"})
        buyer_b = self.env["res.users"].create(
            {
                "name": "Buyer North",
                "login": "backops_buyer_north",
                "company_id": company_b.id,
                "company_ids": [(6, 0, company_b.ids)],
                "groups_id": [(6, 0, [self.env.ref("purchase.group_purchase_user").id])],
            }
        )
        self._allocate(self.order.order_line, self.rfq.order_line, 50)
        Allocation = self.env["backops.procurement.allocation"].with_user(buyer_b)
        self.assertFalse(Allocation.search([]))
        order_b = self._create_sale_order([(self.golf_cart, 5)], company=company_b)
        rfq_b = self._create_rfq(self.vendor_a, [(self.golf_cart, 5)], company=company_b)
        allocation_b = self._allocate(order_b.order_line, rfq_b.order_line, 5, user=buyer_b)
        self.assertEqual(allocation_b.company_id, company_b)
        self.assertEqual(Allocation.search([]), allocation_b)
        with self.assertRaises(AccessError):
            Allocation.browse(self.order.order_line.procurement_allocation_ids.id).read(["quantity"])
