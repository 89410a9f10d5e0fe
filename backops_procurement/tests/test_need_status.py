from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import Form, new_test_user, tagged

from .common import ProcurementCommon


@tagged("post_install", "-at_install")
class TestNeedStatusRows(ProcurementCommon):
    """The statuses of the needs live in rows of their own (backops.need.status, one
    per sale line, same id), read through the sale line's fields: every path that
    makes a sale line makes its row, nobody writes the rows but the addon, and
    lists filter, sort and group on the statuses as on any field of the line."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.order = cls._create_sale_order(["Staging", (cls.stage_deck, 24), (cls.pa_system, 1), (cls.golf_cart, 50)])
        cls.cart_line = cls._line(cls.order, cls.golf_cart)
        cls.deck_line = cls._line(cls.order, cls.stage_deck)
        cls.pa_line = cls._line(cls.order, cls.pa_system)
        cls.section = cls.order.order_line.filtered("display_type")

    def _rows(self, lines):
        """What the table holds for ``lines``: {line id: (status, allocated, remaining)}."""
        self.env.flush_all()
        self.env.cr.execute(
            "SELECT id, line_id, procurement_status, procurement_allocated_qty, procurement_remaining_qty"
            "  FROM backops_need_status WHERE id = ANY(%s)",
            [lines.ids],
        )
        rows = {}
        for row_id, line_id, status, allocated, remaining in self.env.cr.fetchall():
            self.assertEqual(row_id, line_id)
            rows[row_id] = (status, allocated, remaining)
        return rows

    def test_every_path_that_makes_a_line_makes_its_row(self):
        # a batch of orders in one call, their lines in it
        orders = self.env["sale.order"].create(
            [
                {
                    "partner_id": self.customer.id,
                    "order_line": [
                        Command.create({"display_type": "line_section", "name": "Carts"}),
                        Command.create({"product_id": self.golf_cart.id, "product_uom_qty": qty}),
                    ],
                }
                for qty in (3, 4, 5)
            ]
        )
        self.assertEqual(set(self._rows(orders.order_line)), set(orders.order_line.ids))
        orders.action_confirm()
        carts = orders.order_line.filtered("product_id")
        self.assertEqual(
            set(self._rows(carts).values()), {("needs_order", 0, 3), ("needs_order", 0, 4), ("needs_order", 0, 5)}
        )
        # a line written onto a confirmed order: a need at once
        self.order.write({"order_line": [Command.create({"product_id": self.stage_deck.id, "product_uom_qty": 6})]})
        added = self.order.order_line.filtered(lambda line: line.product_uom_qty == 6)
        self.assertEqual(self._rows(added), {added.id: ("needs_order", 0, 6)})
        self.assertEqual(added.procurement_status, "needs_order")
        # a line added in the sale order's form
        with Form(self.order) as form, form.order_line.new() as line:
            line.product_id = self.golf_cart
            line.product_uom_qty = 7
        added = self.order.order_line.filtered(lambda line: line.product_uom_qty == 7)
        self.assertEqual(self._rows(added), {added.id: ("needs_order", 0, 7)})
        # a copy is a quotation: rows with no status, until it is confirmed
        copy = self.order.copy()
        self.assertEqual(len(self._rows(copy.order_line)), len(copy.order_line))
        self.assertFalse(any(copy.order_line.mapped("procurement_status")))
        copy.action_confirm()
        self.assertEqual(self._line(copy, self.golf_cart).mapped("procurement_status"), ["needs_order"] * 2)
        # a line deleted takes its row along
        quotation_line = orders[0].order_line[:1]
        orders[0]._action_cancel()
        orders[0].action_draft()
        line_id = quotation_line.id
        quotation_line.unlink()
        self.env.flush_all()
        self.env.cr.execute("SELECT count(*) FROM backops_need_status WHERE id = %s", [line_id])
        self.assertEqual(self.env.cr.fetchone()[0], 0)

    def test_a_line_without_its_row_gets_it_back_on_upgrade(self):
        # a line that lost its row (inserted by SQL, or from before the addon)
        self.env.flush_all()
        self.env.cr.execute("DELETE FROM backops_need_status WHERE id = ANY(%s)", [self.order.order_line.ids])
        self.env.invalidate_all()
        # what installing or upgrading the addon runs
        self.env["backops.need.status"].init()
        rows = self._rows(self.order.order_line)
        self.assertEqual(rows[self.cart_line.id], ("needs_order", 0, 50))
        self.assertEqual(rows[self.deck_line.id], ("needs_order", 0, 24))
        self.assertEqual(rows[self.pa_line.id], (None, 0, 0))
        self.assertEqual(rows[self.section.id], (None, 0, 0))
        self.assertEqual(self.cart_line.procurement_status, "needs_order")

    def test_nobody_reads_or_writes_the_rows_but_the_addon(self):
        self.order.user_id = self.salesman
        rfq = self._create_rfq(self.vendor_a, [(self.golf_cart, 20)])
        self._allocate(self.cart_line, rfq.order_line, 20)
        manager = new_test_user(
            self.env,
            "backops_status_manager",
            groups="sales_team.group_sale_manager,purchase.group_purchase_manager",
        )
        for user in (self.salesman, self.buyer, manager):
            rows = self.env["backops.need.status"].with_user(user)
            with self.subTest(user=user.name):
                with self.assertRaises(AccessError):
                    rows.search([])
                with self.assertRaises(AccessError):
                    rows.browse(self.cart_line.id).write({"procurement_status": "on_order"})
                with self.assertRaises(AccessError):
                    rows.create({"line_id": self.cart_line.id})
                with self.assertRaises(AccessError):
                    rows.browse(self.cart_line.id).unlink()
                # they read the statuses on the lines they may read
                need = self.cart_line.with_user(user)
                self.assertEqual((need.procurement_status, need.procurement_remaining_qty), ("short", 30))
        # nor through the sale line: the statuses are derived
        for values in (
            {"procurement_status": "on_order"},
            {"procurement_allocated_qty": 50},
            {"procurement_remaining_qty": 0},
            {"backops_need_status_id": self.deck_line.id},
        ):
            with self.subTest(values=values), self.assertRaisesRegex(UserError, "cannot be written"):
                self.cart_line.with_user(manager).write(values)
        self.assertEqual(self._rows(self.cart_line), {self.cart_line.id: ("short", 20, 30)})

    def test_lists_filter_sort_and_group_on_the_statuses(self):
        rfq = self._create_rfq(self.vendor_a, [(self.golf_cart, 20), (self.stage_deck, 30)])
        self._allocate(self.cart_line, rfq.order_line[0], 20)
        self._allocate(self.deck_line, rfq.order_line[1], 30)
        Line = self.env["sale.order.line"].with_user(self.buyer)
        mine = [("order_id", "=", self.order.id)]
        self.assertEqual(Line.search([*mine, ("procurement_status", "=", "short")]), self.cart_line)
        self.assertEqual(
            Line.search([*mine, ("procurement_status", "in", ("excess", "short"))]), self.cart_line | self.deck_line
        )
        self.assertEqual(Line.search([*mine, ("procurement_status", "!=", False)]), self.cart_line | self.deck_line)
        # buyers read the lines of procurement work only: the sections and the PA
        # system are not theirs; the sales manager sees them without a status
        self.assertEqual(
            self.env["sale.order.line"].search([*mine, ("procurement_status", "=", False)]), self.section | self.pa_line
        )
        self.assertEqual(Line.search([*mine, ("procurement_remaining_qty", ">", 25)]), self.cart_line)
        self.assertEqual(
            Line.search([*mine, ("procurement_status", "!=", False)], order="procurement_status desc").mapped(
                "procurement_status"
            ),
            ["short", "excess"],
        )
        groups = Line.read_group(
            [*mine, ("procurement_status", "!=", False)],
            ["procurement_allocated_qty:sum", "procurement_remaining_qty:sum"],
            ["procurement_status"],
        )
        self.assertEqual(
            {g["procurement_status"]: (g["procurement_allocated_qty"], g["procurement_remaining_qty"]) for g in groups},
            {"short": (20, 30), "excess": (30, 0)},
        )
        # the web client offers them as any field of the line
        description = Line.fields_get(["procurement_status", "procurement_allocated_qty"])
        self.assertTrue(description["procurement_status"]["groupable"])
        self.assertTrue(description["procurement_status"]["sortable"])
        self.assertTrue(description["procurement_status"]["searchable"])
        self.assertEqual(description["procurement_allocated_qty"]["aggregator"], "sum")
        # the order's summary counts them
        self.assertEqual((self.order.procurement_short_count, self.order.procurement_excess_count), (1, 1))

    def test_another_company_finds_none_of_these_needs_by_status(self):
        south = self.env["res.company"].create({"name": "BackOps Events South"})
        outsider = new_test_user(
            self.env,
            "backops_south_status",
            groups="sales_team.group_sale_manager,purchase.group_purchase_manager",
            company_id=south.id,
            company_ids=[Command.set(south.ids)],
        )
        Line = self.env["sale.order.line"].with_user(outsider)
        self.assertFalse(
            Line.search([("procurement_status", "=", "needs_order")]).filtered(lambda line: line.company_id != south)
        )
        self.assertFalse(Line.read_group([("procurement_status", "!=", False)], ["__count"], ["procurement_status"]))
        # a system administrator of that company reads the rows themselves, but not
        # this company's
        admin = new_test_user(
            self.env,
            "backops_south_admin",
            groups="base.group_system,sales_team.group_sale_manager",
            company_id=south.id,
            company_ids=[Command.set(south.ids)],
        )
        rows = self.env["backops.need.status"].with_user(admin)
        self.assertFalse(rows.search([("id", "in", self.order.order_line.ids)]))
        with self.assertRaises(AccessError):
            rows.browse(self.cart_line.id).read(["procurement_status"])
        # what an RPC client reads of a line it may not read: nothing
        for method in ("read", "web_read"):
            with self.subTest(method=method), self.assertRaises(AccessError):
                if method == "read":
                    self.cart_line.with_user(outsider).read(["procurement_status", "procurement_remaining_qty"])
                else:
                    self.cart_line.with_user(outsider).web_read({"procurement_status": {}})

    def test_statuses_read_at_once_are_those_of_the_fields(self):
        rfq = self._create_rfq(self.vendor_a, [(self.golf_cart, 50)])
        allocation = self._allocate(self.cart_line, rfq.order_line, 20)
        lines = self.order.order_line
        expected = {line.id: (line.procurement_status, line.procurement_remaining_qty) for line in lines}
        self.assertEqual(expected[self.cart_line.id], ("short", 30))
        # a change not yet computed: the read computes it first
        allocation.quantity = 50
        self.env.invalidate_all()
        lines._backops_read_statuses()
        self.assertEqual(
            (
                self.cart_line.procurement_status,
                self.cart_line.procurement_remaining_qty,
                self.cart_line.procurement_allocated_qty,
            ),
            ("on_order", 0, 50),
        )
        self.assertEqual(self.pa_line.procurement_status, False)
        # one query whatever the number of lines
        orders = self.env["sale.order"].create(
            [
                {
                    "partner_id": self.customer.id,
                    "order_line": [Command.create({"product_id": self.golf_cart.id, "product_uom_qty": 2})] * count,
                }
                for count in (3, 60)
            ]
        )
        orders.action_confirm()
        for order, count in zip(orders, (3, 60), strict=True):
            lines = order.order_line
            self.assertEqual(len(lines), count)
            self.env.flush_all()
            self.env.invalidate_all()
            with self.assertQueryCount(1):
                lines._backops_read_statuses()
            with self.assertQueryCount(0):
                self.assertEqual(set(lines.mapped("procurement_status")), {"needs_order"})
