from collections import defaultdict

from odoo import api, fields, models
from odoo.osv import expression

from .need_status import PROCUREMENT_STATUSES

# a sale order's summary is the most urgent status among its needs
SUMMARY_PRIORITY = ["needs_order", "short", "excess", "on_order"]


class SaleOrder(models.Model):
    _inherit = "sale.order"

    procurement_need_count = fields.Integer(string="Needs", compute="_compute_procurement_counts")
    procurement_needs_order_count = fields.Integer(string="Needs Order", compute="_compute_procurement_counts")
    procurement_short_count = fields.Integer(string="Short", compute="_compute_procurement_counts")
    procurement_on_order_count = fields.Integer(string="On Order", compute="_compute_procurement_counts")
    procurement_excess_count = fields.Integer(string="Excess", compute="_compute_procurement_counts")
    procurement_summary = fields.Selection(
        PROCUREMENT_STATUSES,
        string="Procurement",
        compute="_compute_procurement_counts",
        search="_search_procurement_summary",
        help="The most urgent ordering status among the order's needs: Needs Order, "
        "then Short, then Excess; On Order when every need is exactly covered.",
    )

    backops_backorder_count = fields.Integer(string="Backorders", compute="_compute_backops_backorders")
    backops_has_backorder = fields.Boolean(
        string="Has Backorders", compute="_compute_backops_backorders", search="_search_backops_has_backorder"
    )
    backops_fulfillable_backorder = fields.Boolean(
        string="Fulfillable Backorders",
        compute="_compute_backops_backorders",
        search="_search_backops_fulfillable_backorder",
        help="A backorder of this order could ship now, completely or partly, from stock on hand.",
    )

    @api.depends("picking_ids.backorder_id", "picking_ids.state")
    def _compute_backops_backorders(self):
        backorders_by_order = defaultdict(lambda: self.env["stock.picking"])
        for picking in self._get_backops_backorders():
            backorders_by_order[picking.sale_id] |= picking
        for order in self:
            order_backorders = backorders_by_order[order]
            order.backops_backorder_count = len(order_backorders)
            order.backops_has_backorder = bool(order_backorders)
            order.backops_fulfillable_backorder = any(
                picking.backops_fulfillable in ("complete", "partial") for picking in order_backorders
            )

    def _get_backops_backorders(self):
        # searched, not read through picking_ids: filling that cache before the
        # deliveries exist would change the order Odoo lists them in afterwards
        return self.env["stock.picking"].search(
            [("sale_id", "in", self.filtered("id").ids), ("backops_is_backorder", "=", True)]
        )

    def _search_backops_has_backorder(self, operator, value):
        return self._backops_search_pickings(operator, value, [("backops_is_backorder", "=", True)])

    def _search_backops_fulfillable_backorder(self, operator, value):
        return self._backops_search_pickings(operator, value, [("backops_fulfillable", "in", ("complete", "partial"))])

    def _backops_search_pickings(self, operator, value, picking_domain):
        if operator not in ("=", "!=") or not isinstance(value, bool):
            raise NotImplementedError(self.env._("Unsupported search on backorders."))
        pickings = self.env["stock.picking"]._search(picking_domain)
        domain = [("id", "in", pickings.subselect("sale_id"))]
        return domain if (operator == "=") == value else [("id", "not in", pickings.subselect("sale_id"))]

    def action_view_backorders(self):
        self.ensure_one()
        return self._get_backops_backorders()._get_records_action(
            name=self.env._("Backorders of %(order)s", order=self.name)
        )

    def action_open_backorder_fill(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Fill Backorders: %(order)s", order=self.name),
            "res_model": "backops.backorder.fill.order",
            "view_mode": "form",
            "target": "new",
            "context": {"default_sale_order_id": self.id},
        }

    @api.depends("order_line.procurement_status")
    def _compute_procurement_counts(self):
        counts = defaultdict(lambda: dict.fromkeys(SUMMARY_PRIORITY, 0))
        stored = self.filtered("id")
        if stored:
            groups = self.env["sale.order.line"]._read_group(
                [("order_id", "in", stored.ids), ("procurement_status", "!=", False)],
                ["order_id", "procurement_status"],
                ["__count"],
            )
            for order, status, count in groups:
                counts[order.id][status] = count
        for order in self - stored:
            for line in order.order_line:
                if line.procurement_status:
                    counts[order.id][line.procurement_status] += 1
        for order in self:
            order_counts = counts[order.id]
            order.procurement_needs_order_count = order_counts["needs_order"]
            order.procurement_short_count = order_counts["short"]
            order.procurement_on_order_count = order_counts["on_order"]
            order.procurement_excess_count = order_counts["excess"]
            order.procurement_need_count = sum(order_counts.values())
            order.procurement_summary = next((status for status in SUMMARY_PRIORITY if order_counts[status]), False)

    def _search_procurement_summary(self, operator, value):
        return self._search_line_status_summary("procurement_status", SUMMARY_PRIORITY, operator, value)

    def _search_line_status_summary(self, fname, priority, operator, value):
        """Domain of the orders whose summary of their lines' ``fname`` is ``value``:
        a line in that status and none in a status before it in ``priority``; False,
        no line in any of them."""
        if operator not in ("=", "!=", "in", "not in"):
            raise NotImplementedError(
                self.env._("Unsupported search on %(field)s.", field=self._fields[fname].string or fname)
            )
        values = [value] if operator in ("=", "!=") else list(value)
        domains = []
        for status in values:
            if not status:
                domains.append([("id", "not in", self._orders_with_status(priority, fname))])
                continue
            if status not in priority:
                continue  # a status no line has
            before = priority[: priority.index(status)]
            domain = [("id", "in", self._orders_with_status([status], fname))]
            if before:
                domain.append(("id", "not in", self._orders_with_status(before, fname)))
            domains.append(domain)
        domain = expression.OR(domains) if domains else expression.FALSE_DOMAIN
        if operator in ("!=", "not in"):
            domain = ["!"] + expression.normalize_domain(domain)
        return domain

    def _orders_with_status(self, statuses, fname="procurement_status"):
        """Subquery of the sale orders having a line whose ``fname`` is one of ``statuses``."""
        # sudo: which lines exist decides the order's summary, not who may read them
        return self.env["sale.order.line"].sudo()._search([(fname, "in", statuses)]).subselect("order_id")

    # ------------------------------------------------------------------
    # Purchase orders covering the needs (extends sale_purchase)
    # ------------------------------------------------------------------
    @api.depends("order_line.procurement_allocation_ids.purchase_order_id")
    def _compute_purchase_order_count(self):
        return super()._compute_purchase_order_count()

    def _get_purchase_orders(self):
        return super()._get_purchase_orders() | self.order_line.procurement_allocation_ids.purchase_order_id

    def _activity_cancel_on_purchase(self):
        """Tell the buyers of RFQs/POs covering needs of cancelled orders, as Odoo does
        for the purchase lines it generated."""
        res = super()._activity_cancel_on_purchase()
        allocations = self.env["backops.procurement.allocation"].search(
            [
                ("sale_order_id", "in", self.ids),
                ("is_automatic", "=", False),
                ("purchase_line_id.state", "!=", "cancel"),
            ]
        )
        # Odoo already warned the orders holding lines it generated for these sales
        warned = (
            self.env["purchase.order.line"]
            .search([("sale_line_id", "in", self.order_line.ids), ("state", "!=", "cancel")])
            .order_id
        )
        sale_lines_by_purchase = defaultdict(lambda: self.env["sale.order.line"])
        for allocation in allocations:
            if allocation.purchase_order_id not in warned:
                sale_lines_by_purchase[allocation.purchase_order_id] |= allocation.sale_line_id
        for purchase_order, sale_lines in sale_lines_by_purchase.items():
            purchase_order._activity_schedule_with_view(
                "mail.mail_activity_data_warning",
                user_id=purchase_order.user_id.id or self.env.uid,
                views_or_xmlid="sale_purchase.exception_purchase_on_sale_cancellation",
                render_context={
                    "sale_orders": sale_lines.order_id,
                    "sale_order_lines": sale_lines,
                },
            )
        return res

    # ------------------------------------------------------------------
    # Telling the purchasing team
    # ------------------------------------------------------------------
    def _action_confirm(self):
        res = super()._action_confirm()
        self._notify_purchasing_team()
        return res

    def _notify_purchasing_team(self):
        """One notification per confirmation run and company, to the company's
        purchasing team, listing the new needs to order of every order confirmed."""
        needs = self.order_line.filtered(lambda line: line.procurement_status in ("needs_order", "short"))
        for company in needs.company_id:
            team = company._get_backops_purchasing_team()
            company_needs = needs.filtered(lambda line: line.company_id == company)
            if not team:
                continue
            orders = company_needs.order_id
            body = self.env["ir.qweb"]._render(
                "backops_procurement.message_new_needs",
                {
                    "orders": [
                        (order, company_needs.filtered(lambda line, o=order: line.order_id == o)) for order in orders
                    ],
                    "worklist_action": self.env.ref("backops_procurement.action_procurement_to_order"),
                },
            )
            self.env["mail.thread"].message_notify(
                model="sale.order",
                res_id=orders[0].id,
                partner_ids=team.partner_id.ids,
                subject=self.env._(
                    "%(count)s new needs to order (%(orders)s)",
                    count=len(company_needs),
                    orders=", ".join(orders.mapped("name")),
                ),
                body=body,
                subtype_xmlid="mail.mt_note",
                email_layout_xmlid="mail.mail_notification_light",
            )

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_view_procurement_needs(self):
        action = self.env["ir.actions.act_window"]._for_xml_id("backops_procurement.action_procurement_needs")
        action["domain"] = [("order_id", "in", self.ids), ("procurement_status", "!=", False)]
        action["context"] = {"group_by": ["procurement_section"]}
        return action
