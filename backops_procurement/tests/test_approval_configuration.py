from odoo.tests import tagged

from .test_purchase_approval import ApprovalCommon


@tagged("post_install", "-at_install")
class TestApprovalConfiguration(ApprovalCommon):
    """When tiers, settings or approvers change, what waits keeps a way forward."""

    def _waiting(self, quantity=12):
        order = self._order(quantity)
        order.button_confirm()
        self.assertEqual(order.state, "to approve")
        return order

    def test_without_tiers_nothing_waits_on_them(self):
        order = self._waiting()
        (self.tier_1 | self.tier_2).with_user(self.purchase_manager).active = False
        request = self._approvals(order)
        self.assertEqual((request.state, request.reason), ("voided", "the company no longer has approval tiers"))
        Request = self.env["backops.approval.request"]
        self.assertFalse(Request.with_user(self.approver_1).search([("can_approve", "=", True)]))
        # Odoo's own approval decides again
        order.with_user(self.purchase_manager).button_approve()
        self.assertEqual(order.state, "purchase")

    def test_a_named_approver_leaving_the_group_leaves_the_tier_to_the_group(self):
        self.tier_1.user_ids = self.approver_1
        stand_in = self.approver_1.copy({"login": "backops_approver_stand_in", "name": "Stand In"})
        stand_in.groups_id += self.group_l1
        order = self._waiting()
        self.assertFalse(order.with_user(stand_in).backops_can_approve)
        activity = order.activity_ids.filtered(lambda a: a.activity_type_id.name == "Purchase Approval")
        self.assertEqual(activity.user_id, self.approver_1)
        # the named approver leaves the group: the group's other approvers take over
        self.approver_1.groups_id -= self.group_l1
        self.env.invalidate_all()
        self.assertFalse(order.with_user(self.approver_1).backops_can_approve)
        self.assertTrue(order.with_user(stand_in).backops_can_approve)
        activity = order.activity_ids.filtered(lambda a: a.activity_type_id.name == "Purchase Approval")
        self.assertEqual(activity.user_id, stand_in)
        order.with_user(stand_in).button_approve()
        self.assertEqual(order.state, "purchase")

    def test_a_confirmation_leaves_no_request_waiting(self):
        order = self._waiting()
        self.tier_1.with_user(self.purchase_manager).min_amount = 2000
        order.button_approve()
        self.assertEqual(order.state, "purchase")
        self.assertFalse(self._approvals(order, "pending"))

    def test_confirmed_orders_stay_confirmed_when_a_tier_is_lowered(self):
        order = self._order(9)  # 900: below tier 1
        order.button_confirm()
        self.assertEqual(order.state, "purchase")
        self.tier_1.with_user(self.purchase_manager).min_amount = 500
        # confirmed before the change: Odoo's lock and unlock stay open to it
        order.button_done()
        order.button_unlock()
        self.assertEqual(order.state, "purchase")
        # growing it is measured against the tiers of now
        with self.assertRaisesRegex(Exception, "needs the approval of Tier 1"):
            order.order_line.write({"product_qty": 10})
