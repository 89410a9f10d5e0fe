import uuid
from datetime import timedelta

from psycopg2.errors import SerializationFailure

from odoo import SUPERUSER_ID, Command, api, fields
from odoo.modules.registry import Registry
from odoo.tests import BaseCase, Form, tagged
from odoo.tests.common import get_db_name
from odoo.tools import mute_logger

from .fulfilment_common import FulfilmentCommon


@tagged("post_install", "-at_install")
class TestReceiptReservation(FulfilmentCommon):
    """Chairs bought for the festival are reserved for the festival, not for the gala
    that ordered the same chairs first."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.chair = cls._create_product("Gala Chair", sellers=[(cls.vendor_b, 3.0)], is_storable=True)
        now = fields.Datetime.now()
        # the gala ordered first: Odoo would give it whatever comes in first
        cls.gala = cls._create_sale_order(
            [(cls.chair, 50)], partner=cls.env["res.partner"].create({"name": "Quayside Gala"})
        )
        cls.gala.commitment_date = now + timedelta(days=3)
        cls.festival = cls._create_sale_order([(cls.chair, 50)])
        cls.festival.commitment_date = now + timedelta(days=10)

    def _ready(self, *orders):
        return [order.order_line.backops_qty_ready for order in orders]

    def test_odoo_validate_reserves_for_the_need_bought_for(self):
        po = self._purchase(self.vendor_b, [(self.festival.order_line, 50)])
        self._receive(po, {self.chair: 50})
        self.assertEqual(self._ready(self.festival, self.gala), [50, 0])
        self.assertEqual(self.festival.order_line.backops_fulfilment_status, "ready")
        self.assertEqual(self.gala.order_line.backops_fulfilment_status, "to_order")
        # another order's reservation cannot take them
        self._delivery(self.gala).action_assign()
        self.assertEqual(self._ready(self.festival, self.gala), [50, 0])

    def test_receiving_page_reserves_too(self):
        po = self._purchase(self.vendor_b, [(self.festival.order_line, 50)])
        po.order_line.with_user(self.stock_user).action_backops_receive_full()
        self.assertEqual(self._ready(self.festival, self.gala), [50, 0])

    def test_partial_receipts_shared_out_earliest_promise_first(self):
        po = self._purchase(self.vendor_b, [(self.festival.order_line, 50), (self.gala.order_line, 50)])
        self._receive(po, {self.chair: 30})
        # the gala is promised first
        self.assertEqual(self._ready(self.gala, self.festival), [30, 0])
        self._receive(po, {self.chair: 40})
        self.assertEqual(self._ready(self.gala, self.festival), [50, 20])

    def test_units_beyond_the_allocations_stay_free(self):
        po = self._purchase(self.vendor_b, [(self.festival.order_line, 40)], confirm=False)
        po.order_line.product_qty = 60
        po.button_confirm()
        self._receive(po, {self.chair: 60})
        self.assertEqual(self.festival.order_line.backops_qty_ready, 40)
        # the 20 not bought for a need are Odoo's to give: the gala's delivery took them
        self.assertEqual(self.gala.order_line.backops_qty_ready, 20)

    def test_setting_off_is_odoo_behaviour(self):
        self.env.company.backops_reserve_on_receipt = False
        po = self._purchase(self.vendor_b, [(self.festival.order_line, 50)])
        self._receive(po, {self.chair: 50})
        # whichever delivery Odoo assigns first: the gala's, older
        self.assertEqual(self._ready(self.festival, self.gala), [0, 50])

    def test_setting_in_inventory_settings(self):
        form = Form(self.env["res.config.settings"])
        self.assertTrue(form.backops_reserve_on_receipt)
        form.backops_reserve_on_receipt = False
        form.save().execute()
        self.assertFalse(self.env.company.backops_reserve_on_receipt)

    def test_unreserved_by_hand_the_need_says_so(self):
        po = self._purchase(self.vendor_b, [(self.festival.order_line, 50)])
        self._receive(po, {self.chair: 50})
        self._delivery(self.festival).do_unreserve()
        need = self.festival.order_line
        self.assertEqual(need.backops_qty_ready, 0)
        self.assertEqual(need.backops_qty_received, 50)
        self.assertEqual(need.backops_fulfilment_status, "partially_received")

    def test_never_more_than_the_need_still_waits_for(self):
        # 20 of the festival's chairs already reserved from stock
        self.env["stock.quant"]._update_available_quantity(self.chair, self.stock, 20)
        self._delivery(self.festival).action_assign()
        self._delivery(self.gala).do_unreserve()
        self.assertEqual(self.festival.order_line.backops_qty_ready, 20)
        po = self._purchase(self.vendor_b, [(self.festival.order_line, 50)])
        self._receive(po, {self.chair: 50})
        self.assertEqual(self.festival.order_line.backops_qty_ready, 50)
        # the 20 the festival no longer needs went to the gala (Odoo's assignment)
        self.assertEqual(self.gala.order_line.backops_qty_ready, 20)

    def test_products_not_subject_to_procurement_keep_odoo_behaviour(self):
        po = self._purchase(self.vendor_b, [(self.festival.order_line, 50)])
        # no longer followed: its lines are not needs, Odoo decides
        self.chair.subject_to_procurement = False
        self._receive(po, {self.chair: 50})
        self.assertEqual(self._ready(self.festival, self.gala), [0, 50])

    def test_received_in_another_unit(self):
        stool = self.stool
        gala = self._create_sale_order([(stool, 24)])
        festival = self._create_sale_order([(stool, 24)])
        po = self._purchase(self.vendor_b, [(festival.order_line, 24)])
        self._receive(po, {stool: 24})
        self.assertEqual([festival.order_line.backops_qty_ready, gala.order_line.backops_qty_ready], [24, 0])


@tagged("post_install", "-at_install")
class TestConcurrentReceipts(BaseCase):
    """Two receipts for the same need validated at the same time, each in its own
    transaction: the need is never reserved more than was received, nor twice."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.registry = Registry(get_db_name())

    def setUp(self):
        super().setUp()
        tag = uuid.uuid4().hex[:8]
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})
            vendor = env["res.partner"].create({"name": f"Race Vendor {tag}"})
            customer = env["res.partner"].create({"name": f"Race Festival {tag}"})
            chair = env["product.product"].create(
                {"name": f"Race Chair {tag}", "is_storable": True, "subject_to_procurement": True}
            )
            order = env["sale.order"].create(
                {
                    "partner_id": customer.id,
                    "order_line": [Command.create({"product_id": chair.id, "product_uom_qty": 30})],
                }
            )
            order.action_confirm()
            purchases = env["purchase.order"].create(
                [
                    {
                        "partner_id": vendor.id,
                        "order_line": [Command.create({"product_id": chair.id, "product_qty": 20})],
                    }
                    for _i in range(2)
                ]
            )
            env["backops.procurement.allocation"].create(
                [
                    {
                        "sale_line_id": order.order_line.id,
                        "purchase_line_id": purchases[0].order_line.id,
                        "quantity": 20,
                    },
                    {
                        "sale_line_id": order.order_line.id,
                        "purchase_line_id": purchases[1].order_line.id,
                        "quantity": 10,
                    },
                ]
            )
            purchases.button_confirm()
            self.ids = {"order": order.id, "purchases": purchases.ids, "chair": chair.id}
        self.addCleanup(self._remove_records)

    def _remove_records(self):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            order = env["sale.order"].browse(self.ids["order"])
            order.picking_ids.filtered(lambda p: p.state not in ("done", "cancel")).action_cancel()
            env["product.product"].browse(self.ids["chair"]).active = False

    def _receive(self, cr, index):
        env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})
        env["purchase.order"].browse(self.ids["purchases"][index]).order_line.action_backops_receive_full()
        env.flush_all()

    def _state(self):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            need = env["sale.order"].browse(self.ids["order"]).order_line
            quants = env["stock.quant"].search(
                [("product_id", "=", self.ids["chair"]), ("location_id.usage", "=", "internal")]
            )
            return need.backops_qty_received, need.backops_qty_ready, sum(quants.mapped("reserved_quantity"))

    @mute_logger("odoo.sql_db")
    def test_two_receipts_at_once(self):
        with self.registry.cursor() as cr_a, self.registry.cursor() as cr_b:
            # B's transaction started before A committed: the read takes B's snapshot
            order_b = api.Environment(cr_b, SUPERUSER_ID, {})["sale.order"].browse(self.ids["order"])
            order_b.order_line.mapped("backops_qty_ready")
            self._receive(cr_a, 0)
            cr_a.commit()
            with self.assertRaises(SerializationFailure):
                self._receive(cr_b, 1)
            cr_b.rollback()
            # Odoo retries the request: it reserves what the need still waits for
            self._receive(cr_b, 1)
            cr_b.commit()
        # 40 received, 30 needed: 30 reserved for the need, once
        self.assertEqual(self._state(), (30, 30, 30))
