from freezegun import freeze_time

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import Form, new_test_user, tagged

from .common import ProcurementCommon


@tagged("post_install", "-at_install")
class TestQuotedPrices(ProcurementCommon):
    """The unit price the customer was quoted: recorded when the quotation is sent or
    printed, or at confirmation if it never was; kept afterwards."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.pa_system.list_price = 100.0
        cls.stage_deck.list_price = 40.0
        cls.quote = cls._create_sale_order([(cls.pa_system, 10), (cls.stage_deck, 4)], confirm=False, user=cls.salesman)
        cls.pa_line = cls._line(cls.quote, cls.pa_system)
        cls.deck_line = cls._line(cls.quote, cls.stage_deck)

    def _set_price(self, line, price):
        with Form(line.order_id.with_user(self.salesman)) as form:
            with form.order_line.edit(list(line.order_id.order_line).index(line)) as edit:
                edit.price_unit = price

    def test_sent_then_price_changes_then_confirmed(self):
        self.assertFalse(self.pa_line.backops_quoted_date)
        with freeze_time("2026-03-02 10:00:00"):
            self.quote.with_user(self.salesman).action_quotation_sent()
        self.assertEqual(self.quote.state, "sent")
        self.assertEqual(self.pa_line.backops_quoted_price_unit, 100.0)
        self.assertEqual(str(self.pa_line.backops_quoted_date), "2026-03-02 10:00:00")
        self._set_price(self.pa_line, 115.0)
        self.quote.with_user(self.salesman).action_confirm()
        self.assertEqual(self.pa_line.price_unit, 115.0)
        self.assertEqual(self.pa_line.backops_quoted_price_unit, 100.0, "kept: the customer was quoted 100")
        self.assertEqual(self.deck_line.backops_quoted_price_unit, 40.0)
        # after confirmation, a new price, another print, another mail: still 100
        self._set_price(self.pa_line, 120.0)
        self.env["ir.actions.report"].with_user(self.salesman)._render_qweb_pdf(
            "sale.action_report_saleorder", self.quote.ids
        )
        self.assertEqual(self.pa_line.backops_quoted_price_unit, 100.0)

    def test_quotation_mail_records_the_prices(self):
        action = self.quote.with_user(self.salesman).action_quotation_send()
        # pylint: disable-next=context-overridden
        composer = Form(self.env["mail.compose.message"].with_user(self.salesman).with_context(action["context"]))
        composer.save().action_send_mail()
        self.assertEqual(self.quote.state, "sent")
        self.assertEqual(self.pa_line.backops_quoted_price_unit, 100.0)
        # sent again at a new price: the customer now has that quote
        self._set_price(self.pa_line, 95.0)
        self.assertEqual(self.pa_line.backops_quoted_price_unit, 100.0, "a change is not a quote")
        action = self.quote.with_user(self.salesman).action_quotation_send()
        Form(
            # pylint: disable-next=context-overridden
            self.env["mail.compose.message"].with_user(self.salesman).with_context(action["context"])
        ).save().action_send_mail()
        self.assertEqual(self.pa_line.backops_quoted_price_unit, 95.0)

    def test_printed_quotation_records_the_prices(self):
        self.env["ir.actions.report"].with_user(self.salesman)._render_qweb_pdf(
            "sale.action_report_saleorder", self.quote.ids
        )
        self.assertEqual(self.quote.state, "draft", "printing does not send")
        self.assertEqual(self.pa_line.backops_quoted_price_unit, 100.0)
        self.assertTrue(self.pa_line.backops_quoted_date)
        # the pro-forma is a quotation for the customer too
        self._set_price(self.deck_line, 45.0)
        self.env["ir.actions.report"]._render_qweb_pdf("sale.action_report_pro_forma_invoice", self.quote.id)
        self.assertEqual(self.deck_line.backops_quoted_price_unit, 45.0)
        # a batch of quotations and a confirmed order: only the quotations are quoted again
        other = self._create_sale_order([(self.pa_system, 1)], confirm=True, user=self.salesman)
        self._set_price(self.pa_line, 90.0)
        self._set_price(self._line(other, self.pa_system), 80.0)
        self.env["ir.actions.report"]._render_qweb_pdf("sale.action_report_saleorder", (self.quote | other).ids)
        self.assertEqual(self.pa_line.backops_quoted_price_unit, 90.0)
        self.assertEqual(self._line(other, self.pa_system).backops_quoted_price_unit, 100.0)

    def test_confirmed_without_quote_takes_the_price_then(self):
        self._set_price(self.pa_line, 105.0)
        self.quote.with_user(self.salesman).action_confirm()
        self.assertEqual(self.pa_line.backops_quoted_price_unit, 105.0)
        self._set_price(self.pa_line, 99.0)
        self.assertEqual(self.pa_line.backops_quoted_price_unit, 105.0)
        # a line added to the confirmed order was never quoted: its price then
        with Form(self.quote.with_user(self.salesman)) as form:
            with form.order_line.new() as line:
                line.product_id = self.chair
                line.price_unit = 7.5
        self.assertEqual(self._line(self.quote, self.chair).backops_quoted_price_unit, 7.5)
        # sections and notes carry no price
        section = self.quote.order_line.filtered("display_type")
        self.assertFalse(section.backops_quoted_date)

    def test_quoted_price_is_not_user_input(self):
        for user in (self.salesman, self.env.ref("base.user_admin")):
            with self.subTest(user=user.login), self.assertRaisesRegex(UserError, "cannot be written"):
                self.pa_line.with_user(user).write({"backops_quoted_price_unit": 1.0})
        with self.assertRaisesRegex(UserError, "cannot be written"):
            self.quote.with_user(self.salesman).write(
                {"order_line": [Command.update(self.pa_line.id, {"backops_quoted_date": "2026-01-01"})]}
            )
        with self.assertRaisesRegex(UserError, "cannot be written"):
            self.env["sale.order.line"].with_user(self.salesman).create(
                {"order_id": self.quote.id, "product_id": self.chair.id, "backops_quoted_price_unit": 1.0}
            )
        self.assertFalse(self.pa_line.backops_quoted_date)
        # a copy of a quoted quotation is a new quotation, not yet quoted
        self.quote.action_quotation_sent()
        copy = self.quote.with_user(self.salesman).copy()
        self.assertFalse(copy.order_line.filtered("backops_quoted_date"))


@tagged("post_install", "-at_install")
class TestCreateOrderFromQuote(ProcurementCommon):
    """A standing quote used many times: each order is a copy linked to it, at the
    quote's prices; the quote stays a quotation."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.pa_system.list_price = 100.0
        cls.stage_deck.list_price = 40.0
        cls.quote = cls._create_sale_order(
            ["Sound", (cls.pa_system, 10), (cls.stage_deck, 4)], confirm=False, user=cls.salesman
        )
        cls.quote.action_quotation_sent()
        cls.portal_user = new_test_user(cls.env, "backops_portal", groups="base.group_portal")

    def test_salesman_creates_an_order_from_the_quote(self):
        action = self.quote.with_user(self.salesman).action_backops_create_order()
        order = self.env["sale.order"].browse(action["res_id"])
        self.assertEqual((action["res_model"], action["view_mode"]), ("sale.order", "form"))
        self.assertNotEqual(order, self.quote)
        self.assertEqual(order.state, "draft")
        self.assertEqual(order.backops_ref_order_id, self.quote)
        self.assertEqual(order.backops_order_type, "order")
        self.assertEqual(order.create_uid, self.salesman)
        self.assertEqual(order.order_line.mapped("display_type"), ["line_section", False, False])
        self.assertEqual(self._line(order, self.pa_system).backops_quoted_price_unit, 100.0)
        self.assertEqual(self.quote.state, "sent", "the quote stays as it is")
        self.assertEqual(self.quote.backops_derived_order_ids, order)

        # negotiated up, confirmed: the quoted price is the quote's
        line = self._line(order, self.pa_system)
        with Form(order.with_user(self.salesman)) as form:
            with form.order_line.edit(1) as edit:
                edit.price_unit = 110.0
            with form.order_line.new() as new:
                new.product_id = self.stage_deck
                new.price_unit = 50.0
        order.with_user(self.salesman).action_confirm()
        self.assertEqual((line.price_unit, line.backops_quoted_price_unit), (110.0, 100.0))
        # a line added for a product of the quote takes the quote's price at confirmation
        added = order.order_line.filtered(lambda line: line.price_unit == 50.0)
        self.assertEqual(added.backops_quoted_price_unit, 40.0)

        # used again: a second order, the quote still a quotation
        second = self.env["sale.order"].browse(self.quote.action_backops_create_order()["res_id"])
        self.assertEqual(self.quote.backops_derived_order_ids, order | second)
        self.assertEqual(self.quote.state, "sent")

    def test_a_never_sent_quote_gives_its_prices(self):
        draft = self._create_sale_order([(self.pa_system, 1)], confirm=False, user=self.salesman)
        order = self.env["sale.order"].browse(draft.with_user(self.salesman).action_backops_create_order()["res_id"])
        self.assertEqual(order.order_line.backops_quoted_price_unit, 100.0)
        self.assertTrue(order.order_line.backops_quoted_date)
        self.assertEqual(draft.state, "draft")

    def test_only_quotations_of_type_order(self):
        self.quote.action_confirm()
        with self.assertRaisesRegex(UserError, "is not one"):
            self.quote.with_user(self.salesman).action_backops_create_order()
        template = self._create_sale_order([(self.pa_system, 1)], confirm=False, user=self.salesman)
        template.backops_order_type = "recurring"
        with self.assertRaisesRegex(UserError, "is not one"):
            template.with_user(self.salesman).action_backops_create_order()
        self.assertFalse((self.quote | template).backops_derived_order_ids)

    def test_who_may_create_an_order(self):
        for user in (self.portal_user, self.employee, self.buyer):
            with self.subTest(user=user.login), self.assertRaisesRegex(AccessError, "Only sales users"):
                self.quote.with_user(user).action_backops_create_order()
        # a salesman who sees only their own orders does not reach another's quote
        with self.assertRaises(AccessError):
            self.quote.with_user(self.other_salesman).action_backops_create_order()
        self.assertFalse(self.quote.backops_derived_order_ids)

    def test_client_context_is_not_obeyed(self):
        action = (
            self.quote.with_user(self.salesman)
            .with_context(
                default_state="sale", default_backops_order_type="return", default_partner_id=self.vendor_a.id
            )
            .action_backops_create_order()
        )
        order = self.env["sale.order"].browse(action["res_id"])
        self.assertEqual((order.state, order.backops_order_type, order.partner_id), ("draft", "order", self.customer))
