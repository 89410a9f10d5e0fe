import threading
from concurrent.futures import ThreadPoolExecutor

from psycopg2.errors import SerializationFailure

from odoo import Command
from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import CommittedCase, RpcServerCase


@tagged("post_install", "-at_install")
class TestConcurrentRfqLine(CommittedCase):
    """Two buyers allocate two needs onto the last units of one RFQ line, each in its
    own transaction, by a direct ``create``: the second must see the first."""

    def setUp(self):
        super().setUp()
        with self._env() as env:
            company, suffix = self._make_company(env, "Race Line")
            env = env(context=dict(env.context, allowed_company_ids=company.ids))
            self.needs, self.line = self._needs_on_one_line(env, company, suffix, [15, 15], 20)

    def _allocate(self, cr, index, quantity=15):
        with self._env(cr=cr) as env:
            env["backops.procurement.allocation"].create(
                {"sale_line_id": self.needs[index], "purchase_line_id": self.line, "quantity": quantity}
            )
            env.flush_all()

    def _allocated(self):
        with self._env() as env:
            return env["purchase.order.line"].browse(self.line).procurement_allocated_qty

    @mute_logger("odoo.sql_db")
    def test_the_second_buyer_sees_the_first(self):
        with self.registry.cursor() as cr_a, self.registry.cursor() as cr_b:
            # buyer B read the line before buyer A saved: B's snapshot predates A's save
            with self._env(cr=cr_b) as env_b:
                self.assertEqual(env_b["purchase.order.line"].browse(self.line).procurement_allocated_qty, 0)
            self._allocate(cr_a, 0)
            cr_a.commit()
            with self.assertRaises(SerializationFailure):
                self._allocate(cr_b, 1)
            cr_b.rollback()
            # Odoo retries the request in a new transaction: it sees A's 15 of 20
            with self.assertRaisesRegex(ValidationError, "are allocated to needs"):
                self._allocate(cr_b, 1)
            cr_b.rollback()
        self.assertEqual(self._allocated(), 15)

    @mute_logger("odoo.sql_db")
    def test_the_second_buyer_waits_for_the_first(self):
        outcome = self._race(lambda cr: self._allocate(cr, 0), lambda cr: self._allocate(cr, 1))
        self.assertEqual(outcome, "retry")
        self.assertEqual(self._allocated(), 15)


@tagged("post_install", "-at_install")
class TestConcurrentNeed(CommittedCase):
    """Two buyers allocate the same need on two RFQs at the same time through the
    allocation service (the Line Item Editor's save), with Block Over-Ordering on:
    the second save must see the first instead of over-ordering silently."""

    def setUp(self):
        super().setUp()
        with self._env() as env:
            company, suffix = self._make_company(env, "Race Need")
            company.backops_block_over_ordering = True
            env = env(context=dict(env.context, allowed_company_ids=company.ids))
            vendors = env["res.partner"].create(
                [{"name": f"Race Vendor A {suffix}"}, {"name": f"Race Vendor B {suffix}"}]
            )
            product = env["product.product"].create(
                {"name": f"Race Golf Cart {suffix}", "type": "service", "subject_to_procurement": True}
            )
            order = env["sale.order"].create(
                {
                    "partner_id": vendors[0].id,
                    "company_id": company.id,
                    "order_line": [Command.create({"product_id": product.id, "product_uom_qty": 50})],
                }
            )
            order.action_confirm()
            rfqs = env["purchase.order"].create(
                [{"partner_id": vendor.id, "company_id": company.id} for vendor in vendors]
            )
            self.need, self.rfqs = order.order_line.id, rfqs.ids

    def _allocate(self, cr, rfq_index, quantity=50):
        with self._env(cr=cr) as env:
            rfq = env["purchase.order"].browse(self.rfqs[rfq_index])
            need = env["sale.order.line"].browse(self.need)
            env["purchase.order"]._allocate_procurement_needs({rfq: {need: quantity}})
            env.flush_all()

    def _status(self):
        with self._env() as env:
            need = env["sale.order.line"].browse(self.need)
            return need.procurement_status, need.procurement_allocated_qty

    @mute_logger("odoo.sql_db")
    def test_second_save_after_the_first_commits(self):
        with self.registry.cursor() as cr_a, self.registry.cursor() as cr_b:
            # buyer B opened the editor before buyer A saved: B's snapshot predates A's save
            with self._env(cr=cr_b) as env_b:
                self.assertEqual(env_b["sale.order.line"].browse(self.need).procurement_status, "needs_order")
            self._allocate(cr_a, 0)
            cr_a.commit()
            with self.assertRaises(SerializationFailure):
                self._allocate(cr_b, 1)
            cr_b.rollback()
            # Odoo retries the request in a new transaction: it sees A's 50
            with self.assertRaisesRegex(ValidationError, "Excess"):
                self._allocate(cr_b, 1)
            cr_b.rollback()
        self.assertEqual(self._status(), ("on_order", 50))

    @mute_logger("odoo.sql_db")
    def test_second_save_waits_for_the_first(self):
        self.assertEqual(self._race(lambda cr: self._allocate(cr, 0), lambda cr: self._allocate(cr, 1)), "retry")
        self.assertEqual(self._status(), ("on_order", 50))


@tagged("post_install", "-at_install")
class TestConcurrentApproval(CommittedCase):
    """Two buyers confirm the two halves of a split purchase at the same time, each
    below the tier alone: they must be measured together, not each alone."""

    def setUp(self):
        super().setUp()
        with self._env() as env:
            company, suffix = self._make_company(env, "Race Approvals")
            env = env(context=dict(env.context, allowed_company_ids=company.ids))
            group = env["res.groups"].create({"name": f"Race Approvers {suffix}"})
            env["backops.approval.tier"].create(
                {"name": "Race Tier", "min_amount": 1000, "group_id": group.id, "company_id": company.id}
            )
            vendor = env["res.partner"].create({"name": f"Race Vendor {suffix}"})
            product = env["product.product"].create(
                {"name": f"Race Truss {suffix}", "type": "service", "subject_to_procurement": True}
            )
            sale = env["sale.order"].create(
                {
                    "partner_id": vendor.id,
                    "company_id": company.id,
                    "order_line": [Command.create({"product_id": product.id, "product_uom_qty": 12})],
                }
            )
            sale.action_confirm()
            rfqs = env["purchase.order"].create(
                [
                    {
                        "partner_id": vendor.id,
                        "company_id": company.id,
                        "order_line": [
                            Command.create(
                                {"product_id": product.id, "product_qty": 6, "price_unit": 100, "taxes_id": False}
                            )
                        ],
                    }
                    for _ in range(2)
                ]
            )
            env["backops.procurement.allocation"].create(
                [
                    {"sale_line_id": sale.order_line.id, "purchase_line_id": rfq.order_line.id, "quantity": 6}
                    for rfq in rfqs
                ]
            )
            self.rfqs = rfqs.ids

    def _confirm(self, cr, index):
        with self._env(cr=cr) as env:
            env["purchase.order"].browse(self.rfqs[index]).button_confirm()
            env.flush_all()

    def _states(self):
        with self._env() as env:
            return env["purchase.order"].browse(self.rfqs).mapped("state")

    def _allocate_confirmed(self, cr):
        """B, confirmed alone (600, serving no sale order), is allocated to the need A
        serves: the two become split orders of 1,200."""
        with self._env(cr=cr) as env:
            line = env["purchase.order"].browse(self.rfqs[1]).order_line
            env["backops.procurement.allocation"].create(
                {"sale_line_id": self.need, "purchase_line_id": line.id, "quantity": 6}
            )
            env.flush_all()

    def _loose_second_order(self):
        """A allocated to the need (draft), B confirmed alone below the tier."""
        with self._env() as env:
            orders = env["purchase.order"].browse(self.rfqs)
            need = orders[1].order_line.procurement_allocation_ids.sale_line_id
            orders[1].order_line.procurement_allocation_ids.unlink()
            orders[1].button_confirm()
            self.need = need.id
            return orders.mapped("state")

    @mute_logger("odoo.sql_db")
    def test_regrouping_and_confirming_at_once_are_measured_together(self):
        self.assertEqual(self._loose_second_order(), ["draft", "purchase"])
        # the allocation makes them split orders and is not committed yet; the
        # confirmation of A waits for it, then retries and sees it
        outcome = self._race(self._allocate_confirmed, lambda cr: self._confirm(cr, 0))
        self.assertEqual(outcome, "retry")
        with self.registry.cursor() as cr_b:
            self._confirm(cr_b, 0)
            cr_b.commit()
        self.assertEqual(self._states(), ["to approve", "purchase"])

    @mute_logger("odoo.sql_db")
    def test_confirming_and_regrouping_at_once_are_measured_together(self):
        self._loose_second_order()
        outcome = self._race(lambda cr: self._confirm(cr, 0), self._allocate_confirmed)
        self.assertEqual(outcome, "retry")
        # the allocation retried sees A confirmed: B would reach the tier, refused
        with self.registry.cursor() as cr_b, self.assertRaisesRegex(UserError, "needs the approval"):
            self._allocate_confirmed(cr_b)
        self.assertEqual(self._states(), ["purchase", "purchase"])

    @mute_logger("odoo.sql_db")
    def test_split_orders_confirmed_at_once_are_measured_together(self):
        # A: 600 alone, confirmed, not committed yet; B waits for A, then must retry
        outcome = self._race(lambda cr: self._confirm(cr, 0), lambda cr: self._confirm(cr, 1))
        self.assertEqual(outcome, "retry")
        # Odoo retries B's request: it now sees A, and B waits for the tier
        with self.registry.cursor() as cr_b:
            self._confirm(cr_b, 1)
            cr_b.commit()
        self.assertEqual(self._states(), ["purchase", "to approve"])

    def _two_confirmed_loose_orders(self):
        """Both RFQs confirmed alone (600 each, serving no sale order), and two needs
        of one sale order: allocating one need to each makes them split orders."""
        with self._env() as env:
            orders = env["purchase.order"].browse(self.rfqs)
            sale = orders.order_line.procurement_allocation_ids.sale_order_id
            orders.order_line.procurement_allocation_ids.unlink()
            orders.button_confirm()
            product = orders.order_line.product_id[:1]
            sale.write({"order_line": [Command.create({"product_id": product.id, "product_uom_qty": 6})]})
            needs = sale.order_line.filtered(lambda line: line.product_id == product)
            self.assertEqual(orders.mapped("state"), ["purchase", "purchase"])
            return needs.ids, orders.order_line.ids

    def _allocate_line(self, need, line):
        def allocate(cr):
            with self._env(cr=cr) as env:
                env["backops.procurement.allocation"].create(
                    {"sale_line_id": need, "purchase_line_id": line, "quantity": 6}
                )
                env.flush_all()

        return allocate

    @mute_logger("odoo.sql_db")
    def test_two_regroupings_at_once_are_measured_together(self):
        needs, lines = self._two_confirmed_loose_orders()
        outcome = self._race(self._allocate_line(needs[0], lines[0]), self._allocate_line(needs[1], lines[1]))
        self.assertEqual(outcome, "retry")
        # the second, retried, sees the first: together they reach the tier
        with self.registry.cursor() as cr_b, self.assertRaisesRegex(UserError, "needs the approval"):
            self._allocate_line(needs[1], lines[1])(cr_b)


@tagged("post_install", "-at_install")
class TestConcurrentAllocationOverRpc(RpcServerCase):
    """20 buyers' requests, each allocating 2 units onto one RFQ line of 20, at once
    against Odoo's HTTP server: never more than 20 allocated."""

    def setUp(self):
        super().setUp()
        with self._env() as env:
            company, suffix = self._make_company(env, "RPC Race")
            env = env(context=dict(env.context, allowed_company_ids=company.ids))
            buyer, self.password = self._make_user(env, company, "rpc_race_buyer", ["purchase.group_purchase_user"])
            self.login = buyer.login
            self.needs, self.line = self._needs_on_one_line(env, company, suffix, [2] * 20, 20)

    @mute_logger("odoo.sql_db", "odoo.service.model", "odoo.http")
    def test_twenty_buyers_at_once_never_over_allocate(self):
        uid = self._rpc("common", "login", self.db, self.login, self.password)["result"]
        start = threading.Barrier(20)

        def allocate(need):
            start.wait(30)  # the 20 requests leave together
            return self._rpc(
                "object",
                "execute_kw",
                self.db,
                uid,
                self.password,
                "backops.procurement.allocation",
                "create",
                [{"sale_line_id": need, "purchase_line_id": self.line, "quantity": 2}],
            )

        with ThreadPoolExecutor(max_workers=20) as pool:
            answers = list(pool.map(allocate, self.needs))
        successes = [answer for answer in answers if "result" in answer]
        self.assertTrue(successes)
        self.assertLessEqual(len(successes), 10)
        with self._env() as env:
            line = env["purchase.order.line"].browse(self.line)
            self.assertLessEqual(line.procurement_allocated_qty, 20)
            self.assertEqual(line.procurement_allocated_qty, 2 * len(successes))
        refused = [answer["error"]["data"]["message"] for answer in answers if "error" in answer]
        for message in refused:
            self.assertRegex(message, "are allocated to needs|could not serialize|concurrent update")
