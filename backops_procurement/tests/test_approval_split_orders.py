from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from .test_purchase_approval import ApprovalCommon


@tagged("post_install", "-at_install")
class TestApprovalSplitOrders(ApprovalCommon):
    """Split orders (same vendor, same sale order, within the window) are added up:
    an approval given to them together covers each of them, and never an amount it
    was not given for."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.need = cls._line(cls.sale_order, cls.priced)  # 200 trusses

    def _split(self, quantity, vendor=None):
        order = self._order(quantity, vendor=vendor)
        self._allocate(self.need, order.order_line, quantity, user=self.buyer)
        return order

    def _missing(self, order):
        self.env.invalidate_all()
        return order.sudo()._backops_measure()[order.id].missing

    def test_a_waiting_orders_approval_does_not_cover_an_order_it_was_added_up_with(self):
        confirmed = self._split(1)  # 100: below every tier
        confirmed.button_confirm()
        waiting = self._split(59)  # with the first: 6,000, tiers 1 and 2
        waiting.button_confirm()
        waiting.with_user(self.approver_1).button_approve()  # tier 1 approved, tier 2 waits
        self.assertEqual(waiting.state, "to approve")
        # the confirmed order grows to 4,000 (tier 1 on its own): the waiting order's
        # approval was for 6,000 with the first at 100, not for this
        with self.assertRaisesRegex(UserError, "needs the approval of Tier 1"):
            confirmed.order_line.with_user(self.buyer).write({"product_qty": 40})
        self.assertEqual(confirmed.amount_untaxed, 100)
        # nor back to draft, grown and confirmed again: it asks for its own approval
        confirmed.with_user(self.buyer).button_cancel()
        confirmed.with_user(self.buyer).button_draft()
        confirmed.order_line.with_user(self.buyer).write({"product_qty": 40})
        confirmed.with_user(self.buyer).button_confirm()
        self.assertEqual(confirmed.state, "to approve")
        self.assertEqual(self._approvals(confirmed, "pending").tier_id, self.tier_1)

    def test_an_approval_given_together_stays_with_the_order_left_when_the_other_is_cancelled(self):
        first = self._split(6)  # 600
        first.button_confirm()
        second = self._order(6)  # 1,200 with the first: tier 1
        self._allocate(self.need, second.order_line, 1, user=self.buyer)
        second.button_confirm()
        second.with_user(self.approver_1).button_approve()
        self.assertEqual(second.state, "purchase")
        approval = self._approvals(second, "approved")
        self.assertEqual((approval.amount, approval.related_order_ids), (1200, first))
        # the amount moves between them, within what was approved together
        second.order_line.with_user(self.buyer).write({"product_qty": 1})
        first.order_line.with_user(self.buyer).write({"product_qty": 11})  # 1,100 + 100
        with self.assertRaisesRegex(UserError, "needs the approval of Tier 1"):
            first.order_line.with_user(self.buyer).write({"product_qty": 12})  # 1,300 in all
        # the second is cancelled: its approval is voided for it, carried over to the
        # first, which stays covered
        second.with_user(self.buyer).button_cancel()
        self.assertEqual(self._approvals(second).state, "voided")
        carried = self._approvals(first, "approved")
        self.assertEqual((carried.tier_id, carried.amount, carried.decided_by_id), (self.tier_1, 1200, self.approver_1))
        self.assertIn(second.name, carried.reason)
        self.assertFalse(self._missing(first))
        self.assertEqual(first.state, "purchase")
        # and it covers no more than it was given for
        with self.assertRaisesRegex(UserError, "needs the approval of Tier 1"):
            first.order_line.with_user(self.buyer).write({"product_qty": 13})

    def test_a_contact_moved_under_the_vendor_brings_its_orders_among_the_split_orders(self):
        alias = self.env["res.partner"].create({"name": "FairwayFleet Sales Desk"})
        first = self._split(6)  # 600 to FairwayFleet
        second = self._split(6, vendor=alias)  # 600 to a contact of no company
        (first | second).button_confirm()
        self.assertEqual((first.state, second.state), ("purchase", "purchase"))
        # once the contact is FairwayFleet's, the two orders are one purchase of 1,200
        with self.assertRaisesRegex(UserError, "needs the approval of Tier 1"):
            alias.write({"parent_id": self.vendor_a.id})
        self.assertFalse(alias.parent_id)
        # a contact without confirmed orders above a tier moves freely
        other = self.env["res.partner"].create({"name": "FairwayFleet Accounts"})
        other.write({"parent_id": self.vendor_a.id})
        self.assertEqual(other.commercial_partner_id, self.vendor_a)

    def test_the_requester_is_whoever_asks_and_never_approves_their_own(self):
        order = self._order(12)  # the buyer's: 1,200
        order.with_user(self.buyer).button_confirm()
        # an approver takes it back, makes it bigger and confirms it: he asks now
        order.with_user(self.approver_1).button_draft()
        order.order_line.with_user(self.approver_1).write({"product_qty": 45})
        order.with_user(self.approver_1).button_confirm()
        pending = self._approvals(order, "pending")
        self.assertEqual(pending.requested_by_id, self.approver_1)
        self.assertFalse(order.with_user(self.approver_1).backops_can_approve)
        with self.assertRaisesRegex(AccessError, "asked for its approval"):
            order.with_user(self.approver_1).button_approve()
        self.assertEqual(order.state, "to approve")

    def test_an_approver_raising_a_waiting_order_cannot_approve_it(self):
        order = self._order(12)
        order.with_user(self.buyer).button_confirm()
        order.order_line.with_user(self.approver_1).write({"product_qty": 45})
        pending = self._approvals(order, "pending")
        self.assertEqual((pending.amount, pending.requested_by_id), (4500, self.approver_1))
        with self.assertRaises(AccessError):
            order.with_user(self.approver_1).button_approve()
        # another approver of the tier does
        other = self.approver_1.copy({"login": "backops_approver_1b", "name": "Approver One B"})
        other.groups_id += self.group_l1
        Request = self.env["backops.approval.request"]
        self.assertFalse(Request.with_user(self.approver_1).search([("can_approve", "=", True)]))
        self.assertEqual(Request.with_user(other).search([("can_approve", "=", True)]), pending)
        order.with_user(other).button_approve()
        self.assertEqual(order.state, "purchase")

    def test_the_orders_buyer_cannot_approve_it(self):
        order = self._order(12)
        order.user_id = self.approver_1  # the order's Buyer (purchase representative)
        order.with_user(self.buyer).button_confirm()
        self.assertFalse(order.with_user(self.approver_1).backops_can_approve)
        with self.assertRaisesRegex(AccessError, "are its buyer"):
            order.with_user(self.approver_1).button_approve()

    def test_a_sale_line_moved_to_another_sale_order_regroups_its_purchases(self):
        other = self._create_sale_order(["Staging", (self.priced, 10)])
        other_need = self._line(other, self.priced)
        first = self._split(6)  # 600 for the festival's need
        first.button_confirm()
        second = self._order(6)  # 600 for the other order's need
        self._allocate(other_need, second.order_line, 6, user=self.buyer)
        second.button_confirm()
        self.assertEqual((first.state, second.state), ("purchase", "purchase"))
        # the other order's line moves to the festival: the two purchases add up to 1,200
        with self.assertRaisesRegex(UserError, "needs the approval of Tier 1"):
            other_need.write({"order_id": self.sale_order.id})
        self.assertEqual(other_need.order_id, other)

    def test_the_buyer_when_asked_never_approves_even_after_leaving_the_buyer_field(self):
        order = self._order(12, user=self.purchase_manager)
        order.sudo().user_id = self.approver_1
        order.with_user(self.purchase_manager).button_confirm()
        self.assertEqual(self._approvals(order, "pending").buyer_id, self.approver_1)
        order.with_user(self.approver_1).write({"user_id": self.buyer.id})
        self.assertFalse(order.with_user(self.approver_1).backops_can_approve)
        self.assertFalse(
            self.env["backops.approval.request"].with_user(self.approver_1).search([("can_approve", "=", True)])
        )
        with self.assertRaisesRegex(AccessError, "are its buyer"):
            order.with_user(self.approver_1).button_approve()
        self.assertEqual(order.state, "to approve")

    def test_merging_vendor_contacts_measures_their_orders_together(self):
        duplicate = self.env["res.partner"].create({"name": "Fairway Fleet (duplicate)"})
        first = self._split(6)
        second = self._split(6, vendor=duplicate)
        (first | second).button_confirm()
        self.assertEqual((first.state, second.state), ("purchase", "purchase"))
        Merge = self.env["base.partner.merge.automatic.wizard"]
        with self.assertRaisesRegex(UserError, "needs the approval of Tier 1"):
            Merge._merge((duplicate | self.vendor_a).ids, self.vendor_a)
        self.assertTrue(duplicate.exists())
        self.assertEqual(second.partner_id, duplicate)
