import math

from odoo import Command, fields
from odoo.exceptions import UserError, ValidationError
from odoo.tests import Form, new_test_user, tagged

from .common import ProcurementCommon

BAD_NUMBERS = (math.nan, math.inf, -math.inf, 1e308)


@tagged("post_install", "-at_install")
class TestAllocationPaths(ProcurementCommon):
    """The allocation rules hold whatever the path: the form, a direct create or
    write over RPC, the Line Item Editor, the Create RFQs wizard, Odoo's own buttons."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.order = cls._create_sale_order(["Transport", (cls.golf_cart, 50), (cls.stage_deck, 10)])
        cls.cart = cls._line(cls.order, cls.golf_cart)
        cls.deck = cls._line(cls.order, cls.stage_deck)
        cls.rfq_a = cls._create_rfq(cls.vendor_a, [(cls.golf_cart, 30)])
        cls.rfq_b = cls._create_rfq(cls.vendor_b, [(cls.golf_cart, 50)])
        cls.line_a = cls.rfq_a.order_line
        cls.line_b = cls.rfq_b.order_line
        cls.Allocation = cls.env["backops.procurement.allocation"].with_user(cls.buyer)

    def _count(self):
        return self.Allocation.search_count([])

    def _values(self, line, quantity, need=None):
        return {"sale_line_id": (need or self.cart).id, "purchase_line_id": line.id, "quantity": quantity}

    # ------------------------------------------------------------------
    # Block Over-Ordering
    # ------------------------------------------------------------------
    def test_block_over_ordering_holds_on_create_and_write(self):
        self.env.company.backops_block_over_ordering = True
        self.Allocation.create(self._values(self.line_a, 30))
        count = self._count()
        with self.assertRaisesRegex(ValidationError, "Excess"):
            self.Allocation.create(self._values(self.line_b, 25))
        self.assertEqual(self._count(), count)
        allocation = self.Allocation.create(self._values(self.line_b, 20))
        self.assertEqual(self.cart.procurement_status, "on_order")
        with self.assertRaisesRegex(ValidationError, "Excess"):
            allocation.write({"quantity": 21})
        self.assertEqual(allocation.quantity, 20)
        # the customer lowers the need to 40: lowering what is on order is fine, raising it is not
        self.order.order_line.filtered(lambda line: line == self.cart).product_uom_qty = 40
        self.assertEqual(self.cart.procurement_status, "excess")
        allocation.quantity = 15
        with self.assertRaisesRegex(ValidationError, "Excess"):
            allocation.quantity = 16
        self.assertEqual(self.cart.procurement_allocated_qty, 45)

    def test_reopening_a_cancelled_rfq_that_would_over_order_is_refused(self):
        self.env.company.backops_block_over_ordering = True
        self.Allocation.create(self._values(self.line_a, 30))
        self.rfq_a.with_user(self.buyer).button_cancel()
        self.Allocation.create(self._values(self.line_b, 50))
        with self.assertRaisesRegex(ValidationError, "Excess"):
            self.rfq_a.with_user(self.buyer).button_draft()
        self.assertEqual(self.rfq_a.state, "cancel")
        self.assertEqual(self.cart.procurement_allocated_qty, 50)

    # ------------------------------------------------------------------
    # Orders and needs that take no allocation
    # ------------------------------------------------------------------
    def test_no_allocation_on_a_cancelled_or_locked_order(self):
        kept = self.Allocation.create(self._values(self.line_b, 10))
        self.rfq_a.with_user(self.buyer).button_cancel()
        with self.assertRaisesRegex(ValidationError, "is Cancelled"):
            self.Allocation.create(self._values(self.line_a, 10))
        with self.assertRaisesRegex(ValidationError, "is Cancelled"):
            kept.write({"purchase_line_id": self.line_a.id})
        self.rfq_b.with_user(self.buyer).button_confirm()
        self.rfq_b.with_user(self.buyer).button_done()
        self.assertTrue(self.rfq_b._backops_is_locked())
        for name, attempt in {
            "write": lambda: kept.write({"quantity": 12}),
            "create": lambda: self.Allocation.create(
                self._values(self.line_b, 5, need=self._create_sale_order([(self.golf_cart, 5)]).order_line)
            ),
        }.items():
            with self.subTest(path=name):
                with self.assertRaisesRegex(UserError, "(?i)is locked"):
                    attempt()
        self.assertEqual((kept.quantity, kept.purchase_line_id), (10, self.line_b))

    def test_only_confirmed_needs_are_allocated(self):
        quotation = self._create_sale_order([(self.golf_cart, 5)], confirm=False)
        cancelled = self._create_sale_order([(self.golf_cart, 5)])
        cancelled._action_cancel()
        not_subject = self._create_sale_order([(self.pa_system, 1)])
        pa_line = self._create_rfq(self.vendor_a, [(self.pa_system, 1)]).order_line
        for name, (need, line) in {
            "quotation": (quotation.order_line, self.line_a),
            "cancelled sale": (cancelled.order_line, self.line_a),
            "not subject to procurement": (not_subject.order_line, pa_line),
        }.items():
            with self.subTest(need=name):
                with self.assertRaisesRegex(ValidationError, "is not a need"):
                    self.Allocation.create(self._values(line, 1, need=need))
                with self.assertRaisesRegex(UserError, "is not a need"):
                    self.env["purchase.order"].with_user(self.buyer)._allocate_procurement_needs(
                        {line.order_id: {need: 1}}
                    )
        self.assertFalse(self.line_a.procurement_allocation_ids)

    def test_is_automatic_is_not_for_users(self):
        for user in (self.buyer, self.purchase_manager):
            with self.subTest(user=user.name):
                with self.assertRaisesRegex(UserError, "cannot be made by hand"):
                    self.env["backops.procurement.allocation"].with_user(user).create(
                        dict(self._values(self.line_a, 5), is_automatic=True)
                    )
        allocation = self.Allocation.create(self._values(self.line_a, 5))
        with self.assertRaisesRegex(UserError, "not for users"):
            allocation.write({"is_automatic": True})
        self.assertFalse(allocation.is_automatic)

    def test_another_companys_line_is_refused_first_and_revealed_nothing(self):
        north = self.env["res.company"].create({"name": "BackOps Events North"})
        north_rfq = self._create_rfq(self.vendor_a, [(self.golf_cart, 37)], company=north)
        self.env.user.company_ids += north
        buyer_of_both = new_test_user(
            self.env,
            "backops_buyer_both",
            groups="purchase.group_purchase_user",
            company_ids=[Command.set((self.env.company | north).ids)],
        )
        for user, quantity in ((self.buyer, 5), (self.buyer, 999), (buyer_of_both, 999)):
            with self.subTest(user=user.name, quantity=quantity):
                with self.assertRaises(ValidationError) as refused:
                    self.env["backops.procurement.allocation"].with_user(user).create(
                        self._values(north_rfq.order_line, quantity)
                    )
                message = str(refused.exception)
                self.assertIn("can only be allocated to an RFQ line of My Company", message)
                self.assertNotIn(north_rfq.name, message)
                self.assertNotIn("37", message)
        self.assertFalse(north_rfq.order_line.procurement_allocation_ids)

    # ------------------------------------------------------------------
    # Bad numbers
    # ------------------------------------------------------------------
    def test_bad_numbers_are_refused_with_a_sentence(self):
        allocation = self.Allocation.create(self._values(self.line_a, 5))
        for value in BAD_NUMBERS:
            with self.subTest(value=value):
                with self.assertRaisesRegex(ValidationError, "quantity"):
                    self.Allocation.create(self._values(self.line_b, value))
                with self.assertRaisesRegex(ValidationError, "quantity"):
                    allocation.write({"quantity": value})
                with self.assertRaisesRegex(ValidationError, "quantity"):
                    self.env["purchase.order"].with_user(self.buyer)._allocate_procurement_needs(
                        {self.rfq_b: {self.cart: value}}
                    )
                editor = Form(
                    self.env["backops.line.item.editor"]
                    .with_user(self.buyer)
                    .with_context(default_purchase_order_id=self.rfq_b.id)
                ).save()
                row = editor.line_ids.filtered(lambda line: line.sale_line_id == self.cart)
                with self.assertRaisesRegex(ValidationError, "Golf Cart: .*quantity"):
                    row.write({"selected": True, "quantity": value})
        self.assertEqual(allocation.quantity, 5)
        self.assertEqual(self.line_b.product_qty, 50)
        self.assertEqual(self.cart.procurement_allocated_qty, 5)

    # ------------------------------------------------------------------
    # Create RFQs
    # ------------------------------------------------------------------
    def _rfq_wizard(self, needs):
        return Form(
            self.env["backops.rfq.create"]
            .with_user(self.buyer)
            .with_context(active_model="sale.order.line", active_ids=needs.ids)
        )

    def test_create_rfqs_two_rows_to_one_rfq_allocate_every_need(self):
        chairs = self._create_sale_order([(self.chair, 24)])
        needs = self.cart | chairs.order_line
        draft = self._create_rfq(self.vendor_a, [])
        form = self._rfq_wizard(needs)
        self.assertEqual(len(form.line_ids), 2)  # carts at FairwayFleet, chairs at GreenLane
        for index in range(2):
            with form.line_ids.edit(index) as row:
                row.partner_id = self.vendor_a
                row.purchase_order_id = draft
        form.save().action_create_rfqs()
        self.assertEqual(needs.mapped("procurement_status"), ["on_order", "on_order"])
        self.assertEqual(draft.order_line.procurement_allocation_ids.sale_line_id, needs)

    def test_create_rfqs_checks_the_chosen_rfq_on_the_server(self):
        north = self.env["res.company"].create({"name": "BackOps Events North"})
        confirmed = self._create_rfq(self.vendor_a, [(self.stage_deck, 1)])
        confirmed.button_confirm()
        wrong = {
            "another vendor's RFQ": self._create_rfq(self.vendor_b, []),
            "a confirmed order": confirmed,
            "another company's RFQ": self._create_rfq(self.vendor_a, [], company=north),
        }
        for name, order in wrong.items():
            with self.subTest(rfq=name):
                wizard = self._rfq_wizard(self.cart).save()
                # the form's domain offers none of these: an RPC client may send them
                wizard.line_ids.sudo().purchase_order_id = order
                with self.assertRaises(UserError):
                    wizard.action_create_rfqs()
        self.assertEqual(self.cart.procurement_status, "needs_order")

    # ------------------------------------------------------------------
    # Odoo's own operations carry allocations along
    # ------------------------------------------------------------------
    def test_merging_rfqs_keeps_the_allocations(self):
        other = self._create_rfq(self.vendor_a, [(self.golf_cart, 20)])
        self.Allocation.create(self._values(self.line_a, 30))
        self.Allocation.create(self._values(other.order_line, 20))
        (self.rfq_a | other).with_user(self.buyer).action_merge()
        survivor = (self.rfq_a | other).filtered(lambda order: order.state != "cancel")
        self.assertEqual(len(survivor), 1)
        self.assertEqual(survivor.order_line.product_qty, 50)
        self.assertEqual(sum(survivor.order_line.procurement_allocation_ids.mapped("quantity")), 50)
        self.assertEqual(self.cart.procurement_status, "on_order")

    def test_moving_an_order_to_another_company_is_refused(self):
        north = self.env["res.company"].create({"name": "BackOps Events North"})
        self.Allocation.create(self._values(self.line_a, 30))
        with self.assertRaises(UserError):
            self.rfq_a.write({"company_id": north.id})
        self.assertEqual(self.rfq_a.company_id, self.env.company)

    # ------------------------------------------------------------------
    # The vendor of a need: Odoo's seller selection
    # ------------------------------------------------------------------
    def test_vendor_follows_validity_dates_and_minimum_quantities(self):
        yesterday = fields.Date.subtract(fields.Date.today(), days=1)
        expired = self._create_product("Light Tower", sellers=[(self.vendor_a, 90.0), (self.vendor_b, 95.0)])
        expired.seller_ids.filtered(lambda s: s.partner_id == self.vendor_a).date_end = yesterday
        bulk = self._create_product("Barrier", sellers=[(self.vendor_a, 5.0), (self.vendor_b, 6.0)])
        bulk.seller_ids.filtered(lambda s: s.partner_id == self.vendor_a).min_qty = 100
        order = self._create_sale_order([(expired, 3), (bulk, 50), (bulk, 150)])
        vendors = order.order_line.mapped("procurement_vendor_id")
        self.assertEqual(order.order_line[0].procurement_vendor_id, self.vendor_b)  # A's price list expired
        self.assertEqual(order.order_line[1].procurement_vendor_id, self.vendor_b)  # below A's minimum
        self.assertEqual(order.order_line[2].procurement_vendor_id, self.vendor_a)
        self.assertTrue(vendors)

    # ------------------------------------------------------------------
    # What the allocations derive: never written by hand
    # ------------------------------------------------------------------
    def test_statuses_and_derived_columns_are_not_written_by_hand(self):
        allocation = self.Allocation.create(self._values(self.line_a, 5))
        attempts = {
            "need status": lambda: self.cart.with_user(self.salesman).write(
                {"procurement_allocated_qty": 50, "procurement_status": "on_order", "procurement_remaining_qty": 0}
            ),
            "need status on create": lambda: self.env["sale.order.line"].create(
                {"order_id": self.order.id, "product_id": self.golf_cart.id, "procurement_status": "on_order"}
            ),
            "line allocated": lambda: self.line_a.with_user(self.buyer).write({"procurement_allocated_qty": 0}),
            "order status": lambda: self.rfq_a.with_user(self.buyer).write({"backops_status": "fulfilled"}),
            "allocation columns": lambda: allocation.write(
                {"purchase_order_id": self.rfq_b.id, "product_id": self.stage_deck.id, "partner_id": self.vendor_b.id}
            ),
            "allocation unit quantity": lambda: allocation.write({"purchase_uom_qty": 1}),
        }
        for name, attempt in attempts.items():
            with self.subTest(path=name), self.assertRaisesRegex(UserError, "cannot be written"):
                attempt()
        self.assertEqual(
            (self.cart.procurement_status, self.line_a.procurement_allocated_qty, allocation.purchase_order_id),
            ("short", 5, self.rfq_a),
        )

    def test_a_need_moved_to_another_companys_order_is_refused(self):
        self.Allocation.create(self._values(self.line_a, 5))
        north = self.env["res.company"].create({"name": "BackOps Events North"})
        self.env.user.company_ids += north
        other = self._create_sale_order([(self.stage_deck, 1)], company=north)
        with self.assertRaisesRegex(ValidationError, "can only be allocated to an RFQ line of"):
            self.cart.write({"order_id": other.id})
        self.assertEqual(self.cart.company_id, self.env.company)

    def test_a_need_changing_unit_never_overfills_its_rfq_line(self):
        line = self._create_rfq(self.vendor_a, [(self.golf_cart, 5)]).order_line
        self.Allocation.create(self._values(line, 5))
        self.cart.product_uom = self.uom_dozen  # 5 units = 0.4166 dozen
        allocation = self.cart.procurement_allocation_ids.filtered(lambda a: a.purchase_line_id == line)
        self.assertEqual(allocation.quantity, 0.41)  # rounded down at the quantity's digits
        self.assertLessEqual(line.procurement_allocated_qty, 5)
        line.product_qty = 5  # the line stays editable

    def test_a_locked_orders_allocations_stay(self):
        allocation = self.Allocation.create(self._values(self.line_a, 5))
        self.rfq_a.button_confirm()
        self.rfq_a.button_done()
        with self.assertRaisesRegex(UserError, "is locked"):
            allocation.unlink()
        self.assertTrue(allocation.exists())
        self.rfq_a.button_unlock()
        allocation.unlink()
        self.assertEqual(self.cart.procurement_status, "needs_order")

    def test_a_locked_orders_allocations_are_not_moved_nor_deleted_with_the_need(self):
        allocation = self.Allocation.create(self._values(self.line_a, 5))
        self.rfq_a.button_confirm()
        self.rfq_a.button_done()
        with self.assertRaisesRegex(UserError, "is locked"):
            allocation.write({"purchase_line_id": self.line_b.id})
        with self.assertRaisesRegex(UserError, "is locked"):
            allocation.write({"quantity": 4})
        self.order._action_cancel()
        self.order.action_draft()
        with self.assertRaisesRegex(UserError, "which is locked"):
            self.cart.unlink()
        self.assertEqual((allocation.purchase_line_id, allocation.quantity), (self.line_a, 5))

    def test_a_default_value_never_makes_an_allocation_odoos(self):
        self.env["ir.default"].set("backops.procurement.allocation", "is_automatic", True)
        allocation = self.Allocation.create(self._values(self.line_a, 5))
        self.assertFalse(allocation.is_automatic)

    def test_copying_an_allocation_meets_the_rules(self):
        allocation = self.Allocation.create(self._values(self.line_a, 5))
        copy = allocation.copy({"purchase_line_id": self.line_b.id})
        self.assertEqual((copy.quantity, copy.is_automatic, copy.purchase_line_id), (5, False, self.line_b))
        with self.assertRaisesRegex(ValidationError, "already allocated to this RFQ line"):
            allocation.copy()
