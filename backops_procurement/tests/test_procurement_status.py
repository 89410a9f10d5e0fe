from odoo.tests import Form, tagged

from .common import ProcurementCommon


@tagged("post_install", "-at_install")
class TestProcurementStatus(ProcurementCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.order = cls._create_sale_order(
            ["Staging", (cls.stage_deck, 24), (cls.pa_system, 1), "Transport", (cls.golf_cart, 50)]
        )
        cls.cart_line = cls._line(cls.order, cls.golf_cart)
        cls.deck_line = cls._line(cls.order, cls.stage_deck)

    def test_needs_of_a_confirmed_order(self):
        self.assertEqual(self.cart_line.procurement_status, "needs_order")
        self.assertEqual(self.cart_line.procurement_allocated_qty, 0)
        self.assertEqual(self.cart_line.procurement_remaining_qty, 50)
        self.assertEqual(self.deck_line.procurement_status, "needs_order")
        self.assertEqual(self.cart_line.procurement_section, "Transport")
        self.assertEqual(self.deck_line.procurement_section, "Staging")
        # not subject to procurement, and sections, are not needs
        self.assertFalse(self._line(self.order, self.pa_system).procurement_status)
        self.assertFalse(self.order.order_line.filtered("display_type").mapped("procurement_status")[0])

    def test_quotation_lines_are_not_needs(self):
        quotation = self._create_sale_order([(self.golf_cart, 5)], confirm=False)
        self.assertFalse(quotation.order_line.procurement_status)
        quotation.action_confirm()
        self.assertEqual(quotation.order_line.procurement_status, "needs_order")

    def test_every_status_transition(self):
        rfq = self._create_rfq(self.vendor_a, [(self.golf_cart, 60)])
        allocation = self._allocate(self.cart_line, rfq.order_line, 20)
        self.assertEqual(self.cart_line.procurement_status, "short")
        self.assertEqual(self.cart_line.procurement_allocated_qty, 20)
        self.assertEqual(self.cart_line.procurement_remaining_qty, 30)
        allocation.quantity = 50
        self.assertEqual(self.cart_line.procurement_status, "on_order")
        self.assertEqual(self.cart_line.procurement_remaining_qty, 0)
        allocation.quantity = 60
        self.assertEqual(self.cart_line.procurement_status, "excess")
        self.assertEqual(self.cart_line.procurement_remaining_qty, 0)
        allocation.quantity = 49.5
        self.assertEqual(self.cart_line.procurement_status, "short")
        allocation.unlink()
        self.assertEqual(self.cart_line.procurement_status, "needs_order")
        self.assertEqual(self.cart_line.procurement_allocated_qty, 0)

    def test_status_compares_at_the_unit_rounding(self):
        kg_product = self._create_product(
            "Cable", sellers=[(self.vendor_a, 1.0)], uom_id=self.uom_kg.id, uom_po=self.uom_kg
        )
        need = self._create_sale_order([(kg_product, 0.3)]).order_line
        rfq_a = self._create_rfq(self.vendor_a, [(kg_product, 0.1)])
        rfq_b = self._create_rfq(self.vendor_a, [(kg_product, 0.2)])
        self._allocate(need, rfq_a.order_line, 0.1)
        self._allocate(need, rfq_b.order_line, 0.2)
        # 0.1 + 0.2 is not 0.3 in floating point; at the unit's rounding it is
        self.assertEqual(need.procurement_status, "on_order")

    def test_split_30_20_across_two_vendors(self):
        rfq_a = self._create_rfq(self.vendor_a, [(self.golf_cart, 30)])
        rfq_b = self._create_rfq(self.vendor_b, [(self.golf_cart, 20)])
        self._allocate(self.cart_line, rfq_a.order_line, 30)
        self.assertEqual(self.cart_line.procurement_status, "short")
        self._allocate(self.cart_line, rfq_b.order_line, 20)
        self.assertEqual(self.cart_line.procurement_status, "on_order")
        self.assertEqual(self.cart_line.procurement_allocated_qty, 50)
        allocations = self.cart_line.procurement_allocation_ids
        self.assertEqual(allocations.partner_id, self.vendor_a | self.vendor_b)
        self.assertEqual(sorted(allocations.mapped("quantity")), [20, 30])
        self.assertEqual(rfq_a.order_line.procurement_allocated_qty, 30)
        self.assertEqual(rfq_a.order_line.procurement_sale_line_ids, self.cart_line)

    def test_one_rfq_line_covers_needs_of_several_orders(self):
        order_2 = self._create_sale_order([(self.golf_cart, 10)])
        rfq = self._create_rfq(self.vendor_a, [(self.golf_cart, 60)])
        self._allocate(self.cart_line, rfq.order_line, 50)
        self._allocate(order_2.order_line, rfq.order_line, 10)
        self.assertEqual(self.cart_line.procurement_status, "on_order")
        self.assertEqual(order_2.order_line.procurement_status, "on_order")
        self.assertEqual(rfq.order_line.procurement_allocated_qty, 60)
        self.assertEqual(rfq.order_line.procurement_sale_line_ids, self.cart_line | order_2.order_line)
        self.assertEqual(rfq._get_sale_orders(), self.order | order_2)
        self.assertEqual(rfq.sale_order_count, 2)

    def test_units_need_of_24_covered_by_2_dozen(self):
        order = self._create_sale_order([(self.chair, 24)])
        need = order.order_line
        rfq = self._create_rfq(self.vendor_b, [(self.chair, 2)])
        self.assertEqual(rfq.order_line.product_uom, self.uom_dozen)
        allocation = self._allocate(need, rfq.order_line, 24)
        self.assertEqual(allocation.purchase_uom_qty, 2)
        self.assertEqual(need.procurement_status, "on_order")
        self.assertEqual(rfq.order_line.procurement_allocated_qty, 2)
        # the need counted in dozens: 2 dozen cover it exactly
        need.write({"product_uom_qty": 2, "product_uom": self.uom_dozen.id})
        self.assertEqual(allocation.quantity, 2)
        self.assertEqual(need.procurement_status, "on_order")
        need.product_uom_qty = 3
        self.assertEqual(need.procurement_status, "short")
        self.assertEqual(need.procurement_remaining_qty, 1)

    def test_cancel_and_reset_purchase_order(self):
        rfq = self._create_rfq(self.vendor_a, [(self.golf_cart, 50)])
        self._allocate(self.cart_line, rfq.order_line, 50)
        rfq.button_confirm()
        self.assertEqual(rfq.state, "purchase")
        self.assertEqual(self.cart_line.procurement_status, "on_order")
        rfq.button_cancel()
        self.assertEqual(self.cart_line.procurement_status, "needs_order")
        self.assertEqual(self.cart_line.procurement_allocated_qty, 0)
        # the allocation stays, so that setting the order back counts it again
        self.assertEqual(len(self.cart_line.procurement_allocation_ids), 1)
        rfq.button_draft()
        self.assertEqual(self.cart_line.procurement_status, "on_order")
        self.assertEqual(self.cart_line.procurement_allocated_qty, 50)

    def test_delete_purchase_line_deletes_allocations(self):
        rfq = self._create_rfq(self.vendor_a, [(self.golf_cart, 30), (self.stage_deck, 24)])
        cart_purchase_line = rfq.order_line.filtered(lambda line: line.product_id == self.golf_cart)
        self._allocate(self.cart_line, cart_purchase_line, 30)
        self._allocate(self.deck_line, rfq.order_line - cart_purchase_line, 24)
        with Form(rfq) as form:
            form.order_line.remove(index=0)
        self.assertFalse(cart_purchase_line.exists())
        self.assertFalse(self.cart_line.procurement_allocation_ids)
        self.assertEqual(self.cart_line.procurement_status, "needs_order")
        self.assertEqual(self.deck_line.procurement_status, "on_order")
        # deleting the whole RFQ releases the rest
        rfq.button_cancel()
        rfq.unlink()
        self.assertFalse(self.env["backops.procurement.allocation"].search([("sale_line_id", "=", self.deck_line.id)]))
        self.assertEqual(self.deck_line.procurement_status, "needs_order")

    def test_change_sale_quantity(self):
        rfq = self._create_rfq(self.vendor_a, [(self.golf_cart, 50)])
        self._allocate(self.cart_line, rfq.order_line, 50)
        with Form(self.order) as form:
            with form.order_line.edit(4) as line:
                self.assertEqual(line.product_id, self.golf_cart)
                line.product_uom_qty = 60
        self.assertEqual(self.cart_line.procurement_status, "short")
        self.assertEqual(self.cart_line.procurement_remaining_qty, 10)
        self.cart_line.product_uom_qty = 40
        self.assertEqual(self.cart_line.procurement_status, "excess")

    def test_product_becoming_subject_to_procurement(self):
        pa_line = self._line(self.order, self.pa_system)
        self.pa_system.subject_to_procurement = True
        self.assertEqual(pa_line.procurement_status, "needs_order")
        self.pa_system.subject_to_procurement = False
        self.assertFalse(pa_line.procurement_status)

    def test_cancel_sale_order_takes_needs_out(self):
        rfq = self._create_rfq(self.vendor_a, [(self.golf_cart, 50)])
        self._allocate(self.cart_line, rfq.order_line, 50)
        self.order._action_cancel()
        self.assertFalse(self.cart_line.procurement_status)
        self.assertFalse(self.cart_line.procurement_remaining_qty)
        Needs = self.env["sale.order.line"]
        self.assertFalse(Needs.search([("order_id", "=", self.order.id), ("procurement_status", "!=", False)]))
        # the RFQ covering the need shows it: its line lists a cancelled need,
        # and its buyer gets Odoo's "sale order cancelled" activity
        self.assertEqual(rfq.order_line.procurement_allocation_ids.sale_state, "cancel")
        # (the buyer's other activity is the demand change proposed for the RFQ)
        activity = rfq.activity_ids.filtered(
            lambda a: a.activity_type_id != self.env.ref("backops_procurement.mail_activity_demand_change")
        )
        self.assertEqual(len(activity), 1)
        self.assertIn(self.order.name, activity.note)
        # back to quotation and confirmed again: the allocation counts again
        self.order.action_draft()
        self.order.action_confirm()
        self.assertEqual(self.cart_line.procurement_status, "on_order")

    def test_cancelled_rfq_warns_the_salesperson(self):
        self.order.user_id = self.salesman
        rfq = self._create_rfq(self.vendor_a, [(self.golf_cart, 50)])
        self._allocate(self.cart_line, rfq.order_line, 50)
        rfq.button_cancel()
        activity = self.order.activity_ids
        self.assertEqual(len(activity), 1)
        self.assertEqual(activity.user_id, self.salesman)
        self.assertIn(rfq.name, activity.note)

    def test_recomputed_status_is_stored_in_its_row_and_leaves_the_line_alone(self):
        rfq = self._create_rfq(self.vendor_a, [(self.golf_cart, 30)])
        self.env.flush_all()
        self.env.cr.execute("UPDATE sale_order_line SET write_date = '2000-01-01' WHERE id = %s", [self.cart_line.id])
        self.cart_line.invalidate_recordset(["write_date"])
        self._allocate(self.cart_line, rfq.order_line, 30, user=self.buyer)
        # read at once by the buyer (whose read recomputes it): right without any invalidation
        need = self.cart_line.with_user(self.buyer)
        self.assertEqual((need.procurement_status, need.procurement_allocated_qty), ("short", 30))
        self.env.flush_all()
        self.env.cr.execute(
            "SELECT id, line_id, procurement_status, procurement_allocated_qty, procurement_remaining_qty"
            "  FROM backops_need_status WHERE id = %s",
            [self.cart_line.id],
        )
        self.assertEqual(self.env.cr.fetchone(), (self.cart_line.id, self.cart_line.id, "short", 30, 20))
        # a status is derived, not an edit of the sale line: the line is not rewritten
        self.cart_line.invalidate_recordset(["write_date", "write_uid"])
        self.assertEqual(self.cart_line.write_date.year, 2000)
        self.assertNotEqual(self.cart_line.write_uid, self.buyer)
