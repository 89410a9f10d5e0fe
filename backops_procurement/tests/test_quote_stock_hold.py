from datetime import date, timedelta
from unittest.mock import patch

from freezegun import freeze_time

from odoo import Command
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import Form, new_test_user, tagged
from odoo.tools import mute_logger

from .common import CommittedCase, ProcurementCommon


class HoldCommon(ProcurementCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.warehouse = cls.env["stock.warehouse"].search([("company_id", "=", cls.company.id)], limit=1)
        cls.stock = cls.warehouse.lot_stock_id
        cls.cart = cls._create_product("Hold Cart", subject=False, is_storable=True)
        cls.bench = cls._create_product("Hold Bench", subject=False, is_storable=True)
        cls.company.backops_quote_hold_days = 7
        cls.portal = new_test_user(cls.env, "backops_hold_portal", groups="base.group_portal")

    def _stock(self, product, quantity, location=None):
        self.env["stock.quant"]._update_available_quantity(product, location or self.stock, quantity)

    def _quotation(self, lines, user=None, **values):
        """A quotation entered on the form by ``user`` (the salesperson by default)."""
        form = Form(self.env["sale.order"].with_user(user or self.salesman))
        form.partner_id = self.customer
        for product, quantity, *uom in lines:
            with form.order_line.new() as line:
                line.product_id = product
                line.product_uom_qty = quantity
                if uom:
                    line.product_uom = uom[0]
        for name, value in values.items():
            setattr(form, name, value)
        return form.save().with_env(self.env)

    def _free(self, product, warehouse=None):
        return product.with_context(warehouse_id=(warehouse or self.warehouse).id).free_qty

    def _held(self, order, product):
        return self._line(order, product).backops_reserved_qty

    def _holds(self, orders):
        return self.env["stock.move"].search(
            [
                ("backops_hold_order_id", "in", orders.ids),
                ("state", "in", ("confirmed", "partially_available", "assigned")),
            ]
        )


@tagged("post_install", "-at_install")
class TestQuoteStockHold(HoldCommon):
    """Reserve holds what is free of a quotation's lines, through Odoo's own stock
    moves and reservations; confirming hands it to the delivery; cancelling,
    Release, expiry and line changes give it back."""

    @freeze_time("2026-06-01 09:00:00")
    def test_reserve_holds_up_to_free_quantity(self):
        self._stock(self.cart, 10)
        self._stock(self.bench, 3)
        quote = self._quotation([(self.cart, 4), (self.bench, 5), (self.pa_system, 1)])
        forecast_before = self.cart.with_context(warehouse_id=self.warehouse.id).virtual_available

        action = quote.with_user(self.salesman).action_backops_reserve()

        self.assertEqual(action["params"]["type"], "warning")
        self.assertIn("Hold Bench: 3.0 of 5.0", action["params"]["message"])
        self.assertEqual(self._held(quote, self.cart), 4)
        self.assertEqual(self._held(quote, self.bench), 3)
        self.assertEqual(self._held(quote, self.pa_system), 0)
        self.assertEqual(quote.backops_reservation_expiry, date(2026, 6, 8))
        self.assertTrue(quote.backops_has_stock_hold)
        # Odoo's own figures: the units are reserved on the quants, not counted beside them
        self.assertEqual(self._free(self.cart), 6)
        self.assertEqual(self._free(self.bench), 0)
        self.assertEqual(self.cart.with_context(warehouse_id=self.warehouse.id).qty_available, 10)
        self.assertEqual(self.cart.with_context(warehouse_id=self.warehouse.id).virtual_available, forecast_before)
        quants = self.env["stock.quant"].search(
            [("product_id", "=", self.cart.id), ("location_id", "=", self.stock.id)]
        )
        self.assertEqual(sum(quants.mapped("reserved_quantity")), 4)
        holds = self._holds(quote)
        self.assertEqual(len(holds), 2)
        self.assertEqual(set(holds.mapped("state")), {"assigned"})
        self.assertFalse(holds.picking_id)
        self.assertFalse(holds.sale_line_id, "a hold is not a delivery of the line")
        self.assertEqual(holds.mapped("origin"), [quote.name, quote.name])
        for move in holds:
            self.assertEqual(move.product_uom_qty, move.quantity, "the scheduler never tops a hold up")
        self.assertEqual(quote.order_line.mapped("qty_delivered"), [0, 0, 0])

    def test_availability_widget_counts_the_quotations_own_hold(self):
        self._stock(self.cart, 6)
        quote = self._quotation([(self.cart, 4), (self.cart, 2)])
        other = self._quotation([(self.cart, 1)])
        quote.action_backops_reserve()
        self.env.invalidate_all()
        first, second = quote.order_line
        self.assertEqual((first.free_qty_today, second.free_qty_today), (6, 2))
        self.assertEqual(other.order_line.free_qty_today, 0, "held for another quotation: not free")

    def test_nothing_free_holds_nothing(self):
        quote = self._quotation([(self.cart, 4)])
        action = quote.action_backops_reserve()
        self.assertEqual(action["params"]["type"], "warning")
        self.assertFalse(self._holds(quote))
        self.assertFalse(quote.backops_has_stock_hold)
        self.assertFalse(
            self.env["stock.move"].search([("backops_hold_sale_line_id", "in", quote.order_line.ids)]),
            "a hold that found nothing free leaves no move behind",
        )

    def test_reserve_again_tops_up_without_holding_twice(self):
        self._stock(self.cart, 10)
        quote = self._quotation([(self.cart, 4)])
        quote.action_backops_reserve()
        quote.action_backops_reserve()
        self.assertEqual(self._held(quote, self.cart), 4)
        self.assertEqual(len(self._holds(quote)), 1)
        self.assertEqual(self._free(self.cart), 6)

        with Form(quote.with_user(self.salesman)) as form, form.order_line.edit(0) as line:
            line.product_uom_qty = 8
        self.assertEqual(self._held(quote, self.cart), 4, "a larger quantity is held on Reserve, not on save")
        quote.action_backops_reserve()
        self.assertEqual(self._held(quote, self.cart), 8)
        self.assertEqual(len(self._holds(quote)), 1)

        self._line(quote, self.cart).product_uom_qty = 12
        quote.action_backops_reserve()
        self.assertEqual(self._held(quote, self.cart), 10)
        self.assertEqual(self._free(self.cart), 0)

    def test_other_deliveries_cannot_reserve_held_stock(self):
        self._stock(self.cart, 5)
        quote = self._quotation([(self.cart, 5)])
        quote.action_backops_reserve()
        other = self._create_sale_order([(self.cart, 3)], user=self.other_salesman)
        delivery = other.picking_ids
        self.assertEqual(delivery.move_ids.quantity, 0)
        delivery.action_assign()
        self.assertEqual(delivery.move_ids.quantity, 0)
        self.assertEqual(delivery.state, "confirmed")
        # Odoo's scheduler does not take it either
        self.env["procurement.group"].run_scheduler()
        self.assertEqual(delivery.move_ids.quantity, 0)
        self.assertEqual(self._held(quote, self.cart), 5)

    def test_confirm_hands_the_hold_to_the_delivery(self):
        # an earlier order waits for carts; 5 come in and a quotation holds them
        waiting = self._create_sale_order([(self.cart, 5)], user=self.other_salesman)
        self._stock(self.cart, 5)
        quote = self._quotation([(self.cart, 4), (self.bench, 2)])
        quote.action_backops_reserve()

        quote.with_user(self.salesman).action_confirm()

        delivery = quote.picking_ids
        self.assertEqual(self._line(quote, self.cart).move_ids.quantity, 4)
        self.assertEqual(delivery.move_ids.filtered(lambda m: m.product_id == self.cart).state, "assigned")
        self.assertEqual(waiting.picking_ids.move_ids.quantity, 0, "the waiting delivery did not take the held carts")
        self.assertFalse(self._holds(quote))
        self.assertFalse(quote.backops_has_stock_hold)
        self.assertEqual(self._held(quote, self.cart), 0)
        self.assertEqual(self._free(self.cart), 1)
        quants = self.env["stock.quant"].search(
            [("product_id", "=", self.cart.id), ("location_id", "=", self.stock.id)]
        )
        self.assertEqual(sum(quants.mapped("reserved_quantity")), 4)

    def test_confirm_hands_the_hold_over_when_deliveries_reserve_manually(self):
        self.warehouse.out_type_id.reservation_method = "manual"
        self._stock(self.cart, 6)
        quote = self._quotation([(self.cart, 8)])
        quote.action_backops_reserve()
        self.assertEqual(self._held(quote, self.cart), 6)
        quote.action_confirm()
        move = self._line(quote, self.cart).move_ids
        self.assertEqual(move.quantity, 6, "what was held is reserved although the delivery reserves manually")
        self.assertEqual(move.state, "partially_available")
        self.assertFalse(self._holds(quote))

    def test_confirm_reserves_held_and_free_stock(self):
        self._stock(self.cart, 3)
        quote = self._quotation([(self.cart, 5)])
        quote.action_backops_reserve()
        self.assertEqual(self._held(quote, self.cart), 3)
        self._stock(self.cart, 4)
        quote.action_confirm()
        self.assertEqual(self._line(quote, self.cart).move_ids.quantity, 5)
        self.assertEqual(self._free(self.cart), 2)

    def test_cancel_and_release_free_the_stock(self):
        self._stock(self.cart, 10)
        first = self._quotation([(self.cart, 4)])
        second = self._quotation([(self.cart, 5)])
        (first | second).action_backops_reserve()
        self.assertEqual(self._free(self.cart), 1)

        first.with_user(self.salesman).action_cancel()
        self.assertEqual(first.state, "cancel")
        self.assertFalse(self._holds(first))
        self.assertEqual(self._free(self.cart), 5)

        action = second.with_user(self.salesman).action_backops_release()
        self.assertIn(second.name, action["params"]["message"])
        self.assertFalse(self._holds(second))
        self.assertFalse(second.backops_has_stock_hold)
        self.assertEqual(self._free(self.cart), 10)
        self.assertEqual(
            self.env["stock.move"].search([("backops_hold_order_id", "=", second.id)]).state,
            "cancel",
            "a released hold stays as a cancelled move: what was held, and until when",
        )
        self.assertIn("Nothing", second.action_backops_release()["params"]["message"])

    def test_reserve_refused_on_what_is_not_a_quotation(self):
        self._stock(self.cart, 10)
        confirmed = self._create_sale_order([(self.cart, 1)], user=self.salesman)
        cancelled = self._quotation([(self.cart, 1)])
        cancelled.action_cancel()
        template = self._quotation([(self.cart, 1)])
        template.backops_order_type = "recurring"
        # a return is made from its original, never by changing a quotation's type
        returned = self.env["sale.order"].create(
            {
                "partner_id": confirmed.partner_id.id,
                "backops_order_type": "return",
                "backops_ref_order_id": confirmed.id,
                "user_id": self.salesman.id,
                "order_line": [Command.create({"product_id": self.cart.id, "product_uom_qty": 0})],
            }
        )
        quote = self._quotation([(self.cart, 1)])
        for order in confirmed | cancelled | template | returned:
            with self.assertRaisesRegex(UserError, "Only quotations can hold stock"):
                (quote | order).with_user(self.salesman).action_backops_reserve()
            self.assertFalse(self._holds(quote | order))
            self.assertFalse(quote.backops_reservation_expiry, "nothing written")
        self.assertEqual(self._free(self.cart), 9)

    def test_line_changes_shrink_or_free_the_hold(self):
        self._stock(self.cart, 30)
        self._stock(self.bench, 5)
        quote = self._quotation([(self.cart, 8), (self.bench, 5)])
        quote.action_backops_reserve()

        with Form(quote.with_user(self.salesman)) as form, form.order_line.edit(0) as line:
            line.product_uom_qty = 5
        self.assertEqual(self._held(quote, self.cart), 5)
        self.assertEqual(self._free(self.cart), 25)
        self.assertEqual(len(self._holds(quote)), 2)

        # a unit the line counts in: 1 dozen is 12 units, more than held: unchanged
        self._line(quote, self.cart).write({"product_uom_qty": 1, "product_uom": self.uom_dozen.id})
        self.assertAlmostEqual(self._held(quote, self.cart), 5 / 12, places=2)
        self.assertEqual(self._free(self.cart), 25)
        self._line(quote, self.cart).write({"product_uom_qty": 3, "product_uom": self.uom_unit.id})
        self.assertEqual(self._held(quote, self.cart), 3)
        self.assertEqual(self._free(self.cart), 27)

        # another product on the line: the hold of the old one is given back
        self._line(quote, self.cart).product_id = self.stage_deck
        self.assertEqual(self._free(self.cart), 30)

        # a deleted line frees what it held
        with Form(quote.with_user(self.salesman)) as form:
            form.order_line.remove(1)
        self.assertEqual(self._free(self.bench), 5)
        self.assertFalse(self._holds(quote))

    def test_removing_or_copying_a_quotation(self):
        self._stock(self.cart, 10)
        quote = self._quotation([(self.cart, 4)])
        quote.action_backops_reserve()
        copy = quote.copy()
        self.assertFalse(self._holds(copy))
        self.assertFalse(copy.backops_reservation_expiry)
        self.assertEqual(self._free(self.cart), 6)
        quote.unlink()
        self.assertEqual(self._free(self.cart), 10)

    def test_warehouse_change_frees_the_hold(self):
        self._stock(self.cart, 10)
        other_warehouse = self.env["stock.warehouse"].create({"name": "Overflow", "code": "OVF"})
        quote = self._quotation([(self.cart, 4)])
        quote.action_backops_reserve()
        quote.warehouse_id = other_warehouse
        self.assertFalse(self._holds(quote))
        self.assertEqual(self._free(self.cart), 10)

    def test_hold_until_date_is_kept_while_holding(self):
        self._stock(self.cart, 10)
        quote = self._quotation([(self.cart, 4)], backops_reservation_expiry=date.today() + timedelta(days=30))
        quote.action_backops_reserve()
        self.assertEqual(quote.backops_reservation_expiry, date.today() + timedelta(days=30))
        with self.assertRaisesRegex(ValidationError, "need a Hold Until date"):
            quote.backops_reservation_expiry = False
        self.assertTrue(quote.backops_reservation_expiry)
        quote.action_backops_release()
        quote.backops_reservation_expiry = False
        self.assertFalse(quote.backops_reservation_expiry)

    def test_company_setting_is_validated(self):
        with self.assertRaisesRegex(ValidationError, "negative"):
            self.company.backops_quote_hold_days = -1
        settings = self.env["res.config.settings"].create({"backops_quote_hold_days": 3})
        settings.execute()
        self.assertEqual(self.company.backops_quote_hold_days, 3)

    def test_expiry_releases_holds_through_the_scheduled_action(self):
        self._stock(self.cart, 10)
        self.company.backops_quote_hold_days = 2
        with freeze_time("2026-06-01 09:00:00"):
            short = self._quotation([(self.cart, 3)])
            short.action_backops_reserve()
            long = self._quotation([(self.cart, 4)], backops_reservation_expiry=date(2026, 6, 30))
            long.action_backops_reserve()
        self.assertEqual(short.backops_reservation_expiry, date(2026, 6, 3))
        cron = self.env.ref("backops_procurement.ir_cron_release_expired_holds")
        self.assertEqual(cron.code, "model._cron_backops_release_expired_holds()")
        with freeze_time("2026-06-03 23:00:00"):
            self.env["sale.order"]._cron_backops_release_expired_holds()
        self.assertEqual(self._free(self.cart), 3, "held through its Hold Until day")
        with freeze_time("2026-06-04 01:00:00"):
            cron.ir_actions_server_id.run()
        self.assertFalse(self._holds(short))
        self.assertEqual(self._held(long, self.cart), 4)
        self.assertEqual(self._free(self.cart), 6)
        with freeze_time("2026-06-04 02:00:00"):
            # run again: nothing more to do
            self.assertEqual(self.env["sale.order"]._cron_backops_release_expired_holds(), 0)

    @mute_logger("odoo.addons.backops_procurement.models.sale_order_hold")
    def test_expiry_in_batches_one_failing_order_skipped(self):
        self._stock(self.cart, 10)
        with freeze_time("2026-06-01 09:00:00"):
            quotes = self.env["sale.order"].concat(*(self._quotation([(self.cart, 1)]) for _i in range(5)))
            quotes.action_backops_reserve()
        failing = quotes[2]
        Move = type(self.env["stock.move"])
        release = Move._backops_hold_release

        def release_or_fail(moves):
            if failing in moves.backops_hold_order_id:
                # pylint: disable-next=translation-required
                raise UserError("cannot release")
            return release(moves)

        with (
            freeze_time("2026-07-01 09:00:00"),
            patch.object(Move, "_backops_hold_release", release_or_fail),
            patch.object(type(self.env["ir.cron"]), "_notify_progress") as progress,
        ):
            done = self.env["sale.order"]._cron_backops_release_expired_holds(batch_size=2)
        self.assertEqual(done, 4)
        self.assertEqual(self._holds(quotes), self._holds(failing))
        self.assertEqual(self._free(self.cart), 9)
        self.assertEqual(progress.call_args_list[-1].kwargs, {"done": 4, "remaining": 0})
        self.assertGreaterEqual(progress.call_count, 3, "one progress report per batch of 2")

    @freeze_time("2026-06-01 09:00:00")
    def test_writing_the_state_releases_the_hold(self):
        self._stock(self.cart, 10)
        quote = self._quotation([(self.cart, 4)])
        quote.action_backops_reserve()
        # a client writing the state directly: the gate on write releases as well
        quote.write({"state": "sale"})
        self.assertFalse(self._holds(quote))

    def test_batch_reserve_of_several_quotations(self):
        self._stock(self.cart, 10)
        self._stock(self.bench, 4)
        quotes = (
            self._quotation([(self.cart, 4), (self.bench, 3)])
            | self._quotation([(self.cart, 4), (self.bench, 3)])
            | self._quotation([(self.cart, 4)])
        )
        quotes.with_user(self.salesman).action_backops_reserve()
        held_carts = [self._held(quote, self.cart) for quote in quotes]
        held_benches = [self._held(quote, self.bench) for quote in quotes[:2]]
        self.assertEqual(sum(held_carts), 10)
        self.assertTrue(all(held <= 4 for held in held_carts))
        self.assertEqual(sum(held_benches), 4)
        self.assertEqual(self._free(self.cart), 0)
        self.assertEqual(self._free(self.bench), 0)
        self.assertTrue(all(quotes.mapped("backops_reservation_expiry")))
        quotes.action_backops_reserve()
        self.assertEqual(sum(self._held(quote, self.cart) for quote in quotes), 10)
        self.assertEqual(len(self._holds(quotes)), 5)

    def test_other_company_stock_is_not_used(self):
        company_b = self.env["res.company"].create({"name": "Hold Company B"})
        self.env.user.company_ids += company_b
        warehouse_b = self.env["stock.warehouse"].search([("company_id", "=", company_b.id)], limit=1)
        self._stock(self.cart, 10, location=warehouse_b.lot_stock_id)
        quote = self._quotation([(self.cart, 4)])
        quote.action_backops_reserve()
        self.assertFalse(self._holds(quote))
        self.assertEqual(self._free(self.cart, warehouse_b), 10)

        env_b = self.env(context=dict(self.env.context, allowed_company_ids=company_b.ids))
        quote_b = env_b["sale.order"].create(
            {
                "partner_id": self.customer.id,
                "company_id": company_b.id,
                "order_line": [Command.create({"product_id": self.cart.id, "product_uom_qty": 4})],
            }
        )
        quote_b.action_backops_reserve()
        hold = self._holds(quote_b)
        self.assertEqual(hold.company_id, company_b)
        self.assertEqual(hold.location_id, warehouse_b.lot_stock_id)
        self.assertEqual(self._free(self.cart, warehouse_b), 6)

    def test_rights(self):
        self._stock(self.cart, 10)
        quote = self._quotation([(self.cart, 4)])
        # a salesperson reserves and releases their own quotations, not another's
        with self.assertRaises(AccessError):
            quote.with_user(self.other_salesman).action_backops_reserve()
        self.assertFalse(self._holds(quote))
        self.assertFalse(quote.backops_reservation_expiry)
        with self.assertRaises(AccessError):
            quote.with_user(self.employee).action_backops_reserve()
        with self.assertRaisesRegex(AccessError, "internal users"):
            quote.with_user(self.portal).action_backops_reserve()
        self.assertFalse(self._holds(quote))

        quote.with_user(self.salesman).action_backops_reserve()
        self.assertEqual(quote.with_user(self.salesman).order_line.backops_reserved_qty, 4)
        with self.assertRaises(AccessError):
            quote.with_user(self.other_salesman).action_backops_release()
        with self.assertRaisesRegex(AccessError, "internal users"):
            quote.with_user(self.portal).action_backops_release()
        self.assertEqual(self._free(self.cart), 6)
        quote.with_user(self.salesman).action_backops_release()
        self.assertEqual(self._free(self.cart), 10)

    def test_product_form_shows_what_is_held_and_for_which_quotations(self):
        self._stock(self.cart, 10)
        first = self._quotation([(self.cart, 4)])
        second = self._quotation([(self.cart, 3)], user=self.other_salesman)
        (first | second).action_backops_reserve()
        template = self.cart.product_tmpl_id.with_user(self.salesman)
        self.assertEqual(template.backops_held_qty, 7)
        self.assertEqual(self.cart.with_user(self.salesman).backops_held_qty, 7)
        action = template.action_backops_view_holds()
        holds = self.env["stock.move"].with_user(self.salesman).search(action["domain"])
        self.assertEqual(holds.backops_hold_order_id, first | second)
        self.assertEqual(sorted(holds.mapped("quantity")), [3, 4])
        self.assertEqual(action["res_model"], "stock.move")
        self.assertEqual(
            self.cart.action_backops_view_holds()["domain"],
            action["domain"][:-1] + [("product_id", "in", self.cart.ids)],
        )
        first.action_backops_release()
        self.assertEqual(self.cart.product_tmpl_id.backops_held_qty, 3)

    def test_query_count_is_flat_per_line(self):
        products = self.env["product.product"].create(
            [{"name": f"Hold Crate {index}", "type": "consu", "is_storable": True} for index in range(20)]
        )
        for product in products:
            self._stock(product, 5)
        # warm the caches Odoo fills once (rules, sequences, company fields)
        self._quotation([(products[0], 1)]).action_backops_reserve()

        def reserve(count):
            quote = self._create_sale_order([(product, 2) for product in products[:count]], confirm=False)
            self.env.flush_all()
            self.env.invalidate_all()
            before = self.env.cr.sql_log_count
            quote.action_backops_reserve()
            self.env.flush_all()
            return self.env.cr.sql_log_count - before

        five, twenty = reserve(5), reserve(20)
        per_line = (twenty - five) / 15
        self.assertLessEqual(per_line, five / 5, f"{five} queries for 5 lines, {twenty} for 20")
        self.assertLessEqual(per_line, 25, f"{per_line:.1f} queries per line (Odoo's reservation is per move)")


@tagged("post_install", "-at_install")
class TestConcurrentQuoteHold(CommittedCase):
    """Two salespeople reserve the last units for two quotations, each in its own
    transaction: the second waits for the first, then fails to serialize (Odoo
    retries the request), and its retry holds only what is left."""

    def setUp(self):
        super().setUp()
        with self._env() as env:
            company, suffix = self._make_company(env, "Race Hold")
            env = env(context=dict(env.context, allowed_company_ids=company.ids))
            warehouse = env["stock.warehouse"].search([("company_id", "=", company.id)], limit=1)
            product = env["product.product"].create(
                {"name": f"Race Hold Cart {suffix}", "type": "consu", "is_storable": True}
            )
            env["stock.quant"]._update_available_quantity(product, warehouse.lot_stock_id, 5)
            partner = env["res.partner"].create({"name": f"Race Hold Customer {suffix}"})
            quotes = env["sale.order"].create(
                [
                    {
                        "partner_id": partner.id,
                        "company_id": company.id,
                        "order_line": [Command.create({"product_id": product.id, "product_uom_qty": 4})],
                    }
                    for _i in range(2)
                ]
            )
            self.ids = {
                "company": company.id,
                "quotes": quotes.ids,
                "product": product.id,
                "stock": warehouse.lot_stock_id.id,
            }

    def _reserve(self, cr, index):
        with self._env(cr=cr) as env:
            env = env(context=dict(env.context, allowed_company_ids=[self.ids["company"]]))
            env["sale.order"].browse(self.ids["quotes"][index]).action_backops_reserve()
            env.flush_all()

    def _state(self):
        with self._env() as env:
            env = env(context=dict(env.context, allowed_company_ids=[self.ids["company"]]))
            quotes = env["sale.order"].browse(self.ids["quotes"])
            quants = env["stock.quant"].search(
                [("product_id", "=", self.ids["product"]), ("location_id", "child_of", self.ids["stock"])]
            )
            return (
                quotes.order_line.mapped("backops_reserved_qty"),
                sum(quants.mapped("reserved_quantity")),
                sum(quants.mapped("quantity")),
            )

    @mute_logger("odoo.sql_db")
    def test_two_transactions_never_hold_more_than_is_free(self):
        outcome = self._race(lambda cr: self._reserve(cr, 0), lambda cr: self._reserve(cr, 1))
        self.assertEqual(outcome, "retry")
        self.assertEqual(self._state(), ([4, 0], 4, 5))
        # Odoo retries the request: it holds what is left
        with self.registry.cursor() as cr:
            self._reserve(cr, 1)
        self.assertEqual(self._state(), ([4, 1], 5, 5))
