import json
import threading
import urllib.request
import uuid

from werkzeug.serving import make_server

import odoo
from odoo import SUPERUSER_ID, Command, api
from odoo.tests import BaseCase, tagged
from odoo.tests.common import get_db_name

from odoo.modules.registry import Registry


@tagged("post_install", "-at_install")
class TestApprovalOverRpc(BaseCase):
    """A buyer calls ``button_approve`` over JSON-RPC on a real Odoo HTTP server:
    it must fail, and the order must stay waiting for approval.

    The server runs in a thread of this process and reads committed data, so the
    records are committed in a company of their own and removed at the end."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.db = get_db_name()
        cls.registry = Registry(cls.db)
        cls.server = make_server("127.0.0.1", 0, odoo.http.root, threaded=True)
        cls.thread = threading.Thread(target=cls.server.serve_forever, daemon=True)
        cls.thread.start()
        cls.url = f"http://127.0.0.1:{cls.server.server_port}/jsonrpc"

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()
        cls.thread.join(10)
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        suffix = uuid.uuid4().hex[:8]
        self.password = f"rpc-{suffix}-Secret!"
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})
            company = env["res.company"].create({"name": f"RPC Approvals {suffix}"})
            approvers = env["res.groups"].create({"name": f"RPC Approvers {suffix}"})
            tier = env["backops.approval.tier"].create(
                {"name": "RPC Tier", "min_amount": 100, "group_id": approvers.id, "company_id": company.id}
            )
            buyer = env["res.users"].create(
                {
                    "name": "RPC Buyer",
                    "login": f"rpc_buyer_{suffix}",
                    "password": self.password,
                    "company_id": company.id,
                    "company_ids": [Command.set(company.ids)],
                    "groups_id": [Command.set([env.ref("purchase.group_purchase_user").id])],
                }
            )
            vendor = env["res.partner"].create({"name": f"RPC Vendor {suffix}"})
            product = env["product.product"].create({"name": f"RPC Item {suffix}", "type": "consu"})
            order = (
                env["purchase.order"]
                .with_user(buyer)
                .with_company(company)
                .create(
                    {
                        "partner_id": vendor.id,
                        "order_line": [Command.create({"product_id": product.id, "product_qty": 5, "price_unit": 100})],
                    }
                )
            )
            order.button_confirm()
            self.assertEqual(order.state, "to approve")
            self.ids = {
                "company": company.id, "group": approvers.id, "tier": tier.id, "buyer": buyer.id,
                "buyer_login": buyer.login, "vendor": vendor.id, "product": product.id, "order": order.id,
            }
        self.addCleanup(self._remove_records)

    def _remove_records(self):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            order = env["purchase.order"].browse(self.ids["order"])
            order.button_cancel()
            order.unlink()
            env["backops.approval.tier"].browse(self.ids["tier"]).unlink()
            env["res.users"].browse(self.ids["buyer"]).active = False
            env["res.company"].browse(self.ids["company"]).active = False

    def _rpc(self, service, method, *args):
        payload = {"jsonrpc": "2.0", "method": "call", "id": 1, "params": {"service": service, "method": method, "args": args}}
        request = urllib.request.Request(
            self.url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read())

    def test_buyer_cannot_approve_over_json_rpc(self):
        uid = self._rpc("common", "login", self.db, self.ids["buyer_login"], self.password)["result"]
        self.assertEqual(uid, self.ids["buyer"])
        answer = self._rpc(
            "object", "execute_kw", self.db, uid, self.password, "purchase.order", "button_approve", [[self.ids["order"]]]
        )
        self.assertIn("error", answer)
        self.assertEqual(answer["error"]["data"]["name"], "odoo.exceptions.AccessError")
        self.assertIn("RPC Tier", answer["error"]["data"]["message"])
        # nor by writing the state
        answer = self._rpc(
            "object", "execute_kw", self.db, uid, self.password, "purchase.order", "write",
            [[self.ids["order"]], {"state": "purchase"}],
        )
        self.assertEqual(answer["error"]["data"]["name"], "odoo.exceptions.AccessError")
        state = self._rpc(
            "object", "execute_kw", self.db, uid, self.password, "purchase.order", "read",
            [[self.ids["order"]], ["state"]],
        )["result"][0]["state"]
        self.assertEqual(state, "to approve")
