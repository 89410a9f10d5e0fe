from datetime import datetime

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import Form, new_test_user, tagged
from odoo.tools.safe_eval import safe_eval

from .fulfilment_common import FulfilmentCommon

REASON = "FairwayFleet discontinued the model; no more carts this season."


class CloseRemainingCommon(FulfilmentCommon):
    """A purchase line of 50 golf carts covering two needs of two salespeople: 30
    promised for the 10th, 20 promised for the 20th."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.order_early = cls._create_sale_order([(cls.cart, 30)], user=cls.salesman).with_env(cls.env)
        cls.order_late = cls._create_sale_order(["Transport", (cls.cart, 20)], user=cls.other_salesman).with_env(
            cls.env
        )
        cls.order_early.commitment_date = datetime(2026, 9, 10)
        cls.order_late.commitment_date = datetime(2026, 9, 20)
        cls.need_early = cls._line(cls.order_early, cls.cart)
        cls.need_late = cls._line(cls.order_late, cls.cart)
        cls.Line = cls.env["purchase.order.line"]
        cls.activity_type = cls.env.ref("backops_procurement.mail_activity_purchase_closed")

    def setUp(self):
        super().setUp()
        # the records are made per test: receiving changes them
        self.po = self._purchase(self.vendor_a, [(self.need_early, 30), (self.need_late, 20)])
        self.line = self.po.order_line

    def _open_receipts(self, order):
        return order.picking_ids.filtered(lambda p: p.state not in ("done", "cancel"))

    def _closed_activities(self, orders):
        return self.env["mail.activity"].search(
            [
                ("res_model", "=", "sale.order"),
                ("res_id", "in", orders.ids),
                ("activity_type_id", "=", self.activity_type.id),
            ]
        )

    def _to_order(self):
        action = self.env["ir.actions.act_window"]._for_xml_id("backops_procurement.action_procurement_to_order")
        return self.env["sale.order.line"].search(
            safe_eval(action["domain"]) + [("order_id", "in", (self.order_early | self.order_late).ids)]
        )

    def _snapshot(self, lines):
        """What closing would change: quantities, allocations, moves, messages, activities."""
        self.env.flush_all()
        self.env.invalidate_all()
        orders = lines.order_id
        return (
            [(line.product_qty, line.qty_received) for line in lines],
            sorted((a.sale_line_id.id, a.purchase_line_id.id, a.quantity) for a in lines.procurement_allocation_ids),
            sorted((move.id, move.state, move.product_uom_qty) for move in lines.move_ids),
            len(orders.message_ids),
            self.env["mail.activity"].search_count([("activity_type_id", "=", self.activity_type.id)]),
        )


@tagged("post_install", "-at_install")
class TestCloseRemaining(CloseRemainingCommon):
    def test_close_after_a_partial_receipt(self):
        self._receive(self.po, {self.cart: 30})
        self.assertEqual(self.po.backops_status, "partial")
        action = self.line.with_user(self.buyer).action_backops_close_remaining(reason=REASON)
        self.assertEqual(action["tag"], "display_notification")

        # the line comes down to what was received, and the receipt's open move goes
        self.assertEqual((self.line.product_qty, self.line.qty_received), (30, 30))
        self.assertFalse(self._open_receipts(self.po))
        self.assertEqual(set(self.line.move_ids.mapped("state")), {"done", "cancel"})
        self.assertEqual(self.po.receipt_status, "full")
        self.assertEqual(self.po.backops_status, "fulfilled")

        # the latest promised need loses what will not come
        self.assertFalse(self.need_late.procurement_allocation_ids)
        self.assertEqual(self.need_late.procurement_status, "needs_order")
        self.assertEqual(self.need_late.backops_fulfilment_status, "to_order")
        self.assertEqual(self.need_early.procurement_allocation_ids.quantity, 30)
        self.assertEqual(self.need_early.procurement_status, "on_order")
        self.assertEqual(self._to_order(), self.need_late)

        message = self.po.message_ids.filtered(lambda m: "Closed what the vendor will not ship" in (m.body or ""))
        self.assertEqual(len(message), 1)
        self.assertIn("discontinued the model", message.body)
        self.assertIn(self.need_late._procurement_label(), message.body)
        self.assertEqual(message.author_id, self.buyer.partner_id)

        activity = self._closed_activities(self.order_early | self.order_late)
        self.assertEqual(len(activity), 1)
        self.assertEqual((activity.res_id, activity.user_id), (self.order_late.id, self.other_salesman))
        self.assertIn(self.po.name, activity.summary)
        self.assertIn(self.need_late._procurement_label(), activity.summary)
        self.assertIn("discontinued the model", activity.note)

    def test_short_and_needs_order_latest_promised_first(self):
        self._receive(self.po, {self.cart: 25})
        self.line.with_user(self.buyer).action_backops_close_remaining(reason=REASON)
        self.assertEqual(self.line.product_qty, 25)
        self.assertEqual(self.need_early.procurement_allocation_ids.quantity, 25)
        self.assertEqual(self.need_early.procurement_status, "short")
        self.assertEqual(self.need_late.procurement_status, "needs_order")
        self.assertEqual(self._to_order(), self.need_early | self.need_late)
        # one activity per salesperson and need
        activities = self._closed_activities(self.order_early | self.order_late)
        self.assertEqual(
            {(a.res_id, a.user_id) for a in activities},
            {(self.order_early.id, self.salesman), (self.order_late.id, self.other_salesman)},
        )

    def test_close_with_nothing_received(self):
        self.line.with_user(self.buyer).action_backops_close_remaining(reason=REASON)
        self.assertEqual(self.line.product_qty, 0)
        self.assertFalse(self.line.procurement_allocation_ids)
        self.assertEqual((self.need_early | self.need_late).mapped("procurement_status"), ["needs_order"] * 2)
        self.assertEqual(set(self.po.picking_ids.mapped("state")), {"cancel"})
        # nothing expected any more; Odoo has no receipt status for an order
        # whose receipts are all cancelled
        self.assertEqual(self.po.backops_status, "fulfilled")
        self.assertEqual(len(self._closed_activities(self.order_early | self.order_late)), 2)

    def test_close_in_the_purchase_unit(self):
        order = self._create_sale_order([(self.stool, 24)], user=self.salesman).with_env(self.env)
        need = order.order_line
        po = self._purchase(self.vendor_b, [(need, 24)])  # 2 dozen
        line = po.order_line
        self._receive(po, {self.stool: 6})
        self.assertEqual(line.qty_received, 0.5)
        line.with_user(self.buyer).action_backops_close_remaining(reason=REASON)
        self.assertEqual(line.product_qty, 0.5)
        self.assertEqual(need.procurement_allocation_ids.quantity, 6)
        self.assertEqual(need.procurement_status, "short")
        self.assertFalse(self._open_receipts(po))

    def test_a_started_count_on_the_receipt_is_cancelled_too(self):
        backorder = self._receive(self.po, {self.cart: 30})
        # someone started counting the backorder: Odoo keeps a picked move it empties
        backorder.move_ids.write({"quantity": 5, "picked": True})
        self.line.with_user(self.buyer).action_backops_close_remaining(reason=REASON)
        self.assertEqual(backorder.state, "cancel")
        self.assertFalse(self._open_receipts(self.po))
        self.assertEqual(self.line.qty_received, 30)
        self.assertEqual(self.po.receipt_status, "full")

    def test_wizard_from_the_receiving_page(self):
        other_order = self._create_sale_order([(self.deck, 10)], user=self.salesman).with_env(self.env)
        deck_need = other_order.order_line
        po_decks = self._purchase(self.vendor_a, [(deck_need, 10)])
        self._receive(self.po, {self.cart: 30})
        self._receive(po_decks, {self.deck: 4})
        lines = self.line | po_decks.order_line
        env = self.env(user=self.buyer)
        form = Form(
            env["backops.close.remaining"].with_context(active_model="purchase.order.line", active_ids=lines.ids)
        )
        self.assertEqual(len(form.purchase_line_ids), 2)
        preview = {row.product_id: (row.product_qty, row.qty_received, row.backops_qty_to_close) for row in lines}
        self.assertEqual(preview, {self.cart: (50, 30, 20), self.deck: (10, 4, 6)})
        form.reason = REASON
        action = form.save().action_close()
        self.assertEqual(action["params"]["next"], {"type": "ir.actions.act_window_close"})
        self.assertEqual(lines.mapped("product_qty"), [30, 4])
        self.assertEqual(deck_need.procurement_allocation_ids.quantity, 4)
        self.assertEqual((self.po | po_decks).mapped("backops_status"), ["fulfilled", "fulfilled"])

    def test_the_line_button_opens_the_wizard(self):
        self._receive(self.po, {self.cart: 30})
        action = self.line.with_user(self.buyer).action_backops_close_remaining()
        self.assertEqual(action["res_model"], "backops.close.remaining")
        self.assertEqual(action["target"], "new")
        form = Form.from_action(self.env(user=self.buyer), action)
        self.assertEqual(form.purchase_line_ids[0], self.line)
        form.reason = REASON
        form.save().action_close()
        self.assertEqual(self.line.product_qty, 30)

    def test_the_wizard_refuses_lines_the_user_cannot_read(self):
        other = self.env["res.company"].create({"name": "Other Events Ltd"})
        po = (
            self.env["purchase.order"]
            .with_company(other)
            .create(
                {
                    "partner_id": self.vendor_a.id,
                    "company_id": other.id,
                    "order_line": [Command.create({"product_id": self.cart.id, "product_qty": 3})],
                }
            )
        )
        po.button_confirm()
        env = self.env(user=self.buyer)
        with self.assertRaises(AccessError):
            Form(
                env["backops.close.remaining"].with_context(
                    active_model="purchase.order.line", active_ids=po.order_line.ids
                )
            )
        with self.assertRaises(AccessError):
            env["backops.close.remaining"].create(
                {"purchase_line_ids": [Command.set(po.order_line.ids)], "reason": REASON}
            )
        self.assertEqual(po.order_line.product_qty, 3)

    def test_views_offer_the_button(self):
        receiving = self.env.ref("backops_procurement.purchase_order_line_view_list_receiving")
        self.assertIn('name="action_backops_close_remaining"', receiving.arch)
        arch = self.env["purchase.order"].get_view(view_type="form")["arch"]
        self.assertIn('name="action_backops_close_remaining"', arch)


@tagged("post_install", "-at_install")
class TestCloseRemainingRefusals(CloseRemainingCommon):
    def _assert_refused(self, lines, exception, regex, user=None, reason=REASON):
        before = self._snapshot(lines)
        with self.assertRaisesRegex(exception, regex):
            lines.with_user(user or self.buyer).action_backops_close_remaining(reason=reason)
        self.assertEqual(self._snapshot(lines), before)

    def test_a_draft_rfq_line(self):
        rfq = self._purchase(self.vendor_a, [(self.need_early, 5)], confirm=False)
        self._assert_refused(rfq.order_line, UserError, "not confirmed: change the quantities on the RFQ")

    def test_a_line_received_in_full(self):
        self._receive(self.po, {self.cart: 50})
        self._assert_refused(self.line, UserError, "received in full")

    def test_a_line_with_nothing_left_among_others(self):
        other = self._purchase(self.vendor_b, [(self.need_late, 5)])
        self._receive(other, {self.cart: 5})
        # one line closable, the other received in full: nothing of either changes
        self._assert_refused(self.line | other.order_line, UserError, "received in full")

    def test_a_salesman(self):
        self._assert_refused(self.line, AccessError, "Only Purchase users", user=self.salesman)

    def test_a_stock_user_without_purchase_rights(self):
        self._assert_refused(self.line, AccessError, "Only Purchase users", user=self.stock_user)

    def test_a_line_of_another_company(self):
        other = self.env["res.company"].create({"name": "Other Events Ltd"})
        buyer = new_test_user(
            self.env,
            "backops_close_buyer_2",
            groups="purchase.group_purchase_user",
            company_ids=[Command.set((self.company | other).ids)],
        )
        po = (
            self.env["purchase.order"]
            .with_company(other)
            .create(
                {
                    "partner_id": self.vendor_a.id,
                    "company_id": other.id,
                    "order_line": [Command.create({"product_id": self.cart.id, "product_qty": 3})],
                }
            )
        )
        po.button_confirm()
        # a buyer of both companies working in this one only cannot close it
        lines = po.order_line.with_user(buyer).with_context(allowed_company_ids=self.company.ids)
        before = self._snapshot(po.order_line)
        with self.assertRaises(AccessError):
            lines.action_backops_close_remaining(reason=REASON)
        # nor can a buyer of this company alone
        with self.assertRaises(AccessError):
            po.order_line.with_user(self.buyer).action_backops_close_remaining(reason=REASON)
        self.assertEqual(self._snapshot(po.order_line), before)
        # in its company, it closes
        po.order_line.with_user(buyer).with_context(allowed_company_ids=other.ids).action_backops_close_remaining(
            reason=REASON
        )
        self.assertEqual(po.order_line.product_qty, 0)

    def test_an_empty_reason(self):
        for reason in ("", "   \n", False, 42):
            self._assert_refused(self.line, UserError, "Give the reason", reason=reason)

    def test_a_cancelled_order(self):
        self.po.button_cancel()
        self._assert_refused(self.line, UserError, "is cancelled")

    def test_a_locked_order(self):
        self._receive(self.po, {self.cart: 30})
        self.po.button_done()
        self._assert_refused(self.line, UserError, "is locked: unlock it first")
        self.po.button_unlock()
        self.line.with_user(self.buyer).action_backops_close_remaining(reason=REASON)
        self.assertEqual(self.line.product_qty, 30)

    def test_lines_that_no_longer_exist(self):
        line = self.Line.browse(10**9)
        with self.assertRaisesRegex(UserError, "no longer exist"):
            line.with_user(self.buyer).action_backops_close_remaining(reason=REASON)


@tagged("post_install", "-at_install")
class TestCloseRemainingOdooLinks(FulfilmentCommon):
    def test_an_mto_line_keeps_what_it_received(self):
        mto_route = self.env.ref("stock.route_warehouse0_mto")
        mto_route.active = True
        mto_route.rule_ids.procure_method = "make_to_order"
        buy_route = self.env.ref("purchase_stock.route_warehouse0_buy")
        product = self._create_product(
            "Golf Cart (MTO)",
            sellers=[(self.vendor_a, 150.0)],
            is_storable=True,
            route_ids=[Command.set((mto_route | buy_route).ids)],
        )
        order = self._create_sale_order([(product, 10)], user=self.salesman).with_env(self.env)
        need = order.order_line
        allocation = need.procurement_allocation_ids
        self.assertTrue(allocation.is_automatic)
        po = allocation.purchase_order_id
        po.button_confirm()
        self._receive(po, {product: 4})
        line = po.order_line
        line.with_user(self.buyer).action_backops_close_remaining(reason=REASON)
        self.assertEqual(line.product_qty, 4)
        # Odoo's own allocation follows the line: what was received stays covered
        self.assertEqual(need.procurement_allocation_ids, allocation)
        self.assertTrue(allocation.is_automatic)
        self.assertEqual(allocation.quantity, 4)
        self.assertEqual(need.procurement_status, "short")
        self.assertEqual(po.receipt_status, "full")
        self.assertFalse(po.picking_ids.filtered(lambda p: p.state not in ("done", "cancel")))
        # the customer's delivery keeps what came and waits for the rest from stock
        delivery = self._delivery(order)
        self.assertEqual(delivery.move_ids.quantity, 4)
        activity = self.env["mail.activity"].search(
            [
                ("res_model", "=", "sale.order"),
                ("res_id", "=", order.id),
                ("activity_type_id", "=", self.env.ref("backops_procurement.mail_activity_purchase_closed").id),
            ]
        )
        self.assertEqual(activity.user_id, self.salesman)

    def test_lowering_a_confirmed_order_passes_the_approval_gate(self):
        self.env["backops.approval.tier"].create(
            {"name": "Carts", "min_amount": 1000, "group_id": self.env.ref("purchase.group_purchase_manager").id}
        )
        order = self._create_sale_order([(self.cart, 10)])
        po = self._purchase(self.vendor_a, [(order.order_line, 10)], confirm=False)
        po.with_user(self.buyer).button_confirm()
        self.assertEqual(po.state, "to approve")
        po.with_user(self.purchase_manager).button_approve()
        self.assertEqual(po.state, "purchase")
        self._receive(po, {self.cart: 2})
        po.order_line.with_user(self.buyer).action_backops_close_remaining(reason=REASON)
        self.assertEqual(po.order_line.product_qty, 2)
        self.assertEqual(po.state, "purchase")


@tagged("post_install", "-at_install")
class TestCloseRemainingQueries(FulfilmentCommon):
    def _lines(self, count, allocate):
        """``count`` lines over two confirmed orders, 3 ordered and 1 received on
        each; with ``allocate``, each covers a need of its own."""
        products = self.env["product.product"].create(
            [
                {
                    "name": f"Crate {i}",
                    "type": "consu",
                    "is_storable": True,
                    "subject_to_procurement": True,
                    "uom_id": self.uom_unit.id,
                    "uom_po_id": self.uom_unit.id,
                }
                for i in range(count)
            ]
        )
        orders = self.env["purchase.order"].create(
            [
                {
                    "partner_id": vendor.id,
                    "order_line": [
                        Command.create({"product_id": product.id, "product_qty": 3, "price_unit": 1.0})
                        for product in products[index::2]
                    ],
                }
                for index, vendor in enumerate((self.vendor_a, self.vendor_b))
            ]
        )
        if allocate:
            sale = self._create_sale_order([(product, 3) for product in products], user=self.salesman).with_env(
                self.env
            )
            for need in sale.order_line:
                line = orders.order_line.filtered(lambda line, p=need.product_id: line.product_id == p)
                self._allocate(need, line, 3)
        orders.button_confirm()
        lines = orders.order_line
        self.env["purchase.order.line"]._backops_receive({line.id: 1 for line in lines})
        self.env.flush_all()
        self.env.invalidate_all()
        # as an RPC call or a list's selection gets them: by ids
        return self.env["purchase.order.line"].browse(lines.ids)

    def _count(self, function):
        self.env.flush_all()
        self.env.invalidate_all()
        before = self.env.cr.sql_log_count
        function()
        self.env.flush_all()
        return self.env.cr.sql_log_count - before

    def _ours(self, count):
        lines = self._lines(count, allocate=True)
        queries = self._count(lambda: lines._backops_close_remaining(REASON))
        self.assertEqual(set(lines.order_id.mapped("backops_status")), {"fulfilled"})
        return queries

    def _odoo(self, count):
        lines = self._lines(count, allocate=False)
        queries = self._count(lambda: lines.write({"product_qty": 1}))
        self.assertEqual(set(lines.order_id.mapped("backops_status")), {"fulfilled"})
        return queries

    def test_closing_grows_less_than_odoos_write(self):
        ours_small, odoo_small = self._ours(5), self._odoo(5)
        ours_large, odoo_large = self._ours(20), self._odoo(20)
        self.assertLess(ours_large - ours_small, odoo_large - odoo_small)
