import io
import json
import threading
import urllib.error
import urllib.parse
import urllib.request
import uuid

import openpyxl
from werkzeug.serving import make_server

import odoo
from odoo import SUPERUSER_ID, Command, api
from odoo.modules.registry import Registry
from odoo.tests import BaseCase, tagged
from odoo.tests.common import get_db_name


class ExportHttpCase(BaseCase):
    """Odoo's HTTP server in a thread of this process, asked by users as a browser
    or an RPC client would. The server reads committed data: each class commits its
    records in a company of its own (``_build``) and removes them at the end."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.db = get_db_name()
        cls.registry = Registry(cls.db)
        cls.server = make_server("127.0.0.1", 0, odoo.http.root, threaded=True)
        cls.thread = threading.Thread(target=cls.server.serve_forever, daemon=True)
        cls.thread.start()
        cls.addClassCleanup(cls._stop_server)
        cls.base_url = f"http://127.0.0.1:{cls.server.server_port}"
        cls.suffix = uuid.uuid4().hex[:8]
        cls.password = f"http-{cls.suffix}-Secret!"
        cls.sessions = {}
        cls.records = {}
        cls.addClassCleanup(cls._remove_records)
        with cls.registry.cursor() as cr:
            cls._build(api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True, "mail_notrack": True}))

    @classmethod
    def _stop_server(cls):
        cls.server.shutdown()
        cls.thread.join(10)

    @classmethod
    def _build(cls, env):
        raise NotImplementedError()

    @classmethod
    def _keep(cls, name, records):
        """Remember committed records to remove at the end."""
        cls.records[name] = records.ids
        return records

    @classmethod
    def _remove_records(cls):
        with cls.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True, "mail_notrack": True})

            def kept(name, model):
                return env[model].browse(cls.records.get(name, ())).exists()

            users = kept("users", "res.users")
            env["backops.procurement.export"].search([("create_uid", "in", users.ids)]).unlink()
            kept("fills", "backops.backorder.fill").unlink()
            purchases = kept("purchase_orders", "purchase.order")
            purchases.button_cancel()
            purchases.unlink()
            sales = kept("sale_orders", "sale.order")
            sales._action_cancel()
            sales.unlink()
            products = kept("products", "product.product")
            products.write({"active": False})
            products.product_tmpl_id.write({"active": False})
            kept("partners", "res.partner").write({"active": False})
            users.write({"active": False})
            kept("companies", "res.company").write({"active": False})

    @classmethod
    def _company(cls, env, name):
        return env["res.company"].create({"name": f"{name} {cls.suffix}"})

    @classmethod
    def _user(cls, env, company, login, groups):
        return env["res.users"].create(
            {
                "name": login.replace("_", " ").title(),
                "login": f"{login}_{cls.suffix}",
                "password": cls.password,
                "company_id": company.id,
                "company_ids": [Command.set(company.ids)],
                "groups_id": [Command.set([env.ref(group).id for group in groups])],
            }
        )

    @classmethod
    def _product(cls, env, name, vendor=None):
        # services: no stock moves to clean up
        return env["product.product"].create(
            {
                "name": f"{name} {cls.suffix}",
                "type": "service",
                "subject_to_procurement": True,
                "seller_ids": [Command.create({"partner_id": vendor.id, "price": 10.0})] if vendor else [],
            }
        )

    # ------------------------------------------------------------------
    # talking to the server
    # ------------------------------------------------------------------
    def _post_json(self, path, params, cookie=None):
        payload = {"jsonrpc": "2.0", "method": "call", "id": 1, "params": params}
        headers = {"Content-Type": "application/json"}
        if cookie:
            headers["Cookie"] = cookie
        request = urllib.request.Request(self.base_url + path, data=json.dumps(payload).encode(), headers=headers)
        with urllib.request.urlopen(request, timeout=300) as response:
            return json.loads(response.read()), response.headers

    def _session(self, login):
        """The session cookie of ``login``, logged in as in a browser."""
        if login not in self.sessions:
            answer, headers = self._post_json(
                "/web/session/authenticate", {"db": self.db, "login": login, "password": self.password}
            )
            self.assertTrue(answer["result"]["uid"], answer)
            cookies = [cookie.split(";")[0] for cookie in headers.get_all("Set-Cookie")]
            self.sessions[login] = next(cookie for cookie in cookies if cookie.startswith("session_id="))
        return self.sessions[login]

    def _call(self, login, model, method, args, context=None):
        """``model.method(*args)`` as ``login``, as the web client calls a button."""
        answer, _headers = self._post_json(
            "/web/dataset/call_kw",
            {"model": model, "method": method, "args": args, "kwargs": {"context": context or {}}},
            cookie=self._session(login),
        )
        self.assertNotIn("error", answer)
        return answer["result"]

    def _get(self, login, url):
        """GET ``url`` as ``login``: (status, body)."""
        request = urllib.request.Request(self.base_url + url, headers={"Cookie": self._session(login)})
        try:
            with urllib.request.urlopen(request, timeout=300) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def _needs_url(self, domain):
        return "/backops_procurement/needs.xlsx?" + urllib.parse.urlencode({"domain": json.dumps(domain)})

    def _sheets(self, body):
        """{sheet title: [row dicts by header]} of an XLSX body."""
        workbook = openpyxl.load_workbook(io.BytesIO(body), read_only=True)
        sheets = {}
        for sheet in workbook.worksheets:
            rows = list(sheet.values)
            sheets[sheet.title] = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
        return sheets


@tagged("post_install", "-at_install")
class TestExportHttp(ExportHttpCase):
    @classmethod
    def _build(cls, env):
        company = cls._company(env, "HTTP Exports")
        other_company = cls._company(env, "HTTP Exports North")
        cls._keep("companies", company | other_company)
        buyer = cls._user(env, company, "http_buyer", ["purchase.group_purchase_user"])
        salesman = cls._user(env, company, "http_salesman", ["sales_team.group_sale_salesman"])
        other_salesman = cls._user(env, company, "http_salesman_2", ["sales_team.group_sale_salesman"])
        stock_user = cls._user(env, company, "http_stock_user", ["stock.group_stock_user"])
        cls._keep("users", buyer | salesman | other_salesman | stock_user)
        cls.buyer, cls.salesman, cls.stock_user = buyer.login, salesman.login, stock_user.login

        customer = env["res.partner"].create({"name": f"HTTP Festival {cls.suffix}"})
        vendor_a = env["res.partner"].create({"name": f"HTTP Carts A {cls.suffix}", "is_company": True})
        vendor_b = env["res.partner"].create({"name": f"HTTP Carts B {cls.suffix}", "is_company": True})
        cls._keep("partners", customer | vendor_a | vendor_b)
        cart = cls._product(env, "HTTP Golf Cart", vendor_a)
        deck = cls._product(env, "HTTP Stage Deck", vendor_a)
        cls._keep("products", cart | deck)

        SaleOrder = env["sale.order"].with_company(company)
        own = SaleOrder.create(
            {
                "partner_id": customer.id,
                "user_id": salesman.id,
                "order_line": [
                    Command.create({"product_id": cart.id, "product_uom_qty": 50}),
                    Command.create({"product_id": deck.id, "product_uom_qty": 24}),
                ],
            }
        )
        other = SaleOrder.create(
            {
                "partner_id": customer.id,
                "user_id": other_salesman.id,
                "order_line": [Command.create({"product_id": cart.id, "product_uom_qty": 10})],
            }
        )
        cls._keep("sale_orders", own | other)
        (own | other).action_confirm()
        PurchaseOrder = env["purchase.order"].with_company(company)
        order_a, rfq_b = PurchaseOrder.create(
            [
                {"partner_id": vendor_a.id, "order_line": [Command.create({"product_id": cart.id, "product_qty": 40})]},
                {"partner_id": vendor_b.id, "order_line": [Command.create({"product_id": cart.id, "product_qty": 20})]},
            ]
        )
        cls._keep("purchase_orders", order_a | rfq_b)
        own_cart = own.order_line.filtered(lambda line: line.product_id == cart)
        env["backops.procurement.allocation"].create(
            [
                {"sale_line_id": own_cart.id, "purchase_line_id": order_a.order_line.id, "quantity": 30},
                {"sale_line_id": other.order_line.id, "purchase_line_id": order_a.order_line.id, "quantity": 10},
                {"sale_line_id": own_cart.id, "purchase_line_id": rfq_b.order_line.id, "quantity": 20},
            ]
        )
        order_a.button_confirm()
        assert order_a.state == "purchase", order_a.state
        cls.own_order, cls.other_order = own.name, other.name
        cls.order_a, cls.rfq_b = order_a.name, rfq_b.name

        Fill = env["backops.backorder.fill"]
        fill = Fill.create({"company_id": company.id})
        other_fill = Fill.create({"company_id": other_company.id})
        cls._keep("fills", fill | other_fill)
        cls.fill_id, cls.other_fill_id = fill.id, other_fill.id

    def test_malformed_domain_is_a_400_with_a_message(self):
        for domain, message in (
            ("golf carts", b"not JSON"),
            ('{"product_id": 1}', b"must be a list of conditions"),
            ('[["no_such_field", "=", 1]]', b"Invalid field"),
            ('[["order_id.no_such_field", "=", 1]]', b"Invalid field"),
            ('[["id", "~~", 1]]', b"Invalid leaf"),
            ("[1, 2]", b"is not a condition"),
            ('[["id", "=", {"a": 1}]]', b"is not a condition"),
            ('["|", ["id", "=", 1]]', b"syntactically not correct"),
            # well-formed, but not what the database can compare
            ('[[2, "=", 1]]', b"The domain is not valid"),
            ('[["order_id", "child_of", 1]]', b"The domain is not valid"),
            ('[["id", "=", 1e400]]', b"The domain is not valid"),
            ('[["product_uom_qty", ">", 1e400]]', b"The domain is not valid"),
            ('[["order_id.date_order", ">", "2026-13-45"]]', b"The domain is not valid"),
        ):
            url = "/backops_procurement/needs.xlsx?" + urllib.parse.urlencode({"domain": domain})
            status, body = self._get(self.buyer, url)
            self.assertEqual(status, 400, (domain, body[:300]))
            self.assertIn(message, body, domain)
        # a well-formed one exports
        status, body = self._get(self.buyer, self._needs_url([["product_id.name", "ilike", "HTTP Golf Cart"]]))
        self.assertEqual(status, 200, body[:300])
        self.assertEqual(len(self._sheets(body)["Needs"]), 2)

    def test_unknown_or_unreadable_records_are_a_404(self):
        fill_url = "/backops_procurement/backorder_fill/{}.xlsx"
        status, body = self._get(self.stock_user, fill_url.format(self.fill_id))
        self.assertEqual(status, 200, body[:300])
        # another company's fill, and one that does not exist, look the same
        for fill_id in (self.other_fill_id, 2**31 - 1):
            status, _body = self._get(self.stock_user, fill_url.format(fill_id))
            self.assertEqual(status, 404, fill_id)
        # the export of another user, one that does not exist, and nonsense
        action = self._call(self.salesman, "sale.order.line", "action_export_procurement_xlsx", [[]])
        status, _body = self._get(self.buyer, action["url"])
        self.assertEqual(status, 404)
        for export_id in (2**31 - 1, 2**40, "golf"):
            status, _body = self._get(self.buyer, f"/backops_procurement/needs.xlsx?export_id={export_id}")
            self.assertEqual(status, 404, export_id)

    def test_salesperson_exports_the_needs_of_their_orders(self):
        action = self._call(self.salesman, "sale.order.line", "action_export_procurement_xlsx", [[]])
        status, body = self._get(self.salesman, action["url"])
        self.assertEqual(status, 200, body[:300])
        sheets = self._sheets(body)
        needs = {row["Product"]: row for row in sheets["Needs"]}
        self.assertEqual({row["Sale Order"] for row in sheets["Needs"]}, {self.own_order})
        cart = needs[f"HTTP Golf Cart {self.suffix}"]
        self.assertEqual((cart["Ordered"], cart["Allocated"], cart["Status"]), (30, 50, "On Order"))
        self.assertEqual(needs[f"HTTP Stage Deck {self.suffix}"]["Status"], "Needs Order")
        # the allocations of their needs, not those of the other order on the same PO
        allocations = sheets["Allocations by Vendor"]
        self.assertEqual({row["Sale Order"] for row in allocations}, {self.own_order})
        self.assertEqual(
            sorted((row["RFQ / PO"], row["Allocated"]) for row in allocations),
            sorted([(self.order_a, 30), (self.rfq_b, 20)]),
        )


@tagged("post_install", "-at_install")
class TestExportThousandsHttp(ExportHttpCase):
    NEEDS = 10_000

    @classmethod
    def _build(cls, env):
        company = cls._company(env, "HTTP Big Festival")
        cls._keep("companies", company)
        buyer = cls._user(env, company, "http_big_buyer", ["purchase.group_purchase_user"])
        other_buyer = cls._user(env, company, "http_big_buyer_2", ["purchase.group_purchase_user"])
        cls._keep("users", buyer | other_buyer)
        cls.buyer, cls.other_buyer = buyer.login, other_buyer.login
        customer = env["res.partner"].create({"name": f"HTTP Big Festival {cls.suffix}"})
        cls._keep("partners", customer)
        barrier = cls._product(env, "HTTP Crowd Barrier")
        cls._keep("products", barrier)
        line = {
            "product_id": barrier.id,
            "product_uom_qty": 1,
            "name": barrier.name,
            "product_uom": barrier.uom_id.id,
            "price_unit": 5.0,
            "tax_id": [Command.clear()],
        }
        orders = (
            env["sale.order"]
            .with_company(company)
            .create(
                [
                    {"partner_id": customer.id, "order_line": [Command.create(line) for _line in range(1000)]}
                    for _order in range(cls.NEEDS // 1000)
                ]
            )
        )
        cls._keep("sale_orders", orders)
        orders.action_confirm()
        cls.order_ids = orders.ids
        cls.need_ids = orders.order_line.ids

    def test_ten_thousand_selected_needs(self):
        self.assertEqual(len(self.need_ids), self.NEEDS)
        action = self._call(self.buyer, "sale.order.line", "action_export_procurement_xlsx", [self.need_ids])
        # the selection stays on the server
        self.assertLess(len(action["url"]), 100)
        status, body = self._get(self.buyer, action["url"])
        self.assertEqual(status, 200, body[:300])
        needs = self._sheets(body)["Needs"]
        self.assertEqual(len(needs), self.NEEDS)
        self.assertEqual({row["Status"] for row in needs}, {"Needs Order"})
        # nobody else reads that selection
        status, _body = self._get(self.other_buyer, action["url"])
        self.assertEqual(status, 404)

    def test_whole_list_without_a_selection(self):
        action = self._call(
            self.buyer,
            "sale.order.line",
            "action_export_procurement_xlsx",
            [[]],
            context={"active_domain": [["procurement_status", "!=", False], ["order_id", "in", self.order_ids]]},
        )
        status, body = self._get(self.buyer, action["url"])
        self.assertEqual(status, 200, body[:300])
        self.assertEqual(len(self._sheets(body)["Needs"]), self.NEEDS)
