from odoo import Command
from odoo.tests import tagged

from .test_export_http import ExportHttpCase


@tagged("post_install", "-at_install")
class TestQuotedVsActualHttp(ExportHttpCase):
    """The Quoted vs Actual download as the web client gets it: the list's button,
    then the URL it returns."""

    @classmethod
    def _build(cls, env):
        company = cls._company(env, "HTTP Quotes")
        cls._keep("companies", company)
        salesman = cls._user(env, company, "http_quotes_salesman", ["sales_team.group_sale_salesman"])
        other_salesman = cls._user(env, company, "http_quotes_salesman_2", ["sales_team.group_sale_salesman"])
        cls._keep("users", salesman | other_salesman)
        cls.salesman, cls.other_salesman = salesman.login, other_salesman.login
        customer = env["res.partner"].create({"name": f"HTTP Marina {cls.suffix}"})
        cls._keep("partners", customer)
        product = env["product.product"].create(
            {"name": f"HTTP Technician {cls.suffix}", "type": "service", "list_price": 100.0}
        )
        cls._keep("products", product)
        order = (
            env["sale.order"]
            .with_company(company)
            .create(
                {
                    "partner_id": customer.id,
                    "user_id": salesman.id,
                    "order_line": [Command.create({"product_id": product.id, "product_uom_qty": 3})],
                }
            )
        )
        cls._keep("sale_orders", order)
        order.action_quotation_sent()
        order.order_line.price_unit = 125.0
        order.action_confirm()
        cls.order_name = order.name

    def test_download_from_the_list(self):
        model = "backops.quoted.actual.report"
        rows = self._call(self.salesman, model, "search", [[("order_id.name", "=", self.order_name)]])
        self.assertEqual(len(rows), 1)
        action = self._call(self.salesman, model, "action_backops_export_xlsx", [rows])
        status, body = self._get(self.salesman, action["url"])
        self.assertEqual(status, 200)
        [row] = self._sheets(body)["Quoted vs Actual"]
        self.assertEqual(row["Order"], self.order_name)
        self.assertEqual((row["Quoted Unit Price"], row["Ordered Unit Price"]), (100, 125))
        self.assertEqual(row["Difference (%)"], 25)
        # another user's export is not found, nor is it one of needs
        self.assertEqual(self._get(self.other_salesman, action["url"])[0], 404)
        needs_url = action["url"].replace("quoted_vs_actual.xlsx", "needs.xlsx")
        self.assertEqual(self._get(self.salesman, needs_url)[0], 404)
