from unittest.mock import patch

from odoo.tests import Form, tagged

from .common import ProcurementCommon


@tagged("post_install", "-at_install")
class TestPurchaseLinesOdooCreates(ProcurementCommon):
    """Purchase lines Odoo creates for a sale line count as its allocations."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.mto_cart = cls._create_mto_product("Golf Cart (MTO)", sellers=[(cls.vendor_a, 150.0)])
        cls.shuttle = cls._create_product(
            "Shuttle Bus Service",
            sellers=[(cls.vendor_b, 900.0)],
            type="service",
            service_to_purchase=True,
        )

    def _mto_purchase_line(self, need):
        return self.env["purchase.order.line"].search([("move_dest_ids.sale_line_id", "=", need.id)])

    def test_mto_purchase_line_is_an_allocation(self):
        order = self._create_sale_order(["Transport", (self.mto_cart, 50)])
        need = self._line(order, self.mto_cart)
        purchase_line = self._mto_purchase_line(need)
        self.assertEqual(purchase_line.product_qty, 50)
        allocation = need.procurement_allocation_ids
        self.assertTrue(allocation.is_automatic)
        self.assertEqual(allocation.purchase_line_id, purchase_line)
        self.assertEqual(allocation.quantity, 50)
        self.assertEqual(need.procurement_status, "on_order")
        self.assertIn(purchase_line.order_id, order._get_purchase_orders())

        # ordering more than the sale needs keeps the extra for stock
        purchase_line.product_qty = 55
        self.assertEqual(allocation.quantity, 50)
        self.assertEqual(need.procurement_status, "on_order")
        # ordering less leaves the need short
        purchase_line.product_qty = 45
        self.assertEqual(allocation.quantity, 45)
        self.assertEqual(need.procurement_status, "short")

        # the RFQ cancelled, the need must be ordered again
        purchase_line.order_id.button_cancel()
        self.assertEqual(need.procurement_status, "needs_order")

    def test_mto_line_merged_for_two_sale_orders(self):
        need_1 = self._create_sale_order([(self.mto_cart, 50)]).order_line
        need_2 = self._create_sale_order([(self.mto_cart, 10)]).order_line
        purchase_line = self._mto_purchase_line(need_1)
        # Odoo adds the second order's quantity to the same draft RFQ line
        self.assertEqual(self._mto_purchase_line(need_2), purchase_line)
        self.assertEqual(purchase_line.product_qty, 60)
        self.assertEqual(need_1.procurement_allocation_ids.quantity, 50)
        self.assertEqual(need_2.procurement_allocation_ids.quantity, 10)
        self.assertEqual((need_1 | need_2).mapped("procurement_status"), ["on_order", "on_order"])
        self.assertEqual(purchase_line.procurement_allocated_qty, 60)

    def test_mto_lines_merged_by_one_confirmation_follow_once(self):
        """Odoo's buy rule writes each RFQ line it merges into; the allocations of all
        of them follow once, after the rule, and each need is covered."""
        products = self.mto_cart | self.env["product.product"].browse(
            [
                self._create_mto_product(f"Marquee {size}", sellers=[(self.vendor_a, 80.0)]).id
                for size in ("S", "M", "L")
            ]
        )
        first = self._create_sale_order([(product, 5) for product in products])
        self.company.backops_block_over_ordering = True
        Line = self.env.registry["purchase.order.line"]
        with patch.object(
            Line, "_sync_automatic_allocations", autospec=True, side_effect=Line._sync_automatic_allocations
        ) as sync:
            second = self._create_sale_order([(product, 3) for product in products])
        synced = [call.args[0] for call in sync.call_args_list if call.args[0]]
        self.assertEqual(len(synced), 1, "one sync for the four lines the rule merged")
        self.assertEqual(len(synced[0]), 4)
        for product in products:
            purchase_line = self._mto_purchase_line(self._line(first, product))
            self.assertEqual(self._mto_purchase_line(self._line(second, product)), purchase_line)
            self.assertEqual(purchase_line.product_qty, 8)
            self.assertEqual(purchase_line.procurement_allocated_qty, 8)
            self.assertEqual(self._line(second, product).procurement_allocation_ids.quantity, 3)
        self.assertEqual(set((first | second).order_line.mapped("procurement_status")), {"on_order"})

    def test_mto_line_shared_with_buyer_allocations(self):
        mto_need = self._create_sale_order([(self.mto_cart, 50)]).order_line
        purchase_line = self._mto_purchase_line(mto_need)
        # a need the buyer covers by hand from the same line: Odoo's allocation makes room
        self.mto_cart.route_ids = False
        buyer_need = self._create_sale_order([(self.mto_cart, 10)]).order_line
        self.assertEqual(buyer_need.procurement_status, "needs_order")
        self._allocate(buyer_need, purchase_line, 10)
        self.assertEqual(buyer_need.procurement_status, "on_order")
        self.assertEqual(mto_need.procurement_allocation_ids.quantity, 40)
        self.assertEqual(mto_need.procurement_status, "short")
        purchase_line.product_qty = 60
        self.assertEqual(mto_need.procurement_allocation_ids.quantity, 50)
        self.assertEqual(mto_need.procurement_status, "on_order")
        self.assertEqual(purchase_line.procurement_allocated_qty, 60)

    def test_mto_quantity_increase_on_confirmed_sale(self):
        order = self._create_sale_order([(self.mto_cart, 10)])
        need = order.order_line
        with Form(order) as form:
            with form.order_line.edit(0) as line:
                line.product_uom_qty = 14
        self.assertEqual(sum(self._mto_purchase_line(need).mapped("product_qty")), 14)
        self.assertEqual(need.procurement_allocated_qty, 14)
        self.assertEqual(need.procurement_status, "on_order")

    def test_mto_line_changed_once_confirmed_keeps_its_allocation(self):
        need = self._create_sale_order([(self.mto_cart, 10)]).order_line
        purchase_line = self._mto_purchase_line(need)
        purchase_line.order_id.button_confirm()
        # Odoo moved the link onto the receipt's move: the line no longer carries it
        self.assertFalse(purchase_line.move_dest_ids)
        purchase_line.product_qty = 12
        self.assertEqual(need.procurement_allocation_ids.quantity, 10)
        self.assertTrue(need.procurement_allocation_ids.is_automatic)
        purchase_line.product_qty = 8
        self.assertEqual(need.procurement_allocation_ids.quantity, 8)
        self.assertEqual(need.procurement_status, "short")

    def test_service_to_purchase_line_is_an_allocation(self):
        order = self._create_sale_order(["Transport", (self.shuttle, 3)])
        need = order.order_line.filtered("product_id")
        purchase_line = need.purchase_line_ids
        self.assertEqual(len(purchase_line), 1)
        self.assertEqual(need.procurement_allocation_ids.purchase_line_id, purchase_line)
        self.assertEqual(need.procurement_status, "on_order")
        # sale_purchase raises the draft RFQ line with the sale line: the allocation follows
        need.product_uom_qty = 5
        self.assertEqual(purchase_line.product_qty, 5)
        self.assertEqual(need.procurement_allocated_qty, 5)
        self.assertEqual(need.procurement_status, "on_order")

    def test_deleting_odoo_line_removes_its_allocation(self):
        order = self._create_sale_order([(self.shuttle, 3)])
        need = order.order_line
        rfq = need.purchase_line_ids.order_id
        rfq.order_line.unlink()
        self.assertFalse(need.procurement_allocation_ids)
        self.assertEqual(need.procurement_status, "needs_order")
