from odoo.tests import Form, tagged

from .common import CommittedCase, ProcurementCommon


@tagged("post_install", "-at_install")
class TestDemandChangeMakeToOrder(ProcurementCommon):
    """With make-to-order and buy routes, Odoo's own procurement reacts to the sale's
    change first: the proposal only adds what it did not do."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.mto_cart = cls._create_mto_product("Golf Cart (MTO)", sellers=[(cls.vendor_a, 150.0)])

    def _mto_lines(self, need):
        return self.env["purchase.order.line"].search([("move_dest_ids.sale_line_id", "=", need.id)])

    def _set_quantity(self, order, quantity):
        with Form(order) as form:
            with form.order_line.edit(0) as line:
                line.product_uom_qty = quantity

    def test_increase_is_ordered_once(self):
        order = self._create_sale_order([(self.mto_cart, 10)])
        need = order.order_line
        self._set_quantity(order, 14)
        # Odoo merged the increase into its draft RFQ line: nothing left to propose
        self.assertEqual(sum(self._mto_lines(need).mapped("product_qty")), 14)
        self.assertEqual(need.procurement_status, "on_order")
        self.assertFalse(self.env["backops.demand.change"].search([("sale_line_id", "=", need.id)]))

    def test_decrease_on_odoos_draft_rfq_is_odoos(self):
        order = self._create_sale_order([(self.mto_cart, 10)])
        need = order.order_line
        line = self._mto_lines(need)
        self._set_quantity(order, 6)
        # Odoo lowered its own draft RFQ line: nothing left to propose
        self.assertEqual(line.product_qty, 6)
        self.assertEqual(need.procurement_allocated_qty, 6)
        self.assertFalse(self.env["backops.demand.change"].search([("sale_line_id", "=", need.id)]))

    def test_decrease_on_odoos_confirmed_order(self):
        order = self._create_sale_order([(self.mto_cart, 10)])
        need = order.order_line
        line = self._mto_lines(need)
        line.order_id.button_confirm()
        self._set_quantity(order, 6)
        change = self.env["backops.demand.change"].search([("sale_line_id", "=", need.id)])
        self.assertEqual(
            [
                (row.purchase_line_id, row.current_qty, row.proposed_qty, row.needs_vendor_confirmation)
                for row in change.line_ids
            ],
            [(line, 10, 6, True)],
        )
        change.with_user(self.buyer).action_apply()
        self.assertEqual(line.product_qty, 6)
        self.assertEqual(need.procurement_allocated_qty, 6)
        self.assertEqual(need.procurement_status, "on_order")

    def test_increase_with_odoos_rfq_confirmed(self):
        order = self._create_sale_order([(self.mto_cart, 10)])
        need = order.order_line
        self._mto_lines(need).order_id.button_confirm()
        self._set_quantity(order, 14)
        # Odoo orders the 4 more on a new RFQ itself: no second order of them
        purchase_lines = self.env["purchase.order.line"].search([("product_id", "=", self.mto_cart.id)])
        self.assertEqual(sum(purchase_lines.mapped("product_qty")), 14)
        self.assertEqual(need.procurement_allocated_qty, 14)
        self.assertFalse(self.env["backops.demand.change"].search([("sale_line_id", "=", need.id)]))


@tagged("post_install", "-at_install")
class TestDemandChangeBatch(ProcurementCommon):
    def _needs_split(self, count):
        order = self._create_sale_order([(self.golf_cart, 10)] * count)
        rfq_a = self._create_rfq(self.vendor_a, [(self.golf_cart, 6)] * count, user=self.buyer)
        rfq_b = self._create_rfq(self.vendor_b, [(self.golf_cart, 4)] * count, user=self.buyer)
        self.env["backops.procurement.allocation"].create(
            [
                {"sale_line_id": need.id, "purchase_line_id": line.id, "quantity": line.product_qty}
                for need, line_a, line_b in zip(order.order_line, rfq_a.order_line, rfq_b.order_line, strict=True)
                for line in (line_a, line_b)
            ]
        )
        return order

    def test_proposals_cost_the_same_queries_for_any_number_of_needs(self):
        counts = []
        DemandChange = self.env["backops.demand.change"]
        for count in (3, 12):
            order = self._needs_split(count)
            order.order_line.write({"product_uom_qty": 7})
            changes = DemandChange.search([("sale_order_id", "=", order.id)])
            self.assertEqual(len(changes), count)
            self.assertEqual(changes.line_ids.mapped("proposed_qty"), [1.0] * count)
            changes.sudo()._unlink_changes()
            before = dict.fromkeys(order.order_line.ids, 10.0)
            self.env.flush_all()
            self.env.invalidate_all()
            queries = self.env.cr.sql_log_count
            DemandChange._propose_demand_changes(before)
            self.env.flush_all()
            counts.append(self.env.cr.sql_log_count - queries)
        self.assertEqual(counts[0], counts[1], "proposing for 12 needs costs what it costs for 3")

    def test_a_form_edit_of_several_lines_proposes_once_per_need(self):
        order = self._needs_split(3)
        with Form(order) as form:
            for index in range(3):
                with form.order_line.edit(index) as line:
                    line.product_uom_qty = 8
        changes = self.env["backops.demand.change"].search([("sale_order_id", "=", order.id)])
        self.assertEqual(len(changes), 3)
        self.assertEqual(changes.mapped("new_qty"), [8.0] * 3)
        changes.with_user(self.buyer).action_apply()
        self.assertEqual(set(order.order_line.mapped("procurement_status")), {"on_order"})


class TestDemandChangeConcurrency(CommittedCase):
    """Two buyers apply the same proposal at once: only one changes the RFQs."""

    def test_two_transactions_apply_the_same_proposal(self):
        with self._env() as env:
            company, suffix = self._make_company(env, "Demand Change Race")
            env = env(context=dict(env.context, allowed_company_ids=company.ids))
            (need_id,), line_id = self._needs_on_one_line(env, company, suffix, [50], 50)
            env["backops.procurement.allocation"].create(
                {"sale_line_id": need_id, "purchase_line_id": line_id, "quantity": 50}
            )
            env["sale.order.line"].browse(need_id).product_uom_qty = 40
            change = env["backops.demand.change"].search([("sale_line_id", "=", need_id)])
            self.assertEqual(change.line_ids.proposed_qty, 40)
            change_id = change.id

        def apply(cr):
            with self._env(cr=cr) as env:
                env = env(context=dict(env.context, allowed_company_ids=company.ids))
                env["backops.demand.change"].browse(change_id).action_apply()
                env.flush_all()

        self.assertEqual(self._race(apply, apply), "retry")
        with self._env() as env:
            self.assertEqual(env["purchase.order.line"].browse(line_id).product_qty, 40)
            self.assertEqual(env["backops.demand.change"].browse(change_id).state, "applied")
