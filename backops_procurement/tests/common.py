from contextlib import contextmanager

from odoo import Command
from odoo.tests import Form, TransactionCase, new_test_user


class ProcurementCommon(TransactionCase):
    """Records every procurement test starts from: an events company selling golf
    carts, stage decks and chairs, with two golf-cart vendors and users of each role."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        cls.company = cls.env.company
        cls.uom_unit = cls.env.ref("uom.product_uom_unit")
        cls.uom_dozen = cls.env.ref("uom.product_uom_dozen")
        cls.uom_kg = cls.env.ref("uom.product_uom_kgm")
        # units of measure on forms, as a company buying by the dozen has them
        cls.env.user.groups_id += cls.env.ref("uom.group_uom")

        Partner = cls.env["res.partner"]
        cls.customer = Partner.create({"name": "Harbourlight Festival", "email": "hf@example.com"})
        cls.vendor_a = Partner.create({"name": "FairwayFleet Carts", "email": "ff@example.com"})
        cls.vendor_b = Partner.create({"name": "GreenLane Cart Hire", "email": "gl@example.com"})

        cls.golf_cart = cls._create_product(
            "Golf Cart", sellers=[(cls.vendor_a, 150.0), (cls.vendor_b, 158.0)]
        )
        cls.stage_deck = cls._create_product("Stage Deck", sellers=[(cls.vendor_a, 40.0)])
        # sold by the unit, bought by the dozen
        cls.chair = cls._create_product(
            "Banquet Chair", sellers=[(cls.vendor_b, 30.0)], uom_po=cls.uom_dozen
        )
        cls.pa_system = cls._create_product("PA System", subject=False)

        cls.buyer = new_test_user(
            cls.env, "backops_buyer", groups="purchase.group_purchase_user", name="Buyer Bea"
        )
        cls.salesman = new_test_user(
            cls.env, "backops_salesman", groups="sales_team.group_sale_salesman", name="Sales Sam"
        )
        cls.other_salesman = new_test_user(
            cls.env, "backops_salesman_2", groups="sales_team.group_sale_salesman", name="Sales Sid"
        )
        cls.purchase_manager = new_test_user(
            cls.env, "backops_purchase_manager", groups="purchase.group_purchase_manager", name="Manager Mo"
        )
        cls.employee = new_test_user(cls.env, "backops_employee", groups="base.group_user")

    @contextmanager
    def assertRaisesRegex(self, exception, regex, msg=None):  # noqa: N802 - unittest's name
        """Odoo's ``assertRaises`` (the change is rolled back to a savepoint, as a
        request's transaction is), and the message must match ``regex``."""
        with self.assertRaises(exception, msg=msg) as context:
            yield context
        self.assertRegex(str(context.exception), regex)

    # ------------------------------------------------------------------
    # builders
    # ------------------------------------------------------------------
    @classmethod
    def _create_product(cls, name, sellers=(), subject=True, uom_po=None, **values):
        uom_po = uom_po or cls.uom_unit
        return cls.env["product.product"].create(
            {
                "name": name,
                "type": "consu",
                "subject_to_procurement": subject,
                "uom_id": cls.uom_unit.id,
                "uom_po_id": uom_po.id,
                "seller_ids": [
                    Command.create({"partner_id": vendor.id, "price": price, "product_uom": uom_po.id})
                    for vendor, price in sellers
                ],
                **values,
            }
        )

    @classmethod
    def _create_sale_order(cls, lines, confirm=True, user=None, partner=None, company=None):
        """``lines``: (product, quantity[, uom]) tuples and section names (str)."""
        order_line = []
        for line in lines:
            if isinstance(line, str):
                order_line.append(Command.create({"display_type": "line_section", "name": line}))
                continue
            product, quantity, *uom = line
            values = {"product_id": product.id, "product_uom_qty": quantity}
            if uom:
                values["product_uom"] = uom[0].id
            order_line.append(Command.create(values))
        env = cls.env(user=user) if user else cls.env
        order = env["sale.order"].create(
            {
                "partner_id": (partner or cls.customer).id,
                "order_line": order_line,
                **({"company_id": company.id} if company else {}),
            }
        )
        if confirm:
            order.action_confirm()
        return order

    @classmethod
    def _create_rfq(cls, vendor, lines, user=None, company=None):
        """``lines``: (product, quantity[, uom]) tuples. Returns the draft RFQ."""
        env = cls.env(user=user) if user else cls.env
        form = Form(env["purchase.order"].with_company(company or cls.env.company))
        form.partner_id = vendor
        for product, quantity, *uom in lines:
            with form.order_line.new() as line:
                line.product_id = product
                if uom:
                    line.product_uom = uom[0]
                line.product_qty = quantity
        return form.save()

    @classmethod
    def _allocate(cls, sale_line, purchase_line, quantity, user=None):
        env = cls.env(user=user) if user else cls.env
        return env["backops.procurement.allocation"].create(
            {
                "sale_line_id": sale_line.id,
                "purchase_line_id": purchase_line.id,
                "quantity": quantity,
            }
        )

    @staticmethod
    def _line(order, product):
        return order.order_line.filtered(lambda line: line.product_id == product)
