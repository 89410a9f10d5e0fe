from datetime import datetime, timedelta

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import Form, new_test_user, tagged

from .common import ProcurementCommon


class ApprovalCommon(ProcurementCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.env.company
        cls.usd = cls.company.currency_id
        Groups = cls.env["res.groups"]
        cls.group_l1 = Groups.create({"name": "Purchase Approvers L1"})
        cls.group_l2 = Groups.create({"name": "Purchase Approvers L2"})
        cls.approver_1 = new_test_user(
            cls.env, "backops_approver_1", name="Approver One", groups="purchase.group_purchase_user"
        )
        cls.approver_1.groups_id += cls.group_l1
        cls.approver_2 = new_test_user(
            cls.env, "backops_approver_2", name="Approver Two", groups="purchase.group_purchase_user"
        )
        cls.approver_2.groups_id += cls.group_l2
        cls.tier_1 = cls.env["backops.approval.tier"].create(
            {"name": "Tier 1", "sequence": 1, "min_amount": 1000, "group_id": cls.group_l1.id}
        )
        cls.tier_2 = cls.env["backops.approval.tier"].create(
            {"name": "Tier 2", "sequence": 2, "min_amount": 5000, "group_id": cls.group_l2.id}
        )
        cls.priced = cls._create_product("Stage Truss", sellers=[(cls.vendor_a, 100.0)])
        cls.sale_order = cls._create_sale_order(["Staging", (cls.priced, 200)])

    def _order(self, quantity, user=None, vendor=None, currency=None, date_order=None, company=None):
        """An RFQ of ``quantity`` trusses at 100 (untaxed), made by the buyer."""
        user = user or self.buyer
        order = self._create_rfq(vendor or self.vendor_a, [], user=user, company=company)
        values = {
            "order_line": [
                Command.create(
                    {"product_id": self.priced.id, "product_qty": quantity, "price_unit": 100, "taxes_id": False}
                )
            ]
        }
        if currency:
            values["currency_id"] = currency.id
        if date_order:
            values["date_order"] = date_order
        order.with_user(user).write(values)
        return order.with_user(user)

    def _approvals(self, order, state=None):
        requests = order.sudo().backops_approval_request_ids
        return requests.filtered(lambda r: r.state == state) if state else requests


@tagged("post_install", "-at_install")
class TestPurchaseApproval(ApprovalCommon):
    def test_below_the_first_tier_confirms_directly(self):
        order = self._order(9)  # 900
        order.button_confirm()
        self.assertEqual(order.state, "purchase")
        self.assertFalse(self._approvals(order))

    def test_above_a_tier_waits_for_its_approvers(self):
        order = self._order(12)  # 1,200
        order.button_confirm()
        self.assertEqual(order.state, "to approve")
        request = self._approvals(order)
        self.assertEqual(len(request), 1)
        self.assertEqual(
            (request.tier_id, request.state, request.amount, request.requested_by_id),
            (self.tier_1, "pending", 1200, self.buyer),
        )
        self.assertEqual(request.sale_order_ids, self.env["sale.order"])
        # the approvers are told: an activity each (and its assignment email)
        activities = order.sudo().activity_ids.filtered(
            lambda a: a.activity_type_id == self.env.ref("backops_procurement.mail_activity_purchase_approval")
        )
        self.assertEqual(activities.user_id, self.approver_1)
        # the assignment is notified to the approver (inbox or email, as the user chose)
        notified = self.env["mail.message"].search(
            [("model", "=", "purchase.order"), ("res_id", "=", order.id), ("message_type", "=", "user_notification")]
        )
        self.assertIn(self.approver_1.partner_id, notified.partner_ids)
        self.assertIn("Approval requested", order.sudo().message_ids[0].body)
        self.assertIn("1,200.00", order.sudo().message_ids[0].body)

        order.with_user(self.approver_1).button_approve()
        self.assertEqual(order.state, "purchase")
        self.assertEqual(request.state, "approved")
        self.assertEqual(request.decided_by_id, self.approver_1)
        self.assertFalse(order.sudo().activity_ids.filtered(lambda a: a.user_id == self.approver_1))
        self.assertIn("Approved by Approver One", order.sudo().message_ids[0].body)

    def test_wrong_users_cannot_approve(self):
        order = self._order(12)
        order.button_confirm()
        for user in (self.buyer, self.purchase_manager, self.approver_2, self.salesman):
            with self.subTest(user=user.name):
                with self.assertRaises(AccessError):
                    order.with_user(user).button_approve()
                self.assertEqual(order.state, "to approve")
                self.assertEqual(self._approvals(order).state, "pending")
        # nor by writing the state
        with self.assertRaises(AccessError):
            order.with_user(self.purchase_manager).write({"state": "purchase"})
        self.assertEqual(order.state, "to approve")

    def test_approving_a_draft_over_rpc_is_refused(self):
        order = self._order(12)
        with self.assertRaisesRegex(AccessError, "must be approved"):
            order.with_user(self.approver_1).button_approve()
        self.assertEqual(order.state, "draft")

    def test_tiers_approve_in_sequence(self):
        order = self._order(60)  # 6,000: both tiers
        order.button_confirm()
        self.assertEqual(self._approvals(order).tier_id, self.tier_1 | self.tier_2)
        with self.assertRaisesRegex(AccessError, "Tier 1"):
            order.with_user(self.approver_2).button_approve()
        order.with_user(self.approver_1).button_approve()
        self.assertEqual(order.state, "to approve")
        self.assertEqual(order.sudo().backops_next_approval_id.tier_id, self.tier_2)
        self.assertTrue(order.with_user(self.approver_2).backops_can_approve)
        self.assertFalse(order.with_user(self.approver_1).backops_can_approve)
        with self.assertRaises(AccessError):
            order.with_user(self.approver_1).button_approve()
        order.with_user(self.approver_2).button_approve()
        self.assertEqual(order.state, "purchase")
        self.assertEqual(self._approvals(order, "approved").tier_id, self.tier_1 | self.tier_2)

    def test_reject_with_a_reason(self):
        order = self._order(12)
        order.button_confirm()
        form = Form(
            self.env["backops.approval.reject"]
            .with_user(self.approver_1)
            .with_context(default_purchase_order_ids=order.ids)
        )
        form.reason = "Too expensive: ask GreenLane for a quote"
        form.save().action_reject()
        self.assertEqual(order.state, "draft")
        request = self._approvals(order)
        self.assertEqual((request.state, request.reason), ("rejected", "Too expensive: ask GreenLane for a quote"))
        self.assertIn("Too expensive", order.sudo().message_ids[0].body)
        buyer_activity = order.sudo().activity_ids.filtered(lambda a: a.user_id == self.buyer)
        self.assertIn("Too expensive", buyer_activity.summary)
        # confirming again asks again
        order.button_confirm()
        self.assertEqual(order.state, "to approve")
        self.assertEqual(len(self._approvals(order, "pending")), 1)

    def test_reject_needs_a_reason_and_the_right(self):
        order = self._order(12)
        order.button_confirm()
        with self.assertRaisesRegex(UserError, "reason"):
            order.with_user(self.approver_1)._backops_reject("  ")
        with self.assertRaises(AccessError):
            order.with_user(self.buyer)._backops_reject("no")
        self.assertEqual(order.state, "to approve")

    def test_raising_a_confirmed_order_past_its_approval_is_refused(self):
        order = self._order(12)
        order.button_confirm()
        order.with_user(self.approver_1).button_approve()
        self.assertEqual(order.state, "purchase")
        with self.assertRaisesRegex(UserError, "confirmed for .*1,200.00.* brings it to .*1,400.00.*Tier 1"):
            order.order_line.with_user(self.buyer).product_qty = 14
        self.assertEqual((order.state, order.order_line.product_qty), ("purchase", 12))
        self.assertEqual(self._approvals(order).state, "approved")

    def test_lowering_the_amount_keeps_the_approvals(self):
        order = self._order(12)
        order.button_confirm()
        order.with_user(self.approver_1).button_approve()
        order.order_line.with_user(self.buyer).product_qty = 11
        self.assertEqual(order.state, "purchase")
        self.assertEqual(self._approvals(order).state, "approved")

    def test_changing_the_vendor_voids_the_approvals(self):
        order = self._order(60)
        order.button_confirm()
        order.with_user(self.approver_1).button_approve()
        order.with_user(self.buyer).partner_id = self.vendor_b
        self.assertEqual(self._approvals(order, "voided").tier_id, self.tier_1 | self.tier_2)
        self.assertEqual(self._approvals(order, "pending").tier_id, self.tier_1 | self.tier_2)
        self.assertEqual(order.state, "to approve")

    def test_growing_past_a_tier_while_waiting_asks_that_tier_too(self):
        order = self._order(12)
        order.button_confirm()
        order.order_line.with_user(self.buyer).product_qty = 60
        self.assertEqual(self._approvals(order, "pending").tier_id, self.tier_1 | self.tier_2)

    def test_foreign_currency_compared_at_the_order_date_rate(self):
        eur = self.env.ref("base.EUR")
        eur.active = True
        self.env["res.currency.rate"].create(
            [
                # 1 USD = 1.0 EUR in January, 0.5 EUR in March
                {"name": "2026-01-01", "rate": 1.0, "currency_id": eur.id, "company_id": self.company.id},
                {"name": "2026-03-01", "rate": 0.5, "currency_id": eur.id, "company_id": self.company.id},
            ]
        )
        # 900 EUR: 900 USD in January (below tier 1), 1,800 USD in March (above)
        january = self._order(9, currency=eur, date_order=datetime(2026, 1, 15))
        january.button_confirm()
        self.assertEqual(january.state, "purchase")
        march = self._order(9, currency=eur, date_order=datetime(2026, 3, 15))
        march.button_confirm()
        self.assertEqual(march.state, "to approve")
        self.assertEqual(self._approvals(march).amount, 1800)

    def test_converted_with_the_order_company_not_the_current_one(self):
        company_b = self.env["res.company"].create(
            {"name": "BackOps Events EU", "currency_id": self.env.ref("base.EUR").id}
        )
        self.env.ref("base.EUR").active = True
        self.env["backops.approval.tier"].create(
            {"name": "EU Tier", "min_amount": 50000, "group_id": self.group_l2.id, "company_id": company_b.id}
        )
        self.buyer.company_ids += company_b
        # 1,200 USD is above tier 1 of this company, whatever company the buyer works in
        order = self._order(12).with_context(allowed_company_ids=[company_b.id, self.company.id])
        order.button_confirm()
        self.assertEqual(order.state, "to approve")
        self.assertEqual(self._approvals(order).tier_id, self.tier_1)

    def test_second_company_with_its_own_tiers(self):
        company_b = self.env["res.company"].create({"name": "BackOps Events North"})
        north_tier = self.env["backops.approval.tier"].create(
            {"name": "North", "min_amount": 10000, "group_id": self.group_l2.id, "company_id": company_b.id}
        )
        self.buyer.company_ids += company_b
        self.approver_2.company_ids += company_b
        order = self._order(60, company=company_b)
        self.assertEqual(order.company_id, company_b)
        order.button_confirm()
        self.assertEqual(order.state, "purchase")  # 6,000 is below North's only tier
        big = self._order(120, company=company_b)
        big.button_confirm()
        self.assertEqual(self._approvals(big).tier_id, north_tier)
        big.with_user(self.approver_2).with_context(allowed_company_ids=[company_b.id]).button_approve()
        self.assertEqual(big.state, "purchase")

    def test_odoo_double_validation_is_off_with_tiers(self):
        self.company.write({"po_double_validation": "two_step", "po_double_validation_amount": 0})
        order = self._order(5)  # 500: below tier 1, above Odoo's 0
        order.button_confirm()
        self.assertEqual(order.state, "purchase")

    def test_buyers_do_not_approve_their_own_orders(self):
        self.buyer.groups_id += self.group_l1
        order = self._order(12)
        order.button_confirm()
        with self.assertRaisesRegex(AccessError, "you created it"):
            order.with_user(self.buyer).button_approve()
        self.company.backops_approval_allow_self = True
        order.with_user(self.buyer).button_approve()
        self.assertEqual(order.state, "purchase")

    def test_split_orders_count_together(self):
        cover = self._line(self.sale_order, self.priced)
        first = self._order(6)  # 600
        self._allocate(cover, first.order_line, 6)
        first.button_confirm()
        self.assertEqual(first.state, "purchase")
        second = self._order(6)  # 600 more, same vendor, same sale order, same week
        self._allocate(cover, second.order_line, 6)
        second.button_confirm()
        self.assertEqual(second.state, "to approve")
        request = self._approvals(second)
        self.assertEqual(request.amount, 1200)
        self.assertEqual(request.order_amount, 600)
        self.assertEqual(request.related_order_ids, first)
        self.assertIn(first.name, second.sudo().message_ids[0].body)
        # another vendor, or another sale order, or outside the window: not added up
        other_vendor = self._order(6, vendor=self.vendor_b)
        self._allocate(cover, other_vendor.order_line, 6)
        other_vendor.button_confirm()
        self.assertEqual(other_vendor.state, "purchase")
        later = self._order(6, date_order=datetime.now().replace(microsecond=0) + timedelta(days=30))
        self._allocate(cover, later.order_line, 6)
        later.button_confirm()
        self.assertEqual(later.state, "purchase")

    def test_to_approve_list(self):
        small = self._order(12)
        big = self._order(60)
        (small | big).button_confirm()
        Request = self.env["backops.approval.request"]
        mine = Request.with_user(self.approver_1).search([("can_approve", "=", True)])
        self.assertEqual(mine.purchase_order_id, small | big)
        self.assertFalse(Request.with_user(self.approver_2).search([("can_approve", "=", True)]))
        # managers see them all
        self.assertEqual(len(Request.with_user(self.purchase_manager).search([("state", "=", "pending")])), 3)
        # approving from the list, in one action
        mine.with_user(self.approver_1).action_approve()
        self.assertEqual(small.state, "purchase")
        self.assertEqual(big.state, "to approve")
        self.assertEqual(Request.with_user(self.approver_2).search([("can_approve", "=", True)]).purchase_order_id, big)

    def test_nobody_writes_approvals_directly(self):
        order = self._order(12)
        order.button_confirm()
        request = self._approvals(order)
        for user in (self.approver_1, self.purchase_manager):
            with self.assertRaises(AccessError):
                request.with_user(user).write({"state": "approved"})
            with self.assertRaises(AccessError):
                self.env["backops.approval.request"].with_user(user).create(
                    {"purchase_order_id": order.id, "tier_id": self.tier_1.id, "state": "approved"}
                )
        with self.assertRaises(AccessError):
            self.tier_1.with_user(self.buyer).min_amount = 1_000_000
        self.assertEqual(request.state, "pending")

    def test_named_approvers_narrow_the_group(self):
        other_l1 = new_test_user(self.env, "backops_approver_1b", groups="purchase.group_purchase_user")
        other_l1.groups_id += self.group_l1
        self.tier_1.user_ids = other_l1
        order = self._order(12)
        order.button_confirm()
        with self.assertRaises(AccessError):
            order.with_user(self.approver_1).button_approve()
        order.with_user(other_l1).button_approve()
        self.assertEqual(order.state, "purchase")
