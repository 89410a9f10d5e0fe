from odoo import Command
from odoo.tests import tagged

from .common import RpcServerCase


@tagged("post_install", "-at_install")
class TestApprovalOverRpc(RpcServerCase):
    """A buyer calls Odoo's buttons and ``write`` over JSON-RPC on a real Odoo HTTP
    server to get an order above a tier confirmed: every path is refused, and the
    order stays as it was."""

    def setUp(self):
        super().setUp()
        with self._env() as env:
            company, suffix = self._make_company(env, "RPC Approvals")
            approvers = env["res.groups"].create({"name": f"RPC Approvers {suffix}"})
            env["backops.approval.tier"].create(
                {"name": "RPC Tier", "min_amount": 100, "group_id": approvers.id, "company_id": company.id}
            )
            buyer, self.password = self._make_user(env, company, "rpc_buyer", ["purchase.group_purchase_user"])
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
            self.login, self.order_id, self.vendor_id, self.product_id = buyer.login, order.id, vendor.id, product.id

    def _call(self, method, *args, **kwargs):
        return self._execute(self.login, self.password, "purchase.order", method, *args, **kwargs)

    def _state(self):
        return self._call("read", [self.order_id], ["state"])["result"][0]["state"]

    def test_buyer_cannot_approve_over_json_rpc(self):
        answer = self._call("button_approve", [self.order_id])
        self.assertEqual(answer["error"]["data"]["name"], "odoo.exceptions.AccessError")
        self.assertIn("RPC Tier", answer["error"]["data"]["message"])
        # nor by writing the state
        answer = self._call("write", [self.order_id], {"state": "purchase"})
        self.assertEqual(answer["error"]["data"]["name"], "odoo.exceptions.AccessError")
        self.assertEqual(self._state(), "to approve")

    def test_cancel_then_confirm_another_way_over_json_rpc(self):
        self.assertNotIn("error", self._call("button_cancel", [self.order_id]))
        for method, args in (
            ("write", ([self.order_id], {"state": "purchase"})),
            ("button_unlock", ([self.order_id],)),
            ("button_done", ([self.order_id],)),
        ):
            with self.subTest(method=method):
                answer = self._call(method, *args)
                self.assertEqual(answer["error"]["data"]["name"], "odoo.exceptions.AccessError")
                self.assertEqual(self._state(), "cancel")

    def test_create_confirmed_over_json_rpc(self):
        values = {
            "partner_id": self.vendor_id,
            "state": "purchase",
            "order_line": [[0, 0, {"product_id": self.product_id, "product_qty": 5, "price_unit": 100}]],
        }
        answer = self._call("create", [values])
        self.assertIn("RPC Tier", answer["error"]["data"]["message"])
        answer = self._call("copy", [self.order_id], default={"state": "done"})
        self.assertIn("RPC Tier", answer["error"]["data"]["message"])
        count = self._call("search_count", [["state", "in", ["purchase", "done"]]])["result"]
        self.assertEqual(count, 0)
