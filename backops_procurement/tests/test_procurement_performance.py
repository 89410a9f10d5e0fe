from unittest.mock import patch

from odoo import Command
from odoo.sql_db import Cursor
from odoo.tests import tagged

from .common import ProcurementCommon


@tagged("post_install", "-at_install")
class TestProcurementStatusQueries(ProcurementCommon):
    """Statuses are recomputed in batch: the number of queries does not grow with
    the number of needs."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # a service keeps stock moves out of the way: only procurement is measured
        cls.service = cls._create_product("Crowd Barrier Hire", sellers=[(cls.vendor_a, 5.0)], type="service")

    def _needs_on_one_rfq(self, count, product=None):
        product = product or self.service
        orders = self.env["sale.order"].create(
            [
                {
                    "partner_id": self.customer.id,
                    "order_line": [Command.create({"product_id": product.id, "product_uom_qty": 2})],
                }
                for _ in range(count)
            ]
        )
        orders.action_confirm()
        needs = orders.order_line
        rfq = self._create_rfq(self.vendor_a, [(product, 2 * count)])
        self.env["backops.procurement.allocation"].create(
            [{"sale_line_id": need.id, "purchase_line_id": rfq.order_line.id, "quantity": 2} for need in needs]
        )
        self.assertEqual(set(needs.mapped("procurement_status")), {"on_order"})
        self.env.invalidate_all()
        return needs, rfq

    def _count_queries(self, function):
        self.env.flush_all()
        before = self.env.cr.sql_log_count
        function()
        self.env.flush_all()
        return self.env.cr.sql_log_count - before

    def _recompute(self, needs):
        # kept in the needs' rows of backops.need.status (same ids)
        statuses = self.env["backops.need.status"].browse(needs.ids)
        for name in ("procurement_status", "procurement_allocated_qty"):
            self.env.add_to_compute(statuses._fields[name], statuses)

    def test_recompute_queries_do_not_grow(self):
        small, _rfq = self._needs_on_one_rfq(10)
        large, _rfq = self._needs_on_one_rfq(1000)
        small_count = self._count_queries(lambda: self._recompute(small))
        large_count = self._count_queries(lambda: self._recompute(large))
        self.assertLessEqual(large_count, small_count)
        self.assertLessEqual(small_count, 4)

    def test_cancel_and_reset_queries_do_not_grow(self):
        small, small_rfq = self._needs_on_one_rfq(10)
        large, large_rfq = self._needs_on_one_rfq(1000)

        def cancel(rfq):
            return lambda: rfq.write({"state": "cancel"})

        def reset(rfq):
            return lambda: rfq.write({"state": "draft"})

        small_cancel = self._count_queries(cancel(small_rfq))
        large_cancel = self._count_queries(cancel(large_rfq))
        self.assertEqual(set(large.mapped("procurement_status")), {"needs_order"})
        self.assertLessEqual(large_cancel, small_cancel)
        small_reset = self._count_queries(reset(small_rfq))
        large_reset = self._count_queries(reset(large_rfq))
        self.assertEqual(set(large.mapped("procurement_status")), {"on_order"})
        self.assertLessEqual(large_reset, small_reset)

    def test_product_flag_queries_do_not_grow(self):
        fence = self._create_product("Fence Panel", sellers=[(self.vendor_a, 3.0)], type="service")
        small, _rfq = self._needs_on_one_rfq(10, fence)
        large, _rfq = self._needs_on_one_rfq(1000)
        small_count = self._count_queries(lambda: fence.write({"subject_to_procurement": False}))
        large_count = self._count_queries(lambda: self.service.write({"subject_to_procurement": False}))
        self.assertFalse(any(small.mapped("procurement_status")))
        self.assertFalse(any(large.mapped("procurement_status")))
        self.assertLessEqual(large_count, small_count)


@tagged("post_install", "-at_install")
class TestBuyRuleMergeQueries(ProcurementCommon):
    """Odoo's buy rule adding a confirmed sale's make-to-order lines to the RFQ lines it
    made before writes them one at a time: what the addon reads of their allocations
    is read once per RFQ, however many lines merge."""

    def _allocation_queries_of_a_confirmation(self, count):
        products = [
            self._create_mto_product(f"Marquee {count}-{i}", sellers=[(self.vendor_a, 80.0)]) for i in range(count)
        ]
        lines = [(product, 2) for product in products]
        first = self._create_sale_order(lines)
        rfq = first.order_line.procurement_allocation_ids.purchase_line_id.order_id
        self.assertEqual(len(rfq), 1)
        second = self._create_sale_order(lines, confirm=False)
        self.env.flush_all()
        self.env.invalidate_all()
        with self.assertLogs("odoo.sql_db", "DEBUG") as logs:
            second.action_confirm()
            self.env.flush_all()
        # Odoo merged the second sale into the RFQ lines of the first (its writes are
        # what is measured) and the allocations follow
        merged = rfq.order_line.filtered(lambda line: line.product_qty == 4.0)
        self.assertGreaterEqual(len(merged), count // 2)
        self.assertEqual(set(second.order_line.mapped("procurement_status")), {"on_order"})
        return sum("backops_procurement_allocation" in record.getMessage() for record in logs.records)

    def test_allocations_are_read_once_per_rfq(self):
        small = self._allocation_queries_of_a_confirmation(2)
        large = self._allocation_queries_of_a_confirmation(12)
        self.assertLessEqual(large, small)


@tagged("post_install", "-at_install")
class TestOneLineChangeStaysOnTheLine(ProcurementCommon):
    """A change on one line of a confirmed order recomputes what Odoo derives of that
    line, not of every other line of the order: the return handling charge, which
    follows what came back on its return's other lines, must not make every order's
    lines depend on each other."""

    def _lines_marked_by_one_write(self, order):
        line, others = order.order_line[0], order.order_line[1:]
        self.env.flush_all()  # nothing left pending from the confirmation
        line.write({"product_uom_qty": line.product_uom_qty + 1})
        fields = self.env["sale.order.line"]._fields
        marked = {
            name: self.env.records_to_compute(fields[name]) & others
            for name in ("qty_to_invoice", "invoice_status", "untaxed_amount_to_invoice")
        }
        self.env.flush_all()
        return marked

    def test_a_quantity_on_one_line_marks_no_other_line(self):
        products = [self._create_product(f"Crowd Barrier {i}", subject=False) for i in range(8)]
        order = self._create_sale_order([(product, 3) for product in products])
        marked = self._lines_marked_by_one_write(order)
        self.assertEqual(marked, dict.fromkeys(marked, self.env["sale.order.line"]))

    def test_what_is_delivered_on_one_line_marks_no_other_line(self):
        # services delivered by hand: the salesperson types what was delivered
        products = [
            self._create_product(f"Stewarding {i}", subject=False, type="service", invoice_policy="delivery")
            for i in range(8)
        ]
        order = self._create_sale_order([(product, 3) for product in products])
        line, others = order.order_line[0], order.order_line[1:]
        self.env.flush_all()  # nothing left pending from the confirmation
        line.qty_delivered = 2
        marked = self.env.records_to_compute(self.env["sale.order.line"]._fields["qty_to_invoice"]) & others
        self.assertFalse(marked)
        self.env.flush_all()
        self.assertEqual(line.qty_to_invoice, 2)
        self.assertEqual(others.mapped("qty_to_invoice"), [0.0] * 7)

    def test_the_return_lines_are_looked_up_once_per_order_not_per_change(self):
        # goods: confirming creates their delivery, and every move made marks what
        # Odoo derives from the delivered quantities, the handling charge included
        products = [
            self._create_product(f"Speaker Stack {i}", subject=False, type="consu", is_storable=True) for i in range(12)
        ]
        order = self._create_sale_order([(product, 2) for product in products], confirm=False)
        self.env.flush_all()
        lookups = []
        execute = Cursor.execute

        def counting(cursor, query, params=None, log_exceptions=True):
            if "backops_return_order_id" in str(getattr(query, "code", query)).split("FROM", 1)[-1]:
                lookups.append(query)
            return execute(cursor, query, params, log_exceptions)

        with patch.object(Cursor, "execute", counting):
            order.action_confirm()
            self.env.flush_all()
        self.assertEqual(order.picking_ids.move_ids.product_id, order.order_line.product_id)
        # a search of the lines by their return order, once (then in the cache),
        # not once per move or line (5 for these 12 lines before, 249 on confirming
        # the 100-line order of bench/overhead.py)
        self.assertLessEqual(len(lookups), 2, lookups)
