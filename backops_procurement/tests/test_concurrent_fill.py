import threading
import uuid

from psycopg2.errors import SerializationFailure

from odoo import SUPERUSER_ID, Command, api
from odoo.exceptions import UserError
from odoo.modules.registry import Registry
from odoo.tests import BaseCase, Form, new_test_user, tagged
from odoo.tests.common import get_db_name
from odoo.tools import mute_logger


@tagged("post_install", "-at_install")
class TestConcurrentFill(BaseCase):
    """Two stock users fill backorders of the same product at the same time, each in
    its own database transaction: together they never ship more than is in stock.
    The second one waits for the first, then fails to serialize (Odoo retries the
    request), and its retry ships only what is left.

    The records are committed (two transactions cannot see each other otherwise);
    what can be undone is undone at the end, the rest (done deliveries) is of a
    product of its own."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.registry = Registry(get_db_name())

    def setUp(self):
        super().setUp()
        tag = uuid.uuid4().hex[:8]
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})
            stock = env["stock.warehouse"].search([("company_id", "=", env.company.id)], limit=1).lot_stock_id
            user = new_test_user(
                env, f"race_stock_{tag}", groups="stock.group_stock_user,sales_team.group_sale_salesman_all_leads"
            )
            customer = env["res.partner"].create({"name": f"Race Customer {tag}"})
            cart = env["product.product"].create({"name": f"Race Cart {tag}", "type": "consu", "is_storable": True})
            orders = env["sale.order"].create(
                [
                    {
                        "partner_id": customer.id,
                        "order_line": [Command.create({"product_id": cart.id, "product_uom_qty": 5})],
                    }
                    for _i in range(2)
                ]
            )
            orders.action_confirm()
            orders[0].date_order = "2026-09-01 10:00:00"
            orders[1].date_order = "2026-09-05 10:00:00"
            # one cart ships of each order: 4 carts of each are backordered
            env["stock.quant"]._update_available_quantity(cart, stock, 2)
            deliveries = orders.picking_ids
            deliveries.action_assign()
            for move in deliveries.move_ids:
                move.quantity = 1
                move.picked = True
            deliveries.with_context(skip_backorder=True).button_validate()
            # then 6 carts come in, for 8 backordered
            env["stock.quant"]._update_available_quantity(cart, stock, 6)
            self.ids = {
                "user": user.id,
                "stock": stock.id,
                "cart": cart.id,
                "orders": orders.ids,
                "backorders": [order.picking_ids.backorder_ids.id for order in orders],
            }
        self.addCleanup(self._remove_records)

    def _remove_records(self):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            env["backops.backorder.fill"].search([("create_uid", "=", self.ids["user"])]).unlink()
            pickings = env["sale.order"].browse(self.ids["orders"]).picking_ids
            pickings.filtered(lambda p: p.state not in ("done", "cancel")).action_cancel()
            env["product.product"].browse(self.ids["cart"]).active = False
            env["res.users"].browse(self.ids["user"]).active = False

    def _env(self, cr):
        return api.Environment(cr, self.ids["user"], {"tracking_disable": True})

    def _fill_one_order(self, cr, index):
        """The pop-up of the order ``index``: ship what it offers."""
        env = self._env(cr)
        Wizard = env["backops.backorder.fill.order"].with_context(default_sale_order_id=self.ids["orders"][index])
        form = Form(Wizard)
        form.send_email = False
        form.save().action_fill()
        env.flush_all()

    def _fill_all(self, cr, date_from=False):
        """Fill Backorders of the cart (of orders from ``date_from``), partial
        shipments allowed."""
        self._new_fill(cr, date_from).action_start()
        self._env(cr).flush_all()

    def _new_fill(self, cr, date_from=False):
        env = self._env(cr)
        return env["backops.backorder.fill"].create(
            {
                "mode": "partial",
                "product_scope": "selected",
                "product_ids": [Command.set([self.ids["cart"]])],
                "date_from": date_from,
                "email_complete": False,
                "email_partial": False,
            }
        )

    def _state(self):
        """(cart shipped per order, cart on hand, quants below zero)."""
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            shipped = [
                sum(order.picking_ids.move_ids.filtered(lambda m: m.state == "done").mapped("quantity"))
                for order in env["sale.order"].browse(self.ids["orders"])
            ]
            quants = env["stock.quant"].search(
                [("product_id", "=", self.ids["cart"]), ("location_id", "child_of", self.ids["stock"])]
            )
            return shipped, sum(quants.mapped("quantity")), len(quants.filtered(lambda q: q.quantity < 0))

    @mute_logger("odoo.sql_db")
    def test_second_fill_after_the_first_commits(self):
        with self.registry.cursor() as cr_a, self.registry.cursor() as cr_b:
            # B opened its transaction (and saw 6 carts) before A shipped
            env_b = self._env(cr_b)
            self.assertEqual(
                env_b["stock.picking"].browse(self.ids["backorders"]).mapped("backops_fulfillable"),
                ["complete", "complete"],
            )
            self._fill_one_order(cr_a, 0)
            cr_a.commit()
            with self.assertRaises(SerializationFailure):
                self._fill_all(cr_b)
            cr_b.rollback()
            # Odoo retries the request in a new transaction: it ships the 2 carts left
            self._fill_all(cr_b)
            cr_b.commit()
        self.assertEqual(self._state(), ([1 + 4, 1 + 2], 0, 0))

    @mute_logger("odoo.sql_db")
    def test_second_fill_waits_for_the_first(self):
        """The two fills share no backorder, only the stock."""
        outcome = {}
        with self.registry.cursor() as cr_a:
            self._fill_one_order(cr_a, 0)  # A shipped, not committed yet
            b_started = threading.Event()

            def second_fill():
                with self.registry.cursor() as cr_b:
                    b_started.set()
                    try:
                        self._fill_all(cr_b, date_from="2026-09-03")
                        cr_b.commit()
                        outcome["b"] = "shipped"
                    except SerializationFailure:
                        outcome["b"] = "retry"

            thread = threading.Thread(target=second_fill)
            thread.start()
            b_started.wait(10)
            thread.join(2)
            self.assertTrue(thread.is_alive(), "the second fill must wait for the first one's transaction")
            cr_a.commit()
            thread.join(60)
        self.assertEqual(outcome.get("b"), "retry")
        self.assertEqual(self._state(), ([1 + 4, 1], 2, 0))
        # the retry ships what is left
        with self.registry.cursor() as cr_b:
            self._fill_all(cr_b, date_from="2026-09-03")
        self.assertEqual(self._state(), ([1 + 4, 1 + 2], 0, 0))

    @mute_logger("odoo.sql_db")
    def test_same_policy_started_twice_at_once(self):
        """Two stock users press Start on the same policy at the same moment (two
        workers): the second waits for the first run, fails to serialize, and Odoo's
        retry is refused. The policy keeps the first run's results: what shipped."""
        with self.registry.cursor() as cr:
            fill_id = self._new_fill(cr).id
        outcome = {}
        with self.registry.cursor() as cr_a:
            self._env(cr_a)["backops.backorder.fill"].browse(fill_id).action_start()
            self._env(cr_a).flush_all()
            b_started = threading.Event()

            def second_start():
                with self.registry.cursor() as cr_b:
                    b_started.set()
                    try:
                        self._env(cr_b)["backops.backorder.fill"].browse(fill_id).action_start()
                        cr_b.commit()
                        outcome["b"] = "shipped"
                    except SerializationFailure:
                        cr_b.rollback()
                        outcome["b"] = "retry"

            thread = threading.Thread(target=second_start)
            thread.start()
            b_started.wait(10)
            thread.join(2)
            self.assertTrue(thread.is_alive(), "the second Start must wait for the first run's transaction")
            cr_a.commit()
            thread.join(60)
        self.assertEqual(outcome.get("b"), "retry")
        # Odoo retries the request: the policy ran, it says so and ships nothing
        with self.registry.cursor() as cr_b:
            fill = self._env(cr_b)["backops.backorder.fill"].browse(fill_id)
            with self.assertRaises(UserError) as caught:
                fill.action_start()
            self.assertIn("New Run", str(caught.exception))
            cr_b.rollback()
        self.assertEqual(self._state(), ([1 + 4, 1 + 2], 0, 0))
        with self.registry.cursor() as cr:
            fill = self._env(cr)["backops.backorder.fill"].browse(fill_id)
            self.assertEqual(fill.state, "done")
            self.assertEqual(sum(fill.line_ids.mapped("fill_qty")), 6)
