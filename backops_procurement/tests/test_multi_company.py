from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from .test_purchase_approval import ApprovalCommon


@tagged("post_install", "-at_install")
class TestEveryModelKeepsToItsCompany(ApprovalCommon):
    """Every stored model of the addon has its multi-company rule, and a user of
    another company, with every right Odoo gives there, neither finds nor reads nor
    changes this company's records of it."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.south = cls.env["res.company"].create({"name": "BackOps Events South"})
        cls.outsider = new_test_user(
            cls.env,
            "backops_south_manager",
            groups="purchase.group_purchase_manager,stock.group_stock_manager,sales_team.group_sale_manager",
            company_id=cls.south.id,
            company_ids=[Command.set(cls.south.ids)],
        )

    def _records(self):
        """One record of each stored model of the addon, in this company, and the
        export selections (transient, read by their creator only)."""
        need = self._line(self.sale_order, self.priced)
        order = self._order(12)
        allocation = self._allocate(need, order.order_line, 12)
        order.button_confirm()  # 1,200: waits for tier 1
        fill = self.env["backops.backorder.fill"].create({"name": "Nightly"})
        # sudo: only the fill writes its lines
        fill_line = (
            self.env["backops.backorder.fill.line"]
            .sudo()
            .create(
                {"fill_id": fill.id, "sale_order_id": self.sale_order.id, "product_id": self.priced.id, "needed_qty": 1}
            )
        )
        export = self.env["backops.procurement.export"].create({"domain": "[]"})
        # the customer orders less of the allocated need: a demand change is proposed
        need.product_uom_qty -= 2
        change = self.env["backops.demand.change"].search([("sale_line_id", "=", need.id)])
        self.assertTrue(change.line_ids, "a proposal with a row for the RFQ line")
        return {
            "backops.demand.change": (change, {"state": "dismissed"}),
            "backops.demand.change.line": (change.line_ids[:1], {"proposed_qty": 1}),
            "backops.procurement.allocation": (allocation, {"quantity": 10}),
            "backops.approval.tier": (self.tier_1, {"min_amount": 1}),
            "backops.approval.request": (order.backops_approval_request_ids, {"state": "approved"}),
            "backops.backorder.fill": (fill, {"name": "Mine now"}),
            "backops.backorder.fill.line": (fill_line, {"needed_qty": 99}),
            "backops.procurement.export": (export, {"domain": "[(1, '=', 1)]"}),
            # the Quoted vs Actual line of the confirmed need (a SQL view: read only)
            "backops.quoted.actual.report": (
                self.env["backops.quoted.actual.report"].search([("sale_line_id", "=", need.id)]),
                {"price_unit": 1.0},
            ),
            # written by the approval gate when the order above waited
            "backops.approval.lock": (
                self.env["backops.approval.lock"].search([("company_id", "=", self.company.id)], limit=1),
                {"version": 0},
            ),
        }

    def test_every_stored_model_has_a_rule(self):
        stored = [
            model._name
            for model in self.env.registry.values()
            if model._original_module == "backops_procurement" and not model._transient and not model._abstract
        ]
        # kept for the addon's own use, read through the fields of Odoo's records
        # (the statuses of the needs): no group but system administrators has any
        # right on them, so another company's user, with every right Odoo gives
        # there, cannot even search them
        internal = {
            name
            for name in stored
            if set(self.env["ir.model.access"].search([("model_id.model", "=", name)]).group_id)
            == {self.env.ref("base.group_system")}
        }
        self.assertEqual(internal, {"backops.need.status"})
        for name in internal:
            with self.subTest(model=name), self.assertRaises(AccessError):
                self.env[name].with_user(self.outsider).search([])
        self.assertEqual(set(stored) - internal, {name for name in self._records() if not self.env[name]._transient})
        for name in stored:
            with self.subTest(model=name):
                rules = self.env["ir.rule"].search([("model_id.model", "=", name)])
                self.assertTrue(
                    any("company_ids" in rule.domain_force or "create_uid" in rule.domain_force for rule in rules),
                    f"{name} has no multi-company (or owner) rule",
                )

    def test_another_companys_user_finds_reads_and_changes_nothing(self):
        for name, (record, values) in self._records().items():
            with self.subTest(model=name):
                Model = self.env[name].with_user(self.outsider)
                self.assertFalse(Model.search([("id", "in", record.ids)]))
                with self.assertRaises(AccessError):
                    record.with_user(self.outsider).read(["display_name"])
                with self.assertRaises(AccessError):
                    record.with_user(self.outsider).write(values)
