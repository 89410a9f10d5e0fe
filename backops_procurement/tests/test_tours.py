"""The addon's screens in a browser: each tour (static/tests/tours/) clicks through
one workflow on records built here, and the test checks what the clicks wrote.

Odoo's runner starts these (`make test` runs them after pytest, see README); pytest-odoo
cannot, it starts no HTTP server, so the repository's conftest.py leaves them out."""

from odoo.tests import HttpCase, new_test_user, tagged

from .fulfilment_common import FulfilmentCommon


class TourCase(HttpCase, FulfilmentCommon):
    """FulfilmentCommon's company, products, vendors and users, in a browser."""


@tagged("post_install", "-at_install", "backops_tour")
class TestOrderingTours(TourCase):
    def test_confirm_a_sale_then_create_rfqs_from_to_order(self):
        order = self._create_sale_order(
            ["Staging", (self.stage_deck, 24), "Hospitality", (self.chair, 24), "Transport", (self.golf_cart, 50)],
            confirm=False,
        )
        # the tour finds the order's needs by its reference
        order.name = "SO Harbourlight Tour"
        self.start_tour(
            f"/odoo/action-sale.action_quotations_with_onboarding/{order.id}",
            "backops_to_order_create_rfqs",
            login="admin",
        )
        self.assertEqual(order.state, "sale")
        rfqs = order.order_line.procurement_allocation_ids.purchase_order_id
        # one RFQ per vendor, each covering all that vendor's needs
        self.assertEqual(len(rfqs), 2)
        self.assertEqual(set(rfqs.mapped("state")), {"draft"})
        by_vendor = {rfq.partner_id: rfq for rfq in rfqs}
        self.assertEqual(set(by_vendor), {self.vendor_a, self.vendor_b})
        self.assertEqual(
            sorted(by_vendor[self.vendor_a].order_line.mapped(lambda line: (line.product_id.name, line.product_qty))),
            [("Golf Cart", 50.0), ("Stage Deck", 24.0)],
        )
        chairs = by_vendor[self.vendor_b].order_line
        self.assertEqual((chairs.product_id, chairs.product_uom, chairs.product_qty), (self.chair, self.uom_dozen, 2.0))
        self.assertEqual(set(order.order_line.filtered("product_id").mapped("procurement_status")), {"on_order"})

    def test_line_item_editor_splits_50_golf_carts_30_20(self):
        order = self._create_sale_order(["Transport", (self.golf_cart, 50)])
        carts = self._line(order, self.golf_cart)
        rfq_a = self._create_rfq(self.vendor_a, [])
        rfq_b = self._create_rfq(self.vendor_b, [])
        self.start_tour("/odoo/action-purchase.purchase_rfq", "backops_line_item_editor_split", login="admin")
        self.assertEqual(carts.procurement_status, "on_order")
        self.assertEqual(
            sorted(
                carts.procurement_allocation_ids.mapped(lambda a: (a.purchase_order_id.partner_id.name, a.quantity))
            ),
            [("FairwayFleet Carts", 30.0), ("GreenLane Cart Hire", 20.0)],
        )
        # one line per RFQ, at each vendor's price
        self.assertEqual(rfq_a.order_line.mapped(lambda line: (line.product_qty, line.price_unit)), [(30.0, 150.0)])
        self.assertEqual(rfq_b.order_line.mapped(lambda line: (line.product_qty, line.price_unit)), [(20.0, 158.0)])


@tagged("post_install", "-at_install", "backops_tour")
class TestApprovalTour(TourCase):
    def test_buyer_confirms_above_a_tier_and_an_approver_approves(self):
        approvers = self.env["res.groups"].create({"name": "Purchase Approvers (tour)"})
        approver = new_test_user(
            self.env, "backops_tour_approver", groups="purchase.group_purchase_user", name="Approver Ada"
        )
        approver.groups_id += approvers
        tier = self.env["backops.approval.tier"].create(
            {"name": "Over 1,000", "sequence": 1, "min_amount": 1000, "group_id": approvers.id}
        )
        truss = self._create_product("Stage Truss", sellers=[(self.vendor_a, 100.0)])
        order = self._create_rfq(self.vendor_a, [(truss, 12)], user=self.buyer)  # 1,200 untaxed

        self.start_tour(
            f"/odoo/action-purchase.purchase_rfq/{order.id}", "backops_approval_buyer_confirms", login=self.buyer.login
        )
        self.assertEqual(order.state, "to approve")
        request = order.sudo().backops_approval_request_ids
        self.assertEqual((request.tier_id, request.state, request.requested_by_id), (tier, "pending", self.buyer))

        self.start_tour(
            "/odoo/action-backops_procurement.action_approval_requests_to_approve",
            "backops_approval_approver_approves",
            login=approver.login,
        )
        self.assertEqual(order.state, "purchase")
        self.assertEqual((request.state, request.decided_by_id), ("approved", approver))


@tagged("post_install", "-at_install", "backops_tour")
class TestFulfilmentTours(TourCase):
    def test_fill_backorders_preview_then_start(self):
        order = self._create_sale_order([(self.cart, 6)])
        # one cart in stock: one ships, five go to Odoo's backorder
        self.env["stock.quant"]._update_available_quantity(self.cart, self.stock, 1)
        delivery = self._delivery(order)
        delivery.action_assign()
        backorder = self._validate(delivery, {self.cart: 1})
        self.env["stock.quant"]._update_available_quantity(self.cart, self.stock, 5)

        self.start_tour(
            "/odoo/action-backops_procurement.action_backorder_fill", "backops_fill_backorders", login="admin"
        )
        fill = self.env["backops.backorder.fill"].search([("company_id", "=", self.env.company.id)], limit=1)
        self.assertEqual(fill.state, "done")
        self.assertEqual(
            fill.line_ids.mapped(lambda line: (line.sale_order_id, line.outcome, line.fill_qty)),
            [(order, "complete", 5.0)],
        )
        self.assertEqual(backorder.state, "done")
        self.assertEqual(order.order_line.qty_delivered, 6)

    def test_receive_full_from_receiving(self):
        order = self._create_sale_order(["Transport", (self.cart, 30), "Staging", (self.deck, 10)])
        purchase = self._purchase(
            self.vendor_a, [(self._line(order, self.cart), 30), (self._line(order, self.deck), 10)]
        )
        self.start_tour("/odoo", "backops_receiving_receive_full", login="admin")
        self.assertEqual(purchase.order_line.mapped("qty_received"), [30.0, 10.0])
        self.assertEqual(purchase.picking_ids.mapped("state"), ["done"])
        self.assertEqual(purchase.backops_status, "fulfilled")

    def test_deliver_ship_from_ready_to_deliver(self):
        self.env["stock.quant"]._update_available_quantity(self.cart, self.stock, 4)
        order = self._create_sale_order(["Transport", (self.cart, 4)])
        delivery = self._delivery(order)
        self.assertEqual(delivery.state, "assigned")
        self.start_tour("/odoo", "backops_deliver_ship", login="admin")
        # three shipped now, one left on Odoo's backorder
        self.assertEqual(self._line(order, self.cart).qty_delivered, 3)
        self.assertEqual(delivery.state, "done")
        self.assertEqual(delivery.backorder_ids.move_ids.product_uom_qty, 1)
