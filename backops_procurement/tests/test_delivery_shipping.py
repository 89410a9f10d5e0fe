import ast
from datetime import datetime, timedelta

from lxml import html

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import Form, new_test_user, tagged

from .fulfilment_common import FulfilmentCommon

NOT_QUANTITIES = (float("nan"), float("inf"), float("-inf"), -1.0)


class DeliveryCommon(FulfilmentCommon):
    """Two destinations of one festival, goods in stock on two shelves, and a
    warehouse user with Inventory rights only."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.warehouse_user = new_test_user(
            cls.env, "backops_delivery_wes", groups="stock.group_stock_user", name="Warehouse Wes"
        )
        cls.main_gate = cls.env["res.partner"].create(
            {
                "name": "Main Stage Gate",
                "parent_id": cls.customer.id,
                "type": "delivery",
                "street": "1 Pier Road",
                "city": "Portside",
            }
        )
        cls.shelf_a = cls.env["stock.location"].create({"name": "Shelf A", "location_id": cls.stock.id})
        cls.shelf_b = cls.env["stock.location"].create({"name": "Shelf B", "location_id": cls.stock.id})

    @classmethod
    def _stock(cls, product, quantity, location=None):
        cls.env["stock.quant"]._update_available_quantity(product, location or cls.stock, quantity)

    @classmethod
    def _order(cls, lines, shipping=None, user=None):
        order = cls._create_sale_order(lines, confirm=False, user=user)
        if shipping:
            order.partner_shipping_id = shipping
        order.action_confirm()
        return order

    def _deliver_form(self, lines, user=None):
        env = self.env(user=user or self.warehouse_user)
        return Form(env["backops.deliver"].with_context(active_model="sale.order.line", active_ids=lines.ids))

    def _return_form(self, lines, user=None):
        env = self.env(user=user or self.warehouse_user)
        return Form(env["backops.delivery.return"].with_context(active_model="sale.order.line", active_ids=lines.ids))

    @staticmethod
    def _set_rows(form, quantities, key="sale_line_id"):
        """``quantities``: {record of the rows' ``key``: quantity}."""
        ids = [row[key] for row in form.line_ids._records]
        for record, quantity in quantities.items():
            with form.line_ids.edit(ids.index(record.id)) as row:
                row.quantity = quantity

    def _done(self, order):
        return order.picking_ids.filtered(lambda p: p.state == "done" and p.picking_type_code == "outgoing")


@tagged("post_install", "-at_install")
class TestDeliveryTabs(DeliveryCommon):
    def _listed(self, xmlid):
        action = self.env.ref(xmlid)
        Line = self.env["sale.order.line"].with_user(self.warehouse_user)
        return Line.search(ast.literal_eval(action.domain))

    def test_ready_and_delivered_tabs(self):
        self._stock(self.deck, 4)
        self._stock(self.cart, 4)
        shipped = self._order([(self.cart, 2)])
        self._validate(self._delivery(shipped), {self.cart: 2})
        staged = self._order(["Staging", (self.deck, 4), "Transport", (self.cart, 5)])
        waiting = self._order([(self.stool, 3)])  # nothing in stock
        # 2 carts left for 5 ordered: partly ready
        self.assertEqual(self._line(staged, self.cart).backops_qty_ready, 2)
        split = self._order([(self.deck, 3)])
        self._stock(self.deck, 3)
        self._delivery(split).action_assign()
        self._validate(self._delivery(split), {self.deck: 1})  # 1 delivered, 2 ready on the backorder
        cancelled = self._order([(self.deck, 1)])
        self._stock(self.deck, 1)
        self._delivery(cancelled).action_assign()
        cancelled._action_cancel()

        ready = self._listed("backops_procurement.action_delivery_ready")
        delivered = self._listed("backops_procurement.action_delivery_done")
        mine = (staged | waiting | shipped | split | cancelled).order_line
        self.assertEqual(ready & mine, self._line(staged, self.deck) | self._line(staged, self.cart) | split.order_line)
        self.assertEqual(delivered & mine, shipped.order_line | split.order_line)
        self.assertEqual(self._line(split, self.deck).backops_fulfilment_status, "ready")

    def test_menus_are_for_inventory_users(self):
        menu = self.env.ref("backops_procurement.menu_procurement_delivery_root")
        self.assertEqual(menu.parent_id, self.env.ref("backops_procurement.menu_procurement_root"))
        self.assertEqual(menu.groups_id, self.env.ref("stock.group_stock_user"))
        self.assertEqual(
            [child.action for child in menu.child_id.sorted("sequence")],
            [
                self.env.ref("backops_procurement.action_delivery_ready"),
                self.env.ref("backops_procurement.action_delivery_done"),
            ],
        )
        # an Inventory user opens both lists
        Line = self.env["sale.order.line"].with_user(self.warehouse_user)
        for xmlid in ("backops_procurement.action_delivery_ready", "backops_procurement.action_delivery_done"):
            action = self.env.ref(xmlid)
            views = Line.get_views([(action.view_ids.view_id.id, "list"), (action.search_view_id.id, "search")])
            self.assertIn("backops_shipping_partner_id", views["views"]["list"]["arch"])
        # Odoo's own list of sale lines is still the default one
        default_list = self.env["sale.order.line"].get_view(view_type="list")
        self.assertNotIn("action_open_backops_deliver", default_list["arch"])


@tagged("post_install", "-at_install")
class TestDeliveryDocuments(DeliveryCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._stock(cls.deck, 3, cls.shelf_a)
        cls._stock(cls.deck, 2, cls.shelf_b)
        cls._stock(cls.cart, 4, cls.shelf_a)
        cls.to_gate = cls._order(["Staging", (cls.deck, 5), "Transport", (cls.cart, 2)], shipping=cls.main_gate)
        # the customer's own address, not its delivery contact Odoo proposes
        cls.to_office = cls._order([(cls.cart, 2)], shipping=cls.customer)
        cls.lines = (cls.to_gate | cls.to_office).order_line.filtered("product_id")

    def _documents(self, report, lines, user=None):
        env = self.env(user=user or self.warehouse_user)
        content, _type = env["ir.actions.report"]._render_qweb_html(report, lines.ids)
        tree = html.fromstring(content)
        return {
            int(node.get("data-partner-id")): " ".join(node.text_content().split())
            for node in tree.xpath("//div[contains(@class, 'backops_delivery_document')]")
        }

    def test_pick_list_one_document_per_destination(self):
        documents = self._documents("backops_procurement.report_pick_list", self.lines)
        self.assertEqual(set(documents), {self.main_gate.id, self.customer.id})
        gate = documents[self.main_gate.id]
        self.assertIn("Pick List", gate)
        self.assertIn("1 Pier Road", gate)
        self.assertIn(self.to_gate.name, gate)
        self.assertNotIn(self.to_office.name, gate)
        for text in ("Staging", "Transport", "Riser Deck", "Fleet Golf Cart"):
            self.assertIn(text, gate)
        # sections in the order's order, the deck's reservation on both shelves
        self.assertLess(gate.index("Staging"), gate.index("Riser Deck"))
        self.assertLess(gate.index("Riser Deck"), gate.index("Transport"))
        self.assertIn(f"{self.shelf_a.complete_name}: 3.00", gate)
        self.assertIn(f"{self.shelf_b.complete_name}: 2.00", gate)
        office = documents[self.customer.id]
        self.assertIn(self.to_office.name, office)
        self.assertNotIn("Riser Deck", office)
        self.assertIn(f"{self.shelf_a.complete_name}: 2.00", office)

    def test_packing_list_ready_and_shipped(self):
        self._validate(self._delivery(self.to_office), {self.cart: 1})
        documents = self._documents("backops_procurement.report_packing_list", self.lines)
        self.assertEqual(set(documents), {self.main_gate.id, self.customer.id})
        office = documents[self.customer.id]
        self.assertIn("Packing List", office)
        # ordered 2, ready 1, shipped 1
        self.assertRegex(office, r"Fleet Golf Cart 2\.00 1\.00 1\.00 Units")
        self.assertNotIn("Shelf A", office)
        self.assertIn("Staging", documents[self.main_gate.id])

    def test_print_buttons_return_the_reports(self):
        lines = self.lines.with_user(self.warehouse_user)
        action = lines.action_print_backops_pick_list()
        self.assertEqual(action["report_name"], "backops_procurement.report_pick_list")
        self.assertEqual(action["context"]["active_ids"], lines.ids)
        self.assertEqual(
            lines.action_print_backops_packing_list()["report_name"], "backops_procurement.report_packing_list"
        )

    def test_lines_the_user_cannot_read_are_refused(self):
        # a salesperson reads their own orders only
        with self.assertRaises(AccessError):
            self._documents("backops_procurement.report_pick_list", self.lines, user=self.salesman)

    def test_query_count_does_not_grow_per_line(self):
        Report = self.env["report.backops_procurement.report_pick_list"]
        orders = [self._order([(self.cart, 1)]) for _ in range(6)]
        small = self.to_office.order_line
        large = small | self.env["sale.order.line"].concat(*(order.order_line for order in orders))
        counts = []
        for lines in (small, large):
            self.env.invalidate_all()
            before = self.env.cr.sql_log_count
            Report._get_report_values(lines.ids)
            counts.append(self.env.cr.sql_log_count - before)
        self.assertLessEqual(counts[1], counts[0] + 2)


@tagged("post_install", "-at_install")
class TestDeliverShip(DeliveryCommon):
    def setUp(self):
        super().setUp()
        self._stock(self.cart, 5)
        self._stock(self.deck, 4)
        self.order = self._order(["Staging", (self.deck, 4), "Transport", (self.cart, 5)])
        self.deck_line = self._line(self.order, self.deck)
        self.cart_line = self._line(self.order, self.cart)
        self.delivery = self._delivery(self.order)

    def test_partial_deliver_leaves_odoo_backorder(self):
        ship_date = datetime.now().replace(microsecond=0) - timedelta(days=2)
        form = self._deliver_form(self.cart_line | self.deck_line)
        rows = {row["sale_line_id"]: row for row in form.line_ids._records}
        self.assertEqual((rows[self.cart_line.id]["ready_qty"], rows[self.cart_line.id]["quantity"]), (5, 5))
        self._set_rows(form, {self.cart_line: 3})
        form.ship_date = ship_date
        form.save().action_deliver()

        self.assertEqual(self.delivery.state, "done")
        self.assertEqual(self.cart_line.qty_delivered, 3)
        self.assertEqual(self.deck_line.qty_delivered, 4)
        backorder = self.delivery.backorder_ids
        self.assertEqual(backorder.move_ids.product_id, self.cart)
        self.assertEqual(backorder.move_ids.product_uom_qty, 2)
        # the actual ship date is the delivery's; Odoo's done date stays the validation's
        self.assertEqual(self.delivery.backops_ship_date, ship_date)
        self.assertGreater(self.delivery.date_done, ship_date + timedelta(days=1))
        self.assertEqual(self.deck_line.backops_fulfilment_status, "delivered")
        self.assertEqual(self.cart_line.backops_fulfilment_status, "ready")
        self.assertEqual(self.cart_line.backops_qty_ready, 2)

        # the rest ships from the backorder
        self._deliver_form(self.cart_line).save().action_deliver()
        self.assertEqual(backorder.state, "done")
        self.assertEqual(self.cart_line.backops_fulfilment_status, "delivered")
        self.assertTrue(self.order.backops_all_delivered)

    def test_lines_not_selected_stay_on_the_backorder(self):
        self._deliver_form(self.deck_line).save().action_deliver()
        self.assertEqual(self.deck_line.qty_delivered, 4)
        self.assertEqual(self.cart_line.qty_delivered, 0)
        self.assertEqual(self.delivery.backorder_ids.move_ids.product_id, self.cart)
        self.assertEqual(self.cart_line.backops_qty_ready, 5)

    def test_partly_ready_line_ships_what_is_reserved(self):
        order = self._order([(self.cart, 3)])  # nothing left in stock
        line = order.order_line
        self._stock(self.cart, 2)
        self._delivery(order).action_assign()
        self.assertEqual(line.backops_qty_ready, 2)
        with self.assertRaisesRegex(UserError, "only 2.0 are ready"):
            self.env["sale.order.line"].with_user(self.warehouse_user)._backops_deliver({line: 3})
        self._deliver_form(line).save().action_deliver()
        self.assertEqual(line.qty_delivered, 2)
        self.assertEqual(self._delivery(order).move_ids.product_uom_qty, 1)

    def _nothing_shipped(self):
        self.assertEqual(self.delivery.state, "assigned")
        self.assertFalse(self.order.picking_ids.move_ids.filtered(lambda m: m.state == "done"))
        self.assertEqual((self.cart_line.qty_delivered, self.deck_line.qty_delivered), (0, 0))

    def test_bad_quantities_are_refused(self):
        form = self._deliver_form(self.cart_line | self.deck_line)
        self._set_rows(form, {self.cart_line: 6})
        wizard = form.save()
        with self.assertRaisesRegex(UserError, "6.0 Units to ship, but only 5.0 are ready"):
            wizard.action_deliver()
        self._nothing_shipped()
        Wizard = self.env["backops.deliver"].with_user(self.warehouse_user)
        for bad in NOT_QUANTITIES:
            with self.subTest(quantity=bad), self.assertRaisesRegex(ValidationError, "Fleet Golf Cart"):
                Wizard.create({"line_ids": [(0, 0, {"sale_line_id": self.cart_line.id, "quantity": bad})]})
            with self.subTest(quantity=bad, path="method"), self.assertRaises(ValidationError):
                self.env["sale.order.line"].with_user(self.warehouse_user)._backops_deliver({self.cart_line: bad})
        self._nothing_shipped()

    def test_nothing_to_ship(self):
        form = self._deliver_form(self.cart_line | self.deck_line)
        self._set_rows(form, {self.cart_line: 0, self.deck_line: 0})
        with self.assertRaisesRegex(UserError, "Nothing to ship"):
            form.save().action_deliver()
        self._nothing_shipped()

    def test_future_ship_date_is_refused(self):
        form = self._deliver_form(self.cart_line)
        form.ship_date = datetime.now() + timedelta(days=1)
        with self.assertRaisesRegex(UserError, "cannot be in the future"):
            form.save()
        with self.assertRaisesRegex(UserError, "cannot be in the future"):
            self.env["sale.order.line"].with_user(self.warehouse_user)._backops_deliver(
                {self.cart_line: 1}, datetime.now() + timedelta(days=1)
            )
        self._nothing_shipped()

    def test_lines_with_nothing_ready_are_refused(self):
        waiting = self._order(["Bar", (self.stool, 2)]).order_line
        with self.assertRaisesRegex(UserError, "Nothing is ready .* Bar Stool"):
            self._deliver_form(self.cart_line | waiting)
        with self.assertRaisesRegex(UserError, "has nothing ready"):
            self.env["sale.order.line"].with_user(self.warehouse_user)._backops_deliver(
                {self.cart_line: 5, waiting.filtered("product_id"): 1}
            )
        # a section has nothing to ship either
        with self.assertRaisesRegex(UserError, "Nothing is ready"):
            self._deliver_form(waiting.filtered("display_type"))
        self._nothing_shipped()

    def test_lines_of_cancelled_orders_are_refused(self):
        self.order._action_cancel()
        with self.assertRaisesRegex(UserError, "is cancelled"):
            self._deliver_form(self.cart_line)
        with self.assertRaisesRegex(UserError, "is cancelled"):
            self.env["sale.order.line"].with_user(self.warehouse_user)._backops_deliver({self.cart_line: 1})

    def test_users_without_inventory_rights_are_refused(self):
        self._stock(self.deck, 1)
        order = self._order([(self.deck, 1)], user=self.salesman)
        line = order.order_line.with_user(self.salesman)
        self.assertEqual(line.backops_qty_ready, 1)
        # Odoo lets salespeople write on deliveries: the gate refuses them anyway
        with self.assertRaises(AccessError):
            self.env["sale.order.line"].with_user(self.salesman)._backops_deliver({line: 1})
        with self.assertRaises(AccessError):
            self._deliver_form(line, user=self.salesman)
        with self.assertRaises(AccessError):
            self.env["sale.order.line"].with_user(self.buyer)._backops_deliver({self.cart_line: 1})
        self.assertEqual(self._delivery(order).state, "assigned")
        self._nothing_shipped()

    def test_context_of_the_caller_is_ignored(self):
        wizard = self._deliver_form(self.cart_line).save()
        # a client asking Odoo not to keep a backorder still gets one
        wizard.with_context(cancel_backorder=True, picking_ids_not_to_backorder=self.delivery.ids).action_deliver()
        self.assertEqual(self.delivery.backorder_ids.move_ids.product_id, self.deck)
        self.assertEqual(self.deck_line.backops_qty_ready, 4)


@tagged("post_install", "-at_install")
class TestDeliverQueries(DeliveryCommon):
    def _orders(self, count):
        self._stock(self.cart, count)
        orders = self.env["sale.order"].browse()
        for _index in range(count):
            orders |= self._order([(self.cart, 1)])
        return orders

    def _count(self, function):
        self.env.flush_all()
        self.env.invalidate_all()
        before = self.env.cr.sql_log_count
        function()
        self.env.flush_all()
        return self.env.cr.sql_log_count - before

    def _odoo_validate(self, orders):
        pickings = orders.picking_ids
        for move in pickings.move_ids:
            move.picked = True
        self.env.flush_all()
        return self._count(lambda: pickings.button_validate())

    def test_deliver_queries_grow_as_odoo_validation_does(self):
        Line = self.env["sale.order.line"].with_user(self.warehouse_user)
        ours = []
        odoo = []
        for count in (5, 20):
            lines = self._orders(count).order_line
            ours.append(self._count(lambda lines=lines: Line._backops_deliver({line: 1 for line in lines})))
            self.assertEqual(set(lines.mapped("qty_delivered")), {1})
            odoo.append(self._odoo_validate(self._orders(count)))
        # delivering 15 more lines adds no more than Odoo's own validation of 15 more
        # deliveries (the batch validates them together)
        self.assertLessEqual(ours[1] - ours[0], odoo[1] - odoo[0], f"ours {ours}, Odoo's {odoo}")


@tagged("post_install", "-at_install")
class TestCancelDelivery(DeliveryCommon):
    def setUp(self):
        super().setUp()
        self._stock(self.cart, 5)
        self.order = self._order(["Transport", (self.cart, 5)])
        self.line = self._line(self.order, self.cart)
        self.delivery = self._delivery(self.order)
        self.env["sale.order.line"].with_user(self.warehouse_user)._backops_deliver({self.line: 5})
        self.assertEqual(self.line.backops_fulfilment_status, "delivered")

    def _returns(self):
        return self.env["stock.picking"].search([("return_id", "=", self.delivery.id)])

    def test_cancel_delivery_with_odoo_return(self):
        form = self._return_form(self.line)
        [row] = form.line_ids._records
        self.assertEqual((row["move_id"], row["delivered_qty"], row["quantity"]), (self.delivery.move_ids.id, 5, 5))
        self.assertTrue(form.redeliver)
        self._set_rows(form, {self.delivery.move_ids: 2}, key="move_id")
        form.save().action_return()

        back = self._returns()
        self.assertEqual(back.state, "done")
        self.assertEqual(back.picking_type_code, "incoming")
        self.assertEqual(back.move_ids.origin_returned_move_id, self.delivery.move_ids)
        self.assertTrue(back.move_ids.to_refund)
        self.assertEqual(self.line.qty_delivered, 3)
        # what came back goes out again: reserved, ready to ship
        again = self.env["stock.picking"].search([("return_id", "=", back.id)])
        self.assertEqual((again.picking_type_code, again.state), ("outgoing", "assigned"))
        self.assertEqual(again.move_ids.sale_line_id, self.line)
        self.assertEqual(self.line.backops_qty_ready, 2)
        self.assertEqual(self.line.backops_fulfilment_status, "ready")
        # and ships from the Ready tab
        self._deliver_form(self.line).save().action_deliver()
        self.assertEqual(self.line.qty_delivered, 5)
        self.assertEqual(self.line.backops_fulfilment_status, "delivered")
        # only the 3 not returned can be returned from the first delivery now
        rows = {row["move_id"]: row["delivered_qty"] for row in self._return_form(self.line).line_ids._records}
        self.assertEqual(rows, {self.delivery.move_ids.id: 3, again.move_ids.id: 2})

    def test_cancel_delivery_without_delivering_again(self):
        form = self._return_form(self.line)
        form.redeliver = False
        form.save().action_return()
        self.assertEqual(self.line.qty_delivered, 0)
        self.assertEqual(self.line.backops_qty_ready, 0)
        self.assertNotEqual(self.line.backops_fulfilment_status, "delivered")
        self.assertFalse(self._delivery(self.order))
        self.assertFalse(self.order.activity_ids)
        with self.assertRaisesRegex(UserError, "Nothing delivered to return"):
            self._return_form(self.line)

    def test_returning_after_invoicing_keeps_the_invoice(self):
        self.order.user_id = self.salesman
        invoice = self.order._create_invoices()
        invoice.action_post()
        self.assertEqual(self.line.qty_invoiced, 5)
        total = invoice.amount_total
        form = self._return_form(self.line)
        self._set_rows(form, {self.delivery.move_ids: 2}, key="move_id")
        form.save().action_return()

        self.assertEqual(self.line.qty_delivered, 3)
        self.assertEqual((invoice.state, invoice.amount_total), ("posted", total))
        self.assertEqual(invoice.invoice_line_ids.filtered("product_id").quantity, 5)
        self.assertEqual(self.line.qty_invoiced, 5)
        self.assertFalse(self.order.invoice_ids - invoice, "no credit note is made")
        activity = self.order.activity_ids
        self.assertEqual(len(activity), 1)
        self.assertEqual(
            activity.activity_type_id, self.env.ref("backops_procurement.mail_activity_returned_after_invoicing")
        )
        self.assertEqual(activity.user_id, self.salesman)
        self.assertIn(self.order.name, activity.summary)
        note = " ".join(html.fromstring(str(activity.note)).text_content().split())
        self.assertIn("Fleet Golf Cart (Transport): 2.00 Units returned; 5.00 invoiced, 3.00 now delivered", note)
        self.assertIn(invoice.name, note)
        self.assertIn("Warehouse Wes", note)

    def _nothing_returned(self):
        self.assertFalse(self._returns())
        self.assertEqual(self.line.qty_delivered, 5)

    def test_bad_returns_are_refused(self):
        form = self._return_form(self.line)
        self._set_rows(form, {self.delivery.move_ids: 6}, key="move_id")
        with self.assertRaisesRegex(UserError, "6.0 Units to return .* only 5.0 are delivered"):
            form.save().action_return()
        for bad in NOT_QUANTITIES:
            with self.subTest(quantity=bad), self.assertRaises(ValidationError):
                self.line.with_user(self.warehouse_user)._backops_return_deliveries({self.delivery.move_ids: bad})
            with self.subTest(quantity=bad, path="wizard"), self.assertRaises(ValidationError):
                self.env["backops.delivery.return"].with_user(self.warehouse_user).create(
                    {
                        "line_ids": [
                            (
                                0,
                                0,
                                {"sale_line_id": self.line.id, "move_id": self.delivery.move_ids.id, "quantity": bad},
                            )
                        ]
                    }
                )
        with self.assertRaisesRegex(UserError, "Nothing to return"):
            self.line.with_user(self.warehouse_user)._backops_return_deliveries({self.delivery.move_ids: 0})
        # a move of another line is not this line's delivery
        other = self._order([(self.deck, 1)])
        with self.assertRaisesRegex(UserError, "not a done delivery of the selected lines"):
            self.line.with_user(self.warehouse_user)._backops_return_deliveries({other.picking_ids.move_ids: 1})
        with self.assertRaisesRegex(UserError, "Nothing delivered to return"):
            self._return_form(self.line | other.order_line)
        self._nothing_returned()

    def test_users_without_inventory_rights_cannot_return(self):
        self.order.user_id = self.salesman
        with self.assertRaises(AccessError):
            self.line.with_user(self.salesman)._backops_return_deliveries({self.delivery.move_ids: 1})
        with self.assertRaises(AccessError):
            self._return_form(self.line, user=self.salesman)
        self._nothing_returned()
