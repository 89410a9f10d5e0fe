from datetime import timedelta

from odoo import fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import Form, tagged

from .fulfilment_common import FulfilmentCommon


@tagged("post_install", "-at_install")
class TestFulfilmentNotifications(FulfilmentCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # followers as in production: the salesperson and the creator follow
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=False))
        cls.subtypes = {
            name: cls.env.ref(f"backops_procurement.mt_procurement_{name}")
            for name in ("ordered", "received", "ready", "delivered")
        }

    def _commit_hooks(self):
        """What the end of the transaction does: run the precommit hooks."""
        self.env.flush_all()
        self.env.cr.precommit.run()

    def _digests(self, order):
        return order.message_ids.filtered(lambda m: m.subtype_id in self.subtypes.values())

    def test_one_digest_per_order_and_transaction(self):
        order = self._create_sale_order([(self.cart, 10), (self.deck, 4)], user=self.salesman)
        self._commit_hooks()
        self.assertFalse(self._digests(order))
        # both lines ordered in one transaction: one message listing both
        self._purchase(self.vendor_a, [(order.order_line[0], 10), (order.order_line[1], 4)])
        self._commit_hooks()
        digest = self._digests(order)
        self.assertEqual(len(digest), 1)
        self.assertEqual(digest.subtype_id, self.subtypes["ordered"])
        self.assertEqual(digest.author_id, self.env.ref("base.partner_root"))
        self.assertIn(self.cart.display_name, digest.body)
        self.assertIn(self.deck.display_name, digest.body)
        self.assertIn("On Order", digest.body)
        # the salesperson follows with the procurement subtypes by default
        follower = order.message_follower_ids.filtered(lambda f: f.partner_id == self.salesman.partner_id)
        self.assertTrue(follower)
        self.assertLessEqual(set(self.subtypes.values()), set(follower.subtype_ids))

    def test_a_line_moving_twice_in_one_transaction_is_told_once(self):
        order = self._create_sale_order([(self.cart, 10)])
        self._commit_hooks()
        po = self._purchase(self.vendor_a, [(order.order_line, 10)])
        self._receive(po, {self.cart: 10})
        self._commit_hooks()
        digest = self._digests(order)
        self.assertEqual(len(digest), 1)
        self.assertEqual(digest.subtype_id, self.subtypes["ready"])
        self.assertIn("Need to Order", digest.body)
        self.assertIn("Ready to Deliver/Ship", digest.body)

    def test_each_stage_its_subtype(self):
        order = self._create_sale_order([(self.cart, 10)])
        po = self._purchase(self.vendor_a, [(order.order_line, 10)])
        self._commit_hooks()
        self._receive(po, {self.cart: 4})
        self._commit_hooks()
        self._receive(po, {self.cart: 6})
        self._commit_hooks()
        self._validate(self._delivery(order), {self.cart: 10})
        self._commit_hooks()
        self.assertEqual(
            self._digests(order).sorted("id").subtype_id.mapped("name"),
            ["Procurement: ordered", "Procurement: received", "Procurement: ready", "Procurement: delivered"],
        )

    def test_opting_out_with_follower_subtypes(self):
        order = self._create_sale_order([(self.cart, 10)], user=self.salesman).with_env(self.env)
        follower = order.message_follower_ids.filtered(lambda f: f.partner_id == self.salesman.partner_id)
        follower.subtype_ids -= self.subtypes["ordered"]
        self._purchase(self.vendor_a, [(order.order_line, 10)])
        self._commit_hooks()
        digest = self._digests(order)
        self.assertEqual(len(digest), 1)
        self.assertNotIn(self.salesman.partner_id, digest.notified_partner_ids)
        self.assertNotIn(self.salesman.partner_id, digest.notification_ids.res_partner_id)

    def test_customers_following_are_not_told(self):
        order = self._create_sale_order([(self.cart, 10)])
        order.message_subscribe(partner_ids=self.customer.ids)
        customer_follower = order.message_follower_ids.filtered(lambda f: f.partner_id == self.customer)
        # internal subtypes are not even offered to the customer
        self.assertFalse(set(customer_follower.subtype_ids) & set(self.subtypes.values()))
        self._purchase(self.vendor_a, [(order.order_line, 10)])
        self._commit_hooks()
        self.assertNotIn(self.customer, self._digests(order).notification_ids.res_partner_id)

    def test_orders_without_needs_are_not_told(self):
        speaker = self._create_product("Speaker", subject=False, is_storable=True)
        order = self._create_sale_order([(speaker, 2)])
        self._commit_hooks()
        self.assertEqual(order.order_line.backops_fulfilment_status, "ready")
        self.assertFalse(self._digests(order))

    def test_slip_activity_once_per_change(self):
        order = self._create_sale_order([(self.cart, 10)], user=self.salesman)
        order.commitment_date = fields.Datetime.now() + timedelta(days=7)
        po = self._purchase(self.vendor_a, [(order.order_line, 10)], confirm=False)
        po.order_line.date_planned = fields.Datetime.now() + timedelta(days=3)
        po.button_confirm()
        slip = self.env.ref("backops_procurement.mail_activity_procurement_slip")

        def slips():
            return order.activity_ids.filtered(lambda a: a.activity_type_id == slip)

        # earlier than the promise: nothing
        po.order_line.date_planned = fields.Datetime.now() + timedelta(days=5)
        self.assertFalse(slips())
        po.order_line.date_planned = fields.Datetime.now() + timedelta(days=9)
        self.assertEqual(len(slips()), 1)
        self.assertEqual(slips().user_id, self.salesman)
        self.assertIn(po.name, slips().note)
        self.assertIn(po.name, slips().summary)
        # recomputing the statuses does not tell again
        order.order_line._update_backops_fulfilment()
        self.env.flush_all()
        self.assertEqual(len(slips()), 1)
        # another slip: another activity
        po.order_line.date_planned = fields.Datetime.now() + timedelta(days=12)
        self.assertEqual(len(slips()), 2)
        # an RFQ's date moving tells nobody
        rfq = self._purchase(self.vendor_a, [(order.order_line, 1)], confirm=False)
        rfq.order_line.date_planned = fields.Datetime.now() + timedelta(days=30)
        self.assertEqual(len(slips()), 2)

    def test_slip_told_when_a_buyer_moves_the_date(self):
        order = self._create_sale_order([(self.cart, 10)], user=self.salesman)
        order.commitment_date = fields.Datetime.now() + timedelta(days=2)
        po = self._purchase(self.vendor_a, [(order.order_line, 10)])
        po.order_line.with_user(self.buyer).date_planned = fields.Datetime.now() + timedelta(days=6)
        self.assertEqual(len(order.activity_ids.filtered(lambda a: a.activity_type_id.name == "Procurement Slip")), 1)


@tagged("post_install", "-at_install")
class TestFulfilled(FulfilmentCommon):
    def test_suggested_when_delivered_and_set_by_a_person(self):
        self.env["stock.quant"]._update_available_quantity(self.cart, self.stock, 5)
        order = self._create_sale_order([(self.cart, 5)], user=self.salesman)
        self.assertFalse(order.backops_all_delivered)
        self._validate(self._delivery(order), {self.cart: 5})
        self.assertTrue(order.backops_all_delivered)
        self.assertFalse(order.backops_fulfilled)
        self.assertIn(order, self.env["sale.order"].search([("backops_fulfilment_summary", "=", "delivered")]))
        order.with_user(self.salesman).action_backops_set_fulfilled()
        self.assertTrue(order.backops_fulfilled)
        self.assertEqual(
            self.env["sale.order"].search([("backops_fulfilled", "=", True), ("id", "=", order.id)]), order
        )
        order.with_user(self.salesman).action_backops_unset_fulfilled()
        self.assertFalse(order.backops_fulfilled)

    def test_set_while_undelivered_over_rpc(self):
        order = self._create_sale_order([(self.cart, 5)])
        self.assertFalse(order.backops_all_delivered)
        order.action_backops_set_fulfilled()
        self.assertTrue(order.backops_fulfilled)
        self.assertNotIn(order, self.env["sale.order"].search([("backops_fulfilment_summary", "=", "delivered")]))

    def test_fulfilled_is_tracked(self):
        order = self._create_sale_order([(self.cart, 5)]).with_context(tracking_disable=False)
        # set later, in a transaction of its own
        self.env.flush_all()
        self.env.cr.precommit.run()
        order.action_backops_set_fulfilled()
        self.env.flush_all()
        self.env.cr.precommit.run()
        tracked = order.message_ids.tracking_value_ids.filtered(lambda t: t.field_id.name == "backops_fulfilled")
        self.assertTrue(tracked)

    def test_refused_on_quotations_and_to_others(self):
        quotation = self._create_sale_order([(self.cart, 5)], confirm=False)
        with self.assertRaisesRegex(UserError, "Only confirmed orders"):
            quotation.action_backops_set_fulfilled()
        self.assertFalse(quotation.backops_fulfilled)
        order = self._create_sale_order([(self.cart, 5)], user=self.salesman)
        with self.assertRaises(AccessError):
            order.with_user(self.other_salesman).action_backops_set_fulfilled()
        with self.assertRaises(AccessError):
            order.with_user(self.buyer).action_backops_set_fulfilled()
        self.assertFalse(order.backops_fulfilled)

    def test_written_over_rpc_only_on_confirmed_orders(self):
        quotation = self._create_sale_order([(self.cart, 5)], confirm=False)
        with self.assertRaisesRegex(UserError, "Only confirmed orders"):
            quotation.write({"backops_fulfilled": True})
        with self.assertRaisesRegex(UserError, "Only confirmed orders"):
            self.env["sale.order"].create({"partner_id": self.customer.id, "backops_fulfilled": True})
        self.assertFalse(quotation.backops_fulfilled)
        order = self._create_sale_order([(self.cart, 5)], user=self.salesman)
        order.with_user(self.salesman).write({"backops_fulfilled": True})
        self.assertTrue(order.backops_fulfilled)

    def test_not_written_as_a_field_by_a_form(self):
        order = self._create_sale_order([(self.cart, 5)])
        with Form(order) as form:
            with self.assertRaises(AssertionError):
                form.backops_fulfilled = True  # read-only on the form: only the buttons set it

    def test_copy_is_not_fulfilled(self):
        order = self._create_sale_order([(self.cart, 5)])
        order.action_backops_set_fulfilled()
        self.assertFalse(order.copy().backops_fulfilled)
