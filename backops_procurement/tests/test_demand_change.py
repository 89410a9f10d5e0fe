from datetime import timedelta

from odoo import Command, fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import Form, tagged

from .common import ProcurementCommon


class DemandChangeCommon(ProcurementCommon):
    """50 golf carts sold, split 30/20 across two vendors' RFQs by the buyer."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.backops_demand_decrease_policy = "latest"

    def _split(self, quantity=50, split=(30, 20)):
        order = self._create_sale_order([(self.golf_cart, quantity)])
        order.user_id = self.salesman
        need = order.order_line
        rfq_a = self._create_rfq(self.vendor_a, [(self.golf_cart, split[0])], user=self.buyer)
        rfq_b = self._create_rfq(self.vendor_b, [(self.golf_cart, split[1])], user=self.buyer)
        # the second RFQ is the latest
        rfq_a.date_order = fields.Datetime.now() - timedelta(days=1)
        self._allocate(need, rfq_a.order_line, split[0], user=self.buyer)
        self._allocate(need, rfq_b.order_line, split[1], user=self.buyer)
        self.assertEqual(need.procurement_status, "on_order")
        return order, need, rfq_a, rfq_b

    def _set_quantity(self, order, quantity, index=0, user=None):
        with Form(order.with_user(user or self.salesman)) as form:
            with form.order_line.edit(index) as line:
                line.product_uom_qty = quantity

    def _pending(self, need):
        return self.env["backops.demand.change"].search([("sale_line_id", "=", need.id), ("state", "=", "proposed")])

    def _rows(self, change):
        return {
            (row.purchase_order_id, row.partner_id): (row.current_qty, row.proposed_qty, row.allocation_qty)
            for row in change.line_ids
        }


@tagged("post_install", "-at_install")
class TestDemandChangeDecrease(DemandChangeCommon):
    def test_cut_to_40_shrinks_the_latest_rfq(self):
        order, need, rfq_a, rfq_b = self._split()
        self._set_quantity(order, 40)
        self.assertEqual(need.procurement_status, "excess")
        change = self._pending(need)
        self.assertEqual((change.old_qty, change.new_qty, change.allocated_qty), (50, 40, 50))
        self.assertEqual(self._rows(change), {(rfq_b, self.vendor_b): (20, 10, 10)})
        self.assertFalse(change.needs_vendor_confirmation)
        # the buyers of the covering RFQ are told
        activity_type = self.env.ref("backops_procurement.mail_activity_demand_change")
        self.assertEqual(rfq_b.activity_ids.filtered(lambda a: a.activity_type_id == activity_type).user_id, self.buyer)

        change.with_user(self.buyer).action_apply()
        self.assertEqual(change.state, "applied")
        self.assertEqual(change.applied_uid, self.buyer)
        self.assertEqual(rfq_a.order_line.product_qty, 30)
        self.assertEqual(rfq_b.order_line.product_qty, 10)
        self.assertEqual(need.procurement_status, "on_order")
        self.assertTrue(rfq_b.message_ids.filtered(lambda m: "50.0 → 40.0" in m.body))
        self.assertFalse(rfq_b.activity_ids.filtered(lambda a: a.activity_type_id == activity_type))

    def test_most_expensive_first(self):
        self.company.backops_demand_decrease_policy = "expensive"
        order, need, rfq_a, rfq_b = self._split()
        # vendor_a becomes the most expensive, although vendor_b's RFQ is the latest
        rfq_a.order_line.price_unit = 170.0
        self._set_quantity(order, 40)
        self.assertEqual(self._rows(self._pending(need)), {(rfq_a, self.vendor_a): (30, 20, 20)})

    def test_latest_first_takes_the_other_rfq(self):
        order, need, rfq_a, rfq_b = self._split()
        rfq_b.order_line.price_unit = 200.0
        rfq_a.date_order = fields.Datetime.now()
        rfq_b.date_order = fields.Datetime.now() - timedelta(days=1)
        self._set_quantity(order, 40)
        self.assertEqual(self._rows(self._pending(need)), {(rfq_a, self.vendor_a): (30, 20, 20)})

    def test_drafts_shrink_before_sent_rfqs(self):
        order, need, rfq_a, rfq_b = self._split()
        rfq_b.write({"state": "sent"})
        self._set_quantity(order, 15)
        # rfq_a is a draft: all of its 30 go first, then 5 of the sent one
        change = self._pending(need)
        self.assertEqual(self._rows(change), {(rfq_a, self.vendor_a): (30, 0, 0), (rfq_b, self.vendor_b): (20, 15, 15)})
        self.assertEqual(change.line_ids[0].purchase_order_id, rfq_a)
        change.with_user(self.buyer).action_apply()
        # the line left at zero is removed, its RFQ cancelled, their chatter saying why
        self.assertEqual(rfq_a.state, "cancel")
        self.assertFalse(rfq_a.order_line)
        bodies = " ".join(rfq_a.message_ids.mapped("body"))
        self.assertIn("removed: nothing left to order", bodies)
        self.assertIn("left nothing to order on this RFQ", bodies)
        self.assertEqual(rfq_b.order_line.product_qty, 15)
        self.assertEqual(need.procurement_status, "on_order")

    def test_a_line_covering_two_needs_changes_by_this_needs_share(self):
        order = self._create_sale_order([(self.golf_cart, 50), (self.golf_cart, 10)])
        need, other = order.order_line
        rfq = self._create_rfq(self.vendor_a, [(self.golf_cart, 60)], user=self.buyer)
        self._allocate(need, rfq.order_line, 50, user=self.buyer)
        self._allocate(other, rfq.order_line, 10, user=self.buyer)
        self._set_quantity(order, 40, user=self.env.user)
        change = self._pending(need)
        self.assertEqual(self._rows(change), {(rfq, self.vendor_a): (60, 50, 40)})
        self.assertFalse(self._pending(other))
        change.with_user(self.buyer).action_apply()
        self.assertEqual(rfq.order_line.product_qty, 50)
        self.assertEqual(need.procurement_allocation_ids.quantity, 40)
        self.assertEqual(other.procurement_allocation_ids.quantity, 10)

    def test_one_write_of_several_lines_then_one_apply(self):
        order = self._create_sale_order([(self.golf_cart, 50), (self.stage_deck, 8)])
        cart, deck = order.order_line
        rfq = self._create_rfq(self.vendor_a, [(self.golf_cart, 50), (self.stage_deck, 8)], user=self.buyer)
        self._allocate(cart, rfq.order_line[0], 50, user=self.buyer)
        self._allocate(deck, rfq.order_line[1], 8, user=self.buyer)
        order.order_line.write({"product_uom_qty": 5})
        changes = self.env["backops.demand.change"].search([("sale_order_id", "=", order.id)])
        self.assertEqual(len(changes), 2)
        self.assertEqual(len(rfq.activity_ids), 1, "one activity per RFQ, not per change")
        changes.with_user(self.buyer).action_apply()
        self.assertEqual(rfq.order_line.mapped("product_qty"), [5, 5])
        self.assertEqual(set(changes.mapped("state")), {"applied"})
        self.assertFalse(rfq.activity_ids)

    def test_confirmed_purchase_order_needs_the_vendors_confirmation(self):
        order, need, rfq_a, rfq_b = self._split()
        (rfq_a | rfq_b).button_confirm()
        self._set_quantity(order, 40)
        change = self._pending(need)
        self.assertTrue(change.needs_vendor_confirmation)
        self.assertEqual(self._rows(change), {(rfq_b, self.vendor_b): (20, 10, 10)})
        self.assertEqual(rfq_b.order_line.product_qty, 20, "a confirmed order never changes silently")
        change.with_user(self.buyer).action_apply()
        self.assertEqual(rfq_b.order_line.product_qty, 10)
        self.assertEqual(rfq_b.state, "purchase")
        self.assertTrue(rfq_b.message_ids.filtered(lambda m: "confirm the change with the vendor" in m.body))

    def test_no_line_goes_below_what_it_received(self):
        order, need, rfq_a, rfq_b = self._split()
        (rfq_a | rfq_b).button_confirm()
        self._validate(rfq_b.picking_ids, {self.golf_cart: 15})
        self._set_quantity(order, 40)
        # GreenLane's order, the latest, received 15 of its 20: only 5 come off it
        change = self._pending(need)
        self.assertEqual(
            self._rows(change), {(rfq_b, self.vendor_b): (20, 15, 15), (rfq_a, self.vendor_a): (30, 25, 25)}
        )
        change.with_user(self.buyer).action_apply()
        self.assertEqual(rfq_b.order_line.product_qty, 15)
        self.assertEqual(rfq_a.order_line.product_qty, 25)
        self.assertEqual(need.procurement_status, "on_order")

    def test_cancelled_sale_order(self):
        order, need, rfq_a, rfq_b = self._split()
        order.with_user(self.salesman)._action_cancel()
        change = self._pending(need)
        self.assertEqual((change.old_qty, change.new_qty), (50, 0))
        self.assertEqual(self._rows(change), {(rfq_a, self.vendor_a): (30, 0, 0), (rfq_b, self.vendor_b): (20, 0, 0)})
        change.with_user(self.buyer).action_apply()
        self.assertEqual((rfq_a | rfq_b).mapped("state"), ["cancel", "cancel"])
        self.assertFalse(need.procurement_allocation_ids)

    def test_removed_line(self):
        order, need, rfq_a, rfq_b = self._split()
        order._action_cancel()
        change = self._pending(need)
        order.action_draft()
        # nothing asked in draft either: the pending proposal stays as it is
        self.assertEqual(self._pending(need), change)
        need.unlink()
        self.assertTrue(change.exists())
        self.assertFalse(change.sale_line_id)
        self.assertEqual(change.sale_order_id, order)
        change.with_user(self.buyer).action_apply()
        self.assertEqual((rfq_a | rfq_b).mapped("state"), ["cancel", "cancel"])

    def test_removed_line_of_a_quotation_back_from_cancel_proposes(self):
        order, need, rfq_a, rfq_b = self._split()
        order._action_cancel()
        self._pending(need).action_dismiss()
        order.action_draft()
        order.write({"order_line": [Command.delete(need.id)]})
        # dismissed earlier: no proposal for a need that already asked for nothing
        self.assertFalse(
            self.env["backops.demand.change"].search([("state", "=", "proposed"), ("sale_order_id", "=", order.id)])
        )


@tagged("post_install", "-at_install")
class TestDemandChangeIncrease(DemandChangeCommon):
    def test_raise_to_60_goes_to_the_vendors_draft_rfq(self):
        order, need, rfq_a, rfq_b = self._split()
        self.assertEqual(need.procurement_vendor_id, self.vendor_a)
        self._set_quantity(order, 60)
        change = self._pending(need)
        self.assertEqual(self._rows(change), {(rfq_a, self.vendor_a): (30, 40, 40)})
        change.with_user(self.buyer).action_apply()
        self.assertEqual(rfq_a.order_line.product_qty, 40)
        self.assertEqual(need.procurement_status, "on_order")

    def test_raise_with_the_vendors_rfq_sent_makes_a_new_rfq(self):
        order, need, rfq_a, rfq_b = self._split()
        rfq_a.write({"state": "sent"})
        self._set_quantity(order, 60)
        change = self._pending(need)
        row = change.line_ids
        self.assertFalse(row.purchase_line_id)
        self.assertEqual(
            (row.partner_id, row.current_qty, row.proposed_qty, row.allocation_qty), (self.vendor_a, 0, 10, 10)
        )
        change.with_user(self.buyer).action_apply()
        self.assertTrue(row.purchase_order_id)
        self.assertNotIn(row.purchase_order_id, rfq_a | rfq_b)
        self.assertEqual(row.purchase_order_id.partner_id, self.vendor_a)
        self.assertEqual(row.purchase_order_id.state, "draft")
        self.assertEqual(row.purchase_line_id.product_qty, 10)
        self.assertEqual(row.purchase_order_id.origin, order.name)
        self.assertEqual(rfq_a.order_line.product_qty, 30)
        self.assertEqual(need.procurement_status, "on_order")

    def test_buyer_chooses_another_vendor_for_the_new_rfq(self):
        order, need, rfq_a, rfq_b = self._split()
        rfq_a.write({"state": "sent"})
        self._set_quantity(order, 60)
        row = self._pending(need).line_ids
        with self.assertRaisesRegex(UserError, "Only the vendor"):
            row.with_user(self.buyer).proposed_qty = 99
        row.with_user(self.buyer).partner_id = self.vendor_b
        row.change_id.with_user(self.buyer).action_apply()
        self.assertEqual(row.purchase_order_id.partner_id, self.vendor_b)

    def test_confirmed_orders_grow_only_through_a_new_rfq_the_approval_tiers_see(self):
        self.env["backops.approval.tier"].create(
            {
                "name": "Over 5,000",
                "company_id": self.company.id,
                "min_amount": 5000.0,
                "group_id": self.env.ref("purchase.group_purchase_manager").id,
            }
        )
        order, need, rfq_a, rfq_b = self._split()
        (rfq_a | rfq_b).button_confirm()
        self.assertEqual(rfq_a.state, "purchase")
        self._set_quantity(order, 60)
        change = self._pending(need)
        change.with_user(self.buyer).action_apply()
        self.assertEqual(rfq_a.order_line.product_qty, 30, "the confirmed order did not grow")
        new_rfq = change.line_ids.purchase_order_id
        self.assertEqual(new_rfq.state, "draft")
        # with the confirmed order it adds up to 6,000: it waits for approval
        new_rfq.with_user(self.buyer).button_confirm()
        self.assertEqual(new_rfq.state, "to approve")


@tagged("post_install", "-at_install")
class TestDemandChangeProposals(DemandChangeCommon):
    def test_a_newer_change_replaces_the_pending_proposal(self):
        order, need, rfq_a, rfq_b = self._split()
        self._set_quantity(order, 40)
        first = self._pending(need)
        self._set_quantity(order, 35)
        second = self._pending(need)
        self.assertFalse(first.exists())
        self.assertEqual((second.old_qty, second.new_qty), (50, 35))
        self.assertEqual(self._rows(second), {(rfq_b, self.vendor_b): (20, 5, 5)})
        # back to what is on order: nothing to propose
        self._set_quantity(order, 50)
        self.assertFalse(self._pending(need))
        self.assertFalse(second.exists())

    def test_no_proposal_without_allocations_or_without_change(self):
        order = self._create_sale_order([(self.golf_cart, 50)])
        self._set_quantity(order, 40, user=self.env.user)
        order, need, rfq_a, rfq_b = self._split()
        need.name = "Golf carts, 4 seats"
        self.assertFalse(self.env["backops.demand.change"].search([("sale_order_id", "=", order.id)]))

    def test_salespeople_read_their_orders_proposals_but_cannot_decide(self):
        order, need, rfq_a, rfq_b = self._split()
        self._set_quantity(order, 40)
        change = self._pending(need)
        as_salesman = change.with_user(self.salesman)
        self.assertEqual(as_salesman.new_qty, 40)
        self.assertEqual(as_salesman.line_ids.proposed_qty, 10)
        self.assertEqual(order.with_user(self.salesman).backops_demand_change_count, 1)
        with self.assertRaisesRegex(AccessError, "Only purchasing users"):
            as_salesman.action_apply()
        with self.assertRaisesRegex(AccessError, "Only purchasing users"):
            as_salesman.action_dismiss()
        with self.assertRaises(UserError):
            as_salesman.write({"state": "applied"})
        with self.assertRaises(AccessError):
            change.with_user(self.other_salesman).read(["new_qty"])
        with self.assertRaises(AccessError):
            change.with_user(self.employee).read(["new_qty"])
        self.assertEqual(change.state, "proposed")
        self.assertEqual(rfq_b.order_line.product_qty, 20)

    def test_proposals_are_made_by_the_planner_only(self):
        with self.assertRaisesRegex(UserError, "proposed by BackOps"):
            self.env["backops.demand.change"].with_user(self.buyer).create({})
        order, need, rfq_a, rfq_b = self._split()
        self._set_quantity(order, 40)
        change = self._pending(need)
        with self.assertRaisesRegex(UserError, "dismissed, not deleted"):
            change.with_user(self.buyer).unlink()

    def test_apply_twice_or_a_dismissed_one(self):
        order, need, rfq_a, rfq_b = self._split()
        self._set_quantity(order, 40)
        change = self._pending(need)
        change.with_user(self.buyer).action_apply()
        with self.assertRaisesRegex(UserError, "already Applied"):
            change.with_user(self.buyer).action_apply()
        self.assertEqual(rfq_b.order_line.product_qty, 10)
        self._set_quantity(order, 30)
        other = self._pending(need)
        other.with_user(self.buyer).action_dismiss()
        self.assertEqual(other.state, "dismissed")
        with self.assertRaisesRegex(UserError, "already Dismissed"):
            other.with_user(self.buyer).action_apply()
        with self.assertRaisesRegex(UserError, "already Dismissed"):
            (other | change).with_user(self.buyer).action_dismiss()
        self.assertEqual(rfq_b.order_line.product_qty, 10)

    def test_out_of_date_proposal_is_refused(self):
        order, need, rfq_a, rfq_b = self._split()
        self._set_quantity(order, 40)
        change = self._pending(need)
        # the buyer lowered the allocation by hand meanwhile
        need.procurement_allocation_ids.filtered(lambda a: a.purchase_order_id == rfq_b).with_user(
            self.buyer
        ).quantity = 15
        with self.assertRaisesRegex(UserError, "out of date"):
            change.with_user(self.buyer).action_apply()
        self.assertEqual(change.state, "proposed")
        self.assertEqual(rfq_b.order_line.product_qty, 20)

    def test_other_company(self):
        other_company = self.env["res.company"].create({"name": "Other Events Co"})
        order, need, rfq_a, rfq_b = self._split()
        self._set_quantity(order, 40)
        change = self._pending(need)
        self.buyer.write({"company_ids": [Command.link(other_company.id)], "company_id": other_company.id})
        with self.assertRaises(AccessError):
            change.with_user(self.buyer).with_context(allowed_company_ids=other_company.ids).read(["new_qty"])
