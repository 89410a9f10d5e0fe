from odoo import Command
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import Form, new_test_user, tagged
from odoo.tools import mute_logger

from .common import CommittedCase, ProcurementCommon


class ReturnCommon(ProcurementCommon):
    """A delivered order of 10 stage risers at 40 to return, and the company's
    Return Handling Charge (a service at 8)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.stock = cls.env["stock.warehouse"].search([("company_id", "=", cls.company.id)], limit=1).lot_stock_id
        cls.riser = cls._create_product("Stage Riser", is_storable=True, list_price=40.0, taxes_id=[Command.clear()])
        cls.skirt = cls._create_product("Stage Skirt", is_storable=True, list_price=12.0, taxes_id=[Command.clear()])
        cls.fee = cls.env["product.product"].create(
            {
                "name": "Return Handling Charge",
                "type": "service",
                "list_price": 8.0,
                "invoice_policy": "order",
                "taxes_id": [Command.clear()],
            }
        )
        cls.company.backops_return_fee_product_id = cls.fee
        cls.stock_user = new_test_user(cls.env, "backops_stock_user", groups="stock.group_stock_user")
        cls.portal_user = new_test_user(cls.env, "backops_portal", groups="base.group_portal")

    def _delivered_order(self, quantity=10, delivered=10, products=None):
        products = products or [self.riser]
        for product in products:
            self.env["stock.quant"]._update_available_quantity(product, self.stock, quantity)
        order = self._create_sale_order([(product, quantity) for product in products], user=self.salesman)
        order.picking_ids.action_assign()
        self._validate(order.picking_ids, dict.fromkeys(products, delivered))
        return order

    def _create_return(self, order, quantities, user=None, fee_price=None):
        """A return of ``order`` made and filled in as a salesperson does: Create
        Return, then the quantities ({product: quantity}) typed into its form."""
        action = order.with_user(user or self.salesman).action_backops_create_return()
        ret = self.env["sale.order"].browse(action["res_id"])
        with Form(ret.with_user(user or self.salesman)) as form:
            for index in range(len(form.order_line)):
                with form.order_line.edit(index) as line:
                    if line.product_id in quantities:
                        line.product_uom_qty = quantities[line.product_id]
                    elif line.product_id == self.fee and fee_price is not None:
                        line.price_unit = fee_price
        return ret

    def _goods_line(self, ret, product=None):
        return self._line(ret, product or self.riser)


@tagged("post_install", "-at_install")
class TestSaleReturn(ReturnCommon):
    """Create Return on a confirmed order, the goods back through Odoo's return of
    its deliveries, and a credit note for what came back less the handling charge."""

    def test_create_return_makes_a_draft_return_of_the_original(self):
        order = self._delivered_order()
        action = order.with_user(self.salesman).action_backops_create_return()
        ret = self.env["sale.order"].browse(action["res_id"])
        self.assertEqual((action["res_model"], ret.state), ("sale.order", "draft"))
        self.assertEqual(ret.backops_order_type, "return")
        self.assertEqual(ret.backops_ref_order_id, order)
        self.assertEqual(order.backops_derived_order_ids, ret)
        self.assertEqual(
            (ret.partner_id, ret.company_id, ret.pricelist_id), (order.partner_id, order.company_id, order.pricelist_id)
        )
        goods = self._goods_line(ret)
        self.assertEqual((goods.product_uom_qty, goods.price_unit), (0.0, 40.0))
        fee = self._line(ret, self.fee)
        self.assertEqual((fee.product_uom_qty, fee.price_unit), (1.0, 8.0))
        self.assertEqual(len(ret.order_line), 2)

    def test_full_path_deliver_10_return_3_with_a_fee_of_5(self):
        order = self._delivered_order()
        self.assertEqual(self.riser.qty_available, 0)
        ret = self._create_return(order, {self.riser: 3}, fee_price=5.0)
        fee = self._line(ret, self.fee)
        fee.with_user(self.salesman).name = "Restocking"
        ret.with_user(self.salesman).action_confirm()
        self.assertEqual(ret.state, "sale")

        # no delivery goes out: Odoo's return of the original delivery comes in
        receipt = ret.picking_ids
        self.assertEqual(len(receipt), 1)
        self.assertEqual(receipt.return_id, order.picking_ids.filtered(lambda p: p.picking_type_code == "outgoing"))
        self.assertEqual(receipt.picking_type_code, "incoming")
        self.assertEqual(ret.delivery_count, 1)
        self.assertNotEqual(receipt.state, "done", "the warehouse validates the return")
        self.assertEqual(receipt.move_ids.product_uom_qty, 3)
        self.assertEqual(receipt.move_ids.sale_line_id, self._goods_line(ret))
        self.assertEqual(receipt.move_ids.origin_returned_move_id.sale_line_id, self._line(order, self.riser))
        self.assertFalse(order.picking_ids - receipt.return_id, "nothing new on the original")

        self._validate(receipt, {self.riser: 3})
        self.assertEqual(self.riser.qty_available, 3, "the stock is back")
        self.assertEqual(self._goods_line(ret).qty_delivered, 3, "received back on the return")
        self.assertEqual(self._line(order, self.riser).qty_delivered, 10, "the original keeps what it delivered")
        self.assertEqual(ret.invoice_status, "to invoice")

        wizard = Form(
            self.env["sale.advance.payment.inv"]
            .with_user(self.salesman)
            .with_context(active_model="sale.order", active_ids=ret.ids, active_id=ret.id)
        ).save()
        wizard.create_invoices()
        refund = ret.invoice_ids
        self.assertEqual(len(refund), 1)
        self.assertEqual(refund.move_type, "out_refund")
        self.assertEqual(refund.partner_id, order.partner_invoice_id)
        self.assertAlmostEqual(refund.amount_untaxed, 3 * 40.0 - 5.0)
        goods_refund = refund.invoice_line_ids.filtered(lambda line: line.product_id == self.riser)
        self.assertEqual((goods_refund.quantity, goods_refund.price_subtotal), (3, 120.0))
        fee_refund = refund.invoice_line_ids.filtered(lambda line: line.product_id == self.fee)
        self.assertEqual(fee_refund.price_subtotal, -5.0)
        self.assertIn("Restocking", fee_refund.name)
        self.assertEqual(fee_refund.sale_line_ids, fee)
        refund.action_post()
        self.assertEqual(ret.invoice_status, "invoiced")
        self.assertEqual(self._goods_line(ret).qty_invoiced, -3, "credited")
        self.assertEqual(self._goods_line(ret).qty_to_invoice, 0)
        self.assertEqual(order.invoice_status, "to invoice", "the original is invoiced as before, once")

    def test_the_charge_follows_what_came_back_and_its_link_is_never_written(self):
        order = self._delivered_order()
        ret = self._create_return(order, {self.riser: 3})
        ret.with_user(self.salesman).action_confirm()
        fee = self._line(ret, self.fee)
        self.assertEqual(ret.order_line.backops_return_order_id, ret)
        self.assertFalse(order.order_line.backops_return_order_id, "only a return's lines have it")
        self.assertEqual(fee.qty_to_invoice, 0, "nothing came back yet")
        self._validate(ret.picking_ids, {self.riser: 1})
        self.assertEqual(fee.qty_to_invoice, fee.product_uom_qty, "charged once something came back")
        for attempt in (
            lambda: self._line(order, self.riser).with_user(self.salesman).write({"backops_return_order_id": ret.id}),
            lambda: self.env["sale.order.line"].create(
                {"order_id": order.id, "product_id": self.skirt.id, "backops_return_order_id": ret.id}
            ),
        ):
            with self.subTest(attempt=attempt), self.assertRaisesRegex(UserError, "cannot be written"):
                attempt()
        self.assertFalse(order.order_line.backops_return_order_id)

    def test_partial_receipt_credits_what_came_back(self):
        order = self._delivered_order()
        ret = self._create_return(order, {self.riser: 3})
        ret.action_confirm()
        self.assertEqual(self._line(ret, self.fee).qty_to_invoice, 0, "no charge before anything came back")
        backorder = self._validate(ret.picking_ids, {self.riser: 2})
        refund = ret._create_invoices()
        self.assertEqual(refund.move_type, "out_refund")
        self.assertAlmostEqual(refund.amount_untaxed, 2 * 40.0 - 8.0)
        self._validate(backorder, {self.riser: 1})
        second = ret._create_invoices() - refund
        self.assertEqual((second.move_type, second.amount_untaxed), ("out_refund", 40.0), "the charge once")

    def test_return_with_an_order_invoices_them_apart(self):
        order = self._delivered_order()
        ret = self._create_return(order, {self.riser: 3})
        ret.action_confirm()
        self._validate(ret.picking_ids, {self.riser: 3})
        moves = (order | ret)._create_invoices()
        self.assertEqual(sorted(moves.mapped("move_type")), ["out_invoice", "out_refund"])
        self.assertEqual(order.invoice_ids.move_type, "out_invoice")
        self.assertEqual(ret.invoice_ids.move_type, "out_refund")

    def test_more_than_delivered_is_refused(self):
        order = self._delivered_order(quantity=10, delivered=7)
        ret = self._create_return(order, {})
        line = self._goods_line(ret)
        with self.assertRaisesRegex(UserError, "only 7.0 delivered and not returned yet"):
            line.with_user(self.salesman).product_uom_qty = 8
        self.assertEqual(line.product_uom_qty, 0)
        with self.assertRaisesRegex(UserError, "only 7.0 delivered"), Form(ret.with_user(self.salesman)) as form:
            with form.order_line.edit(0) as row:
                row.product_uom_qty = 7.5
        line.product_uom_qty = 7
        self.assertEqual(line.product_uom_qty, 7)

    def test_product_not_on_the_original_is_refused(self):
        order = self._delivered_order()
        ret = self._create_return(order, {self.riser: 1})
        with self.assertRaisesRegex(UserError, "Stage Skirt was not delivered by"):
            ret.with_user(self.salesman).order_line = [
                Command.create({"product_id": self.skirt.id, "product_uom_qty": 1})
            ]
        self.assertEqual(ret.order_line.product_id, self.riser | self.fee)
        with self.assertRaisesRegex(UserError, "Stage Skirt was not delivered by"):
            self._goods_line(ret).product_id = self.skirt
        self.assertEqual(self._goods_line(ret).product_uom_qty, 1)

    def test_negative_quantity_is_refused(self):
        order = self._delivered_order()
        ret = self._create_return(order, {})
        with self.assertRaisesRegex(ValidationError, "cannot be negative"):
            self._goods_line(ret).with_user(self.salesman).product_uom_qty = -2
        self.assertEqual(self._goods_line(ret).product_uom_qty, 0)

    def test_nothing_to_return_is_refused_at_confirmation(self):
        ret = self._create_return(self._delivered_order(), {})
        with self.assertRaisesRegex(UserError, "set the quantities to return"):
            ret.action_confirm()
        self.assertEqual((ret.state, ret.picking_ids), ("draft", self.env["stock.picking"]))

    def test_cancelled_original_recurring_template_and_return_are_refused(self):
        order = self._delivered_order()
        ret = self._create_return(order, {self.riser: 1})
        with self.assertRaisesRegex(UserError, "only a confirmed order can be returned"):
            ret.with_user(self.salesman).action_backops_create_return()
        quotation = self._create_sale_order([(self.riser, 1)], confirm=False, user=self.salesman)
        with self.assertRaisesRegex(UserError, "is not a confirmed order"):
            quotation.with_user(self.salesman).action_backops_create_return()
        template = self._create_sale_order([(self.riser, 1)], confirm=False, user=self.salesman)
        template.backops_order_type = "recurring"
        with self.assertRaisesRegex(UserError, "only a confirmed order can be returned"):
            template.with_user(self.salesman).action_backops_create_return()
        cancelled = self._create_sale_order([(self.riser, 1)], user=self.salesman)
        cancelled._action_cancel()
        count = self.env["sale.order"].search_count([])
        with self.assertRaisesRegex(UserError, "is not a confirmed order"):
            cancelled.with_user(self.salesman).action_backops_create_return()
        self.assertEqual(self.env["sale.order"].search_count([]), count, "nothing written")

    def test_original_cancelled_after_the_return_was_made(self):
        order = self._create_sale_order([(self.pa_system, 2)], user=self.salesman)
        self._validate(order.picking_ids, {self.pa_system: 2})
        ret = self._create_return(order, {self.pa_system: 1})
        order._action_cancel()
        with self.assertRaisesRegex(UserError, "which is not a confirmed order"):
            ret.action_confirm()
        self.assertEqual(ret.state, "draft")

    def test_no_return_fee_set(self):
        order = self._delivered_order()
        self.company.backops_return_fee_product_id = False
        with self.assertRaisesRegex(UserError, "Set the Return Handling Charge"):
            order.with_user(self.salesman).action_backops_create_return()

    def test_charge_set_in_the_sales_settings(self):
        other = self.env["product.product"].create({"name": "Restocking Fee", "type": "service", "list_price": 3})
        with Form(self.env["res.config.settings"]) as settings:
            self.assertEqual(settings.backops_return_fee_product_id, self.fee)
            settings.backops_return_fee_product_id = other
        self.assertEqual(self.company.backops_return_fee_product_id, other)
        ret = self._create_return(self._delivered_order(), {self.riser: 1})
        self.assertEqual((self._line(ret, other).price_unit, len(ret.order_line)), (3.0, 2))

    def test_two_returns_beyond_what_was_delivered(self):
        order = self._delivered_order()
        first = self._create_return(order, {self.riser: 6})
        second = self._create_return(order, {self.riser: 6})
        first.with_user(self.salesman).action_confirm()
        with self.assertRaisesRegex(UserError, "has only 4.0 delivered and not returned yet"):
            second.with_user(self.salesman).action_confirm()
        self.assertEqual((second.state, second.picking_ids), ("draft", self.env["stock.picking"]))
        self._goods_line(second).product_uom_qty = 4
        second.action_confirm()
        self.assertEqual(second.picking_ids.move_ids.product_uom_qty, 4)
        # and Cancel Delivery on the original finds nothing left to return
        self.assertFalse(any(self._line(order, self.riser)._backops_returnable_quantities().values()))

    def test_a_return_over_two_deliveries(self):
        self.env["stock.quant"]._update_available_quantity(self.riser, self.stock, 10)
        order = self._create_sale_order([(self.riser, 10)], user=self.salesman)
        backorder = self._validate(order.picking_ids, {self.riser: 4})
        self._validate(backorder, {self.riser: 6})
        ret = self._create_return(order, {self.riser: 8})
        ret.action_confirm()
        self.assertEqual(len(ret.picking_ids), 2, "one Odoo return per delivery")
        self.assertEqual(sorted(ret.picking_ids.move_ids.mapped("product_uom_qty")), [4, 4])

    def test_more_on_a_confirmed_return_brings_more_back_and_less_is_refused(self):
        order = self._delivered_order()
        ret = self._create_return(order, {self.riser: 3})
        ret.action_confirm()
        self._goods_line(ret).with_user(self.salesman).product_uom_qty = 5
        self.assertEqual(sum(ret.picking_ids.move_ids.mapped("product_uom_qty")), 5)
        with self.assertRaisesRegex(UserError, "already brings back 5.0"):
            self._goods_line(ret).product_uom_qty = 4
        with self.assertRaisesRegex(UserError, "only 5.0 delivered and not returned yet"):
            self._goods_line(ret).product_uom_qty = 11
        self.assertEqual(sum(ret.picking_ids.move_ids.mapped("product_uom_qty")), 5)

    def test_returned_goods_are_no_need_to_order(self):
        cart = self._create_product("Fleet Cart", sellers=[(self.vendor_a, 150.0)], is_storable=True)
        self.env["stock.quant"]._update_available_quantity(cart, self.stock, 2)
        order = self._create_sale_order([(cart, 2)], user=self.salesman)
        self._validate(order.picking_ids, {cart: 2})
        ret = self._create_return(order, {cart: 1})
        ret.action_confirm()
        line = self._goods_line(ret, cart)
        self.assertFalse(line.procurement_status)
        self.assertFalse(line.backops_fulfilment_status)
        self.assertEqual(ret.procurement_need_count, 0)

    def test_type_and_original_of_a_return_cannot_change_and_a_copy_keeps_them(self):
        order = self._delivered_order()
        other = self._delivered_order()
        ret = self._create_return(order, {self.riser: 2})
        with self.assertRaisesRegex(UserError, "its type and original cannot change"):
            ret.backops_order_type = "order"
        with self.assertRaisesRegex(UserError, "it cannot be written|its type and original cannot change"):
            ret.backops_ref_order_id = other
        with self.assertRaisesRegex(UserError, "its type and original cannot change"):
            other.backops_order_type = "return"
        copy = ret.copy()
        self.assertEqual((copy.backops_order_type, copy.backops_ref_order_id), ("return", order))
        with self.assertRaisesRegex(UserError, "a return needs its original order"):
            self.env["sale.order"].create({"partner_id": self.customer.id, "backops_order_type": "return"})

    def test_other_customer_is_refused(self):
        order = self._delivered_order()
        ret = self._create_return(order, {self.riser: 1})
        with self.assertRaisesRegex(ValidationError, "same customer"):
            ret.partner_id = self.vendor_a
        self.assertEqual(ret.partner_id, order.partner_id)
        self.assertEqual(ret.state, "draft")


@tagged("post_install", "-at_install")
class TestSaleReturnRights(ReturnCommon):
    """Sales users make and confirm returns; nobody else does, and a customer
    never accepts or pays one on the portal."""

    def test_employee_and_portal_user_cannot_create_returns(self):
        order = self._delivered_order()
        count = self.env["sale.order"].search_count([])
        for user in (self.employee, self.portal_user, self.stock_user):
            with self.assertRaises(AccessError):
                order.with_user(user).action_backops_create_return()
        self.assertEqual(self.env["sale.order"].search_count([]), count)

    def test_salesperson_cannot_return_an_order_they_cannot_read(self):
        order = self._delivered_order()
        with self.assertRaises(AccessError):
            order.with_user(self.other_salesman).action_backops_create_return()

    def test_portal_never_signs_or_pays_a_return(self):
        order = self._delivered_order()
        ret = self._create_return(order, {self.riser: 1})
        ret.write({"require_signature": True, "require_payment": True})
        order_quote = self._create_sale_order([(self.riser, 1)], confirm=False)
        order_quote.write({"require_signature": True})
        self.assertTrue(order_quote._has_to_be_signed())
        self.assertFalse(ret._has_to_be_signed())
        self.assertFalse(ret._has_to_be_paid())
        with self.assertRaises(AccessError):
            ret.with_user(self.portal_user).action_confirm()

    def test_inventory_user_without_sales_cannot_confirm(self):
        ret = self._create_return(self._delivered_order(), {self.riser: 1})
        with self.assertRaises(AccessError):
            ret.with_user(self.stock_user).action_confirm()
        self.assertEqual(ret.state, "draft")


@tagged("post_install", "-at_install")
class TestSaleReturnOtherCompany(ReturnCommon):
    def test_return_of_another_company_uses_its_charge(self):
        south = self.env["res.company"].create({"name": "BackOps Events South"})
        south_fee = self.env["product.product"].create(
            {"name": "South Handling", "type": "service", "list_price": 3.0, "company_id": south.id}
        )
        south.backops_return_fee_product_id = south_fee
        env = self.env(context=dict(self.env.context, allowed_company_ids=[south.id, self.company.id]))
        product = env["product.product"].create({"name": "South Riser", "type": "consu", "company_id": south.id})
        order = (
            env["sale.order"]
            .with_company(south)
            .create(
                {
                    "partner_id": self.customer.id,
                    "company_id": south.id,
                    "order_line": [Command.create({"product_id": product.id, "product_uom_qty": 2})],
                }
            )
        )
        order.action_confirm()
        self._validate(order.picking_ids, {product: 2})
        ret = env["sale.order"].browse(order.action_backops_create_return()["res_id"])
        self.assertEqual(ret.company_id, south)
        self.assertEqual(ret.order_line.product_id, product | south_fee)
        with self.assertRaises(UserError):
            ret.company_id = self.company


@tagged("post_install", "-at_install")
class TestConcurrentReturns(CommittedCase):
    """Two salespeople confirm returns of the same original at once: together they
    never take back more than it delivered."""

    def setUp(self):
        super().setUp()
        with self._env() as env:
            company, suffix = self._make_company(env, "Race Return")
            env = env(context=dict(env.context, allowed_company_ids=company.ids))
            fee = env["product.product"].create({"name": f"Handling {suffix}", "type": "service", "list_price": 5})
            company.backops_return_fee_product_id = fee
            product = env["product.product"].create(
                {"name": f"Return Riser {suffix}", "type": "consu", "is_storable": True}
            )
            stock = env["stock.warehouse"].search([("company_id", "=", company.id)], limit=1).lot_stock_id
            env["stock.quant"]._update_available_quantity(product, stock, 10)
            partner = env["res.partner"].create({"name": f"Customer {suffix}"})
            order = env["sale.order"].create(
                {
                    "partner_id": partner.id,
                    "company_id": company.id,
                    "order_line": [Command.create({"product_id": product.id, "product_uom_qty": 10})],
                }
            )
            order.action_confirm()
            for move in order.picking_ids.move_ids:
                move.quantity = 10
                move.picked = True
            order.picking_ids.button_validate()
            returns = env["sale.order"]
            for _i in range(2):
                ret = returns.browse(order.action_backops_create_return()["res_id"])
                ret.order_line.filtered(lambda line, p=product: line.product_id == p).product_uom_qty = 6
                returns |= ret
            self.company_id = company.id
            self.returns = returns.ids

    def _confirm(self, cr, index):
        with self._env(cr=cr) as env:
            env = env(context=dict(env.context, allowed_company_ids=[self.company_id]))
            env["sale.order"].browse(self.returns[index]).action_confirm()
            env.flush_all()

    @mute_logger("odoo.sql_db")
    def test_the_second_return_waits_then_sees_the_first(self):
        outcome = self._race(lambda cr: self._confirm(cr, 0), lambda cr: self._confirm(cr, 1))
        self.assertEqual(outcome, "retry")
        # Odoo retries the request: it sees the first return's 6 of 10
        with self.assertRaisesRegex(UserError, "has only 4.0 delivered and not returned yet"):
            with self.registry.cursor() as cr:
                self._confirm(cr, 1)
        with self._env() as env:
            first, second = env["sale.order"].browse(self.returns)
            self.assertEqual((first.state, second.state), ("sale", "draft"))
            self.assertEqual(sum(first.picking_ids.move_ids.mapped("product_uom_qty")), 6)
            self.assertFalse(second.picking_ids)
