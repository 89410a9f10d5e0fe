from datetime import datetime, timedelta

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import Form, new_test_user, tagged

from .test_backorder_fill_rules import FillRulesCommon


@tagged("post_install", "-at_install")
class TestFillIgnoresTheCallersContext(FillRulesCommon):
    """What a fill or a hold does never depends on keys an RPC client adds to its
    context: Odoo's own methods the fills call honour many of them."""

    def setUp(self):
        super().setUp()
        self.order = self._order([(self.cart, 5)])
        self.backorder = self._backorder(self.order)  # 1 shipped, 4 backordered
        self._stock(self.cart, 2)

    def _open_units(self):
        moves = self.order.picking_ids.move_ids.filtered(lambda m: m.state not in ("done", "cancel"))
        return sum(moves.mapped("product_qty"))

    def _popup_fill(self, **context):
        Wizard = self.env["backops.backorder.fill.order"].with_user(self.stock_user)
        wizard = Form(Wizard.with_context(default_sale_order_id=self.order.id)).save()
        return wizard.with_context(**context).action_fill()

    def test_the_rest_stays_backordered_whatever_the_context_asks(self):
        keys = {
            "picking_ids_not_to_backorder": [self.backorder.id],
            "cancel_backorder": True,
            "default_state": "done",
            "force_split_uom_id": self.uom_dozen.id,
            "default_backops_ship_date": datetime.now() + timedelta(days=365),
            "default_date_done": datetime.now() + timedelta(days=365),
        }
        self._batch(mode="partial").with_context(**keys).action_start()
        self.assertEqual(self._shipped(self.order, self.cart), 3)  # 1 before + 2 now
        self.assertOnHand(self.cart, 0)
        rest = self._open(self.order)
        self.assertEqual(self._open_units(), 2)
        self.assertEqual(rest.move_ids.product_uom, self.cart.uom_id)
        self.assertFalse(rest.backops_ship_date)
        # and a later fill ships the 2, never more than ordered
        self._stock(self.cart, 100)
        self._popup_fill(**keys)
        self.assertEqual(self.order.order_line.qty_delivered, 5)
        self.assertFalse(self._open(self.order))

    def test_a_hold_keeps_its_unit_and_location_whatever_the_context_asks(self):
        self._stock(self.bench, 10)
        self._stock(self.cart, 10)
        order = self._order([(self.cart, 5), (self.bench, 2)], partner=self.customer_2)
        delivery = order.picking_ids
        inventory = self.env["stock.location"].search(
            [("usage", "=", "inventory"), ("company_id", "=", self.env.company.id)], limit=1
        )
        Wizard = self.env["backops.force.backorder"].with_user(self.stock_user)
        form = Form(Wizard.with_context(default_picking_id=delivery.id))
        with form.line_ids.edit(0) as line:
            line.hold = True
            line.hold_qty = 2
        wizard = form.save().with_context(force_split_uom_id=self.uom_dozen.id, source_location_id=inventory.id)
        backorder = self.env["stock.picking"].browse(wizard.action_confirm()["res_id"])
        self.assertEqual(sum(backorder.move_ids.mapped("product_qty")), 2)
        self.assertEqual(backorder.move_ids.location_id, delivery.location_id)

    def test_an_operation_type_without_backorders_keeps_the_rest_of_a_fill(self):
        self.backorder.picking_type_id.create_backorder = "never"
        self._batch(mode="partial").action_start()
        self.assertEqual(self._open_units(), 2)
        line = self.env["backops.backorder.fill"].search([], limit=1).line_ids
        self.assertEqual((line.fill_qty, line.remaining_qty), (2, 2))

    def test_the_actual_ship_date_is_never_in_the_future(self):
        future = datetime.now() + timedelta(days=30)
        with self.assertRaisesRegex(UserError, "cannot be in the future"):
            self.backorder.with_user(self.stock_user).write({"backops_ship_date": future})
        self.backorder.with_user(self.stock_user).write({"backops_ship_date": datetime.now() - timedelta(days=1)})

    def test_a_fills_run_is_its_own_record(self):
        fill = self._batch(mode="partial")
        for values in (
            {"state": "done"},
            {"run_user_id": self.env.ref("base.user_admin").id},
            {"run_date": datetime(2020, 1, 1)},
        ):
            with self.subTest(values=values), self.assertRaisesRegex(UserError, "cannot be written"):
                fill.write(values)
        with self.assertRaisesRegex(UserError, "cannot be written"):
            self._batch(mode="partial", state="done")
        fill.action_start()
        self.assertEqual((fill.state, fill.run_user_id), ("done", self.stock_user))
        with self.assertRaisesRegex(UserError, "reset it to preview again"):
            fill.action_preview()
        self.assertTrue(fill.line_ids.filtered("fill_qty"))
        copy = fill.copy()
        self.assertEqual((copy.state, copy.run_date), ("draft", False))

    def test_complete_orders_only_means_nothing_left_backordered(self):
        order = self._order([(self.cart, 4), (self.tent, 2)], partner=self.customer_2)
        delivery = order.picking_ids
        self._stock(self.cart, 1)
        delivery.action_assign()
        self._deliver(delivery, {self.cart: 1})  # 3 carts and 2 tents wait
        self._stock(self.cart, 10)
        fill = self._batch(mode="complete", product_scope="selected", product_ids=[(6, 0, self.cart.ids)])
        fill.action_start()
        lines = fill.line_ids.filtered(lambda line: line.sale_order_id == order)
        self.assertEqual(set(lines.mapped("outcome")), {"skipped"})
        self.assertIn("Tent", lines[0].reason)
        self.assertEqual(self._shipped(order, self.cart), 1)  # the one shipped before

    def test_bad_numbers_of_days_are_refused_with_a_sentence(self):
        Wizard = self.env["backops.backorder.replenish"]
        for days in (10**6, 2**31 - 1, -1):
            with self.subTest(days=days), self.assertRaisesRegex(UserError, "number of days"):
                Wizard.new({"days": days})._prepare_line_values()


@tagged("post_install", "-at_install")
class TestFillShipsOnlyTheCompanysOwnStock(FillRulesCommon):
    """What the records, the user's own defaults or the settings say never makes a
    fill ship what is not there, nor lose what it does not ship."""

    def setUp(self):
        super().setUp()
        self.order = self._order([(self.cart, 5)])
        self.backorder = self._backorder(self.order)  # 1 shipped, 4 backordered
        self._stock(self.cart, 2)

    def test_a_backorder_of_owned_stock_is_left_to_its_transfer(self):
        owner = self.env["res.partner"].create({"name": "Consignment Owner"})
        self.backorder.with_user(self.stock_user).owner_id = owner
        self._batch(mode="partial").action_start()
        self.assertOnHand(self.cart, 2)
        self.assertFalse(self.env["stock.quant"].search([("product_id", "=", self.cart.id), ("quantity", "<", 0)]))

    def test_a_backorder_from_outside_the_stock_is_not_filled(self):
        self.backorder.move_ids.with_user(self.stock_user).write(
            {"location_id": self.env.ref("stock.stock_location_suppliers").id}
        )
        self.backorder.action_assign()
        self._batch(mode="partial").action_start()
        self.assertEqual(self._shipped(self.order, self.cart), 1)
        self.assertOnHand(self.cart, 2)

    def test_a_users_default_never_loses_what_is_not_shipped(self):
        self.env["ir.default"].with_user(self.stock_user).set("stock.move", "state", "done", user_id=True)
        Wizard = self.env["backops.backorder.fill.order"].with_user(self.stock_user)
        wizard = Form(Wizard.with_context(default_sale_order_id=self.order.id)).save()
        with self.assertRaisesRegex(UserError, "would no longer be owed in full"):
            wizard.action_fill()
        self.assertEqual(self._shipped(self.order, self.cart), 1)
        open_moves = self.order.picking_ids.move_ids.filtered(lambda m: m.state not in ("done", "cancel"))
        self.assertEqual(sum(open_moves.mapped("product_qty")), 4)

    def test_a_users_defaults_never_record_a_run(self):
        Default = self.env["ir.default"].with_user(self.stock_user)
        Default.set("backops.backorder.fill", "state", "done", user_id=True)
        Default.set("backops.backorder.fill", "run_date", "2020-01-01 00:00:00", user_id=True)
        fill = self._batch(mode="partial")
        self.assertEqual((fill.state, fill.run_date, fill.run_user_id.id), ("draft", False, False))

    def test_complete_means_no_other_delivery_waits_either(self):
        order = self._order([(self.cart, 2), (self.tent, 1)], partner=self.customer_2)
        tent_move = order.picking_ids.move_ids.filtered(lambda m: m.product_id == self.tent)
        tent_move.picking_id._backops_force_backorder({tent_move: 1})  # the tent waits apart
        self._stock(self.cart, 10)
        self._deliver(order.picking_ids.filtered(lambda p: not p.backorder_id), {self.cart: 1})  # 1 cart ships
        fill = self._batch(mode="complete")
        fill.action_start()
        lines = fill.line_ids.filtered(lambda line: line.sale_order_id == order)
        self.assertEqual(set(lines.mapped("outcome")), {"skipped"})

    def test_a_fill_sends_only_delivery_emails(self):
        other_model = self.env["mail.template"].search([("model", "!=", "stock.picking")], limit=1)
        with self.assertRaisesRegex(UserError, "sends emails of deliveries"):
            self._batch(template_complete_id=other_model.id)

    def test_a_wizard_never_shows_another_companys_records(self):
        south = self.env["res.company"].create({"name": "BackOps Events South"})
        spy = new_test_user(
            self.env,
            "backops_south_stock",
            groups="stock.group_stock_user",
            company_id=south.id,
            company_ids=[Command.set(south.ids)],
        )
        with self.assertRaises(AccessError):
            self.env["backops.backorder.fill.order"].with_user(spy).create({"sale_order_id": self.order.id})
        with self.assertRaises(AccessError):
            self.env["backops.force.backorder"].with_user(spy).create(
                {
                    "picking_id": self.backorder.id,
                    "line_ids": [Command.create({"move_id": self.backorder.move_ids[0].id})],
                }
            )
