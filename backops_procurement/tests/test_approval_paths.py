from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import Form, new_test_user, tagged

from .test_purchase_approval import ApprovalCommon


@tagged("post_install", "-at_install")
class TestApprovalPaths(ApprovalCommon):
    """No order reaches ``purchase`` or ``done``, by any path, unless approvals cover
    its amount: each test is a path a buyer found around the tiers, tried again."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.need = cls._line(cls.sale_order, cls.priced)  # 200 trusses

    def _waiting(self, quantity=12):
        order = self._order(quantity)
        order.button_confirm()
        self.assertEqual(order.state, "to approve")
        return order

    def _split(self, quantity):
        """An RFQ of ``quantity`` trusses covering the sale order's need."""
        order = self._order(quantity)
        self._allocate(self.need, order.order_line, quantity, user=self.buyer)
        return order

    # ------------------------------------------------------------------
    # Odoo's own buttons and writes on a cancelled order
    # ------------------------------------------------------------------
    def test_a_cancelled_waiting_order_cannot_be_confirmed_another_way(self):
        order = self._waiting()
        order.button_cancel()
        self.assertEqual(self._approvals(order).state, "voided")
        attempts = {
            "write purchase": lambda: order.write({"state": "purchase"}),
            "write done": lambda: order.write({"state": "done"}),
            "button_unlock": order.button_unlock,
            "button_done": order.button_done,
            "button_approve": order.button_approve,
        }
        for name, attempt in attempts.items():
            with self.subTest(path=name):
                with self.assertRaisesRegex(AccessError, "Tier 1"):
                    attempt()
                self.assertEqual(order.state, "cancel")
        self.assertFalse(order.picking_ids)
        # the way forward is Odoo's: back to draft, and confirm to ask again
        order.button_draft()
        order.button_confirm()
        self.assertEqual(order.state, "to approve")
        self.assertEqual(self._approvals(order, "pending").tier_id, self.tier_1)

    def test_creating_or_copying_a_confirmed_order_is_refused(self):
        Order = self.env["purchase.order"].with_user(self.buyer)
        count = Order.search_count([])
        values = {
            "partner_id": self.vendor_a.id,
            "order_line": [
                Command.create({"product_id": self.priced.id, "product_qty": 12, "price_unit": 100, "taxes_id": False})
            ],
        }
        for state in ("purchase", "done"):
            with self.subTest(state=state):
                with self.assertRaisesRegex(UserError, "Tier 1"):
                    Order.create(dict(values, state=state))
        draft = self._order(12)
        for state in ("purchase", "done"):
            with self.subTest(copy=state):
                with self.assertRaisesRegex(UserError, "Tier 1"):
                    draft.copy({"state": state})
        self.assertEqual(Order.search_count([]), count + 1)
        # below every tier, Odoo's own behaviour stays
        small = Order.create(
            dict(
                values,
                state="purchase",
                order_line=[
                    Command.create(
                        {"product_id": self.priced.id, "product_qty": 5, "price_unit": 100, "taxes_id": False}
                    )
                ],
            )
        )
        self.assertEqual(small.state, "purchase")

    def test_a_confirmed_order_cannot_grow_past_its_approval(self):
        order = self._order(9)  # 900: below tier 1, confirmed at once
        order.button_confirm()
        self.assertEqual(order.state, "purchase")
        receipt_qty = sum(order.picking_ids.move_ids.mapped("product_uom_qty"))
        self.assertEqual(receipt_qty, 9)
        line = order.order_line
        attempts = {
            "more quantity": lambda: line.write({"product_qty": 12}),
            "a higher price": lambda: line.write({"price_unit": 150}),
            "a new line on the order": lambda: order.write(
                {
                    "order_line": [
                        Command.create({"product_id": self.stage_deck.id, "product_qty": 5, "price_unit": 100})
                    ]
                }
            ),
            "a new line through the line model": lambda: (
                self.env["purchase.order.line"]
                .with_user(self.buyer)
                .create({"order_id": order.id, "product_id": self.stage_deck.id, "product_qty": 5, "price_unit": 100})
            ),
        }
        for name, attempt in attempts.items():
            with self.subTest(path=name):
                with self.assertRaisesRegex(UserError, "needs the approval of Tier 1"):
                    attempt()
                self.assertEqual(order.amount_untaxed, 900)
        # the Line Item Editor: 5 more trusses for the festival on this order
        form = Form(
            self.env["backops.line.item.editor"].with_user(self.buyer).with_context(default_purchase_order_id=order.id)
        )
        for index in range(len(form.line_ids)):
            with form.line_ids.edit(index) as row:
                if row.sale_line_id == self.need:
                    row.selected = True
                    row.quantity = 5
        with self.assertRaisesRegex(UserError, "needs the approval of Tier 1"):
            form.save().action_save()
        self.assertEqual(order.amount_untaxed, 900)
        self.assertFalse(self.need.procurement_allocation_ids)
        # nothing more can be received than was confirmed
        self.assertEqual(sum(order.picking_ids.move_ids.mapped("product_uom_qty")), 9)
        # lowering is always fine
        line.product_qty = 8
        self.assertEqual((order.state, order.amount_untaxed), ("purchase", 800))

    def test_a_confirmed_order_cannot_go_back_to_waiting(self):
        order = self._waiting()
        order.with_user(self.approver_1).button_approve()
        with self.assertRaisesRegex(UserError, "cannot go back to waiting"):
            order.write({"state": "to approve"})
        with self.assertRaisesRegex(UserError, "not waiting for approval"):
            order.with_user(self.approver_1)._backops_reject("Too late")
        self.assertEqual(order.state, "purchase")
        self.assertEqual(self._approvals(order).state, "approved")

    def test_a_vendor_change_of_a_confirmed_order_is_refused(self):
        order = self._waiting(60)
        order.with_user(self.approver_1).button_approve()
        order.with_user(self.approver_2).button_approve()
        self.assertEqual(order.state, "purchase")
        with self.assertRaisesRegex(UserError, "needs the approval"):
            order.write({"partner_id": self.vendor_b.id})
        self.assertEqual(order.partner_id, self.vendor_a)
        self.assertEqual(self._approvals(order, "approved").tier_id, self.tier_1 | self.tier_2)

    # ------------------------------------------------------------------
    # Orders added up
    # ------------------------------------------------------------------
    def test_split_orders_in_one_call_are_measured_as_one_by_one(self):
        first, second, third = self._split(6), self._split(6), self._split(6)  # 600 each
        (first | second | third).button_confirm()
        # the first alone is below tier 1; each next one is added up with the confirmed ones
        self.assertEqual((first.state, second.state, third.state), ("purchase", "to approve", "to approve"))
        self.assertEqual(self._approvals(second).amount, 1200)
        self.assertEqual(self._approvals(second).related_order_ids, first)
        # once the second is approved, the third is asked for the three together
        second.with_user(self.approver_1).button_approve()
        self.assertEqual(second.state, "purchase")
        pending = self._approvals(third, "pending")
        self.assertEqual((pending.tier_id, pending.amount), (self.tier_1, 1800))
        self.assertEqual(pending.related_order_ids, first | second)
        self.assertEqual(self._approvals(third, "voided").amount, 1200)
        third.with_user(self.approver_1).button_approve()
        self.assertEqual(third.state, "purchase")

    def test_allocating_a_confirmed_order_to_a_served_sale_order_is_refused(self):
        served = self._split(6)
        served.button_confirm()
        loose = self._order(6)  # serves no sale order yet
        loose.button_confirm()
        self.assertEqual((served.state, loose.state), ("purchase", "purchase"))
        with self.assertRaisesRegex(UserError, "brings it to .*1,200.00.*Tier 1"):
            self._allocate(self.need, loose.order_line, 6, user=self.buyer)
        self.assertFalse(loose.order_line.procurement_allocation_ids)
        # through the service the editor and the wizard use, the same
        with self.assertRaisesRegex(UserError, "Tier 1"):
            self.env["purchase.order"].with_user(self.buyer)._allocate_procurement_needs({loose: {self.need: 6}})
        self.assertFalse(loose.order_line.procurement_allocation_ids)

    def test_split_orders_never_deadlock(self):
        waiting = self._split(12)  # 1,200: tier 1
        waiting.button_confirm()
        big = self._split(40)  # 4,000: tier 1, alone (the other one only waits)
        big.button_confirm()
        self.assertEqual(self._approvals(big).amount, 4000)
        big.with_user(self.approver_1).button_approve()
        self.assertEqual(big.state, "purchase")
        # the waiting order, added up with the confirmed one, now reaches tier 2: it is
        # asked for every tier it needs, at its new amount
        pending = self._approvals(waiting, "pending")
        self.assertEqual(pending.tier_id, self.tier_1 | self.tier_2)
        self.assertEqual(set(pending.mapped("amount")), {5200})
        self.assertTrue(waiting.with_user(self.approver_1).backops_can_approve)
        waiting.with_user(self.approver_1).button_approve()
        self.assertEqual(waiting.state, "to approve")
        waiting.with_user(self.approver_2).button_approve()
        self.assertEqual(waiting.state, "purchase")

    # ------------------------------------------------------------------
    # Who sees the Approve button
    # ------------------------------------------------------------------
    def test_the_approve_button_follows_the_gate(self):
        self.buyer.groups_id += self.group_l1
        order = self._waiting()  # the buyer created and confirmed it
        request = self._approvals(order, "pending")
        Request = self.env["backops.approval.request"]
        self.assertFalse(order.with_user(self.buyer).backops_can_approve)
        self.assertFalse(request.with_user(self.buyer).can_approve)
        self.assertFalse(Request.with_user(self.buyer).search([("can_approve", "=", True)]))
        self.assertTrue(order.with_user(self.approver_1).backops_can_approve)
        self.assertEqual(Request.with_user(self.approver_1).search([("can_approve", "=", True)]), request)
        self.assertFalse(order.with_user(self.approver_2).backops_can_approve)
        # the company lets buyers approve their own orders: the button shows, the gate agrees
        self.company.backops_approval_allow_self = True
        self.env.invalidate_all()
        self.assertTrue(order.with_user(self.buyer).backops_can_approve)
        self.assertEqual(Request.with_user(self.buyer).search([("can_approve", "=", True)]), request)
        order.with_user(self.buyer).button_approve()
        self.assertEqual(order.state, "purchase")

    def test_another_companys_approver_cannot_approve(self):
        company_b = self.env["res.company"].create({"name": "BackOps Events South"})
        outsider = new_test_user(
            self.env,
            "backops_approver_south",
            groups="purchase.group_purchase_user",
            company_id=company_b.id,
            company_ids=[Command.set(company_b.ids)],
        )
        outsider.groups_id += self.group_l1
        order = self._waiting()
        with self.assertRaises(AccessError):
            order.with_user(outsider).button_approve()
        with self.assertRaises(AccessError):
            order.with_user(outsider).write({"state": "purchase"})
        self.assertEqual(order.state, "to approve")

    # ------------------------------------------------------------------
    # Configuration changes: waiting orders keep a way forward
    # ------------------------------------------------------------------
    def test_tier_changes_reach_waiting_orders_and_the_chatter(self):
        order = self._waiting(60)  # 6,000: tiers 1 and 2
        manager = self.purchase_manager
        tier_3 = (
            self.env["backops.approval.tier"]
            .with_user(manager)
            .create({"name": "Tier 3", "sequence": 3, "min_amount": 3000, "group_id": self.group_l2.id})
        )
        self.assertEqual(self._approvals(order, "pending").tier_id, self.tier_1 | self.tier_2 | tier_3)
        self.env.flush_all()
        self.env.cr.precommit.run()  # as at commit: the tier's creation is logged, tracking starts
        tier_3.with_user(manager).with_context(tracking_disable=False).min_amount = 4000
        self.env.flush_all()
        self.env.cr.precommit.run()
        tracked = tier_3.sudo().message_ids.tracking_value_ids
        self.assertEqual((tracked.old_value_float, tracked.new_value_float), (3000, 4000))
        tier_3.with_user(manager).active = False
        self.assertEqual(self._approvals(order, "pending").tier_id, self.tier_1 | self.tier_2)
        self.tier_2.with_user(manager).min_amount = 10000
        self.assertEqual(self._approvals(order, "pending").tier_id, self.tier_1)
        order.with_user(self.approver_1).button_approve()
        self.assertEqual(order.state, "purchase")
        # a tier that asked for approvals is archived, not deleted
        with self.assertRaisesRegex(UserError, "archive"):
            self.tier_1.with_user(manager).unlink()

    def test_a_waiting_order_no_longer_needing_approval_can_be_confirmed(self):
        order = self._waiting()
        self.tier_1.with_user(self.purchase_manager).min_amount = 2000
        self.assertFalse(self._approvals(order, "pending"))
        self.assertTrue(order.with_user(self.buyer).backops_can_approve)
        order.button_approve()
        self.assertEqual(order.state, "purchase")
