import io
from datetime import datetime, timedelta
from unittest.mock import patch

import openpyxl

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import Form, new_test_user, tagged

from odoo.addons.backops_procurement.controllers.procurement_export import write_procurement_workbook

from .common import ProcurementCommon


class BackorderCommon(ProcurementCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.warehouse = cls.env["stock.warehouse"].search([("company_id", "=", cls.env.company.id)], limit=1)
        cls.stock = cls.warehouse.lot_stock_id
        cls.cart = cls._create_product("Cart", sellers=[(cls.vendor_a, 150.0)], is_storable=True, subject=False)
        cls.bench = cls._create_product("Bench", sellers=[(cls.vendor_b, 40.0)], is_storable=True, subject=False)
        cls.tent = cls._create_product("Tent", sellers=[(cls.vendor_b, 900.0)], is_storable=True)
        cls.stock_user = new_test_user(
            cls.env,
            "backops_stock_user",
            groups="stock.group_stock_user,sales_team.group_sale_salesman_all_leads",
            name="Warehouse Wendy",
        )
        cls.customer_2 = cls.env["res.partner"].create({"name": "Quayside Gala", "email": "gala@example.com"})

    def _stock(self, product, quantity):
        self.env["stock.quant"]._update_available_quantity(product, self.stock, quantity)

    def _order(self, lines, partner=None, date_order=None, commitment_date=None):
        order = self._create_sale_order(lines, partner=partner)
        values = {}
        # confirming dates the order today: the order date is set afterwards
        if date_order:
            values["date_order"] = date_order
        if commitment_date:
            values["commitment_date"] = commitment_date
        if values:
            order.write(values)
        return order

    def _deliver(self, picking, quantities):
        """Ship ``quantities`` ({product: qty}) of ``picking`` the way a user does,
        keeping a backorder of the rest."""
        return self._validate(picking, quantities)

    def _backorder(self, order):
        """Ship one unit of the order's first line, from one unit put in stock for
        it: everything else goes to a backorder, which is returned."""
        delivery = order.picking_ids
        first = delivery.move_ids[0].product_id
        self._stock(first, 1)
        delivery.action_assign()
        return self._deliver(delivery, {first: 1})

    @staticmethod
    def _open(order):
        return order.picking_ids.filtered(lambda p: p.state not in ("done", "cancel"))


@tagged("post_install", "-at_install")
class TestSeeingBackorders(BackorderCommon):
    def test_backorder_chain_keeps_the_original_order_and_date(self):
        order = self._order([(self.cart, 10)], date_order=datetime(2026, 10, 1, 9))
        self._stock(self.cart, 4)
        delivery = order.picking_ids
        first = self._deliver(delivery, {self.cart: 4})
        self.assertEqual(first.backorder_id, delivery)
        self.assertEqual(first.sale_id, order)
        self.assertEqual(first.backops_order_date, datetime(2026, 10, 1, 9))
        self.assertTrue(first.backops_is_backorder)
        self.assertEqual(order.order_line.backops_backordered_qty, 6)
        self._stock(self.cart, 3)
        first.action_assign()
        second = self._deliver(first, {self.cart: 3})
        self.assertEqual(second.backorder_id, first)
        self.assertEqual(second.sale_id, order)
        self.assertEqual(second.backops_order_date, datetime(2026, 10, 1, 9))
        self.assertEqual(second.origin, order.name)
        self.assertEqual(order.order_line.backops_backordered_qty, 3)
        self.assertEqual(order.backops_backorder_count, 1)
        action = order.action_view_backorders()
        self.assertEqual(action["res_id"], second.id)
        arch = self.env["sale.order"].get_view(view_type="form")["arch"]
        self.assertIn('decoration-danger="backops_backordered_qty &gt; 0"', arch)

    def test_backorders_and_fulfillable_backorders_filters(self):
        order = self._order([(self.cart, 6), (self.bench, 2)])
        other = self._order([(self.cart, 1)], partner=self.customer_2)
        backorder = self._backorder(order)  # 5 carts and 2 benches backordered
        self.assertEqual(backorder.backops_fulfillable, "none")
        Picking, SaleOrder = self.env["stock.picking"], self.env["sale.order"]
        self.assertIn(backorder, Picking.search([("backops_is_backorder", "=", True)]))
        self.assertNotIn(other.picking_ids, Picking.search([("backops_is_backorder", "=", True)]))
        self.assertEqual(
            SaleOrder.search([("backops_has_backorder", "=", True), ("id", "in", (order | other).ids)]), order
        )
        self.assertFalse(
            Picking.search([("backops_fulfillable", "in", ("complete", "partial")), ("id", "=", backorder.id)])
        )
        self._stock(self.cart, 5)
        backorder.invalidate_recordset(["backops_fulfillable"])
        self.assertEqual(backorder.backops_fulfillable, "partial")
        self._stock(self.bench, 2)
        backorder.invalidate_recordset(["backops_fulfillable"])
        self.assertEqual(backorder.backops_fulfillable, "complete")
        self.assertIn(backorder, Picking.search([("backops_fulfillable", "in", ("complete", "partial"))]))
        self.assertEqual(
            SaleOrder.search([("backops_fulfillable_backorder", "=", True), ("id", "in", (order | other).ids)]), order
        )


@tagged("post_install", "-at_install")
class TestForceBackorder(BackorderCommon):
    def test_hold_back_even_with_stock(self):
        self._stock(self.cart, 10)
        self._stock(self.bench, 10)
        order = self._order([(self.cart, 5), (self.bench, 4)])
        delivery = order.picking_ids
        self.assertEqual(delivery.state, "assigned")
        form = Form(
            self.env["backops.force.backorder"].with_user(self.stock_user).with_context(default_picking_id=delivery.id)
        )
        with form.line_ids.edit(0) as line:
            self.assertEqual(line.product_id, self.cart)
            line.hold_qty = 2
        action = form.save().action_confirm()
        backorder = self.env["stock.picking"].browse(action["res_id"])
        self.assertEqual(backorder.backorder_id, delivery)
        self.assertEqual(backorder.move_ids.product_id, self.cart)
        self.assertEqual(backorder.move_ids.product_uom_qty, 2)
        cart_move = delivery.move_ids.filtered(lambda m: m.product_id == self.cart)
        self.assertEqual((cart_move.product_uom_qty, cart_move.quantity), (3, 3))
        self.assertEqual(
            order.order_line.filtered(lambda line: line.product_id == self.cart).backops_backordered_qty, 2
        )
        self._deliver(delivery, {self.cart: 3, self.bench: 4})
        self.assertEqual(delivery.state, "done")

    def test_bad_holds(self):
        self._stock(self.cart, 10)
        order = self._order([(self.cart, 5)])
        delivery = order.picking_ids
        move = delivery.move_ids
        with self.assertRaisesRegex(UserError, "but the delivery has"):
            delivery._backops_force_backorder({move: 6})
        with self.assertRaisesRegex(UserError, "leaves nothing to ship"):
            delivery._backops_force_backorder({move: 5})
        with self.assertRaisesRegex(UserError, "Choose the lines"):
            delivery._backops_force_backorder({})
        self.assertFalse(delivery.backorder_ids)
        self.assertEqual(move.product_uom_qty, 5)
        self._deliver(delivery, {self.cart: 5})
        with self.assertRaisesRegex(UserError, "not an open customer delivery"):
            delivery._backops_force_backorder({move: 1})


@tagged("post_install", "-at_install")
class TestFillOneOrder(BackorderCommon):
    def setUp(self):
        super().setUp()
        self.order = self._order([(self.cart, 11), (self.bench, 4)])
        self.backorder = self._backorder(self.order)  # 10 carts, 4 benches
        self._stock(self.cart, 6)
        self._stock(self.bench, 10)

    def _popup(self, user=None):
        env = self.env(user=user) if user else self.env
        return Form(env["backops.backorder.fill.order"].with_context(default_sale_order_id=self.order.id))

    def _lines(self, form):
        return {self.env["product.product"].browse(row["product_id"]): row for row in form.line_ids._records}

    def test_popup_defaults_and_fill(self):
        form = self._popup(user=self.stock_user)
        rows = self._lines(form)
        self.assertEqual(
            (rows[self.cart]["needed_qty"], rows[self.cart]["available_qty"], rows[self.cart]["fill_qty"]), (10, 6, 6)
        )
        self.assertEqual((rows[self.bench]["needed_qty"], rows[self.bench]["fill_qty"]), (4, 4))
        ship_date = datetime.now().replace(microsecond=0) - timedelta(hours=3)
        form.ship_date = ship_date
        form.save().action_fill()
        self.assertEqual(self.backorder.state, "done")
        # the actual ship date is the delivery's, as the customer is told; Odoo's own date stays
        self.assertEqual(self.backorder.backops_ship_date, ship_date)
        self.assertGreater(self.backorder.date_done, ship_date)
        remaining = self._open(self.order)
        self.assertEqual(remaining.backorder_id, self.backorder)
        self.assertEqual(remaining.move_ids.product_id, self.cart)
        self.assertEqual(remaining.move_ids.product_uom_qty, 4)
        self.assertEqual(
            self.order.order_line.filtered(lambda line: line.product_id == self.cart).backops_backordered_qty, 4
        )
        mail = self.env["mail.mail"].search([("model", "=", "stock.picking"), ("res_id", "=", self.backorder.id)])
        self.assertEqual(len(mail), 1)
        self.assertIn("part of your order", mail.subject)

    def test_completing_fill_sends_the_complete_email(self):
        self._stock(self.cart, 4)
        self._popup().save().action_fill()
        self.assertFalse(self._open(self.order))
        mail = self.env["mail.mail"].search([("model", "=", "stock.picking"), ("res_id", "=", self.backorder.id)])
        self.assertIn("is complete", mail.subject)
        self.assertIn(self.order.name, mail.body_html)

    def test_no_email_when_unticked(self):
        form = self._popup()
        form.send_email = False
        form.save().action_fill()
        self.assertFalse(
            self.env["mail.mail"].search([("model", "=", "stock.picking"), ("res_id", "=", self.backorder.id)])
        )

    def _refused(self, message, **changes):
        form = self._popup()
        for product, quantity in changes.get("fills", {}).items():
            index = [row["product_id"] for row in form.line_ids._records].index(product.id)
            with form.line_ids.edit(index) as row:
                row.fill_qty = quantity
        if "ship_date" in changes:
            form.ship_date = changes["ship_date"]
        wizard = form.save()
        with self.assertRaisesRegex(UserError, message):
            wizard.action_fill()
        self.assertEqual(self.backorder.state, "confirmed")
        self.assertFalse(self.backorder.move_ids.filtered(lambda m: m.state == "done"))

    def test_filling_more_than_backordered(self):
        self._stock(self.cart, 20)
        self._refused("only 10.0 Units are backordered", fills={self.cart: 11})

    def test_filling_more_than_available(self):
        self._refused("only 6.0 Units are available", fills={self.cart: 7})

    def test_ship_date_in_the_future(self):
        self._refused("cannot be in the future", ship_date=datetime.now() + timedelta(days=1))

    def test_nothing_to_fill(self):
        self._refused("Nothing to ship", fills={self.cart: 0, self.bench: 0})

    def test_salesman_cannot_ship(self):
        with self.assertRaises(AccessError):
            self._popup(user=self.salesman).save().action_fill()
        self.assertEqual(self.backorder.state, "confirmed")


@tagged("post_install", "-at_install")
class TestFillBackordersBatch(BackorderCommon):
    def setUp(self):
        super().setUp()
        # the older order needs carts and benches; the newer one carts only
        self.old = self._order([(self.cart, 6), (self.bench, 5)], date_order=datetime(2026, 9, 1))
        self.new = self._order(
            [(self.cart, 4)],
            partner=self.customer_2,
            date_order=datetime(2026, 9, 5),
            commitment_date=datetime(2026, 9, 10),
        )
        # backordered: 5 carts and 5 benches for the old order, 3 carts for the new one
        self.old_bo, self.new_bo = self._backorder(self.old), self._backorder(self.new)
        # scarce stock: 6 carts for 8 backordered, 2 benches for 5
        self._stock(self.cart, 6)
        self._stock(self.bench, 2)

    def _fill(self, **values):
        return self.env["backops.backorder.fill"].with_user(self.stock_user).create(values)

    def _outcomes(self, fill):
        return {line.sale_order_id: line.outcome for line in fill.line_ids}

    def _shipped(self, order, product):
        return sum(
            order.picking_ids.move_ids.filtered(lambda m: m.product_id == product and m.state == "done").mapped(
                "quantity"
            )
        )

    def test_complete_mode_leaves_stock_to_an_order_that_completes(self):
        fill = self._fill(mode="complete")
        fill.action_start()
        self.assertEqual(self._outcomes(fill), {self.old: "skipped", self.new: "complete"})
        self.assertEqual(self._shipped(self.new, self.cart), 1 + 3)
        self.assertEqual(self._shipped(self.old, self.cart), 1)
        self.assertEqual((fill.order_completed_count, fill.order_partial_count, fill.order_skipped_count), (1, 0, 1))
        self.assertIn("Bench", fill.line_ids.filtered(lambda line: line.sale_order_id == self.old)[0].reason)
        # the old order's backorder is untouched and reserves what is left
        self.assertEqual(self.old_bo.move_ids.mapped("product_uom_qty"), [5, 5])
        self.assertEqual(sum(self.old_bo.move_ids.filtered(lambda m: m.product_id == self.cart).mapped("quantity")), 3)

    def test_partial_mode_oldest_first(self):
        fill = self._fill(mode="partial")
        fill.action_start()
        self.assertEqual(self._outcomes(fill), {self.old: "partial", self.new: "partial"})
        self.assertEqual(self._shipped(self.old, self.cart), 1 + 5)
        self.assertEqual(self._shipped(self.old, self.bench), 2)
        self.assertEqual(self._shipped(self.new, self.cart), 1 + 1)
        # further backorders keep pointing to the original orders
        left_old = self._open(self.old)
        self.assertEqual(left_old.backorder_id, self.old_bo)
        self.assertEqual(left_old.move_ids.product_uom_qty, 3)
        self.assertEqual(self._open(self.new).move_ids.product_uom_qty, 2)
        self.assertEqual(fill.state, "done")

    def test_partial_mode_by_commitment_date(self):
        self.old.commitment_date = datetime(2026, 12, 1)
        fill = self._fill(mode="partial", priority="commitment")
        fill.action_start()
        self.assertEqual(self._shipped(self.new, self.cart), 1 + 3)
        self.assertEqual(self._shipped(self.old, self.cart), 1 + 3)

    def test_ties_go_by_order_name(self):
        self.new.date_order = self.old.date_order
        first = min(self.old | self.new, key=lambda order: order.name)
        fill = self._fill(mode="partial", product_scope="selected", product_ids=[self.cart.id])
        fill.action_preview()
        self.assertEqual(fill.line_ids[0].sale_order_id, first)
        # the first order by reference gets all its carts; the other one what is left
        self.assertEqual(fill.line_ids[0].fill_qty, fill.line_ids[0].needed_qty)
        self.assertEqual(sum(fill.line_ids.mapped("fill_qty")), 6)

    def test_preview_writes_nothing(self):
        moves = (self.old_bo | self.new_bo).move_ids
        before = [(m.state, m.quantity, m.product_uom_qty) for m in moves]
        fill = self._fill(mode="partial")
        fill.action_preview()
        self.assertEqual([(m.state, m.quantity, m.product_uom_qty) for m in moves], before)
        self.assertEqual((self.old_bo | self.new_bo).mapped("state"), [self.old_bo.state, self.new_bo.state])
        self.assertEqual(fill.state, "preview")
        by_order = {}
        for line in fill.line_ids:
            by_order.setdefault(line.sale_order_id, []).append(line)
        self.assertEqual(sum(line.fill_qty for line in by_order[self.old]), 7)
        self.assertEqual({line.email for line in by_order[self.old]}, {"partial"})
        self.assertEqual(sum(line.remaining_qty for line in by_order[self.old]), 3)
        self.assertFalse(
            self.env["mail.mail"].search([("model", "=", "stock.picking"), ("res_id", "in", moves.picking_id.ids)])
        )

    def test_emails_with_the_right_template(self):
        self._stock(self.bench, 3)  # the old order can now complete too
        fill = self._fill(mode="complete")
        fill.action_start()
        self.assertEqual(self._outcomes(fill), {self.old: "complete", self.new: "skipped"})
        mails = self.env["mail.mail"].search([("model", "=", "stock.picking"), ("res_id", "=", self.old_bo.id)])
        self.assertEqual(len(mails), 1)
        self.assertIn("is complete", mails.subject)
        partial = self._fill(mode="partial")
        partial.action_start()
        mails = self.env["mail.mail"].search([("model", "=", "stock.picking"), ("res_id", "=", self.new_bo.id)])
        self.assertIn("part of your order", mails.subject)

    def test_emails_off(self):
        fill = self._fill(mode="partial", email_complete=False, email_partial=False)
        fill.action_start()
        self.assertFalse(
            self.env["mail.mail"].search(
                [("model", "=", "stock.picking"), ("res_id", "in", (self.old_bo | self.new_bo).ids)]
            )
        )

    def test_summary_report_and_xlsx(self):
        fill = self._fill(mode="partial", ship_date=datetime.now().replace(microsecond=0) - timedelta(days=1))
        fill.action_start()
        self.assertEqual(self.old_bo.backops_ship_date, fill.ship_date)
        html, _format = self.env["ir.actions.report"]._render_qweb_html(
            "backops_procurement.report_backorder_fill", fill.ids
        )
        html = html.decode()
        self.assertIn(self.old.name, html)
        self.assertIn("Orders partly filled", html)
        self.assertIn("Cart", html)
        output = io.BytesIO()
        write_procurement_workbook(fill._get_export_sheets(), output)
        workbook = openpyxl.load_workbook(io.BytesIO(output.getvalue()))
        units = {row[0]: row[2] for row in list(workbook["Units per Product"].values)[1:]}
        self.assertEqual(units, {"Cart": 6, "Bench": 2})

    def test_selected_products_only(self):
        fill = self._fill(mode="partial", product_scope="selected", product_ids=[self.bench.id])
        fill.action_start()
        self.assertEqual(self._shipped(self.old, self.bench), 2)
        self.assertEqual(self._shipped(self.old, self.cart), 1)

    def test_order_date_range(self):
        fill = self._fill(mode="partial", date_from="2026-09-03")
        fill.action_start()
        self.assertEqual(self._shipped(self.old, self.cart), 1)
        self.assertEqual(self._shipped(self.new, self.cart), 1 + 3)

    def test_bad_input(self):
        with self.assertRaisesRegex(UserError, "future"):
            self._fill(ship_date=datetime.now() + timedelta(days=2))
        with self.assertRaisesRegex(UserError, "Choose the products"):
            self._fill(product_scope="selected").action_start()
        # a delivery done in the meantime: nothing shipped
        Service = self.env["backops.backorder.fill.service"]
        plan = Service._plan(self.new_bo.move_ids, "partial", "oldest")
        self.new_bo.action_assign()
        self._deliver(self.new_bo, {self.cart: 3})
        with self.assertRaisesRegex(UserError, "done or cancelled"):
            Service._ship(plan)
        # another company's products
        company_b = self.env["res.company"].create({"name": "BackOps Events North"})
        foreign = self._create_product("North Crate", company_id=company_b.id, is_storable=True)
        with self.assertRaisesRegex(UserError, "companies"):
            self._fill(product_scope="selected", product_ids=[foreign.id])

    def test_salesman_cannot_fill(self):
        with self.assertRaises(AccessError):
            self.env["backops.backorder.fill"].with_user(self.salesman).create({"mode": "partial"})


@tagged("post_install", "-at_install")
class TestFillBackordersCron(BackorderCommon):
    def test_cron_skips_a_failing_order_and_is_safe_to_rerun(self):
        orders = [self._order([(self.cart, 3)], date_order=datetime(2026, 9, day)) for day in (1, 2, 3)]
        for order in orders:
            self._backorder(order)  # 2 carts each backordered
        self._stock(self.cart, 10)
        policy = self.env["backops.backorder.fill"].create({"name": "Nightly", "mode": "partial", "cron_active": True})
        Service = type(self.env["backops.backorder.fill.service"])
        ship = Service._ship

        def failing_ship(model, plan, ship_date=None, reassign=True):
            if any(entry.order == orders[1] for entry in plan):
                # a test double's message, shown to no user
                # pylint: disable-next=translation-required
                raise UserError("carrier pickup refused")
            return ship(model, plan, ship_date, reassign)

        with (
            patch.object(Service, "_ship", failing_ship),
            self.assertLogs("odoo.addons.backops_procurement.models.backorder_fill", level="WARNING") as logs,
        ):
            self.env["backops.backorder.fill"]._cron_fill_backorders(batch_size=2)
        self.assertIn(orders[1].name, "\n".join(logs.output))
        self.assertEqual([bool(self._open(order)) for order in orders], [False, True, False])
        failed = policy.line_ids.filtered(lambda line: line.sale_order_id == orders[1])
        self.assertEqual(failed.outcome, "skipped")
        self.assertIn("carrier pickup refused", failed.reason)
        # run again: the failing order ships now, nothing is shipped twice
        self.env["backops.backorder.fill"]._cron_fill_backorders(batch_size=2)
        self.assertEqual([bool(self._open(order)) for order in orders], [False, False, False])
        shipped = sum(move.quantity for order in orders for move in order.picking_ids.move_ids if move.state == "done")
        self.assertEqual(shipped, 3 * 3)
        self.assertFalse(self.env.ref("backops_procurement.ir_cron_fill_backorders").active)


@tagged("post_install", "-at_install")
class TestReplenishBackorders(BackorderCommon):
    def test_rfqs_for_what_stock_and_receipts_do_not_cover(self):
        order = self._order([(self.cart, 11), (self.tent, 4)])
        self._backorder(order)  # 10 carts and 4 tents backordered
        # 3 carts on hand, 2 on their way
        self._stock(self.cart, 3)
        incoming = self._create_rfq(self.vendor_a, [(self.cart, 2)])
        incoming.button_confirm()
        form = Form(self.env["backops.backorder.replenish"].with_user(self.buyer))
        rows = {row["product_id"]: row for row in form.line_ids._records}
        self.assertEqual(
            (
                rows[self.cart.id]["backordered_qty"],
                rows[self.cart.id]["free_qty"],
                rows[self.cart.id]["incoming_qty"],
                rows[self.cart.id]["order_qty"],
            ),
            (10, 3, 2, 5),
        )
        self.assertEqual(rows[self.tent.id]["order_qty"], 4)
        action = form.save().action_create_rfqs()
        rfqs = self.env["purchase.order"].search(action["domain"])
        self.assertEqual(rfqs.partner_id, self.vendor_a | self.vendor_b)
        cart_rfq = rfqs.filtered(lambda r: r.partner_id == self.vendor_a)
        self.assertEqual(cart_rfq.order_line.product_qty, 5)
        # the tents are a need: the RFQ is allocated to it
        tent_line = self._line(order, self.tent)
        self.assertEqual(tent_line.procurement_status, "on_order")
        self.assertEqual(tent_line.procurement_allocation_ids.purchase_order_id.partner_id, self.vendor_b)

    def test_vendor_of_another_variant_is_not_offered(self):
        size = self.env["product.attribute"].create(
            {
                "name": "Marquee Size",
                "value_ids": [Command.create({"name": "Small"}), Command.create({"name": "Large"})],
            }
        )
        marquee = self.env["product.template"].create(
            {
                "name": "Marquee",
                "is_storable": True,
                "attribute_line_ids": [
                    Command.create({"attribute_id": size.id, "value_ids": [Command.set(size.value_ids.ids)]})
                ],
            }
        )
        small, large = marquee.product_variant_ids
        # the first vendor line is for the large marquee only
        self.env["product.supplierinfo"].create(
            [
                {"product_tmpl_id": marquee.id, "product_id": large.id, "partner_id": self.vendor_a.id, "sequence": 1},
                {"product_tmpl_id": marquee.id, "partner_id": self.vendor_b.id, "sequence": 2},
            ]
        )
        self._backorder(self._order([(small, 3)]))
        form = Form(self.env["backops.backorder.replenish"])
        rows = {row["product_id"]: row for row in form.line_ids._records}
        self.assertEqual(rows[small.id]["order_qty"], 2)
        self.assertEqual(rows[small.id]["partner_id"], self.vendor_b.id)

    def test_older_backorders_are_left_out(self):
        order = self._order([(self.cart, 11)])
        backorder = self._backorder(order)
        # a backorder made 40 days ago (creation dates come from the database clock)
        self.env.cr.execute(
            "UPDATE stock_picking SET create_date = now() - interval '40 days' WHERE id = %s", [backorder.id]
        )
        backorder.invalidate_recordset(["create_date"])
        form = Form(self.env["backops.backorder.replenish"])
        self.assertFalse(form.line_ids._records)
        form.days = 60
        self.assertEqual(len(form.line_ids._records), 1)

    def test_nothing_to_order(self):
        order = self._order([(self.cart, 3)])
        self._backorder(order)
        self._stock(self.cart, 5)
        with self.assertRaisesRegex(UserError, "Nothing to order"):
            Form(self.env["backops.backorder.replenish"]).save().action_create_rfqs()
