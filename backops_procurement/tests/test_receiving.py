import uuid

from lxml import etree

from odoo import Command
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import Form, new_test_user, tagged
from odoo.tools import mute_logger
from odoo.tools.safe_eval import safe_eval

from .common import CommittedCase, ProcurementCommon


class ReceivingCommon(ProcurementCommon):
    """Two confirmed purchase orders covering a festival's needs: golf carts from
    both vendors, stage decks, and chairs bought by the dozen."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.stock_user = new_test_user(
            cls.env, "backops_receiver", groups="stock.group_stock_user", name="Receiver Rae"
        )
        cls.order = cls._create_sale_order(
            ["Transport", (cls.golf_cart, 50), "Staging", (cls.stage_deck, 10), (cls.chair, 24)]
        )
        cls.po_a = cls._create_rfq(cls.vendor_a, [(cls.golf_cart, 30), (cls.stage_deck, 10)])
        cls.po_b = cls._create_rfq(cls.vendor_b, [(cls.golf_cart, 20), (cls.chair, 2, cls.uom_dozen)])
        cls._allocate(cls._line(cls.order, cls.golf_cart), cls._line(cls.po_a, cls.golf_cart), 30)
        cls._allocate(cls._line(cls.order, cls.golf_cart), cls._line(cls.po_b, cls.golf_cart), 20)
        cls._allocate(cls._line(cls.order, cls.stage_deck), cls._line(cls.po_a, cls.stage_deck), 10)
        cls._allocate(cls._line(cls.order, cls.chair), cls._line(cls.po_b, cls.chair), 24)
        (cls.po_a | cls.po_b).button_confirm()
        cls.carts_a = cls._line(cls.po_a, cls.golf_cart)
        cls.decks_a = cls._line(cls.po_a, cls.stage_deck)
        cls.carts_b = cls._line(cls.po_b, cls.golf_cart)
        cls.chairs_b = cls._line(cls.po_b, cls.chair)
        cls.PurchaseLine = cls.env["purchase.order.line"]

    def _receipt(self, order):
        return order.picking_ids.filtered(lambda p: not p.backorder_id)

    def _wizard(self, lines, user=None):
        env = self.env(user=user) if user else self.env
        return Form(env["backops.receive"].with_context(active_model="purchase.order.line", active_ids=lines.ids))

    def _assert_nothing_received(self):
        lines = self.po_a.order_line | self.po_b.order_line
        self.assertEqual(lines.mapped("qty_received"), [0.0] * len(lines))
        self.assertEqual(set((self.po_a | self.po_b).picking_ids.mapped("state")), {"assigned"})
        self.assertEqual(len((self.po_a | self.po_b).picking_ids), 2)


@tagged("post_install", "-at_install")
class TestReceiving(ReceivingCommon):
    def test_receive_full_over_two_orders_in_one_call(self):
        lines = self.po_a.order_line | self.po_b.order_line
        action = lines.action_backops_receive_full()
        self.assertEqual(action["tag"], "display_notification")
        self.assertEqual(lines.mapped("qty_received"), [30.0, 10.0, 20.0, 2.0])
        receipts = (self.po_a | self.po_b).picking_ids
        self.assertEqual(len(receipts), 2)
        self.assertEqual(set(receipts.mapped("state")), {"done"})
        self.assertFalse(receipts.backorder_ids)
        self.assertEqual((self.po_a | self.po_b).mapped("receipt_status"), ["full", "full"])
        self.assertEqual((self.po_a | self.po_b).mapped("backops_status"), ["fulfilled", "fulfilled"])

    def test_receive_full_of_some_lines_leaves_the_others_on_a_backorder(self):
        self.carts_a.action_backops_receive_full()
        receipt = self._receipt(self.po_a)
        self.assertEqual(receipt.state, "done")
        self.assertEqual(receipt.move_ids.product_id, self.golf_cart)
        backorder = receipt.backorder_ids
        self.assertEqual(backorder.move_ids.product_id, self.stage_deck)
        self.assertEqual(backorder.move_ids.product_uom_qty, 10)
        self.assertEqual(self.carts_a.qty_received, 30)
        self.assertEqual(self.decks_a.qty_received, 0)
        self.assertEqual(self.po_a.backops_status, "partial")

    def test_receive_partial_leaves_odoo_backorder_with_the_rest(self):
        form = self._wizard(self.carts_a | self.decks_a)
        self.assertEqual(len(form.line_ids), 2)
        with form.line_ids.edit(0) as row:
            self.assertEqual(row.product_id, self.golf_cart)
            self.assertEqual(row.expected_qty, 30)
            self.assertEqual(row.quantity, 30)
            row.quantity = 12
        with form.line_ids.edit(1) as row:
            row.quantity = 0  # nothing of the decks now
        action = form.save().action_receive()
        self.assertEqual(action["params"]["next"], {"type": "ir.actions.act_window_close"})
        self.assertEqual(self.carts_a.qty_received, 12)
        self.assertEqual(self.decks_a.qty_received, 0)
        receipt = self._receipt(self.po_a)
        self.assertEqual(receipt.state, "done")
        backorder = receipt.backorder_ids
        self.assertEqual(backorder.state, "assigned")
        self.assertEqual(
            {(move.product_id, move.product_uom_qty) for move in backorder.move_ids},
            {(self.golf_cart, 18), (self.stage_deck, 10)},
        )
        self.assertEqual(self.carts_a.backops_qty_to_receive, 18)
        self.assertEqual(self.po_a.receipt_status, "partial")
        self.assertEqual(self.po_a.backops_status, "partial")
        # the rest, from the backorder
        (self.carts_a | self.decks_a).action_backops_receive_full()
        self.assertEqual(self.carts_a.qty_received, 30)
        self.assertEqual(backorder.state, "done")
        self.assertFalse(backorder.backorder_ids)
        self.assertEqual(self.po_a.backops_status, "fulfilled")

    def test_receive_in_the_purchase_unit(self):
        move = self._receipt(self.po_b).move_ids.filtered(lambda m: m.product_id == self.chair)
        self.assertEqual((move.product_uom, move.product_uom_qty), (self.uom_unit, 24))
        self.PurchaseLine._backops_receive({self.chairs_b.id: 0.5})
        self.assertEqual(self.chairs_b.qty_received, 0.5)
        self.assertEqual((move.state, move.quantity), ("done", 6))
        backorder_move = self._receipt(self.po_b).backorder_ids.move_ids.filtered(lambda m: m.product_id == self.chair)
        self.assertEqual(backorder_move.product_uom_qty, 18)
        self.assertEqual(self.chairs_b.backops_qty_to_receive, 1.5)
        with self.assertRaisesRegex(UserError, r"only 1.5 Dozens are still expected"):
            self.PurchaseLine._backops_receive({self.chairs_b.id: 2})
        self.chairs_b.action_backops_receive_full()
        self.assertEqual(self.chairs_b.qty_received, 2)
        self.assertEqual(backorder_move.quantity, 18)

    def test_a_quantity_the_receipt_cannot_count_is_refused(self):
        self.uom_unit.rounding = 1.0
        with self.assertRaisesRegex(UserError, "cannot be received exactly"):
            self.PurchaseLine._backops_receive({self.carts_b.id: 20, self.chairs_b.id: 0.1})
        self._assert_nothing_received()

    def test_bad_input_receives_nothing(self):
        draft = self._create_rfq(self.vendor_a, [(self.golf_cart, 5)])
        cancelled = self._create_rfq(self.vendor_a, [(self.golf_cart, 5)])
        cancelled.button_confirm()
        cancelled.button_cancel()
        service = self._create_product("Cart Delivery", sellers=[(self.vendor_a, 20.0)], type="service")
        service_po = self._create_rfq(self.vendor_a, [(service, 1)])
        service_po.button_confirm()
        cases = [
            (UserError, "only 30.0 Units are still expected", {self.carts_a.id: 31}),
            (ValidationError, "cannot be negative", {self.carts_a.id: -1}),
            (ValidationError, "must be a number", {self.carts_a.id: float("nan")}),
            (ValidationError, "must be a number", {self.carts_a.id: float("inf")}),
            (ValidationError, "beyond any real quantity", {self.carts_a.id: 1e300}),
            (ValidationError, "must be a number", {self.carts_a.id: "3"}),
            (UserError, "is cancelled", {cancelled.order_line.id: 5}),
            (UserError, "is not confirmed yet", {draft.order_line.id: 5}),
            (UserError, "not received through receipts", {service_po.order_line.id: 1}),
            (UserError, "no longer exist", {self.carts_a.id: 1, 10**9: 1}),
            (ValidationError, "is not a purchase line", {"x": 1}),
        ]
        for exception, message, quantities in cases:
            # a good line given with the bad one is not received either
            quantities = {self.carts_b.id: 20, **quantities}
            with self.subTest(message=message, quantities=quantities):
                with self.assertRaisesRegex(exception, message):
                    self.PurchaseLine._backops_receive(quantities)
                self._assert_nothing_received()
        for quantities in ({self.carts_a.id: 0, self.decks_a.id: 0.0}, {}):
            with self.assertRaisesRegex(UserError, "Nothing to receive"):
                self.PurchaseLine._backops_receive(quantities)
        # Receive Full on a cancelled order's line says so too
        with self.assertRaisesRegex(UserError, "is cancelled"):
            (self.carts_a | cancelled.order_line).action_backops_receive_full()
        self._assert_nothing_received()
        with self.assertRaisesRegex(UserError, "is not confirmed yet"):
            self._wizard(self.carts_a | draft.order_line)

    def test_more_than_the_open_receipts_expect_is_refused(self):
        # a receipt cancelled by hand: the line still expects its goods, no receipt does
        self._receipt(self.po_b).action_cancel()
        self.assertEqual(self.carts_b.backops_qty_to_receive, 20)
        with self.assertRaisesRegex(UserError, "its open receipts expect 0.0 Units"):
            self.carts_b.action_backops_receive_full()

    def test_client_context_does_not_drop_the_backorder(self):
        form = self._wizard(self.carts_a)
        with form.line_ids.edit(0) as row:
            row.quantity = 10
        wizard = form.save()
        receipt = self._receipt(self.po_a)
        wizard.with_context(cancel_backorder=True, picking_ids_not_to_backorder=receipt.ids).action_receive()
        self.assertEqual(receipt.state, "done")
        self.assertEqual(
            {(move.product_id, move.product_uom_qty) for move in receipt.backorder_ids.move_ids},
            {(self.golf_cart, 20), (self.stage_deck, 10)},
        )

    def test_needs_move_on_at_once(self):
        marquee = self._create_product("Marquee", sellers=[(self.vendor_a, 900.0)], is_storable=True)
        order = self._create_sale_order([(marquee, 2)])
        delivery = order.picking_ids
        self.assertEqual(delivery.state, "confirmed")
        po = self._create_rfq(self.vendor_a, [(marquee, 2)])
        self._allocate(order.order_line, po.order_line, 2)
        po.button_confirm()
        po.order_line.with_user(self.stock_user).action_backops_receive_full()
        self.assertEqual(delivery.state, "assigned")

    def test_needs_covered_and_expected_date(self):
        self.assertEqual(self.carts_a.backops_needs_covered, f"{self.order.name} · Transport")
        self.assertEqual(self.chairs_b.backops_needs_covered, f"{self.order.name} · Staging")
        self.assertEqual(self.carts_a.backops_expected_date, self.carts_a.date_planned)
        # the Receiving list as an Inventory user reads it
        PurchaseLine = self.PurchaseLine.with_user(self.stock_user)
        view = PurchaseLine.get_view(self.env.ref("backops_procurement.purchase_order_line_view_list_receiving").id)
        fields = list({node.get("name") for node in etree.fromstring(view["arch"]).iter("field")})
        rows = PurchaseLine.search_read([("backops_qty_to_receive", ">", 0), ("id", "=", self.carts_a.id)], fields)
        self.assertEqual(rows[0]["backops_needs_covered"], f"{self.order.name} · Transport")
        self.assertEqual(rows[0]["backops_qty_to_receive"], 30)


@tagged("post_install", "-at_install")
class TestReceivingSearch(ReceivingCommon):
    def test_search_on_the_quantity_to_receive(self):
        draft = self._create_rfq(self.vendor_a, [(self.golf_cart, 5)])
        mine = self.po_a.order_line | self.po_b.order_line | draft.order_line

        def search(operator, value):
            return self.PurchaseLine.search([("backops_qty_to_receive", operator, value), ("id", "in", mine.ids)])

        self.assertEqual(search(">", 0), self.po_a.order_line | self.po_b.order_line)
        self.carts_a.action_backops_receive_full()
        self.PurchaseLine._backops_receive({self.carts_b.id: 5})
        self.assertEqual(search(">", 0), self.decks_a | self.carts_b | self.chairs_b)
        self.assertEqual(search("=", 0), self.carts_a | draft.order_line)
        self.assertEqual(search("!=", 0), self.decks_a | self.carts_b | self.chairs_b)
        self.assertEqual(search(">=", 10), self.decks_a | self.carts_b)
        self.assertEqual(search("=", 15), self.carts_b)
        self.assertEqual(search("<", 2.5), self.carts_a | self.chairs_b | draft.order_line)
        # the search and the compute agree
        for operator, value in ((">", 0), ("=", 0), ("=", 15), (">=", 10)):
            found = search(operator, value)
            self.assertEqual(
                found, mine.filtered_domain([("backops_qty_to_receive", operator, value)]), (operator, value)
            )
        for operator, value in (("in", [1]), ("ilike", "1"), (">", "1"), (">", float("nan")), ("=", True)):
            with self.subTest(operator=operator, value=value), self.assertRaises(UserError):
                search(operator, value)

    def test_receiving_action_lists_lines_on_order(self):
        action = self.env["ir.actions.act_window"]._for_xml_id("backops_procurement.action_procurement_receiving")
        lines = self.PurchaseLine.search(safe_eval(action["domain"]))
        self.assertLessEqual(self.po_a.order_line | self.po_b.order_line, lines)
        self.chairs_b.action_backops_receive_full()
        lines = self.PurchaseLine.search([("backops_qty_to_receive", ">", 0)])
        self.assertNotIn(self.chairs_b, lines)
        self.assertIn(self.carts_b, lines)


@tagged("post_install", "-at_install")
class TestReceivingAccess(ReceivingCommon):
    def test_salesman_cannot_receive(self):
        lines = (self.carts_a | self.carts_b).with_user(self.salesman)
        with self.assertRaisesRegex(AccessError, "Only Inventory users can receive"):
            lines.action_backops_receive_full()
        with self.assertRaisesRegex(AccessError, "Only Inventory users can receive"):
            self.PurchaseLine.with_user(self.buyer)._backops_receive({self.carts_a.id: 1})
        # the wizard's model itself is the Inventory users'
        with self.assertRaises(AccessError):
            self._wizard(self.carts_a, user=self.buyer)
        self._assert_nothing_received()

    def test_stock_user_receives(self):
        (self.carts_a | self.carts_b).with_user(self.stock_user).action_backops_receive_full()
        self.assertEqual((self.carts_a | self.carts_b).mapped("qty_received"), [30, 20])
        form = self._wizard(self.decks_a, user=self.stock_user)
        with form.line_ids.edit(0) as row:
            row.quantity = 4
        form.save().action_receive()
        self.assertEqual(self.decks_a.qty_received, 4)

    def test_lines_the_user_cannot_read_are_refused(self):
        other = self.env["res.company"].create({"name": "Other Events Ltd"})
        self.env.user.company_ids += other
        po = (
            self.env["purchase.order"]
            .with_company(other)
            .create(
                {
                    "partner_id": self.vendor_a.id,
                    "company_id": other.id,
                    "order_line": [Command.create({"product_id": self.golf_cart.id, "product_qty": 3})],
                }
            )
        )
        po.button_confirm()
        with self.assertRaises(AccessError):
            self.PurchaseLine.with_user(self.stock_user)._backops_receive({po.order_line.id: 3})
        with self.assertRaises(AccessError):
            self._wizard(po.order_line, user=self.stock_user)
        wizard = self.env["backops.receive"].with_user(self.stock_user).create({})
        with self.assertRaises(AccessError):
            self.env["backops.receive.line"].with_user(self.stock_user).create(
                {"wizard_id": wizard.id, "purchase_line_id": po.order_line.id, "quantity": 3}
            )
        self.assertEqual(po.order_line.qty_received, 0)


@tagged("post_install", "-at_install")
class TestReceivingStatus(ReceivingCommon):
    def test_status_labels(self):
        labels = dict(self.env["purchase.order"]._fields["backops_status"]._description_selection(self.env))
        self.assertEqual(labels["partial"], "Received Partial")
        self.assertEqual(labels["fulfilled"], "Received Full")

    def test_status_follows_odoo_receipt_status(self):
        self.assertEqual((self.po_a.receipt_status, self.po_a.backops_status), ("pending", "ordered"))
        self.PurchaseLine._backops_receive({self.carts_a.id: 1})
        self.assertEqual((self.po_a.receipt_status, self.po_a.backops_status), ("partial", "partial"))
        self.po_a.order_line.action_backops_receive_full()
        self.assertEqual((self.po_a.receipt_status, self.po_a.backops_status), ("full", "fulfilled"))

    def test_orders_without_receipts_follow_the_quantities(self):
        service = self._create_product("Cart Delivery", sellers=[(self.vendor_a, 20.0)], type="service")
        po = self._create_rfq(self.vendor_a, [(service, 4)])
        po.button_confirm()
        self.assertFalse(po.receipt_status)
        self.assertEqual(po.backops_status, "ordered")
        po.order_line.qty_received = 1
        self.assertEqual(po.backops_status, "partial")
        po.order_line.qty_received = 4
        self.assertEqual(po.backops_status, "fulfilled")


@tagged("post_install", "-at_install")
class TestReceivingQueries(ProcurementCommon):
    """Receive Full validates every receipt concerned at once: what it adds to Odoo's
    own validation of the same receipts does not grow with the number of lines."""

    def _orders(self, count):
        products = self.env["product.product"].create(
            [
                {"name": f"Crate {i}", "type": "consu", "uom_id": self.uom_unit.id, "uom_po_id": self.uom_unit.id}
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
        orders.button_confirm()
        self.env.flush_all()
        self.env.invalidate_all()
        return orders

    def _count(self, function):
        self.env.flush_all()
        self.env.invalidate_all()
        before = self.env.cr.sql_log_count
        function()
        self.env.flush_all()
        return self.env.cr.sql_log_count - before

    def _ours(self, count):
        orders = self._orders(count)
        queries = self._count(lambda: orders.order_line.action_backops_receive_full())
        self.assertEqual(set(orders.mapped("backops_status")), {"fulfilled"})
        return queries

    def _odoo(self, count):
        orders = self._orders(count)
        # with the context Receive Full runs with (it drops the caller's; with_context
        # given a dict replaces the context)
        # pylint: disable-next=context-overridden
        queries = self._count(lambda: orders.picking_ids.with_context({}).button_validate())
        self.assertEqual(set(orders.mapped("backops_status")), {"fulfilled"})
        return queries

    def test_receive_full_queries_do_not_grow_beyond_odoo(self):
        ours_small, odoo_small = self._ours(5), self._odoo(5)
        ours_large, odoo_large = self._ours(20), self._odoo(20)
        # what receiving adds to Odoo's validation is the same for 5 lines as for 20
        self.assertLessEqual(ours_large - odoo_large, ours_small - odoo_small + 3)
        self.assertLessEqual(ours_large, odoo_large * 1.2)


@tagged("post_install", "-at_install")
class TestConcurrentReceiving(CommittedCase):
    """Two stock users receive the same line at the same time: the second waits for
    the first, fails to serialize (Odoo retries it) and its retry sees what the
    first received. The records are committed; the line is received in full at the
    end, so that nothing of it stays open."""

    def setUp(self):
        super().setUp()
        tag = uuid.uuid4().hex[:8]
        with self._env() as env:
            user = new_test_user(env, f"race_receiver_{tag}", groups="stock.group_stock_user")
            vendor = env["res.partner"].create({"name": f"Race Vendor {tag}"})
            product = env["product.product"].create({"name": f"Race Crate {tag}", "type": "consu"})
            order = env["purchase.order"].create(
                {"partner_id": vendor.id, "order_line": [Command.create({"product_id": product.id, "product_qty": 30})]}
            )
            order.button_confirm()
            self.ids = {"user": user.id, "product": product.id, "line": order.order_line.id}
        self.addCleanup(self._receive_the_rest)

    def _receive_the_rest(self):
        with self._env() as env:
            line = env["purchase.order.line"].browse(self.ids["line"])
            if line.backops_qty_to_receive:
                line.action_backops_receive_full()
            env["product.product"].browse(self.ids["product"]).active = False
            env["res.users"].browse(self.ids["user"]).active = False

    def _receive(self, cr, quantity):
        with self._env(uid=self.ids["user"], cr=cr) as env:
            env["purchase.order.line"]._backops_receive({self.ids["line"]: quantity})
            env.flush_all()

    @mute_logger("odoo.sql_db")
    def test_the_second_receipt_waits_for_the_first(self):
        outcome = self._race(lambda cr: self._receive(cr, 20), lambda cr: self._receive(cr, 20))
        self.assertEqual(outcome, "retry")
        with self.registry.cursor() as cr:
            with self.assertRaisesRegex(UserError, "only 10.0 Units are still expected"):
                self._receive(cr, 20)
            cr.rollback()
        with self._env() as env:
            self.assertEqual(env["purchase.order.line"].browse(self.ids["line"]).qty_received, 20)
