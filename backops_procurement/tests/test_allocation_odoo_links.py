from odoo import Command
from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged

from .common import ProcurementCommon


@tagged("post_install", "-at_install")
class TestAllocationOdooLinks(ProcurementCommon):
    """The allocations of purchase lines Odoo links to sales (services bought for a
    sale, make-to-order, dropship) mirror Odoo's link; a user cannot use that link
    to get around the allocation rules."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env.company.backops_block_over_ordering = True
        cls.shuttle = cls._create_product(
            "Shuttle Bus Service", sellers=[(cls.vendor_b, 900.0)], type="service", service_to_purchase=True
        )
        cls.order = cls._create_sale_order([(cls.golf_cart, 10)])
        cls.need = cls.order.order_line
        cls.rfq_a = cls._create_rfq(cls.vendor_a, [(cls.golf_cart, 10)])
        cls.rfq_b = cls._create_rfq(cls.vendor_b, [(cls.golf_cart, 7)])

    def test_a_buyer_cannot_link_a_purchase_line_to_a_sale_by_hand(self):
        self._allocate(self.need, self.rfq_a.order_line, 10, user=self.buyer)
        line = self.rfq_b.order_line.with_user(self.buyer)
        with self.assertRaisesRegex(UserError, "Odoo links purchase lines to sales itself"):
            line.write({"sale_line_id": self.need.id})
        with self.assertRaisesRegex(UserError, "Odoo links purchase lines to sales itself"):
            line.write({"move_dest_ids": [Command.link(move.id) for move in self.need.move_ids]})
        self.assertFalse(line.procurement_allocation_ids)
        self.assertEqual((self.need.procurement_allocated_qty, self.need.procurement_status), (10, "on_order"))

    def test_a_line_created_linked_to_a_sale_meets_the_rules(self):
        self._allocate(self.need, self.rfq_a.order_line, 10, user=self.buyer)
        Line = self.env["purchase.order.line"].with_user(self.buyer)
        values = {
            "order_id": self.rfq_b.id,
            "product_id": self.golf_cart.id,
            "product_qty": 5,
            "sale_line_id": self.need.id,
        }
        with self.assertRaisesRegex(ValidationError, "Excess"):
            Line.create(values)
        # on a quotation's line (not a need) or a locked order: refused as any allocation
        quotation = self._create_sale_order([(self.golf_cart, 5)], confirm=False)
        with self.assertRaisesRegex(ValidationError, "is not a need"):
            Line.create(dict(values, sale_line_id=quotation.order_line.id))
        locked = self._create_rfq(self.vendor_a, [(self.stage_deck, 1)])
        locked.button_confirm()
        locked.button_done()
        with self.assertRaisesRegex(ValidationError, "lines can still change"):
            Line.create(
                dict(
                    values,
                    order_id=locked.id,
                    sale_line_id=self._create_sale_order([(self.golf_cart, 2)]).order_line.id,
                )
            )
        self.assertEqual(self.need.procurement_allocated_qty, 10)

    def test_more_on_odoos_line_than_the_sale_is_for_stock(self):
        need = self._create_sale_order([(self.shuttle, 3)]).order_line
        line = need.purchase_line_ids
        self.assertEqual(need.procurement_status, "on_order")
        line.with_user(self.buyer).write({"product_qty": 10})
        self.assertEqual(line.procurement_allocation_ids.quantity, 3)
        self.assertEqual((need.procurement_allocated_qty, need.procurement_status), (3, "on_order"))
        # Odoo follows the sale: 5 bought for a need of 5
        need.product_uom_qty = 5
        self.assertEqual(need.procurement_allocated_qty, 5)

    def test_reopening_odoos_cancelled_rfq_counts_its_allocations_again(self):
        need = self._create_sale_order([(self.shuttle, 3)]).order_line
        odoo_rfq = need.purchase_line_ids.order_id
        odoo_rfq.with_user(self.buyer).button_cancel()
        rfq = self._create_rfq(self.vendor_b, [(self.shuttle, 3)])
        self._allocate(need, rfq.order_line, 3, user=self.buyer)
        with self.assertRaisesRegex(ValidationError, "Excess"):
            odoo_rfq.with_user(self.buyer).button_draft()
        self.assertEqual((odoo_rfq.state, need.procurement_allocated_qty), ("cancel", 3))

    def test_a_line_taken_off_a_cancelled_rfq_counts_again(self):
        self._allocate(self.need, self.rfq_a.order_line, 10, user=self.buyer)
        self.rfq_a.with_user(self.buyer).button_cancel()
        self._allocate(self.need, self.rfq_b.order_line, 7, user=self.buyer)
        target = self._create_rfq(self.vendor_a, [])
        with self.assertRaisesRegex(ValidationError, "Excess"):
            self.rfq_a.order_line.with_user(self.buyer).write({"order_id": target.id})
        self.assertEqual((self.rfq_a.order_line.order_id, self.need.procurement_allocated_qty), (self.rfq_a, 7))

    def test_an_automatic_allocation_is_not_moved_by_hand(self):
        need = self._create_sale_order([(self.shuttle, 3)]).order_line
        automatic = need.procurement_allocation_ids
        rfq = self._create_rfq(self.vendor_b, [(self.shuttle, 3)])
        with self.assertRaisesRegex(UserError, "mirrors the purchase line Odoo created"):
            automatic.with_user(self.buyer).write({"purchase_line_id": rfq.order_line.id})
        self.assertEqual(automatic.purchase_line_id, need.purchase_line_ids)
