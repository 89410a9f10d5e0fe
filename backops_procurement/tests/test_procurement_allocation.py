from odoo.exceptions import UserError, ValidationError
from odoo.tests import Form, tagged

from .common import ProcurementCommon


@tagged("post_install", "-at_install")
class TestProcurementAllocationRefusals(ProcurementCommon):
    """Bad input gets a clear error and writes nothing."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.order = cls._create_sale_order([(cls.golf_cart, 50), (cls.stage_deck, 10)])
        cls.cart_line = cls._line(cls.order, cls.golf_cart)
        cls.deck_line = cls._line(cls.order, cls.stage_deck)
        cls.rfq = cls._create_rfq(cls.vendor_a, [(cls.golf_cart, 30), (cls.stage_deck, 10)])
        cls.cart_purchase_line = cls._line(cls.rfq, cls.golf_cart)
        cls.deck_purchase_line = cls._line(cls.rfq, cls.stage_deck)

    def assertRefused(self, exception, message, function):
        """``function`` raises ``exception`` with ``message``; the savepoint of
        assertRaises rolls back what it wrote, as the RPC transaction would."""
        with self.assertRaises(exception) as caught:
            function()
        self.assertRegex(str(caught.exception), message)

    def assertNothingWritten(self, exception, message, values):
        Allocation = self.env["backops.procurement.allocation"]
        count = Allocation.search_count([])
        self.assertRefused(exception, message, lambda: Allocation.create(values))
        self.assertEqual(Allocation.search_count([]), count)
        self.assertEqual(self.cart_line.procurement_status, "needs_order")
        self.assertEqual(self.deck_line.procurement_status, "needs_order")

    def test_zero_quantity(self):
        self.assertNothingWritten(
            ValidationError,
            "must be positive",
            {"sale_line_id": self.cart_line.id, "purchase_line_id": self.cart_purchase_line.id, "quantity": 0},
        )

    def test_negative_quantity(self):
        self.assertNothingWritten(
            ValidationError,
            "must be positive",
            {"sale_line_id": self.cart_line.id, "purchase_line_id": self.cart_purchase_line.id, "quantity": -5},
        )

    def test_negative_quantity_on_write(self):
        allocation = self._allocate(self.cart_line, self.cart_purchase_line, 10)
        self.assertRefused(ValidationError, "must be positive", lambda: allocation.write({"quantity": -1}))
        self.assertEqual(allocation.quantity, 10)

    def test_purchase_line_of_another_product(self):
        self.assertNothingWritten(
            ValidationError,
            "cannot cover the need",
            {"sale_line_id": self.cart_line.id, "purchase_line_id": self.deck_purchase_line.id, "quantity": 5},
        )

    def test_purchase_line_of_another_company(self):
        other_company = self.env["res.company"].create({"name": "BackOps Events North"})
        self.env.user.company_ids += other_company
        rfq = self._create_rfq(self.vendor_a, [(self.golf_cart, 30)], company=other_company)
        self.assertEqual(rfq.company_id, other_company)
        self.assertNothingWritten(
            ValidationError,
            "can only be allocated to an RFQ line of My Company",
            {"sale_line_id": self.cart_line.id, "purchase_line_id": rfq.order_line.id, "quantity": 5},
        )

    def test_units_of_another_category(self):
        # a need in kilograms cannot be covered by a line in units
        kg_order = self._create_sale_order([(self.golf_cart, 5)])
        # the UI offers only units of the product's category; an RPC client may not
        kg_order.order_line.product_uom = self.uom_kg
        self.assertNothingWritten(
            ValidationError,
            "cannot be converted",
            {"sale_line_id": kg_order.order_line.id, "purchase_line_id": self.cart_purchase_line.id, "quantity": 5},
        )

    def test_more_than_the_rfq_line_orders(self):
        self.assertNothingWritten(
            ValidationError,
            "are allocated to needs",
            {"sale_line_id": self.cart_line.id, "purchase_line_id": self.cart_purchase_line.id, "quantity": 31},
        )

    def test_section_lines(self):
        order = self._create_sale_order(["Staging", (self.golf_cart, 5)])
        section = order.order_line.filtered("display_type")
        self.assertNothingWritten(
            ValidationError,
            "Sections and notes cannot be allocated",
            {"sale_line_id": section.id, "purchase_line_id": self.cart_purchase_line.id, "quantity": 1},
        )

    def test_same_need_and_line_twice(self):
        first = self._allocate(self.cart_line, self.cart_purchase_line, 10)
        self.assertRefused(
            ValidationError,
            "already allocated to this RFQ line",
            lambda: self._allocate(self.cart_line, self.cart_purchase_line, 5),
        )
        # nor twice in one call
        other_need = self._line(self._create_sale_order([(self.golf_cart, 4)]), self.golf_cart)
        pair = {"sale_line_id": other_need.id, "purchase_line_id": self.cart_purchase_line.id, "quantity": 1}
        self.assertRefused(
            ValidationError,
            "already allocated to this RFQ line",
            lambda: self.env["backops.procurement.allocation"].create([pair, pair]),
        )
        # nor by moving another allocation onto the pair
        moved = self._allocate(other_need, self.cart_purchase_line, 2)
        self.assertRefused(
            ValidationError,
            "already allocated to this RFQ line",
            lambda: moved.write({"sale_line_id": self.cart_line.id}),
        )
        self.assertEqual((first.quantity, moved.sale_line_id), (10, other_need))

    def test_rfq_line_quantity_below_allocated(self):
        self._allocate(self.cart_line, self.cart_purchase_line, 30)

        def lower_quantity():
            with Form(self.rfq) as form:
                with form.order_line.edit(0) as line:
                    line.product_qty = 20

        self.assertRefused(ValidationError, "are allocated to needs", lower_quantity)
        self.assertEqual(self.cart_purchase_line.product_qty, 30)
        # raising it is fine, and lowering it down to what is allocated too
        self.cart_purchase_line.product_qty = 40
        self.cart_purchase_line.product_qty = 30
        self.assertEqual(self.cart_line.procurement_allocated_qty, 30)

    def test_changing_the_product_of_an_allocated_line(self):
        self._allocate(self.cart_line, self.cart_purchase_line, 30)
        # Odoo itself refuses another product on a confirmed sale line
        self.assertRefused(
            UserError, "cannot modify the product", lambda: self.cart_line.write({"product_id": self.stage_deck.id})
        )
        self.assertRefused(
            ValidationError,
            "cannot cover the need",
            lambda: self.cart_purchase_line.write({"product_id": self.stage_deck.id}),
        )
        self.assertEqual(self.cart_purchase_line.product_id, self.golf_cart)
        self.assertEqual(self.cart_line.product_id, self.golf_cart)
        self.assertEqual(self.cart_line.procurement_allocated_qty, 30)
