from odoo import Command
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import Form, new_test_user, tagged

from .common import ProcurementCommon


@tagged("post_install", "-at_install")
class TestOrderReference(ProcurementCommon):
    """The link between an order and where it came from, and the order's type."""

    def test_new_order_is_of_type_order_with_odoo_flow(self):
        with Form(self.env["sale.order"].with_user(self.salesman)) as form:
            form.partner_id = self.customer
            with form.order_line.new() as line:
                line.product_id = self.pa_system
        order = form.save()
        self.assertEqual(order.backops_order_type, "order")
        self.assertFalse(order.backops_ref_order_id)
        order.action_confirm()
        self.assertEqual(order.state, "sale")

    def test_derived_orders_and_smart_buttons(self):
        quote = self._create_sale_order([(self.pa_system, 1)], confirm=False)
        first = self._create_sale_order([(self.pa_system, 1)], confirm=False)
        second = self._create_sale_order([(self.pa_system, 2)], confirm=False)
        (first | second)._backops_link_ref_order(quote)
        self.assertEqual(quote.backops_derived_order_ids, first | second)
        self.assertEqual(quote.backops_derived_order_count, 2)
        self.assertEqual((first | second).mapped("backops_derived_order_count"), [0, 0])

        action = quote.action_backops_view_derived_orders()
        self.assertEqual(action["domain"], [("id", "in", (first | second).ids)])
        back = first.action_backops_view_ref_order()
        self.assertEqual((back["res_model"], back["res_id"]), ("sale.order", quote.id))
        second.sudo().backops_ref_order_id = False
        single = quote.action_backops_view_derived_orders()
        self.assertEqual(single["res_id"], first.id)

    def test_filters_and_group_by_type(self):
        orders = self._create_sale_order([(self.pa_system, 1)], confirm=False)
        template = self._create_sale_order([(self.pa_system, 1)], confirm=False)
        template.backops_order_type = "recurring"
        ids = (orders | template).ids
        groups = dict(self.env["sale.order"]._read_group([("id", "in", ids)], ["backops_order_type"], ["__count"]))
        self.assertEqual(groups, {"order": 1, "recurring": 1})
        found = self.env["sale.order"].search([("id", "in", ids), ("backops_order_type", "=", "recurring")])
        self.assertEqual(found, template)


@tagged("post_install", "-at_install")
class TestOrderReferenceRules(ProcurementCommon):
    """Only the addon's actions set the link, within one company and one customer;
    the type changes only on a draft quotation, by a sales user, never to a return."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.quote = cls._create_sale_order([(cls.pa_system, 1)], confirm=False, user=cls.salesman)
        cls.order = cls._create_sale_order([(cls.pa_system, 2)], confirm=False, user=cls.salesman)
        cls.admin = cls.env.ref("base.user_admin")

    def test_link_is_not_user_input(self):
        Order = self.env["sale.order"].with_user(self.salesman)
        with self.assertRaisesRegex(UserError, "Ref Order is set by the action"):
            Order.create({"partner_id": self.customer.id, "backops_ref_order_id": self.quote.id})
        # an administrator over RPC is a user too
        for user in (self.salesman, self.admin):
            with self.subTest(user=user.login), self.assertRaisesRegex(UserError, "cannot be written"):
                self.order.with_user(user).write({"backops_ref_order_id": self.quote.id})
        self.assertFalse(self.order.backops_ref_order_id)
        # a batch: neither is linked
        with self.assertRaisesRegex(UserError, "cannot be written"):
            (self.order | self.quote).with_user(self.salesman).write(
                {"note": "batch", "backops_ref_order_id": self.quote.id}
            )
        self.assertFalse((self.order | self.quote).backops_ref_order_id)
        # nor clearing it
        self.order._backops_link_ref_order(self.quote)
        with self.assertRaisesRegex(UserError, "cannot be written"):
            self.order.with_user(self.salesman).write({"backops_ref_order_id": False})
        self.assertEqual(self.order.backops_ref_order_id, self.quote)

    def test_copy_keeps_type_not_link(self):
        self.order._backops_link_ref_order(self.quote)
        copy = self.order.with_user(self.salesman).copy()
        self.assertFalse(copy.backops_ref_order_id)
        self.assertEqual(copy.backops_order_type, "order")
        self.order.with_user(self.salesman).backops_order_type = "recurring"
        template_copy = self.order.with_user(self.salesman).copy()
        self.assertEqual(template_copy.backops_order_type, "recurring")
        # a return is made from its original by Create Return, never by writing the type
        with self.assertRaisesRegex(UserError, "Create Return"):
            self.order.sudo().backops_order_type = "return"

    def test_link_within_company_and_customer(self):
        other_company = self.env["res.company"].create({"name": "BackOps Events North"})
        foreign = self._create_sale_order([(self.pa_system, 1)], confirm=False, company=other_company)
        with self.assertRaisesRegex(ValidationError, "same company"):
            self.order._backops_link_ref_order(foreign)
        other_customer = self.env["res.partner"].create({"name": "Quayside Gala"})
        elsewhere = self._create_sale_order([(self.pa_system, 1)], confirm=False, partner=other_customer)
        with self.assertRaisesRegex(ValidationError, "same customer"):
            self.order._backops_link_ref_order(elsewhere)
        with self.assertRaisesRegex(ValidationError, "its own Ref Order"):
            self.order._backops_link_ref_order(self.order)
        self.assertFalse(self.order.backops_ref_order_id)

        # a contact of the same customer is the same customer
        self.customer.is_company = True
        contact = self.env["res.partner"].create({"name": "Festival Office", "parent_id": self.customer.id})
        self.order.partner_id = contact
        self.order._backops_link_ref_order(self.quote)
        self.assertEqual(self.order.backops_ref_order_id, self.quote)
        # and it stays so from either side
        with self.assertRaisesRegex(ValidationError, "same customer"):
            self.order.with_user(self.salesman).partner_id = other_customer
        with self.assertRaisesRegex(ValidationError, "same customer"):
            self.quote.with_user(self.salesman).partner_id = other_customer
        with self.assertRaisesRegex(ValidationError, "same company"):
            self.quote.write({"company_id": other_company.id})
        self.assertEqual(self.quote.partner_id, self.customer)

    def test_type_changes_on_draft_quotation_by_sales_user(self):
        with Form(self.order.with_user(self.salesman)) as form:
            form.backops_order_type = "recurring"
        self.assertEqual(self.order.backops_order_type, "recurring")
        self.order.with_user(self.salesman).backops_order_type = "order"

        with self.assertRaisesRegex(UserError, "Create Return"):
            self.order.with_user(self.salesman).backops_order_type = "return"
        with self.assertRaisesRegex(UserError, "Create Return"):
            self.env["sale.order"].with_user(self.salesman).create(
                {"partner_id": self.customer.id, "backops_order_type": "return"}
            )
        with self.assertRaisesRegex(UserError, "Create Return"):
            self.env["sale.order"].with_user(self.salesman).with_context(default_backops_order_type="return").create(
                {"partner_id": self.customer.id}
            )
        # a batch: one of them is sent, neither changes
        self.quote.action_quotation_sent()
        with self.assertRaisesRegex(UserError, "draft quotation|never confirmed"):
            (self.order | self.quote).with_user(self.salesman).write({"backops_order_type": "recurring"})
        self.assertEqual((self.order | self.quote).mapped("backops_order_type"), ["order", "order"])
        self.order.action_confirm()
        with self.assertRaisesRegex(UserError, "draft quotation"):
            self.order.with_user(self.salesman).backops_order_type = "recurring"
        with self.assertRaisesRegex(UserError, "never confirmed"):
            self.env["sale.order"].with_user(self.salesman).create(
                {"partner_id": self.customer.id, "backops_order_type": "recurring", "state": "sale"}
            )
        # a return stays a return: see test_sale_return (only Create Return makes one)

    def test_type_needs_a_sales_user(self):
        # a user who may write orders without being a sales user (rights given by
        # another app): the type is a sales decision
        writer = new_test_user(self.env, "backops_order_writer", groups="base.group_user")
        self.env["ir.model.access"].create(
            {
                "name": "writer writes orders",
                "model_id": self.env["ir.model"]._get_id("sale.order"),
                "group_id": self.env.ref("base.group_user").id,
                "perm_read": True,
                "perm_write": True,
                "perm_create": True,
            }
        )
        self.env["ir.model.access"].create(
            {
                "name": "writer reads order lines",
                "model_id": self.env["ir.model"]._get_id("sale.order.line"),
                "group_id": self.env.ref("base.group_user").id,
                "perm_read": True,
            }
        )
        with self.assertRaisesRegex(AccessError, "Only sales users"):
            self.order.with_user(writer).backops_order_type = "recurring"
        self.assertEqual(self.order.backops_order_type, "order")
        # a new template too, by a sales user it is fine
        with self.assertRaisesRegex(AccessError, "Only sales users"):
            self.env["sale.order"].with_user(writer).create(
                {"partner_id": self.customer.id, "backops_order_type": "recurring"}
            )
        template = (
            self.env["sale.order"]
            .with_user(self.salesman)
            .create(
                {
                    "partner_id": self.customer.id,
                    "backops_order_type": "recurring",
                    "order_line": [Command.create({"product_id": self.pa_system.id})],
                }
            )
        )
        self.assertEqual(template.backops_order_type, "recurring")
