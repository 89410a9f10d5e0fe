import io
from datetime import datetime, timedelta
from unittest.mock import patch

import openpyxl
from psycopg2.errors import SerializationFailure

from odoo import Command
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import Form, new_test_user, tagged

from odoo.addons.backops_procurement.controllers.procurement_export import write_procurement_workbook

from .test_backorders import BackorderCommon

NOT_QUANTITIES = (float("nan"), float("inf"), float("-inf"), 1e308)


class FillRulesCommon(BackorderCommon):
    """Fills as a stock user does them, with what is on hand checked after each."""

    def assertOnHand(self, product, quantity):
        """``product`` on hand in the warehouse's stock is ``quantity``, and no quant
        of it went below zero."""
        quants = self.env["stock.quant"].search(
            [("product_id", "=", product.id), ("location_id", "child_of", self.stock.id)]
        )
        self.assertFalse(quants.filtered(lambda q: q.quantity < 0), f"{product.name}: stock went below zero")
        self.assertEqual(sum(quants.mapped("quantity")), quantity)

    def _shipped(self, order, product):
        moves = order.picking_ids.move_ids.filtered(lambda m: m.product_id == product and m.state == "done")
        return sum(moves.mapped("quantity"))

    def _batch(self, **values):
        return (
            self.env["backops.backorder.fill"]
            .with_user(self.stock_user)
            .create({"email_complete": False, "email_partial": False, **values})
        )

    def _popup(self, order, user=None):
        Wizard = self.env["backops.backorder.fill.order"].with_user(user or self.stock_user)
        return Form(Wizard.with_context(default_sale_order_id=order.id))

    def _rows(self, form):
        return {self.env["product.product"].browse(row["product_id"]): row for row in form.line_ids._records}

    def _count(self, product, quantity):
        """An inventory count finds ``quantity`` of ``product`` in stock."""
        self.env["stock.quant"].with_context(inventory_mode=True).create(
            {"product_id": product.id, "location_id": self.stock.id, "inventory_quantity": quantity}
        ).action_apply_inventory()


@tagged("post_install", "-at_install")
class TestFillSharesTheStock(FillRulesCommon):
    """Two moves of the same product in one order (two sale lines, or a backorder
    split in two) share what is in stock: 5 carts never ship as 4 + 4."""

    def setUp(self):
        super().setUp()
        self.order = self._order([(self.bench, 1), (self.cart, 4), (self.cart, 4)])
        self.backorder = self._backorder(self.order)  # the bench ships; two lines of 4 carts wait
        self.cart_moves = self.backorder.move_ids
        self.assertEqual(self.cart_moves.mapped("product_uom_qty"), [4, 4])
        self._stock(self.cart, 5)

    def test_batch_ships_no_more_than_the_stock(self):
        fill = self._batch(mode="partial")
        fill.action_start()
        self.assertEqual(self._shipped(self.order, self.cart), 5)
        self.assertOnHand(self.cart, 0)
        self.assertEqual(fill.line_ids.mapped("fill_qty"), [4, 1])
        self.assertEqual(set(fill.line_ids.mapped("outcome")), {"partial"})
        self.assertEqual(self._open(self.order).move_ids.product_uom_qty, 3)

    def test_a_run_starts_once(self):
        """A policy that ran keeps its results: Start again (over RPC: the button is
        hidden then) is refused, nothing ships; a New Run ships what came in."""
        fill = self._batch(mode="partial")
        fill.action_start()
        results = fill.line_ids.mapped(lambda line: (line.fill_qty, line.outcome))
        self._stock(self.cart, 3)
        with self.assertRaisesRegex(UserError, "New Run"):
            fill.action_start()
        self.assertEqual(self._shipped(self.order, self.cart), 5)
        self.assertOnHand(self.cart, 3)
        self.assertEqual(fill.state, "done")
        self.assertEqual(fill.line_ids.mapped(lambda line: (line.fill_qty, line.outcome)), results)
        fill.action_reset()
        fill.action_start()
        self.assertEqual(self._shipped(self.order, self.cart), 8)
        self.assertOnHand(self.cart, 0)
        self.assertEqual(fill.line_ids.mapped("fill_qty"), [3])

    def test_complete_mode_takes_the_order_together(self):
        fill = self._batch(mode="complete")
        fill.action_start()
        self.assertEqual(self._shipped(self.order, self.cart), 0)
        self.assertOnHand(self.cart, 5)
        self.assertEqual(set(fill.line_ids.mapped("outcome")), {"skipped"})
        self.assertIn("Cart: 8.0 Units backordered, 5.0 available", fill.line_ids[0].reason)
        self.assertEqual(self.backorder.state, "assigned")

    def test_preview_shares_and_writes_nothing_else(self):
        quants = self.env["stock.quant"].search([("product_id", "=", self.cart.id)])
        before = [(q.quantity, q.reserved_quantity) for q in quants]
        fill = self._batch(mode="partial")
        fill.action_preview()
        self.assertEqual(fill.line_ids.mapped("available_qty"), [5, 1])
        self.assertEqual(fill.line_ids.mapped("fill_qty"), [4, 1])
        self.assertEqual([(q.quantity, q.reserved_quantity) for q in quants], before)
        self.assertFalse(self.cart_moves.move_line_ids)
        self.assertEqual(set(self.cart_moves.mapped("state")), {"confirmed"})

    def test_popup_offers_and_ships_the_stock_once(self):
        form = self._popup(self.order)
        row = self._rows(form)[self.cart]
        self.assertEqual((row["needed_qty"], row["available_qty"], row["fill_qty"]), (8, 5, 5))
        form.save().action_fill()
        self.assertEqual(self._shipped(self.order, self.cart), 5)
        self.assertOnHand(self.cart, 0)
        self.assertEqual(self._open(self.order).move_ids.product_uom_qty, 3)

    def test_popup_refuses_more_than_the_stock(self):
        form = self._popup(self.order)
        with form.line_ids.edit(0) as row:
            row.fill_qty = 8
        wizard = form.save()
        with self.assertRaisesRegex(UserError, "only 5.0 Units are available now"):
            wizard.action_fill()
        self.assertEqual(self._shipped(self.order, self.cart), 0)
        self.assertOnHand(self.cart, 5)
        self.assertFalse(self.cart_moves.move_line_ids)

    def test_fulfillable_counts_the_stock_once(self):
        self.assertEqual(self.backorder.backops_fulfillable, "partial")
        self._stock(self.cart, 3)
        self.backorder.invalidate_recordset(["backops_fulfillable"])
        self.assertEqual(self.backorder.backops_fulfillable, "complete")

    def test_split_backorders_share_the_stock(self):
        order = self._order([(self.bench, 1), (self.cart, 9)], partner=self.customer_2)
        first = self._backorder(order)
        form = Form(
            self.env["backops.force.backorder"].with_user(self.stock_user).with_context(default_picking_id=first.id)
        )
        with form.line_ids.edit(0) as line:
            line.hold_qty = 4
        second = self.env["stock.picking"].browse(form.save().action_confirm()["res_id"])
        self.assertEqual((first.move_ids.product_uom_qty, second.move_ids.product_uom_qty), (5, 4))
        # 5 carts for the first order (8), then for this one (9): nothing left over
        self._stock(self.cart, 3)
        fill = self._batch(mode="partial")
        fill.action_start()
        self.assertEqual(self._shipped(self.order, self.cart), 8)
        self.assertEqual(self._shipped(order, self.cart), 0)
        self.assertOnHand(self.cart, 0)
        self._stock(self.cart, 6)
        self._batch(mode="partial").action_start()
        self.assertEqual(self._shipped(order, self.cart), 6)
        self.assertOnHand(self.cart, 0)


@tagged("post_install", "-at_install")
class TestFillShipsWhatIsThere(FillRulesCommon):
    """A plan is made, then executed: stock that left in between is not shipped."""

    def setUp(self):
        super().setUp()
        self.old = self._order([(self.cart, 5)], date_order=datetime(2026, 9, 1))
        self.new = self._order([(self.cart, 5)], partner=self.customer_2, date_order=datetime(2026, 9, 5))
        self.old_bo, self.new_bo = self._backorder(self.old), self._backorder(self.new)  # 4 carts each
        self._stock(self.cart, 8)

    def _count_after_planning(self, quantity):
        """Patch the plan: right after it is made, a count finds ``quantity`` carts."""
        Service = type(self.env["backops.backorder.fill.service"])
        plan = Service._plan

        def plan_then_count(model, *args, **kwargs):
            result = plan(model, *args, **kwargs)
            self._count(self.cart, quantity)
            return result

        return patch.object(Service, "_plan", plan_then_count)

    def test_nightly_fill_ships_what_is_left(self):
        policy = self.env["backops.backorder.fill"].create(
            {"name": "Nightly", "mode": "partial", "cron_active": True, "email_complete": False, "email_partial": False}
        )
        with self._count_after_planning(5):
            self.env["backops.backorder.fill"]._cron_fill_backorders(batch_size=1)
        self.assertEqual((self._shipped(self.old, self.cart), self._shipped(self.new, self.cart)), (1 + 4, 1 + 1))
        self.assertOnHand(self.cart, 0)
        # the summary says what shipped, not what was planned
        lines = {line.sale_order_id: line for line in policy.line_ids}
        self.assertEqual((lines[self.old].fill_qty, lines[self.old].outcome), (4, "complete"))
        self.assertEqual((lines[self.new].fill_qty, lines[self.new].outcome), (1, "partial"))
        self.assertIn("4.0 planned, 1.0 still in stock", lines[self.new].reason)
        self.assertEqual(policy.order_completed_count, 1)

    def test_complete_order_that_no_longer_fits_ships_nothing(self):
        fill = self._batch(mode="complete")
        with self._count_after_planning(6):
            fill.action_start()
        self.assertEqual((self._shipped(self.old, self.cart), self._shipped(self.new, self.cart)), (1 + 4, 1))
        self.assertOnHand(self.cart, 2)
        line = fill.line_ids.filtered(lambda line: line.sale_order_id == self.new)
        self.assertEqual((line.fill_qty, line.outcome), (0, "skipped"))
        self.assertIn("can no longer ship complete", line.reason)
        # it keeps what is left reserved
        self.assertEqual(self.new_bo.move_ids.quantity, 2)

    def test_popup_checks_the_stock_again(self):
        wizard = self._popup(self.old).save()
        self.assertEqual(wizard.line_ids.available_qty, 4)
        self._count(self.cart, 1)  # the carts left while the pop-up was open
        with self.assertRaisesRegex(UserError, "only 1.0 Units are available now"):
            wizard.action_fill()
        self.assertEqual(self._shipped(self.old, self.cart), 1)
        self.assertOnHand(self.cart, 1)

    def test_plan_shipped_later_never_ships_more(self):
        Service = self.env["backops.backorder.fill.service"].with_user(self.stock_user)
        plan = Service._plan((self.old_bo | self.new_bo).move_ids, "partial", "oldest")
        self.assertEqual([row.fill for entry in plan for row in entry.rows], [4, 4])
        self._count(self.cart, 3)
        results, pickings = Service._ship(plan)
        self.assertEqual([row.fill for entry in results for row in entry.rows], [3, 0])
        self.assertEqual([entry.outcome for entry in results], ["partial", "skipped"])
        self.assertEqual(pickings, self.old_bo)
        self.assertOnHand(self.cart, 0)


@tagged("post_install", "-at_install")
class TestActualShipDate(FillRulesCommon):
    """The actual ship date is the delivery's date for the customer; Odoo's own
    dates (effective date, moves, valuation) stay when it was validated."""

    def setUp(self):
        super().setUp()
        self.order = self._order([(self.cart, 3)])
        self.backorder = self._backorder(self.order)  # 2 carts
        self._stock(self.cart, 2)
        # noon, three days ago: the same day in any time zone the documents may use
        self.ship_date = (datetime.now() - timedelta(days=3)).replace(hour=12, minute=0, second=0, microsecond=0)

    def test_popup_ship_date(self):
        form = self._popup(self.order)
        form.ship_date = self.ship_date
        form.save().action_fill()
        self.assertEqual(self.backorder.state, "done")
        self.assertEqual(self.backorder.backops_ship_date, self.ship_date)
        validated = self.backorder.date_done
        self.assertGreater(validated, self.ship_date + timedelta(days=2))
        for move in self.backorder.move_ids:
            self.assertLess(abs(move.date - validated), timedelta(minutes=5))
            self.assertGreater(move.move_line_ids.date, self.ship_date + timedelta(days=2))
            for layer in move.stock_valuation_layer_ids:
                self.assertGreater(layer.create_date, self.ship_date + timedelta(days=2))
        mail = self.env["mail.mail"].search([("model", "=", "stock.picking"), ("res_id", "=", self.backorder.id)])
        self.assertIn(f"shipped on {self.ship_date:%m/%d/%Y}", mail.body_html)
        slip, _format = self.env["ir.actions.report"]._render_qweb_html("stock.report_deliveryslip", self.backorder.ids)
        self.assertIn(f"{self.ship_date:%m/%d/%Y}", slip.decode())

    def test_batch_ship_date_in_the_summary(self):
        fill = self._batch(mode="partial", ship_date=self.ship_date)
        fill.action_start()
        self.assertEqual(self.backorder.backops_ship_date, self.ship_date)
        self.assertGreater(self.backorder.date_done, self.ship_date + timedelta(days=2))
        output = io.BytesIO()
        write_procurement_workbook(fill._get_export_sheets(), output)
        rows = list(openpyxl.load_workbook(io.BytesIO(output.getvalue()))["Orders"].values)
        shipped_on = rows[0].index("Shipped On")
        self.assertEqual(rows[1][shipped_on], self.ship_date)
        html, _format = self.env["ir.actions.report"]._render_qweb_html(
            "backops_procurement.report_backorder_fill", fill.ids
        )
        self.assertIn("Shipped On", html.decode())


@tagged("post_install", "-at_install")
class TestFillLinesPerCompany(FillRulesCommon):
    """Fill lines belong to their fill's company and only the fill writes them."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_b = cls.env["res.company"].create({"name": "BackOps Events North"})
        cls.stock_user_b = new_test_user(
            cls.env,
            "backops_stock_north",
            groups="stock.group_stock_user",
            company_id=cls.company_b.id,
            company_ids=[Command.set(cls.company_b.ids)],
            name="Warehouse Nils",
        )

    def setUp(self):
        super().setUp()
        order = self._order([(self.cart, 3)])
        self._backorder(order)
        self._stock(self.cart, 2)
        self.fill = self._batch(mode="partial")
        self.fill.action_start()
        self.line = self.fill.line_ids
        self.assertEqual(len(self.line), 1)
        self.sheets = self.fill._get_export_sheets()

    def assertUnchanged(self):
        self.assertEqual(self.fill.line_ids, self.line)
        self.assertEqual((self.line.fill_qty, self.line.needed_qty), (2, 2))
        self.assertEqual(self.fill._get_export_sheets(), self.sheets)

    def test_line_has_its_fill_company(self):
        self.assertEqual(self.line.company_id, self.env.company)

    def test_other_company_cannot_read(self):
        Line = self.env["backops.backorder.fill.line"].with_user(self.stock_user_b)
        self.assertFalse(Line.search([("id", "=", self.line.id)]))
        with self.assertRaises(AccessError):
            self.line.with_user(self.stock_user_b).read(["fill_qty"])

    def test_other_company_cannot_write(self):
        with self.assertRaises(AccessError):
            self.line.with_user(self.stock_user_b).write({"fill_qty": 99})
        self.assertUnchanged()

    def test_other_company_cannot_create(self):
        Line = self.env["backops.backorder.fill.line"].with_user(self.stock_user_b)
        with self.assertRaises(AccessError):
            Line.create({"fill_id": self.fill.id, "product_id": self.cart.id, "fill_qty": 99, "outcome": "complete"})
        self.assertUnchanged()

    def test_lines_are_read_only_for_their_own_company(self):
        line = self.line.with_user(self.stock_user)
        self.assertEqual(line.fill_qty, 2)
        with self.assertRaises(AccessError):
            line.write({"fill_qty": 99})
        with self.assertRaises(AccessError):
            line.create({"fill_id": self.fill.id, "product_id": self.cart.id, "fill_qty": 99})
        with self.assertRaises(AccessError):
            line.unlink()
        self.assertUnchanged()

    def test_a_line_cannot_point_to_another_company(self):
        order_b = self._create_sale_order([(self.cart, 1)], confirm=False, company=self.company_b)
        # (assertRaises rolls back to a savepoint, as the request would be)
        with self.assertRaises(UserError) as caught:
            self.env["backops.backorder.fill.line"].sudo().create(
                {"fill_id": self.fill.id, "sale_order_id": order_b.id}
            )
        self.assertIn("Incompatible companies", str(caught.exception))
        self.assertUnchanged()


@tagged("post_install", "-at_install")
class TestForceBackorderChecksFirst(FillRulesCommon):
    """Force Backorder checks every hold before it splits anything."""

    def setUp(self):
        super().setUp()
        self._stock(self.cart, 10)
        self._stock(self.bench, 10)
        self.order = self._order([(self.cart, 5), (self.bench, 4)])
        self.delivery = self.order.picking_ids
        self.moves = self.delivery.move_ids

    def assertUntouched(self):
        self.assertEqual(self.delivery.move_ids, self.moves)
        self.assertEqual(self.moves.mapped("product_uom_qty"), [5, 4])
        self.assertEqual(self.moves.mapped("quantity"), [5, 4])
        self.assertFalse(self.delivery.backorder_ids)
        self.assertOnHand(self.cart, 10)

    def test_a_bad_hold_after_a_good_one(self):
        form = Form(
            self.env["backops.force.backorder"]
            .with_user(self.stock_user)
            .with_context(default_picking_id=self.delivery.id)
        )
        with form.line_ids.edit(0) as line:
            line.hold_qty = 2
        with form.line_ids.edit(1) as line:
            line.hold_qty = 9
        wizard = form.save()
        with self.assertRaisesRegex(UserError, "Bench: 9.0 to hold back, but the delivery has 4.0"):
            wizard.action_confirm()
        self.assertUntouched()

    def test_a_line_of_another_delivery_after_a_good_one(self):
        other = self._order([(self.cart, 1)], partner=self.customer_2).picking_ids.move_ids
        with self.assertRaisesRegex(UserError, "not an open line"):
            self.delivery.with_user(self.stock_user)._backops_force_backorder({self.moves[0]: 2, other: 1})
        self.assertUntouched()

    def test_a_quantity_that_is_not_a_number(self):
        for bad in NOT_QUANTITIES:
            with self.subTest(bad=bad), self.assertRaises(ValidationError):
                self.delivery.with_user(self.stock_user)._backops_force_backorder(
                    {self.moves[0]: 2, self.moves[1]: bad}
                )
        wizard = Form(
            self.env["backops.force.backorder"]
            .with_user(self.stock_user)
            .with_context(default_picking_id=self.delivery.id)
        ).save()
        for bad in NOT_QUANTITIES:
            with self.subTest(bad=bad), self.assertRaisesRegex(ValidationError, "Bench: "):
                wizard.line_ids[1].write({"hold": True, "hold_qty": bad})
        self.assertEqual(wizard.line_ids.mapped("hold_qty"), [0, 0])
        self.assertUntouched()


@tagged("post_install", "-at_install")
class TestQuantitiesMustBeNumbers(FillRulesCommon):
    """NaN, infinity and 1e308 are refused with a sentence; nothing is written."""

    def test_popup_fill_quantities(self):
        order = self._order([(self.cart, 5)])
        backorder = self._backorder(order)
        self._stock(self.cart, 4)
        wizard = self._popup(order).save()
        Wizard = self.env["backops.backorder.fill.order"].with_user(self.stock_user)
        for bad in NOT_QUANTITIES:
            with self.subTest(bad=bad):
                with self.assertRaisesRegex(
                    ValidationError, "Cart: (the quantity must be a number|.* is beyond any real quantity)"
                ):
                    wizard.line_ids.write({"fill_qty": bad})
                with self.assertRaises(ValidationError):
                    Wizard.create(
                        {
                            "sale_order_id": order.id,
                            "line_ids": [Command.create({"product_id": self.cart.id, "fill_qty": bad})],
                        }
                    )
        self.assertEqual(wizard.line_ids.fill_qty, 4)
        self.assertEqual(backorder.state, "confirmed")
        self.assertEqual(self._shipped(order, self.cart), 1)
        self.assertOnHand(self.cart, 4)

    def test_replenish_order_quantities(self):
        order = self._order([(self.cart, 11)])
        self._backorder(order)
        wizard = Form(self.env["backops.backorder.replenish"].with_user(self.buyer)).save()
        orders_before = self.env["purchase.order"].search_count([])
        for bad in NOT_QUANTITIES:
            with self.subTest(bad=bad), self.assertRaisesRegex(ValidationError, "Cart: "):
                wizard.line_ids.write({"order_qty": bad})
        self.assertEqual(wizard.line_ids.order_qty, 10)
        self.assertEqual(self.env["purchase.order"].search_count([]), orders_before)


@tagged("post_install", "-at_install")
class TestConcurrencyErrorsAreRetried(FillRulesCommon):
    """A concurrency error while shipping is not an order to skip: it goes up, so
    that Odoo retries the request; any other error skips only the failing order."""

    def setUp(self):
        super().setUp()
        self.order = self._order([(self.cart, 3)])
        self.backorder = self._backorder(self.order)
        self._stock(self.cart, 2)
        Service = type(self.env["backops.backorder.fill.service"])

        def conflicting_ship(model, plan, ship_date=None, reassign=True):
            raise SerializationFailure("could not serialize access due to concurrent update")

        self.conflict = patch.object(Service, "_ship", conflicting_ship)

    def test_batch(self):
        fill = self._batch(mode="partial")
        with self.conflict, self.assertRaises(SerializationFailure):
            fill.action_start()
        self.assertEqual(fill.state, "draft")
        self.assertFalse(fill.line_ids)

    def test_nightly(self):
        policy = self.env["backops.backorder.fill"].create({"name": "Nightly", "mode": "partial", "cron_active": True})
        with self.conflict, self.assertRaises(SerializationFailure):
            self.env["backops.backorder.fill"]._cron_fill_backorders(batch_size=1)
        self.assertFalse(policy.line_ids)
