import threading

from psycopg2.errors import SerializationFailure

from odoo import SUPERUSER_ID, Command, api
from odoo.exceptions import UserError
from odoo.tests import BaseCase, tagged
from odoo.tests.common import get_db_name
from odoo.tools import mute_logger

from odoo.modules.registry import Registry


@tagged("post_install", "-at_install")
class TestConcurrentAllocation(BaseCase):
    """Two buyers allocate the same need on two RFQs at the same time, each in its
    own database transaction, with Block Over-Ordering on: the second save must see
    the first instead of over-ordering silently.

    The records are committed (two transactions cannot see each other otherwise) and
    removed again at the end."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.registry = Registry(get_db_name())

    def setUp(self):
        super().setUp()
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})
            company = env.company
            self.previous_blocking = company.backops_block_over_ordering
            company.backops_block_over_ordering = True
            vendors = env["res.partner"].create([{"name": "Race Vendor A"}, {"name": "Race Vendor B"}])
            product = env["product.product"].create(
                {"name": "Race Golf Cart", "type": "service", "subject_to_procurement": True}
            )
            order = env["sale.order"].create(
                {
                    "partner_id": vendors[0].id,
                    "order_line": [Command.create({"product_id": product.id, "product_uom_qty": 50})],
                }
            )
            order.action_confirm()
            rfqs = env["purchase.order"].create([{"partner_id": vendor.id} for vendor in vendors])
            self.ids = {
                "company": company.id,
                "vendors": vendors.ids,
                "product": product.id,
                "order": order.id,
                "need": order.order_line.id,
                "rfqs": rfqs.ids,
            }
        self.addCleanup(self._remove_records)

    def _remove_records(self):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            rfqs = env["purchase.order"].browse(self.ids["rfqs"])
            rfqs.button_cancel()
            rfqs.unlink()
            order = env["sale.order"].browse(self.ids["order"])
            order._action_cancel()
            order.unlink()
            env["product.product"].browse(self.ids["product"]).unlink()
            env["res.partner"].browse(self.ids["vendors"]).unlink()
            env["res.company"].browse(self.ids["company"]).backops_block_over_ordering = self.previous_blocking

    def _allocate(self, cr, rfq_index, quantity):
        env = api.Environment(cr, SUPERUSER_ID, {})
        rfq = env["purchase.order"].browse(self.ids["rfqs"][rfq_index])
        need = env["sale.order.line"].browse(self.ids["need"])
        env["purchase.order"]._allocate_procurement_needs({rfq: {need: quantity}})
        env.flush_all()

    def _status(self):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            need = env["sale.order.line"].browse(self.ids["need"])
            return need.procurement_status, need.procurement_allocated_qty

    @mute_logger("odoo.sql_db")
    def test_second_save_after_the_first_commits(self):
        with self.registry.cursor() as cr_a, self.registry.cursor() as cr_b:
            # buyer B opened the editor before buyer A saved: B's snapshot predates A's save
            env_b = api.Environment(cr_b, SUPERUSER_ID, {})
            self.assertEqual(env_b["sale.order.line"].browse(self.ids["need"]).procurement_status, "needs_order")
            self._allocate(cr_a, 0, 50)
            cr_a.commit()
            with self.assertRaises(SerializationFailure):
                self._allocate(cr_b, 1, 50)
            cr_b.rollback()
            # Odoo retries the request in a new transaction: it sees A's 50
            with self.assertRaisesRegex(UserError, "Excess"):
                self._allocate(cr_b, 1, 50)
            cr_b.rollback()
        self.assertEqual(self._status(), ("on_order", 50))

    @mute_logger("odoo.sql_db")
    def test_second_save_waits_for_the_first(self):
        outcome = {}
        with self.registry.cursor() as cr_a:
            self._allocate(cr_a, 0, 50)  # A holds the need, not committed yet
            b_started = threading.Event()

            def buyer_b():
                with self.registry.cursor() as cr_b:
                    b_started.set()
                    try:
                        self._allocate(cr_b, 1, 50)
                        cr_b.commit()
                        outcome["b"] = "saved"
                    except SerializationFailure:
                        outcome["b"] = "retry"

            thread = threading.Thread(target=buyer_b)
            thread.start()
            b_started.wait(10)
            thread.join(1)
            self.assertTrue(thread.is_alive(), "buyer B must wait for buyer A's transaction")
            cr_a.commit()
            thread.join(30)
        self.assertEqual(outcome.get("b"), "retry")
        self.assertEqual(self._status(), ("on_order", 50))
