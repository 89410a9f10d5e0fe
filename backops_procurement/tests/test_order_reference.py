from odoo.tests import Form, tagged

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
        (first | second).write({"backops_ref_order_id": quote.id})
        self.assertEqual(quote.backops_derived_order_ids, first | second)
        self.assertEqual(quote.backops_derived_order_count, 2)
        self.assertEqual((first | second).mapped("backops_derived_order_count"), [0, 0])

        action = quote.action_backops_view_derived_orders()
        self.assertEqual(action["domain"], [("id", "in", (first | second).ids)])
        back = first.action_backops_view_ref_order()
        self.assertEqual((back["res_model"], back["res_id"]), ("sale.order", quote.id))
        second.backops_ref_order_id = False
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
