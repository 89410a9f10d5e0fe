from unittest.mock import patch

from odoo.exceptions import AccessError, UserError
from odoo.tests import Form, tagged

from .common import ProcurementCommon


class EditorCommon(ProcurementCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.order = cls._create_sale_order(
            ["Staging", (cls.stage_deck, 24), "Hospitality", (cls.chair, 24), "Transport", (cls.golf_cart, 50)]
        )
        cls.cart = cls._line(cls.order, cls.golf_cart)
        cls.deck = cls._line(cls.order, cls.stage_deck)
        cls.chairs = cls._line(cls.order, cls.chair)
        cls.rfq_a = cls._create_rfq(cls.vendor_a, [])
        cls.rfq_b = cls._create_rfq(cls.vendor_b, [])

    def _editor(self, rfq, user=None):
        env = self.env(user=user) if user else self.env
        return Form(env["backops.line.item.editor"].with_context(active_model="purchase.order", active_id=rfq.id))

    @staticmethod
    def _rows(form):
        return form.line_ids._records

    def _index(self, form, need):
        for index, row in enumerate(self._rows(form)):
            if row["sale_line_id"] == need.id:
                return index
        raise AssertionError(f"{need.display_name} is not in the editor")

    def _set(self, form, need, quantity=None, selected=True):
        with form.line_ids.edit(self._index(form, need)) as row:
            row.selected = selected
            if quantity is not None:
                row.quantity = quantity
            return row.status_after

    def _row(self, form, need):
        return self._rows(form)[self._index(form, need)]

    def _save(self, form):
        return form.save().action_save()


@tagged("post_install", "-at_install")
class TestLineItemEditor(EditorCommon):
    def test_lists_open_needs_of_the_vendor_grouped_by_order_and_section(self):
        form = self._editor(self.rfq_a)
        rows = self._rows(form)
        needs = [row["sale_line_id"] for row in rows if row["sale_line_id"]]
        # vendor A sells golf carts and stage decks, not chairs
        self.assertEqual(set(needs), {self.cart.id, self.deck.id})
        headers = [row["name"] for row in rows if row["display_type"] == "line_section"]
        self.assertEqual(len(headers), 2)
        self.assertTrue(all(header.startswith(self.order.name) for header in headers))
        self.assertIn("Staging", headers[0])
        self.assertIn("Transport", headers[1])
        self.assertEqual(self._row(form, self.cart)["status_now"], "needs_order")
        # every product: the chairs too
        form.show_all_products = True
        self.assertIn(self.chairs.id, [row["sale_line_id"] for row in self._rows(form)])

    def test_needs_on_order_only_with_the_toggle(self):
        rfq = self._create_rfq(self.vendor_a, [(self.stage_deck, 24)])
        self._allocate(self.deck, rfq.order_line, 24)
        form = self._editor(self.rfq_a)
        self.assertNotIn(self.deck.id, [row["sale_line_id"] for row in self._rows(form)])
        form.show_all_needs = True
        row = self._row(form, self.deck)
        self.assertEqual(row["status_now"], "on_order")
        self.assertEqual(row["elsewhere_qty"], 24)
        self.assertIn(rfq.name, row["elsewhere_detail"])

    def test_toggles_keep_the_buyer_edits(self):
        form = self._editor(self.rfq_a)
        self._set(form, self.cart, 30)
        form.show_all_products = True
        form.show_all_needs = True
        row = self._row(form, self.cart)
        self.assertTrue(row["selected"])
        self.assertEqual(row["quantity"], 30)

    def test_split_50_golf_carts_30_20_across_two_vendors(self):
        form = self._editor(self.rfq_a)
        # the status before saving
        self.assertEqual(self._set(form, self.cart, 30), "short")
        self._save(form)
        self.assertEqual(self.cart.procurement_status, "short")
        line_a = self.rfq_a.order_line
        self.assertEqual((line_a.product_id, line_a.product_qty, line_a.price_unit), (self.golf_cart, 30, 150))

        form = self._editor(self.rfq_b)
        form.show_all_products = True
        row = self._row(form, self.cart)
        self.assertEqual(row["elsewhere_qty"], 30)
        self.assertIn(self.rfq_a.name, row["elsewhere_detail"])
        self.assertIn("FairwayFleet", row["elsewhere_detail"])
        # picked: defaults to what remains
        self.assertEqual(self._set(form, self.cart), "on_order")
        self.assertEqual(self._row(form, self.cart)["quantity"], 20)
        self._save(form)

        self.assertEqual(self.cart.procurement_status, "on_order")
        line_b = self.rfq_b.order_line
        self.assertEqual((line_b.product_qty, line_b.price_unit), (20, 158))
        self.assertEqual(
            sorted(self.cart.procurement_allocation_ids.mapped(lambda a: (a.partner_id.name, a.quantity))),
            [("FairwayFleet Carts", 30.0), ("GreenLane Cart Hire", 20.0)],
        )

    def test_units_need_in_units_ordered_in_dozens(self):
        form = self._editor(self.rfq_b)
        self.assertEqual(self._set(form, self.chairs), "on_order")
        self.assertEqual(self._row(form, self.chairs)["quantity"], 24)
        self._save(form)
        line = self.rfq_b.order_line
        self.assertEqual((line.product_uom, line.product_qty, line.price_unit), (self.uom_dozen, 2, 30))
        self.assertEqual(self.chairs.procurement_status, "on_order")
        # 30 more chairs: 54 units, rounded up to 4.5 dozen on the line
        self.chairs.product_uom_qty = 54
        form = self._editor(self.rfq_b)
        self._set(form, self.chairs, 54)
        self._save(form)
        self.assertEqual(line.product_qty, 4.5)
        self.assertEqual(self.chairs.procurement_status, "on_order")

    def test_several_needs_of_one_product_share_a_line(self):
        other = self._create_sale_order([(self.golf_cart, 10)]).order_line
        form = self._editor(self.rfq_a)
        self._set(form, self.cart, 50)
        self._set(form, other, 10)
        self._save(form)
        self.assertEqual(len(self.rfq_a.order_line), 1)
        self.assertEqual(self.rfq_a.order_line.product_qty, 60)
        self.assertEqual(self.rfq_a.order_line.procurement_sale_line_ids, self.cart | other)

    def test_change_and_remove(self):
        form = self._editor(self.rfq_a)
        self._set(form, self.cart, 30)
        self._set(form, self.deck, 24)
        self._save(form)
        cart_line = self._line(self.rfq_a, self.golf_cart)
        # the buyer bought 5 more carts for stock on the same line
        cart_line.product_qty = 35

        form = self._editor(self.rfq_a)
        self.assertEqual(self._row(form, self.cart)["current_qty"], 30)
        self._set(form, self.cart, 25)
        self._set(form, self.deck, selected=False)
        self.assertEqual(self._row(form, self.deck)["status_after"], "needs_order")
        self._save(form)
        self.assertEqual(cart_line.product_qty, 30)  # 25 allocated + 5 for stock
        self.assertEqual(self.cart.procurement_allocated_qty, 25)
        self.assertFalse(self.deck.procurement_allocation_ids)
        self.assertEqual(self.deck.procurement_status, "needs_order")
        # the stage deck line, left without anything to order, is gone
        self.assertEqual(self.rfq_a.order_line.product_id, self.golf_cart)

    def test_excess_allowed_without_blocking(self):
        form = self._editor(self.rfq_a)
        self.assertEqual(self._set(form, self.cart, 60), "excess")
        self.assertFalse(form.excess_warning)
        self._save(form)
        self.assertEqual(self.cart.procurement_status, "excess")

    def test_blocking_over_ordering_refuses_excess(self):
        self.env.company.backops_block_over_ordering = True
        allocations = self.env["backops.procurement.allocation"].search_count([])
        form = self._editor(self.rfq_a)
        self._set(form, self.cart, 60)
        self.assertIn(self.order.name, form.excess_warning)
        editor = form.save()
        with self.assertRaises(UserError) as caught:
            editor.action_save()
        self.assertIn("Golf Cart", str(caught.exception))
        self.assertIn("Excess", str(caught.exception))
        self.assertEqual(self.env["backops.procurement.allocation"].search_count([]), allocations)
        self.assertFalse(self.rfq_a.order_line)
        self.assertEqual(self.cart.procurement_status, "needs_order")
        # exactly the need is fine
        form = self._editor(self.rfq_a)
        self._set(form, self.cart, 50)
        self._save(form)
        self.assertEqual(self.cart.procurement_status, "on_order")

    def test_blocking_counts_other_rfqs(self):
        self.env.company.backops_block_over_ordering = True
        rfq = self._create_rfq(self.vendor_b, [(self.golf_cart, 30)])
        self._allocate(self.cart, rfq.order_line, 30)
        form = self._editor(self.rfq_a)
        self._set(form, self.cart, 25)
        with self.assertRaisesRegex(UserError, "Excess"):
            form.save().action_save()
        self.assertFalse(self.rfq_a.order_line)

    def test_negative_quantity_is_refused(self):
        form = self._editor(self.rfq_a)
        self._set(form, self.cart, -5)
        with self.assertRaisesRegex(UserError, "cannot be negative"):
            form.save().action_save()
        self.assertFalse(self.rfq_a.order_line)
        self.assertFalse(self.cart.procurement_allocation_ids)

    def test_confirmed_order_editable_where_odoo_allows(self):
        form = self._editor(self.rfq_a)
        self._set(form, self.cart, 30)
        self._save(form)
        self.rfq_a.button_confirm()
        self.assertEqual(self.rfq_a.state, "purchase")
        form = self._editor(self.rfq_a)
        self._set(form, self.cart, 50)
        self._save(form)
        self.assertEqual(self.rfq_a.order_line.product_qty, 50)
        self.assertEqual(self.rfq_a.picking_ids.move_ids.product_uom_qty, 50)
        self.rfq_a.button_done()  # locked
        with self.assertRaisesRegex(UserError, "can no longer change"):
            self._editor(self.rfq_a)
        with self.assertRaisesRegex(UserError, "can no longer change"):
            self.rfq_a.action_open_line_item_editor()

    def test_cancelled_rfq_releases_its_needs(self):
        form = self._editor(self.rfq_a)
        self._set(form, self.cart, 50)
        self._save(form)
        self.rfq_a.button_cancel()
        self.assertEqual(self.cart.procurement_status, "needs_order")
        form = self._editor(self.rfq_b)
        form.show_all_products = True
        self.assertEqual(self._row(form, self.cart)["elsewhere_qty"], 0)

    def test_needs_of_another_company(self):
        company_b = self.env["res.company"].create({"name": "BackOps Events North"})
        self.env.user.company_ids += company_b
        rfq_north = self._create_rfq(self.vendor_a, [], company=company_b)
        form = self._editor(rfq_north)
        self.assertFalse([row for row in self._rows(form) if row["sale_line_id"]])
        with self.assertRaisesRegex(UserError, "belongs to"):
            self.env["purchase.order"]._allocate_procurement_needs({rfq_north: {self.cart: 10}})
        self.assertFalse(rfq_north.order_line)
        self.assertFalse(self.cart.procurement_allocation_ids)

    def test_access_rights(self):
        form = self._editor(self.rfq_a, user=self.buyer)
        self._set(form, self.cart, 50)
        self._save(form)
        self.assertEqual(self.cart.procurement_status, "on_order")
        with self.assertRaises(AccessError):
            self._editor(self.rfq_b, user=self.salesman)
        with self.assertRaises(AccessError):
            self.env["purchase.order"].with_user(self.salesman)._allocate_procurement_needs(
                {self.rfq_b.with_user(self.salesman): {self.cart: 10}}
            )
        self.assertFalse(self.rfq_b.order_line)

    def test_rfq_line_quantity_below_allocated_sends_to_the_editor(self):
        form = self._editor(self.rfq_a)
        self._set(form, self.cart, 30)
        self._save(form)
        with self.assertRaisesRegex(Exception, "Line Item Editor"):
            self.rfq_a.order_line.product_qty = 10


@tagged("post_install", "-at_install")
class TestLineItemEditorLimit(EditorCommon):
    """The editor lists a bounded number of needs; the count, the search and Show
    more reach every other one."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # four more orders of golf carts, each newer than the last
        cls.later = cls.env["sale.order.line"]
        for _i in range(4):
            cls.later |= cls._create_sale_order([(cls.golf_cart, 5)]).order_line

    def setUp(self):
        super().setUp()
        patcher = patch("odoo.addons.backops_procurement.wizards.line_item_editor.EDITOR_NEED_LIMIT", 3)
        patcher.start()
        self.addCleanup(patcher.stop)

    def _listed(self, form):
        return [row["sale_line_id"] for row in self._rows(form) if row["sale_line_id"]]

    def test_lists_the_oldest_needs_and_counts_the_others(self):
        form = self._editor(self.rfq_a)
        # the cart and the deck of the first order, then the oldest later cart
        self.assertEqual(self._listed(form), [self.deck.id, self.cart.id, self.later[0].id])
        self.assertEqual((form.need_count, form.hidden_count), (6, 3))
        form.show_all_products = True  # the chairs too: one more matching, not listed
        self.assertEqual((form.need_count, form.hidden_count), (7, 4))
        self.assertEqual(len(self._listed(form)), 3)

    def test_search_reaches_a_need_not_listed(self):
        form = self._editor(self.rfq_a)
        last = self.later[-1]
        self.assertNotIn(last.id, self._listed(form))
        form.search_text = last.order_id.name
        self.assertEqual(self._listed(form), [last.id])
        self.assertEqual((form.need_count, form.hidden_count), (1, 0))
        self._set(form, last, 5)
        # an edited need stays listed whatever the search
        form.search_text = self.order.name
        self.assertEqual(set(self._listed(form)), {self.cart.id, self.deck.id, last.id})
        self._save(form)
        self.assertEqual(last.procurement_status, "on_order")
        self.assertEqual(self.rfq_a.order_line.product_qty, 5)
        # the product's name finds its needs
        form = self._editor(self.rfq_a)
        form.search_text = "stage deck"
        self.assertEqual(set(self._listed(form)), {self.deck.id, last.id})  # the RFQ's own need stays

    def test_show_more_keeps_the_edits(self):
        form = self._editor(self.rfq_a)
        self._set(form, self.cart, 30)
        editor = form.save()
        action = editor.action_show_more()
        self.assertEqual((action["res_model"], action["res_id"], action["target"]), (editor._name, editor.id, "new"))
        self.assertEqual(editor.need_limit, 6)
        self.assertEqual(len(editor.line_ids.sale_line_id), 6)
        self.assertEqual(editor.hidden_count, 0)
        cart_row = editor.line_ids.filtered(lambda row: row.sale_line_id == self.cart)
        self.assertEqual((cart_row.selected, cart_row.quantity), (True, 30))
        form = Form(editor)
        self._set(form, self.later[-1], 5)
        self._save(form)
        self.assertEqual(self.cart.procurement_allocated_qty, 30)
        self.assertEqual(self.later[-1].procurement_status, "on_order")
        self.assertEqual(self.rfq_a.order_line.product_qty, 35)

    def test_needs_on_this_rfq_are_always_listed(self):
        rfq = self._create_rfq(self.vendor_a, [(self.golf_cart, 5)])
        self._allocate(self.later[-1], rfq.order_line, 5)
        form = self._editor(rfq)
        form.show_all_needs = True
        listed = self._listed(form)
        self.assertIn(self.later[-1].id, listed)
        self.assertEqual(len(listed), 4)  # the three oldest, and the RFQ's own
        self.assertEqual((form.need_count, form.hidden_count), (6, 2))
        self.assertEqual(self._row(form, self.later[-1])["current_qty"], 5)

    def test_show_more_needs_the_right_to_edit_the_rfq(self):
        editor = self._editor(self.rfq_a).save()
        with self.assertRaises(AccessError):
            editor.with_user(self.salesman).action_show_more()
        self.assertEqual(editor.need_limit, 3)

    def test_open_queries_do_not_grow_with_the_needs(self):
        def count():
            self.env.flush_all()
            self.env.invalidate_all()
            before = self.env.cr.sql_log_count
            self._editor(self.rfq_a)
            return self.env.cr.sql_log_count - before

        small = count()
        for _i in range(10):
            self._create_sale_order([(self.golf_cart, 5), (self.stage_deck, 2)])
        self.assertLessEqual(count(), small)
