import json
import threading
import urllib.request
import uuid
from contextlib import contextmanager

from psycopg2.errors import SerializationFailure
from werkzeug.serving import make_server

import odoo
from odoo import SUPERUSER_ID, Command, api
from odoo.modules.registry import Registry
from odoo.tests import BaseCase, Form, TransactionCase, new_test_user
from odoo.tests.common import get_db_name


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

        cls.golf_cart = cls._create_product("Golf Cart", sellers=[(cls.vendor_a, 150.0), (cls.vendor_b, 158.0)])
        cls.stage_deck = cls._create_product("Stage Deck", sellers=[(cls.vendor_a, 40.0)])
        # sold by the unit, bought by the dozen
        cls.chair = cls._create_product("Banquet Chair", sellers=[(cls.vendor_b, 30.0)], uom_po=cls.uom_dozen)
        cls.pa_system = cls._create_product("PA System", subject=False)

        cls.buyer = new_test_user(cls.env, "backops_buyer", groups="purchase.group_purchase_user", name="Buyer Bea")
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
    def _create_mto_product(cls, name, sellers):
        """A storable product bought to order: Odoo's make-to-order and buy routes
        (the make-to-order route activated, as the Inventory setting does)."""
        mto_route = cls.env.ref("stock.route_warehouse0_mto")
        mto_route.active = True
        mto_route.rule_ids.procure_method = "make_to_order"
        buy_route = cls.env.ref("purchase_stock.route_warehouse0_buy")
        return cls._create_product(
            name, sellers=sellers, is_storable=True, route_ids=[Command.set((mto_route | buy_route).ids)]
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

    def _validate(self, picking, quantities):
        """Validate ``picking`` for ``quantities`` ({product: qty in the move's unit})
        as a user does, keeping Odoo's backorder of the rest; returns the backorders."""
        for move in picking.move_ids:
            move.quantity = quantities.get(move.product_id, 0.0)
            move.picked = bool(move.quantity)
        action = picking.button_validate()
        if action is not True:
            Form.from_action(self.env, action).save().process()
        return picking.backorder_ids

    @staticmethod
    def _line(order, product):
        return order.order_line.filtered(lambda line: line.product_id == product)


class CommittedCase(BaseCase):
    """Tests that need committed data: two transactions at once, or Odoo's real HTTP
    server in a thread. Each test makes its records in a company of its own through
    ``_env()`` (a cursor committed on exit) and removes them in ``_cleanup``."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.registry = Registry(get_db_name())

    @contextmanager
    def _env(self, uid=SUPERUSER_ID, cr=None):
        """An environment on a new cursor (committed when the block ends), or on ``cr``."""
        if cr is not None:
            yield api.Environment(cr, uid, {"tracking_disable": True})
            return
        with self.registry.cursor() as new_cr:
            yield api.Environment(new_cr, uid, {"tracking_disable": True})

    def _make_company(self, env, name):
        suffix = uuid.uuid4().hex[:8]
        company = env["res.company"].create({"name": f"{name} {suffix}"})
        env.user.company_ids += company
        self.addCleanup(self._archive_company, company.id)
        return company, suffix

    def _archive_company(self, company_id):
        """Cancel and remove what the test committed in its company, then archive it."""
        with self._env() as env:
            company = env["res.company"].browse(company_id)
            purchases = env["purchase.order"].search([("company_id", "=", company.id)])
            purchases.filtered(lambda order: order.state != "cancel").button_cancel()
            purchases.unlink()
            sales = env["sale.order"].search([("company_id", "=", company.id)])
            sales._action_cancel()
            sales.unlink()
            env["backops.approval.tier"].search([("company_id", "=", company.id)]).active = False
            env["res.users"].search([("company_id", "=", company.id)]).active = False
            company.active = False

    def _needs_on_one_line(self, env, company, suffix, need_quantities, line_quantity):
        """Confirmed needs of a service subject to procurement, one per quantity, and
        one RFQ line of ``line_quantity`` for them: ([need ids], line id)."""
        env = env(context=dict(env.context, allowed_company_ids=company.ids))
        vendor = env["res.partner"].create({"name": f"Vendor {suffix}"})
        product = env["product.product"].create(
            {"name": f"Golf Cart Hire {suffix}", "type": "service", "subject_to_procurement": True}
        )
        order = env["sale.order"].create(
            {
                "partner_id": vendor.id,
                "company_id": company.id,
                "order_line": [
                    Command.create({"product_id": product.id, "product_uom_qty": qty}) for qty in need_quantities
                ],
            }
        )
        order.action_confirm()
        rfq = env["purchase.order"].create(
            {
                "partner_id": vendor.id,
                "company_id": company.id,
                "order_line": [Command.create({"product_id": product.id, "product_qty": line_quantity})],
            }
        )
        return order.order_line.ids, rfq.order_line.id

    def _race(self, first, second):
        """``first(cr)`` runs in one transaction and is not committed yet when
        ``second(cr)`` starts in another: the second must wait for the first. Returns
        how the second ended once the first committed: ``"saved"``, or ``"retry"``
        when it failed to serialize (Odoo retries such a request)."""
        outcome = {}
        with self.registry.cursor() as cr_a:
            first(cr_a)
            started = threading.Event()

            def run_second():
                with self.registry.cursor() as cr_b:
                    started.set()
                    try:
                        second(cr_b)
                        cr_b.commit()
                        outcome["second"] = "saved"
                    except SerializationFailure:
                        # as Odoo does before retrying: nothing of it is flushed on exit
                        cr_b.rollback()
                        outcome["second"] = "retry"

            thread = threading.Thread(target=run_second)
            thread.start()
            started.wait(10)
            thread.join(1)
            self.assertTrue(thread.is_alive(), "the second transaction must wait for the first")
            cr_a.commit()
            thread.join(30)
        return outcome.get("second")


class RpcServerCase(CommittedCase):
    """Odoo's HTTP server in a thread of this process, reading committed data, and a
    JSON-RPC client for it: the public API as an integrator (or an attacker) calls it."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.db = get_db_name()
        cls.server = make_server("127.0.0.1", 0, odoo.http.root, threaded=True)
        cls.server_thread = threading.Thread(target=cls.server.serve_forever, daemon=True)
        cls.server_thread.start()
        cls.url = f"http://127.0.0.1:{cls.server.server_port}/jsonrpc"

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()
        cls.server_thread.join(10)
        super().tearDownClass()

    def _rpc(self, service, method, *args):
        payload = {
            "jsonrpc": "2.0",
            "method": "call",
            "id": 1,
            "params": {"service": service, "method": method, "args": args},
        }
        request = urllib.request.Request(
            self.url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=120) as response:
            return json.loads(response.read())

    def _execute(self, login, password, model, method, *args, **kwargs):
        """``execute_kw`` as ``login``: the answer's ``result``, or its ``error``."""
        uid = self._rpc("common", "login", self.db, login, password)["result"]
        return self._rpc("object", "execute_kw", self.db, uid, password, model, method, list(args), kwargs)

    def _make_user(self, env, company, login, groups):
        password = f"rpc-{uuid.uuid4().hex[:12]}-Secret!"
        login = f"{login}_{uuid.uuid4().hex[:8]}"
        user = env["res.users"].create(
            {
                "name": login,
                "login": login,
                "email": f"{login}@example.com",
                "password": password,
                "company_id": company.id,
                "company_ids": [Command.set(company.ids)],
                "groups_id": [Command.set([env.ref(group).id for group in groups])],
            }
        )
        return user, password
