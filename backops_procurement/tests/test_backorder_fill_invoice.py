from datetime import datetime
from unittest.mock import patch

from odoo.exceptions import AccessError, UserError
from odoo.tests import Form, new_test_user, tagged

from .test_backorders import BackorderCommon


@tagged("post_install", "-at_install")
class TestFillInvoicesWhatShips(BackorderCommon):
    """A fill whose policy invoices what ships: one invoice per order that shipped,
    made by Odoo's invoicing on delivered quantities, draft or posted."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        (cls.cart | cls.bench).product_tmpl_id.invoice_policy = "delivery"
        cls.billing = new_test_user(
            cls.env,
            "backops_billing",
            groups="stock.group_stock_user,account.group_account_invoice",
            name="Billing Bo",
        )
        cls.warehouse_only = new_test_user(
            cls.env, "backops_warehouse_only", groups="stock.group_stock_user", name="Warehouse Will"
        )

    def setUp(self):
        super().setUp()
        self.old = self._order([(self.cart, 6), (self.bench, 5)], date_order=datetime(2026, 9, 1))
        self.new = self._order([(self.cart, 4)], partner=self.customer_2, date_order=datetime(2026, 9, 5))
        self.old_bo, self.new_bo = self._backorder(self.old), self._backorder(self.new)
        # the first shipments are invoiced already: a fill invoices its own shipment
        self.first_invoices = (self.old | self.new)._create_invoices(grouped=True)
        self.first_invoices.action_post()
        self._stock(self.cart, 8)
        self._stock(self.bench, 2)

    def _policy(self, user=None, **values):
        form = Form(self.env["backops.backorder.fill"].with_user(user or self.billing))
        form.name = "Nightly with invoices"
        form.mode = "partial"
        form.email_complete = form.email_partial = False
        for fname, value in values.items():
            setattr(form, fname, value)
        return form.save()

    def _new_invoices(self, order):
        return order.invoice_ids - self.first_invoices

    @staticmethod
    def _shipped(order, product):
        moves = order.picking_ids.move_ids.filtered(lambda m: m.product_id == product and m.state == "done")
        return sum(moves.mapped("quantity"))

    def _quantities(self, invoice):
        return {line.product_id: line.quantity for line in invoice.invoice_line_ids}

    def test_draft_invoices_of_what_shipped_one_per_order(self):
        fill = self._policy(invoice_shipped="draft")
        # shipped by a warehouse user, who has no invoicing rights
        fill.with_user(self.warehouse_only).action_start()
        old_invoice, new_invoice = self._new_invoices(self.old), self._new_invoices(self.new)
        self.assertEqual((len(old_invoice), len(new_invoice)), (1, 1), "one invoice per order")
        self.assertNotEqual(old_invoice, new_invoice)
        self.assertEqual((old_invoice.state, old_invoice.move_type), ("draft", "out_invoice"))
        # what the fill shipped: 5 carts and 2 benches, and 3 carts
        self.assertEqual(self._quantities(old_invoice), {self.cart: 5, self.bench: 2})
        self.assertEqual(self._quantities(new_invoice), {self.cart: 3})
        self.assertEqual(old_invoice.invoice_line_ids.sale_line_ids.order_id, self.old)
        self.assertEqual(fill.invoice_ids, old_invoice | new_invoice)
        self.assertEqual(fill.invoice_count, 2)
        lines = fill.line_ids.filtered(lambda line: line.sale_order_id == self.old)
        self.assertEqual(lines.invoice_id, old_invoice)
        self.assertEqual(set(fill.line_ids.mapped("invoice_note")), {False})
        action = fill.action_view_invoices()
        self.assertEqual(action["res_model"], "account.move")

    def test_posted_invoices(self):
        fill = self._policy(invoice_shipped="posted")
        fill.with_user(self.warehouse_only).action_start()
        invoices = self._new_invoices(self.old) | self._new_invoices(self.new)
        self.assertEqual(invoices.mapped("state"), ["posted", "posted"])
        self.assertEqual(self.old.invoice_status, "no", "all it delivered is invoiced")

    def test_no_invoice_by_default(self):
        fill = self._policy()
        self.assertEqual(fill.invoice_shipped, "no")
        fill.action_start()
        self.assertFalse(self._new_invoices(self.old) | self._new_invoices(self.new))
        self.assertFalse(fill.invoice_ids)

    def test_an_order_that_cannot_be_invoiced_keeps_its_shipment(self):
        SaleOrder = type(self.env["sale.order"])
        prepare = SaleOrder._prepare_invoice
        old = self.old

        def prepare_invoice(order):
            if order == old:
                # pylint: disable-next=translation-required
                raise UserError("no income account for this customer")
            return prepare(order)

        fill = self._policy(invoice_shipped="draft")
        with (
            patch.object(SaleOrder, "_prepare_invoice", prepare_invoice),
            self.assertLogs("odoo.addons.backops_procurement.models.backorder_fill_invoice", "WARNING"),
        ):
            fill.with_user(self.warehouse_only).action_start()
        self.assertFalse(self._new_invoices(self.old))
        self.assertEqual(len(self._new_invoices(self.new)), 1, "the other order is invoiced")
        self.assertEqual(self._shipped(self.old, self.cart), 1 + 5, "its shipment stays")
        notes = set(fill.line_ids.filtered(lambda line: line.sale_order_id == self.old).mapped("invoice_note"))
        self.assertEqual(notes, {"not invoiced: no income account for this customer"})

    def test_an_invoice_that_cannot_be_posted_stays_in_draft(self):
        Move = type(self.env["account.move"])
        post = Move.action_post
        customer = self.customer_2

        def action_post(moves):
            if customer in moves.partner_id:
                # pylint: disable-next=translation-required
                raise UserError("the period is locked")
            return post(moves)

        fill = self._policy(invoice_shipped="posted")
        with (
            patch.object(Move, "action_post", action_post),
            self.assertLogs("odoo.addons.backops_procurement.models.backorder_fill_invoice", "WARNING"),
        ):
            fill.with_user(self.warehouse_only).action_start()
        self.assertEqual(self._new_invoices(self.new).state, "draft")
        self.assertEqual(self._new_invoices(self.old).state, "posted")
        notes = set(fill.line_ids.filtered(lambda line: line.sale_order_id == self.new).mapped("invoice_note"))
        self.assertEqual(notes, {"left in draft: the period is locked"})

    def test_nothing_to_invoice_is_noted(self):
        self.cart.product_tmpl_id.invoice_policy = "order"
        new = self._order([(self.cart, 2)], partner=self.customer_2)
        self._backorder(new)
        new._create_invoices().action_post()  # ordered quantities: all invoiced already
        self._stock(self.cart, 1)
        fill = self._policy(invoice_shipped="draft", product_scope="selected")
        fill.product_ids = self.cart
        fill.action_start()
        lines = fill.line_ids.filtered(lambda line: line.sale_order_id == new and line.fill_qty)
        self.assertTrue(lines)
        self.assertEqual(set(lines.mapped("invoice_note")), {"nothing to invoice"})

    def test_who_may_set_the_policy(self):
        with self.assertRaisesRegex(AccessError, "Only Sales or Billing users"):
            self._policy(user=self.warehouse_only, invoice_shipped="draft")
        with self.assertRaisesRegex(AccessError, "Only Billing users"):
            self._policy(user=self.stock_user, invoice_shipped="posted")
        fill = self._policy(user=self.stock_user, invoice_shipped="draft")
        with self.assertRaisesRegex(AccessError, "Only Billing users"):
            fill.with_user(self.stock_user).invoice_shipped = "posted"
        with self.assertRaisesRegex(AccessError, "Only Sales or Billing users"):
            fill.with_user(self.warehouse_only).write({"invoice_shipped": "draft", "name": "Mine"})
        self.assertEqual(fill.invoice_shipped, "draft")
        # turning it off is anyone's
        fill.with_user(self.warehouse_only).invoice_shipped = "no"
        self.assertEqual(fill.invoice_shipped, "no")

    def test_nightly_run_invoices_in_batches(self):
        fill = self._policy(invoice_shipped="draft")
        fill.cron_active = True
        self.env["backops.backorder.fill"]._cron_fill_backorders(batch_size=1)
        self.assertEqual(len(self._new_invoices(self.old)), 1)
        self.assertEqual(len(self._new_invoices(self.new)), 1)
        self.assertEqual(fill.state, "done")
