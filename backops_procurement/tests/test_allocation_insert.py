from odoo import fields
from odoo.tests import tagged

from ..models.procurement_allocation import DERIVED_FIELDS
from .common import ProcurementCommon

# what an allocation derives from its lines, and what create never takes from the caller
DERIVED_COLUMNS = (*DERIVED_FIELDS, "is_automatic", "create_uid", "write_uid")


@tagged("post_install", "-at_install")
class TestAllocationInsert(ProcurementCommon):
    """Allocations are inserted with the values they derive from their lines, given
    to the ORM's own insert rather than precomputed on a new record each: what is
    stored is what the computes would store, whoever calls and whatever they pass."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.order = cls._create_sale_order([(cls.golf_cart, 6), (cls.chair, 24), (cls.stage_deck, 4)])
        cls.cart_need = cls._line(cls.order, cls.golf_cart)
        cls.chair_need = cls._line(cls.order, cls.chair)
        cls.deck_need = cls._line(cls.order, cls.stage_deck)
        cls.rfq_a = cls._create_rfq(cls.vendor_a, [(cls.golf_cart, 6), (cls.stage_deck, 4)])
        # chairs are bought by the dozen: 24 units are 2 dozens on the RFQ line
        cls.rfq_b = cls._create_rfq(cls.vendor_b, [(cls.chair, 2)])

    def _stored(self, allocations):
        """The rows as PostgreSQL holds them, not as the cache has them."""
        self.env.flush_all()
        self.env.cr.execute(
            f"SELECT id, {', '.join(DERIVED_COLUMNS)} FROM backops_procurement_allocation WHERE id = ANY(%s)",
            [allocations.ids],
        )
        return {row[0]: dict(zip(DERIVED_COLUMNS, row[1:], strict=True)) for row in self.env.cr.fetchall()}

    def _expected(self, allocation, uid, received=0.0):
        need, line = allocation.sale_line_id, allocation.purchase_line_id
        return {
            "company_id": need.company_id.id,
            "product_id": need.product_id.id,
            "sale_order_id": need.order_id.id,
            "purchase_order_id": line.order_id.id,
            "partner_id": line.order_id.partner_id.id,
            "purchase_uom_qty": need.product_uom._compute_quantity(allocation.quantity, line.product_uom, round=False),
            "received_qty": received,
            "is_automatic": False,
            "create_uid": uid,
            "write_uid": uid,
        }

    def test_batch_of_two_vendors_stores_what_the_computes_would(self):
        Allocation = self.env["backops.procurement.allocation"].with_user(self.buyer)
        allocations = Allocation.create(
            [
                {
                    "sale_line_id": self.cart_need.id,
                    "purchase_line_id": self._line(self.rfq_a, self.golf_cart).id,
                    "quantity": 6,
                },
                {"sale_line_id": self.chair_need.id, "purchase_line_id": self.rfq_b.order_line.id, "quantity": 24},
                {
                    "sale_line_id": self.deck_need.id,
                    "purchase_line_id": self._line(self.rfq_a, self.stage_deck).id,
                    "quantity": 4,
                },
            ]
        )
        stored = self._stored(allocations)
        self.env.invalidate_all()
        for allocation in allocations:
            expected = self._expected(allocation, self.buyer.id)
            self.assertEqual(
                {key: float(value) if key.endswith("_qty") else value for key, value in stored[allocation.id].items()},
                expected,
            )
        self.assertEqual(stored[allocations[1].id]["purchase_uom_qty"], 2.0, "24 units are 2 dozens")
        # and the computes, run again on every allocation, change nothing
        for name in ("company_id", "partner_id", "purchase_uom_qty", "received_qty"):
            self.env.add_to_compute(allocations._fields[name], allocations)
        self.assertEqual(self._stored(allocations), stored)
        self.assertEqual(
            set((self.cart_need | self.chair_need | self.deck_need).mapped("procurement_status")), {"on_order"}
        )

    def test_new_allocations_are_cached_as_stored_and_on_their_lines(self):
        cart_line = self._line(self.rfq_a, self.golf_cart)
        deck_line = self._line(self.rfq_a, self.stage_deck)
        # read before: the lines' allocations are in the cache, empty
        self.assertFalse(self.cart_need.procurement_allocation_ids | cart_line.procurement_allocation_ids)
        self.assertFalse(self.rfq_b.order_line.procurement_allocation_ids)
        allocations = (
            self.env["backops.procurement.allocation"]
            .with_user(self.buyer)
            .create(
                [
                    {"sale_line_id": self.cart_need.id, "purchase_line_id": cart_line.id, "quantity": 6},
                    {"sale_line_id": self.chair_need.id, "purchase_line_id": self.rfq_b.order_line.id, "quantity": 24},
                    # more digits than the unit's precision: rounded as the ORM rounds it
                    {"sale_line_id": self.deck_need.id, "purchase_line_id": deck_line.id, "quantity": 2.0004321},
                ]
            )
        )
        # in the order given, and on their lines without reading them again
        self.assertEqual(allocations.sale_line_id, self.cart_need | self.chair_need | self.deck_need)
        self.assertEqual(self.cart_need.procurement_allocation_ids, allocations[0])
        self.assertEqual(cart_line.procurement_allocation_ids, allocations[0])
        self.assertEqual(self.rfq_b.order_line.procurement_allocation_ids, allocations[1])
        names = ["quantity", "purchase_uom_qty", "received_qty", "company_id", "partner_id", "is_automatic"]
        cached = [tuple(allocation[name] for name in names) for allocation in allocations]
        self.env.invalidate_all()
        self.assertEqual([tuple(allocation[name] for name in names) for allocation in allocations], cached)
        digits = self.env["decimal.precision"].precision_get("Product Unit of Measure")
        self.assertEqual(allocations[2].quantity, round(2.0004321, digits))
        self.assertEqual(self.deck_need.procurement_allocated_qty, round(2.0004321, digits))

    def test_forged_log_values_and_context_defaults_change_nothing(self):
        """An RPC caller passing log values, or defaults in its context for what
        allocations derive, gets the same rows as anyone else."""
        Allocation = (
            self.env["backops.procurement.allocation"]
            .with_user(self.buyer)
            .with_context(
                default_partner_id=self.vendor_b.id,
                default_purchase_order_id=self.rfq_b.id,
                default_received_qty=5.0,
                default_purchase_uom_qty=99.0,
                default_is_automatic=True,
            )
        )
        allocation = Allocation.create(
            {
                "sale_line_id": self.cart_need.id,
                "purchase_line_id": self._line(self.rfq_a, self.golf_cart).id,
                "quantity": 6,
                "create_uid": self.env.ref("base.user_admin").id,
                "write_uid": self.env.ref("base.user_admin").id,
                "create_date": "2001-01-01 00:00:00",
            }
        )
        stored = self._stored(allocation)[allocation.id]
        self.assertEqual(stored["partner_id"], self.vendor_a.id)
        self.assertEqual(stored["purchase_order_id"], self.rfq_a.id)
        self.assertEqual(float(stored["received_qty"]), 0.0)
        self.assertEqual(float(stored["purchase_uom_qty"]), 6.0)
        self.assertFalse(stored["is_automatic"])
        self.assertEqual((stored["create_uid"], stored["write_uid"]), (self.buyer.id, self.buyer.id))
        self.assertGreater(allocation.create_date, fields.Datetime.to_datetime("2020-01-01"))

    def test_confirmed_order_with_receipts_shares_them_with_a_new_need(self):
        """On a confirmed order, what the line received is shared out again with the
        need allocated to it now: the received quantity is computed, not assumed."""
        rfq = self._create_rfq(self.vendor_a, [(self.golf_cart, 10)])
        line = rfq.order_line
        self._allocate(self.cart_need, line, 6)
        rfq.button_confirm()
        self._validate(rfq.picking_ids, {self.golf_cart: 10})
        self.assertEqual(line.qty_received, 10)
        other = self._line(self._create_sale_order([(self.golf_cart, 4)]), self.golf_cart)
        allocation = self._allocate(other, line, 4, user=self.buyer)
        self.env.invalidate_all()
        self.assertEqual(allocation.received_qty, 4)
        self.assertEqual(
            {allocation.sale_line_id: allocation.received_qty for allocation in line.procurement_allocation_ids},
            {self.cart_need: 6.0, other: 4.0},
        )

    def test_a_value_that_is_no_column_goes_through_create(self):
        """A value Odoo's create would ignore (a field that is not stored) is ignored
        the same way: the allocation is made with the same derived values."""
        allocation = (
            self.env["backops.procurement.allocation"]
            .with_user(self.buyer)
            .create(
                {
                    "sale_line_id": self.cart_need.id,
                    "purchase_line_id": self._line(self.rfq_a, self.golf_cart).id,
                    "quantity": 6,
                    "sale_state": "cancel",
                }
            )
        )
        stored = self._stored(allocation)[allocation.id]
        self.assertEqual(stored["purchase_order_id"], self.rfq_a.id)
        self.assertEqual(allocation.sale_state, "sale")
        self.assertEqual(self.cart_need.procurement_status, "on_order")

    def test_insert_queries_do_not_grow_with_the_allocations(self):
        def needs(count):
            order = self._create_sale_order([(self.stage_deck, 1)] * count)
            return order.order_line

        def count_queries(needs):
            rfq = self._create_rfq(self.vendor_a, [(self.stage_deck, len(needs))])
            vals_list = [
                {"sale_line_id": need.id, "purchase_line_id": rfq.order_line.id, "quantity": 1} for need in needs
            ]
            Allocation = self.env["backops.procurement.allocation"].with_user(self.buyer)
            self.env.flush_all()
            self.env.invalidate_all()
            before = self.env.cr.sql_log_count
            Allocation.create(vals_list)
            self.env.flush_all()
            return self.env.cr.sql_log_count - before

        count_queries(needs(3))  # the caches every first call fills
        small = count_queries(needs(3))
        # a query of Odoo's caches may fall on either run; one per allocation would be 57
        self.assertLessEqual(count_queries(needs(60)), small + 2)
