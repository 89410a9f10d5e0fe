from odoo.tests import new_test_user

from .common import ProcurementCommon


class FulfilmentCommon(ProcurementCommon):
    """Storable goods bought for events, received and delivered through Odoo's own
    receipts and deliveries."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.warehouse = cls.env["stock.warehouse"].search([("company_id", "=", cls.env.company.id)], limit=1)
        cls.stock = cls.warehouse.lot_stock_id
        cls.cart = cls._create_product(
            "Fleet Golf Cart", sellers=[(cls.vendor_a, 150.0), (cls.vendor_b, 158.0)], is_storable=True
        )
        cls.deck = cls._create_product("Riser Deck", sellers=[(cls.vendor_a, 40.0)], is_storable=True)
        cls.stool = cls._create_product(
            "Bar Stool", sellers=[(cls.vendor_b, 30.0)], uom_po=cls.uom_dozen, is_storable=True
        )
        cls.stock_user = new_test_user(
            cls.env,
            "backops_fulfil_stock",
            groups="stock.group_stock_user,sales_team.group_sale_salesman",
            name="Warehouse Wendy",
        )

    def _purchase(self, vendor, allocations, confirm=True):
        """A PO of ``vendor`` covering ``allocations`` [(need, qty)], one line per product."""
        quantities = {}
        for need, quantity in allocations:
            # the RFQ line is in the product's purchase unit
            quantity = need.product_uom._compute_quantity(quantity, need.product_id.uom_po_id)
            quantities[need.product_id] = quantities.get(need.product_id, 0.0) + quantity
        rfq = self._create_rfq(vendor, [(product, qty) for product, qty in quantities.items()])
        for need, quantity in allocations:
            line = rfq.order_line.filtered(lambda line, p=need.product_id: line.product_id == p)
            self._allocate(need, line, quantity)
        if confirm:
            rfq.button_confirm()
        return rfq

    def _receive(self, purchase, quantities):
        receipt = purchase.picking_ids.filtered(lambda p: p.state not in ("done", "cancel"))
        return self._validate(receipt, quantities)

    def _delivery(self, order):
        return order.picking_ids.filtered(
            lambda p: p.state not in ("done", "cancel") and p.picking_type_code == "outgoing"
        )
