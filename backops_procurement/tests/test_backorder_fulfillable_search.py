from odoo.tests import tagged

from .test_backorders import BackorderCommon

ANSWERS = ("complete", "partial", "none")


@tagged("post_install", "-at_install")
class TestFulfillableSearch(BackorderCommon):
    """The Fulfillable Backorders filter decides in SQL what the compute decides in
    Python: every search answers what the compute says, backorder by backorder."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.service = cls._create_product("Setup Crew", subject=False, type="service")

    def _answers(self, pickings):
        pickings.invalidate_recordset(["backops_fulfillable"])
        return {picking: picking.backops_fulfillable for picking in pickings}

    def assertSearchMatchesCompute(self, pickings, env=None):  # noqa: N802 - unittest's style
        """Every way of searching the field finds, among ``pickings``, exactly those
        the compute gives that answer (read one by one and all together)."""
        env = env or self.env
        pickings = pickings.with_env(env)
        together = self._answers(pickings)
        alone = {}
        for picking in pickings:
            alone.update(self._answers(picking))
        self.assertEqual(together, alone, "the compute must not depend on the batch")
        Picking = env["stock.picking"]
        scope = [("id", "in", pickings.ids)]
        for answer in ANSWERS:
            expected = {p for p, value in together.items() if value == answer}
            self.assertEqual(set(Picking.search([("backops_fulfillable", "=", answer), *scope])), expected, answer)
            self.assertEqual(
                set(Picking.search([("backops_fulfillable", "!=", answer), *scope])), set(pickings) - expected, answer
            )
        for answers in (("complete", "partial"), ("partial", "none"), ("complete", "none")):
            expected = {p for p, value in together.items() if value in answers}
            self.assertEqual(set(Picking.search([("backops_fulfillable", "in", answers), *scope])), expected)
            self.assertEqual(
                set(Picking.search([("backops_fulfillable", "not in", answers), *scope])), set(pickings) - expected
            )
        not_backorders = {p for p, value in together.items() if not value}
        self.assertEqual(set(Picking.search([("backops_fulfillable", "=", False), *scope])), not_backorders)
        # the sale orders' filter: an order with a backorder that could ship
        orders = pickings.sale_id
        fulfillable = {p.sale_id for p, value in together.items() if value in ("complete", "partial")}
        self.assertEqual(
            set(env["sale.order"].search([("backops_fulfillable_backorder", "=", True), ("id", "in", orders.ids)])),
            fulfillable,
        )
        self.assertEqual(
            set(env["sale.order"].search([("backops_fulfillable_backorder", "=", False), ("id", "in", orders.ids)])),
            set(orders) - fulfillable,
        )
        orders.invalidate_recordset(["backops_fulfillable_backorder"])
        self.assertEqual({o for o in orders if o.backops_fulfillable_backorder}, fulfillable)
        return together

    def test_complete_partial_and_none(self):
        complete = self._backorder(self._order([(self.cart, 3), (self.bench, 2)]))  # 2 carts, 2 benches
        partial = self._backorder(self._order([(self.cart, 5), (self.tent, 4)], partner=self.customer_2))
        none = self._backorder(self._order([(self.tent, 3), (self.tent, 2)]))  # 2 + 2 tents (one shipped)
        delivered_in_full = self._order([(self.bench, 1)])
        self._stock(self.cart, 4)
        self._stock(self.bench, 2)
        answers = self.assertSearchMatchesCompute(complete | partial | none | delivered_in_full.picking_ids)
        self.assertEqual(
            [answers[complete], answers[partial], answers[none], answers[delivered_in_full.picking_ids]],
            ["complete", "partial", "none", False],
        )
        # two lines of one product share the stock: 3 tents for 2 + 2 is partly
        self._stock(self.tent, 3)
        answers = self.assertSearchMatchesCompute(complete | partial | none)
        self.assertEqual(answers[none], "partial")
        self._stock(self.tent, 1)
        self.assertEqual(self.assertSearchMatchesCompute(none)[none], "complete")

    def test_services_are_always_there(self):
        backorder = self._backorder(self._order([(self.cart, 2), (self.service, 1)]))
        backorder.move_ids.filtered(lambda m: m.product_id == self.service).unlink()  # Odoo moves no service
        self.assertEqual(self.assertSearchMatchesCompute(backorder)[backorder], "none")
        self.env["stock.move"].create(
            {
                "name": "Setup crew",
                "product_id": self.service.id,
                "product_uom_qty": 1,
                "product_uom": self.uom_unit.id,
                "picking_id": backorder.id,
                "location_id": backorder.location_id.id,
                "location_dest_id": backorder.location_dest_id.id,
            }
        )._action_confirm()
        # the cart still waits, the service could go: partly
        self.assertEqual(self.assertSearchMatchesCompute(backorder)[backorder], "partial")

    def test_units_of_measure(self):
        # a line in dozens, the stock in units
        backorder = self._backorder(self._order([(self.bench, 1), (self.cart, 24)]))
        cart_move = backorder.move_ids.filtered(lambda m: m.product_id == self.cart)
        cart_move.write({"product_uom": self.uom_dozen.id, "product_uom_qty": 2})
        self.assertEqual(cart_move.product_qty, 24)
        self._stock(self.cart, 13)  # a dozen and one: not two dozen
        self.assertEqual(self.assertSearchMatchesCompute(backorder)[backorder], "partial")
        self._stock(self.cart, 11)
        self.assertEqual(self.assertSearchMatchesCompute(backorder)[backorder], "complete")
        # reserved in dozens, counted in units
        backorder.action_assign()
        self.assertEqual((cart_move.quantity, cart_move.product_uom), (2, self.uom_dozen))
        self.assertEqual(self.assertSearchMatchesCompute(backorder)[backorder], "complete")

    def test_own_reservations_count_others_do_not(self):
        first = self._backorder(self._order([(self.bench, 1), (self.cart, 4)]))
        second = self._backorder(self._order([(self.bench, 1), (self.cart, 4)], partner=self.customer_2))
        self._stock(self.cart, 3)
        first.action_assign()  # the first reserves the 3 carts: nothing is free
        self.assertEqual(first.move_ids.quantity, 3)
        answers = self.assertSearchMatchesCompute(first | second)
        self.assertEqual((answers[first], answers[second]), ("partial", "none"))
        self._stock(self.cart, 1)  # with its own 3, the first could ship in full
        answers = self.assertSearchMatchesCompute(first | second)
        self.assertEqual((answers[first], answers[second]), ("complete", "partial"))

    def test_stock_of_another_company_and_its_backorders(self):
        company_b = self.env["res.company"].create({"name": "BackOps Events North"})
        self.env.user.company_ids += company_b
        stock_b = self.env["stock.warehouse"].search([("company_id", "=", company_b.id)], limit=1).lot_stock_id
        order_a = self._order([(self.bench, 1), (self.cart, 4)])
        order_b = self._create_sale_order([(self.bench, 1), (self.cart, 4)], company=company_b)
        backorder_a = self._backorder(order_a)
        self.env["stock.quant"]._update_available_quantity(self.bench, stock_b, 1)
        delivery_b = order_b.picking_ids
        delivery_b.action_assign()
        backorder_b = self._deliver(delivery_b, {self.bench: 1})
        self.assertEqual(backorder_b.company_id, company_b)
        # carts in the north only
        self.env["stock.quant"]._update_available_quantity(self.cart, stock_b, 4)
        answers = self.assertSearchMatchesCompute(backorder_a | backorder_b)
        self.assertEqual((answers[backorder_a], answers[backorder_b]), ("none", "complete"))
        # a user of the first company alone neither sees nor finds the north's
        env_a = self.env(user=self.stock_user)
        self.assertEqual(self.stock_user.company_ids, self.env.company)
        self.assertFalse(
            env_a["stock.picking"].search([("backops_fulfillable", "in", ("complete", "partial", "none"))])
            & backorder_b
        )
        self.assertSearchMatchesCompute(backorder_a, env=env_a)

    def test_bad_value_is_refused(self):
        with self.assertRaisesRegex(Exception, "not a fulfillable value"):
            self.env["stock.picking"].search([("backops_fulfillable", "=", "maybe")])

    def test_queries_do_not_grow_with_the_backorders(self):

        def count():
            self.env.flush_all()
            self.env.invalidate_all()
            before = self.env.cr.sql_log_count
            orders = self.env["sale.order"].search([("backops_fulfillable_backorder", "=", True)])
            pickings = self.env["stock.picking"].search([("backops_fulfillable", "=", "none")])
            return self.env.cr.sql_log_count - before, orders, pickings

        orders = self._order([(self.bench, 1), (self.cart, 2)])
        self._backorder(orders)
        self._stock(self.cart, 2)
        small, found, _none = count()
        self.assertIn(orders, found)
        for _i in range(3):
            orders |= self._order([(self.bench, 1), (self.cart, 2), (self.tent, 1)])
            self._backorder(orders[-1])
        self._stock(self.cart, 100)
        large, found, _none = count()
        self.assertEqual(found & orders, orders)
        self.assertLessEqual(large, small)
        self.assertLessEqual(small, 2)
