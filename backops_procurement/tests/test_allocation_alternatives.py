from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import Form, new_test_user, tagged
from odoo.tools import mute_logger

from .common import CommittedCase, ProcurementCommon


class AlternativesCommon(ProcurementCommon):
    """Odoo's Purchase Agreements alternatives, used as a buyer does."""

    def _create_alternative(self, origin, vendor, copy_products=True, user=None):
        """Odoo's Create Alternative wizard, as the buyer uses it."""
        env = self.env(user=user or self.buyer)
        form = Form(env["purchase.requisition.create.alternative"].with_context(default_origin_po_id=origin.id))
        form.partner_id = vendor
        form.copy_products = copy_products
        action = form.save().action_create_alternative()
        return env["purchase.order"].browse(action["res_id"])

    def _confirm(self, order, keep_alternatives, user=None):
        """Confirm ``order`` as the buyer; Odoo asks what about the alternatives."""
        action = order.with_user(user or self.buyer).button_confirm()
        self.assertEqual(action["res_model"], "purchase.requisition.alternative.warning")
        wizard = Form.from_action(self.env(user=user or self.buyer), action).save()
        if keep_alternatives:
            wizard.action_keep_alternatives()
        else:
            wizard.action_cancel_alternatives()

    def _status(self, need):
        return (need.procurement_allocated_qty, need.procurement_status)


@tagged("post_install", "-at_install")
class TestAllocationAlternatives(AlternativesCommon):
    """Alternatives of Odoo's Purchase Agreements: the needs are on order once, on the
    RFQ they were allocated to, and move to the alternative the buyer keeps."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env.company.backops_block_over_ordering = True
        cls.order = cls._create_sale_order([(cls.golf_cart, 10)])
        cls.need = cls.order.order_line
        cls.rfq_a = cls._create_rfq(cls.vendor_a, [(cls.golf_cart, 10)], user=cls.buyer)
        cls._allocate(cls.need, cls.rfq_a.order_line, 10, user=cls.buyer)

    # ------------------------------------------------------------------
    # creating alternatives
    # ------------------------------------------------------------------
    def test_creating_an_alternative_does_not_put_the_need_on_order_twice(self):
        rfq_b = self._create_alternative(self.rfq_a, self.vendor_b)
        self.assertEqual(rfq_b.purchase_group_id.order_ids, self.rfq_a | rfq_b)
        self.assertEqual(rfq_b.order_line.product_qty, 10)
        self.assertFalse(rfq_b.order_line.procurement_allocation_ids)
        self.assertEqual(self.need.procurement_allocation_ids.purchase_order_id, self.rfq_a)
        self.assertEqual(self._status(self.need), (10, "on_order"))
        # a copy of the RFQ (Odoo's Duplicate) does not take allocations either
        self.assertFalse(self.rfq_a.copy().order_line.procurement_allocation_ids)
        self.assertEqual(self._status(self.need), (10, "on_order"))

    # ------------------------------------------------------------------
    # keeping one alternative
    # ------------------------------------------------------------------
    def test_confirming_one_and_cancelling_the_others_moves_the_needs(self):
        rfq_b = self._create_alternative(self.rfq_a, self.vendor_b)
        rfq_c = self._create_alternative(self.rfq_a, self.vendor_a, copy_products=False)
        self._confirm(rfq_b, keep_alternatives=False)
        self.assertEqual((self.rfq_a.state, rfq_b.state, rfq_c.state), ("cancel", "purchase", "cancel"))
        allocation = self.need.procurement_allocation_ids
        self.assertEqual((allocation.purchase_line_id, allocation.quantity), (rfq_b.order_line, 10))
        self.assertFalse(allocation.is_automatic)
        self.assertEqual(self._status(self.need), (10, "on_order"))
        self.assertEqual(rfq_b.order_line.procurement_allocated_qty, 10)
        self.assertIn(self.order, rfq_b._get_sale_orders())
        self.assertIn(self.rfq_a.name, rfq_b.message_ids[0].body)

    def test_cancelling_the_original_moves_the_needs_to_the_alternative(self):
        rfq_b = self._create_alternative(self.rfq_a, self.vendor_b)
        self.rfq_a.with_user(self.buyer).button_cancel()
        self.assertEqual(self.need.procurement_allocation_ids.purchase_order_id, rfq_b)
        self.assertEqual(self._status(self.need), (10, "on_order"))
        # cancelling the alternative now kept: nothing is left to take the needs
        rfq_b.with_user(self.buyer).button_cancel()
        self.assertEqual(self.need.procurement_allocation_ids.purchase_order_id, rfq_b)
        self.assertEqual(self._status(self.need), (0, "needs_order"))

    def test_a_confirmed_alternative_takes_the_needs_first(self):
        rfq_b = self._create_alternative(self.rfq_a, self.vendor_b)
        rfq_c = self._create_alternative(self.rfq_a, self.vendor_a)
        rfq_c.with_user(self.buyer).write({"state": "sent"})
        self._confirm(rfq_b, keep_alternatives=True)
        self.rfq_a.with_user(self.buyer).button_cancel()
        self.assertEqual(self.need.procurement_allocation_ids.purchase_order_id, rfq_b)
        self.assertFalse(rfq_c.order_line.procurement_allocation_ids)

    def test_a_kept_alternative_ordering_less_leaves_the_need_short(self):
        rfq_b = self._create_alternative(self.rfq_a, self.vendor_b)
        rfq_b.order_line.with_user(self.buyer).product_qty = 6
        self._confirm(rfq_b, keep_alternatives=False)
        on_b = self.need.procurement_allocation_ids.filtered(lambda a: a.purchase_order_id == rfq_b)
        self.assertEqual(on_b.quantity, 6)
        self.assertEqual(self._status(self.need), (6, "short"))
        self.assertEqual(self.need.procurement_remaining_qty, 4)
        # the rest stays on the cancelled RFQ, where it was: set back to draft, it counts again
        left = self.need.procurement_allocation_ids - on_b
        self.assertEqual((left.purchase_order_id, left.quantity), (self.rfq_a, 4))

    def test_several_needs_on_one_line_fill_the_kept_line_in_order(self):
        need_2 = self._create_sale_order([(self.golf_cart, 5)]).order_line
        self.rfq_a.order_line.with_user(self.buyer).product_qty = 15
        self._allocate(need_2, self.rfq_a.order_line, 5, user=self.buyer)
        rfq_b = self._create_alternative(self.rfq_a, self.vendor_b)
        rfq_b.order_line.with_user(self.buyer).product_qty = 12
        self._confirm(rfq_b, keep_alternatives=False)
        self.assertEqual(rfq_b.order_line.procurement_allocated_qty, 12)
        self.assertEqual(self._status(self.need), (10, "on_order"))
        self.assertEqual(self._status(need_2), (2, "short"))

    def test_a_need_already_on_the_kept_line_grows_there(self):
        self.need.product_uom_qty = 14
        rfq_b = self._create_alternative(self.rfq_a, self.vendor_b)
        self._allocate(self.need, rfq_b.order_line, 4, user=self.buyer)
        rfq_b.order_line.with_user(self.buyer).product_qty = 20
        self.rfq_a.with_user(self.buyer).button_cancel()
        self.assertEqual(self.need.procurement_allocation_ids.mapped("quantity"), [14])
        self.assertEqual(self._status(self.need), (14, "on_order"))

    def test_products_the_kept_alternative_does_not_order_stay_to_order(self):
        self.rfq_a.order_line = [Command.create({"product_id": self.stage_deck.id, "product_qty": 3})]
        deck_need = self._create_sale_order([(self.stage_deck, 3)]).order_line
        self._allocate(deck_need, self._line(self.rfq_a, self.stage_deck), 3, user=self.buyer)
        rfq_b = self._create_alternative(self.rfq_a, self.vendor_b)
        self._line(rfq_b, self.stage_deck).with_user(self.buyer).unlink()
        self._confirm(rfq_b, keep_alternatives=False)
        self.assertEqual(self._status(self.need), (10, "on_order"))
        self.assertEqual(self._status(deck_need), (0, "needs_order"))
        self.assertEqual(deck_need.procurement_allocation_ids.purchase_order_id, self.rfq_a)

    def test_units_convert_on_the_way(self):
        chairs = self._create_sale_order([(self.chair, 24)]).order_line
        rfq = self._create_rfq(self.vendor_b, [(self.chair, 2)], user=self.buyer)  # 2 dozen
        self._allocate(chairs, rfq.order_line, 24, user=self.buyer)
        alternative = self._create_alternative(rfq, self.vendor_a)
        alternative.order_line.with_user(self.buyer).product_qty = 1.5
        rfq.with_user(self.buyer).button_cancel()
        self.assertEqual(self._status(chairs), (18, "short"))

    def _queries_to_cancel(self, count):
        """Queries to cancel an RFQ whose one line covers ``count`` needs, with an alternative."""
        needs = self._create_sale_order([(self.stage_deck, 1)] * count).order_line
        rfq = self._create_rfq(self.vendor_a, [(self.stage_deck, count)], user=self.buyer)
        self.env["backops.procurement.allocation"].create(
            [{"sale_line_id": need.id, "purchase_line_id": rfq.order_line.id, "quantity": 1} for need in needs]
        )
        alternative = self._create_alternative(rfq, self.vendor_b)
        rfq = rfq.with_user(self.buyer)
        self.env.invalidate_all()
        before = self.env.cr.sql_log_count
        rfq.button_cancel()
        self.env.flush_all()
        queries = self.env.cr.sql_log_count - before
        self.assertEqual(alternative.order_line.procurement_allocated_qty, count)
        self.assertEqual(set(needs.mapped("procurement_status")), {"on_order"})
        return queries

    def test_the_move_costs_no_query_per_need(self):
        self._queries_to_cancel(5)  # the first cancel of the run fills Odoo's caches
        few, many = self._queries_to_cancel(5), self._queries_to_cancel(50)
        self.assertLess(many - few, 10, f"{few} queries for 5 needs, {many} for 50")

    # ------------------------------------------------------------------
    # keeping both, choosing lines
    # ------------------------------------------------------------------
    def test_keeping_the_alternatives_moves_nothing(self):
        rfq_b = self._create_alternative(self.rfq_a, self.vendor_b)
        self._confirm(rfq_b, keep_alternatives=True)
        self.assertEqual((self.rfq_a.state, rfq_b.state), ("draft", "purchase"))
        self.assertEqual(self.need.procurement_allocation_ids.purchase_order_id, self.rfq_a)
        self.assertFalse(rfq_b.order_line.procurement_allocation_ids)
        self.assertEqual(self._status(self.need), (10, "on_order"))

    def test_choosing_a_line_in_the_comparison_moves_its_needs(self):
        rfq_b = self._create_alternative(self.rfq_a, self.vendor_b)
        rfq_b.order_line.with_user(self.buyer).product_qty = 7
        rfq_b.order_line.with_user(self.buyer).action_choose()
        self.assertEqual(self.rfq_a.order_line.product_qty, 0)
        self.assertEqual(self.need.procurement_allocation_ids.purchase_line_id, rfq_b.order_line)
        # what the chosen line does not order leaves the cleared line: Short
        self.assertEqual(self._status(self.need), (7, "short"))
        # choosing back the original line, now at 0: Odoo clears the other one too, and
        # nothing is left on order
        self.rfq_a.order_line.with_user(self.buyer).action_choose()
        self.assertEqual(rfq_b.order_line.product_qty, 0)
        self.assertFalse(self.need.procurement_allocation_ids)
        self.assertEqual(self._status(self.need), (0, "needs_order"))

    # ------------------------------------------------------------------
    # cancelling what is not an alternative, or all of them
    # ------------------------------------------------------------------
    def test_cancelling_an_rfq_without_alternatives_behaves_as_before(self):
        other = self._create_rfq(self.vendor_b, [(self.golf_cart, 10)], user=self.buyer)
        self.rfq_a.with_user(self.buyer).button_cancel()
        self.assertEqual(self.need.procurement_allocation_ids.purchase_order_id, self.rfq_a)
        self.assertFalse(other.order_line.procurement_allocation_ids)
        self.assertEqual(self._status(self.need), (0, "needs_order"))
        # set back to draft, its allocations count again
        self.rfq_a.with_user(self.buyer).button_draft()
        self.assertEqual(self._status(self.need), (10, "on_order"))

    def test_cancelling_every_alternative_at_once_moves_nothing(self):
        rfq_b = self._create_alternative(self.rfq_a, self.vendor_b)
        (self.rfq_a | rfq_b).with_user(self.buyer).button_cancel()
        self.assertEqual(self.need.procurement_allocation_ids.purchase_order_id, self.rfq_a)
        self.assertEqual(self._status(self.need), (0, "needs_order"))

    def test_cancelling_an_alternative_without_needs_moves_nothing(self):
        rfq_b = self._create_alternative(self.rfq_a, self.vendor_b)
        rfq_b.with_user(self.buyer).button_cancel()
        self.assertEqual(self.need.procurement_allocation_ids.purchase_order_id, self.rfq_a)
        self.assertEqual(self._status(self.need), (10, "on_order"))

    # ------------------------------------------------------------------
    # rules and rights
    # ------------------------------------------------------------------
    def test_block_over_ordering_holds_when_the_sale_was_lowered(self):
        rfq_b = self._create_alternative(self.rfq_a, self.vendor_b)
        # the customer cut the need to 8 after it was put on order (Excess)
        self.need.product_uom_qty = 8
        self.assertEqual(self.need.procurement_status, "excess")
        self.rfq_a.with_user(self.buyer).button_cancel()
        on_b = self.need.procurement_allocation_ids.filtered(lambda a: a.purchase_order_id == rfq_b)
        self.assertEqual(on_b.quantity, 8)
        self.assertEqual(self._status(self.need), (8, "on_order"))

    def test_a_locked_alternative_takes_nothing(self):
        rfq_b = self._create_alternative(self.rfq_a, self.vendor_b)
        self._confirm(rfq_b, keep_alternatives=True)
        rfq_b.with_user(self.buyer).button_done()
        self.rfq_a.with_user(self.buyer).button_cancel()
        self.assertEqual(self.need.procurement_allocation_ids.purchase_order_id, self.rfq_a)
        self.assertEqual(self._status(self.need), (0, "needs_order"))

    def test_a_salesperson_cannot_cancel_an_alternative(self):
        rfq_b = self._create_alternative(self.rfq_a, self.vendor_b)
        with self.assertRaises(AccessError):
            self.rfq_a.with_user(self.salesman).button_cancel()
        self.assertEqual(self.rfq_a.state, "draft")
        self.assertFalse(rfq_b.order_line.procurement_allocation_ids)

    def _group_with_another_company(self):
        other_company = self.env["res.company"].create({"name": "Harbourlight Events South"})
        foreign = self.env["purchase.order"].create(
            {
                "partner_id": self.vendor_b.id,
                "company_id": other_company.id,
                "order_line": [Command.create({"product_id": self.golf_cart.id, "product_qty": 10})],
            }
        )
        # linked as Odoo's own field allows it (its domain is not checked on write)
        self.env["purchase.order.group"].create({"order_ids": [Command.set((self.rfq_a | foreign).ids)]})
        return other_company, foreign

    def test_allocations_never_move_to_another_company(self):
        other_company, foreign = self._group_with_another_company()
        buyer = new_test_user(
            self.env,
            "backops_buyer_two_companies",
            groups="purchase.group_purchase_user",
            company_ids=[Command.set((self.company | other_company).ids)],
        )
        self.rfq_a.with_user(buyer).with_context(allowed_company_ids=(self.company | other_company).ids).button_cancel()
        self.assertFalse(foreign.order_line.procurement_allocation_ids)
        self.assertEqual(self.need.procurement_allocation_ids.purchase_order_id, self.rfq_a)
        self.assertEqual(self._status(self.need), (0, "needs_order"))

    def test_a_buyer_of_one_company_cancels_in_a_group_with_another(self):
        _other_company, foreign = self._group_with_another_company()
        self.rfq_a.with_user(self.buyer).button_cancel()
        self.assertEqual(self.rfq_a.state, "cancel")
        self.assertFalse(foreign.order_line.procurement_allocation_ids)
        self.assertEqual(self._status(self.need), (0, "needs_order"))

    def test_cancelling_originals_of_two_groups_at_once(self):
        rfq_b = self._create_alternative(self.rfq_a, self.vendor_b)
        need_2 = self._create_sale_order([(self.golf_cart, 4)]).order_line
        rfq_c = self._create_rfq(self.vendor_b, [(self.golf_cart, 4)], user=self.buyer)
        self._allocate(need_2, rfq_c.order_line, 4, user=self.buyer)
        rfq_d = self._create_alternative(rfq_c, self.vendor_a)
        # the first group's alternative could take both: each need stays in its group
        rfq_b.order_line.with_user(self.buyer).product_qty = 14
        (self.rfq_a | rfq_c).with_user(self.buyer).button_cancel()
        self.assertEqual(self.need.procurement_allocation_ids.purchase_order_id, rfq_b)
        self.assertEqual(need_2.procurement_allocation_ids.purchase_order_id, rfq_d)
        self.assertEqual((self._status(self.need), self._status(need_2)), ((10, "on_order"), (4, "on_order")))


@tagged("post_install", "-at_install")
class TestAlternativesOfOdooLines(AlternativesCommon):
    """Make-to-order lines: Odoo copies its link to the sale onto the alternative's
    line (purchase_requisition_stock); the need still counts once."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env.company.backops_block_over_ordering = True
        cls.mto_cart = cls._create_mto_product("Golf Cart (MTO)", sellers=[(cls.vendor_a, 150.0)])
        cls.need = cls._create_sale_order([(cls.mto_cart, 5)]).order_line
        cls.rfq = cls.need.procurement_allocation_ids.purchase_order_id

    def test_an_alternative_of_a_make_to_order_rfq_counts_once(self):
        alternative = self._create_alternative(self.rfq, self.vendor_b)
        # Odoo copied its link with the line
        self.assertEqual(alternative.order_line.move_dest_ids, self.rfq.order_line.move_dest_ids)
        self.assertFalse(alternative.order_line.procurement_allocation_ids)
        self.assertEqual(self._status(self.need), (5, "on_order"))
        # a change on the alternative's line does not make it count either
        alternative.order_line.with_user(self.buyer).product_qty = 6
        self.assertFalse(alternative.order_line.procurement_allocation_ids)
        self.assertEqual(self._status(self.need), (5, "on_order"))

    def test_the_kept_alternative_takes_odoos_link_over(self):
        alternative = self._create_alternative(self.rfq, self.vendor_b)
        self._confirm(alternative, keep_alternatives=False)
        self.assertEqual(self.rfq.state, "cancel")
        allocation = self.need.procurement_allocation_ids.filtered(lambda a: a.purchase_order_id.state != "cancel")
        self.assertEqual((allocation.purchase_line_id, allocation.quantity), (alternative.order_line, 5))
        self.assertTrue(allocation.is_automatic)
        self.assertEqual(self._status(self.need), (5, "on_order"))

    def test_choosing_the_alternatives_line_moves_odoos_link(self):
        alternative = self._create_alternative(self.rfq, self.vendor_b)
        alternative.order_line.with_user(self.buyer).action_choose()
        allocation = self.need.procurement_allocation_ids
        self.assertEqual((allocation.purchase_line_id, allocation.quantity), (alternative.order_line, 5))
        self.assertEqual(self._status(self.need), (5, "on_order"))

    def test_a_buyer_cancels_a_make_to_order_rfq(self):
        # Odoo's cancel takes its link to the sale off the line, as the buyer
        self.rfq.with_user(self.buyer).button_cancel()
        self.assertEqual(self.rfq.state, "cancel")
        self.assertFalse(self.rfq.order_line.move_dest_ids)
        self.assertEqual(self._status(self.need), (0, "needs_order"))


@tagged("post_install", "-at_install")
class TestConcurrentAlternatives(CommittedCase):
    """A buyer cancels the original RFQ while another allocates a need onto the
    alternative's line in another transaction: the move waits and sees that need."""

    def setUp(self):
        super().setUp()
        with self._env() as env:
            company, suffix = self._make_company(env, "Race Alternative")
            env = env(context=dict(env.context, allowed_company_ids=company.ids))
            self.needs, line_id = self._needs_on_one_line(env, company, suffix, [10, 6], 10)
            line = env["purchase.order.line"].browse(line_id)
            env["backops.procurement.allocation"].create(
                {"sale_line_id": self.needs[0], "purchase_line_id": line_id, "quantity": 10}
            )
            wizard = (
                env["purchase.requisition.create.alternative"]
                .with_context(default_origin_po_id=line.order_id.id)
                .create({"partner_id": line.order_id.partner_id.id})
            )
            alternative = env["purchase.order"].browse(wizard.action_create_alternative()["res_id"])
            self.rfq, self.alternative_line = line.order_id.id, alternative.order_line.id

    def _allocate_on_alternative(self, cr):
        with self._env(cr=cr) as env:
            env["backops.procurement.allocation"].create(
                {"sale_line_id": self.needs[1], "purchase_line_id": self.alternative_line, "quantity": 6}
            )
            env.flush_all()

    def _cancel_original(self, cr):
        with self._env(cr=cr) as env:
            env["purchase.order"].browse(self.rfq).button_cancel()
            env.flush_all()

    @mute_logger("odoo.sql_db")
    def test_the_move_waits_for_the_other_buyer(self):
        self.assertEqual(self._race(self._allocate_on_alternative, self._cancel_original), "retry")
        # Odoo retries the cancel: 4 of the 10 units are left for the first need
        with self.registry.cursor() as cr:
            self._cancel_original(cr)
            # pylint: disable-next=invalid-commit
            cr.commit()
        with self._env() as env:
            line = env["purchase.order.line"].browse(self.alternative_line)
            self.assertEqual(line.procurement_allocated_qty, 10)
            need = env["sale.order.line"].browse(self.needs[0])
            self.assertEqual((need.procurement_allocated_qty, need.procurement_status), (4, "short"))
