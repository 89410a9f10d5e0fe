from odoo.exceptions import AccessError, UserError
from odoo.tests import Form, tagged
from odoo.tools.safe_eval import safe_eval

from .common import ProcurementCommon


@tagged("post_install", "-at_install")
class TestRfqWorklist(ProcurementCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.no_vendor_product = cls._create_product("Portable Toilet Block")
        cls.order = cls._create_sale_order(
            [
                "Staging",
                (cls.stage_deck, 24),
                "Hospitality",
                (cls.chair, 24),
                (cls.no_vendor_product, 6),
                "Transport",
                (cls.golf_cart, 50),
            ]
        )
        cls.cart = cls._line(cls.order, cls.golf_cart)
        cls.deck = cls._line(cls.order, cls.stage_deck)
        cls.chairs = cls._line(cls.order, cls.chair)
        cls.toilets = cls._line(cls.order, cls.no_vendor_product)

    def _to_order(self, user=None):
        action = self.env["ir.actions.act_window"]._for_xml_id("backops_procurement.action_procurement_to_order")
        Line = self.env["sale.order.line"].with_user(user) if user else self.env["sale.order.line"]
        return Line.search(safe_eval(action["domain"]) + [("order_id", "=", self.order.id)])

    def _wizard(self, needs, user=None):
        env = self.env(user=user) if user else self.env
        return Form(env["backops.rfq.create"].with_context(active_model="sale.order.line", active_ids=needs.ids))

    def test_worklist_lists_what_remains_with_the_first_vendor(self):
        needs = self._to_order()
        self.assertEqual(needs, self.cart | self.deck | self.chairs | self.toilets)
        self.assertEqual(self.cart.procurement_vendor_id, self.vendor_a)
        self.assertEqual(self.chairs.procurement_vendor_id, self.vendor_b)
        self.assertFalse(self.toilets.procurement_vendor_id)
        self.assertEqual(self.cart.procurement_remaining_qty, 50)
        rfq = self._create_rfq(self.vendor_a, [(self.golf_cart, 50)])
        self._allocate(self.cart, rfq.order_line, 50)
        self.assertNotIn(self.cart, self._to_order())

    def test_create_one_rfq_per_vendor(self):
        form = self._wizard(self._to_order())
        self.assertEqual(form.need_count, 4)
        rows = form.line_ids._records
        by_vendor = {row["partner_id"]: row for row in rows}
        self.assertEqual(set(by_vendor), {self.vendor_a.id, self.vendor_b.id, False})
        self.assertEqual(set(by_vendor[self.vendor_a.id]["need_ids"]), {self.cart.id, self.deck.id})
        # over RPC, nothing is written before a vendor is chosen for the toilets
        wizard = (
            self.env["backops.rfq.create"]
            .with_context(active_model="sale.order.line", active_ids=self._to_order().ids)
            .create({})
        )
        with self.assertRaisesRegex(UserError, "Choose a vendor"):
            wizard.action_create_rfqs()
        self.assertFalse(self.env["purchase.order"].search([("partner_id", "in", (self.vendor_a | self.vendor_b).ids)]))

        toilet_vendor = self.env["res.partner"].create({"name": "Loo Hire Ltd", "is_company": True})
        with form.line_ids.edit([row["partner_id"] for row in rows].index(False)) as row:
            row.partner_id = toilet_vendor
        action = form.save().action_create_rfqs()
        rfqs = self.env["purchase.order"].search(action["domain"])
        self.assertEqual(len(rfqs), 3)
        self.assertEqual(rfqs.partner_id, self.vendor_a | self.vendor_b | toilet_vendor)
        self.assertTrue(all(rfq.state == "draft" for rfq in rfqs))
        rfq_a = rfqs.filtered(lambda rfq: rfq.partner_id == self.vendor_a)
        self.assertEqual(rfq_a.order_line.product_id, self.golf_cart | self.stage_deck)
        self.assertEqual(rfq_a.origin, self.order.name)
        rfq_b = rfqs.filtered(lambda rfq: rfq.partner_id == self.vendor_b)
        self.assertEqual((rfq_b.order_line.product_qty, rfq_b.order_line.product_uom), (2, self.uom_dozen))
        self.assertEqual(
            set((self.cart | self.deck | self.chairs | self.toilets).mapped("procurement_status")), {"on_order"}
        )
        self.assertFalse(self._to_order())

    def test_short_need_orders_what_remains(self):
        rfq = self._create_rfq(self.vendor_b, [(self.golf_cart, 30)])
        self._allocate(self.cart, rfq.order_line, 30)
        self.assertEqual(self.cart.procurement_status, "short")
        action = self._wizard(self.cart).save().action_create_rfqs()
        new_rfq = self.env["purchase.order"].browse(action["res_id"])
        self.assertEqual(new_rfq.partner_id, self.vendor_a)
        self.assertEqual(new_rfq.order_line.product_qty, 20)
        self.assertEqual(self.cart.procurement_status, "on_order")

    def test_add_to_an_existing_draft_rfq(self):
        existing = self._create_rfq(self.vendor_a, [(self.golf_cart, 5)])
        form = self._wizard(self.cart | self.deck)
        with form.line_ids.edit(0) as row:
            row.purchase_order_id = existing
        action = form.save().action_create_rfqs()
        self.assertEqual(action["res_id"], existing.id)
        cart_line = self._line(existing, self.golf_cart)
        self.assertEqual(cart_line.product_qty, 55)  # 5 bought for stock before, 50 for the need
        self.assertEqual(self._line(existing, self.stage_deck).product_qty, 24)
        self.assertEqual(self.cart.procurement_status, "on_order")

    def test_vendor_chosen_in_the_worklist(self):
        self.cart.with_user(self.buyer).procurement_vendor_id = self.vendor_b
        self.assertEqual(self.cart.procurement_vendor_id, self.vendor_b)
        # the buyer may choose the vendor, not change the sale
        with self.assertRaises(AccessError):
            self.cart.with_user(self.buyer).product_uom_qty = 10
        with self.assertRaises(AccessError):
            self.cart.with_user(self.employee).procurement_vendor_id = self.vendor_a
        action = self._wizard(self.cart, user=self.buyer).save().action_create_rfqs()
        rfq = self.env["purchase.order"].browse(action["res_id"])
        self.assertEqual(rfq.partner_id, self.vendor_b)
        self.assertEqual(rfq.order_line.price_unit, 158)
        self.assertEqual(rfq.user_id, self.buyer)

    def test_nothing_to_order(self):
        rfq = self._create_rfq(self.vendor_a, [(self.golf_cart, 50)])
        self._allocate(self.cart, rfq.order_line, 50)
        with self.assertRaisesRegex(UserError, "Nothing to order"):
            self._wizard(self.cart)

    def test_salesman_cannot_create_rfqs(self):
        with self.assertRaises(AccessError):
            self._wizard(self.cart, user=self.salesman).save()


@tagged("post_install", "-at_install")
class TestPurchasingTeamNotification(ProcurementCommon):
    def _team_messages(self):
        return self.env["mail.message"].search(
            [("partner_ids", "in", self.buyer.partner_id.ids), ("message_type", "=", "user_notification")]
        )

    def test_no_team_no_notification(self):
        self._create_sale_order([(self.golf_cart, 5)])
        self.assertFalse(self._team_messages())

    def test_one_notification_per_confirmation(self):
        self.env.company.backops_purchasing_team_user_ids = self.buyer
        order = self._create_sale_order(
            ["Staging", (self.stage_deck, 24), "Transport", (self.golf_cart, 50), (self.pa_system, 1)]
        )
        message = self._team_messages()
        self.assertEqual(len(message), 1)
        self.assertIn("2 new needs", message.subject)
        self.assertIn(order.name, message.body)
        self.assertIn("Golf Cart", message.body)
        self.assertNotIn("PA System", message.body)

        # several orders confirmed at once: still one notification
        orders = self._create_sale_order([(self.golf_cart, 1)], confirm=False) | self._create_sale_order(
            [(self.chair, 12)], confirm=False
        )
        orders.action_confirm()
        self.assertEqual(len(self._team_messages()), 2)
        latest = self._team_messages()[0]
        self.assertTrue(all(name in latest.subject for name in orders.mapped("name")))

    def test_team_from_a_group(self):
        self.env.company.backops_purchasing_team_group_id = self.env.ref("purchase.group_purchase_user")
        self._create_sale_order([(self.golf_cart, 5)])
        message = self._team_messages()
        self.assertEqual(len(message), 1)
        self.assertIn(self.buyer.partner_id, message.partner_ids)
        self.assertNotIn(self.salesman.partner_id, message.partner_ids)
