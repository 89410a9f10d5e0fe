from collections import defaultdict

from odoo import Command, api, fields, models
from odoo.tools import float_compare, float_is_zero

from ..models.need_status import PROCUREMENT_STATUSES
from ..models.sale_order_line import procurement_status
from ..tools import without_client_context

# needs listed at first, and added by each "Show more": the editor opens in the same
# time whatever the number of open needs; the search and the count reach the others
EDITOR_NEED_LIMIT = 200


class LineItemEditor(models.TransientModel):
    """Pick the needs an RFQ covers, and how much of each, seeing every need's
    status now and after saving."""

    _name = "backops.line.item.editor"
    _inherit = ["backops.readable.records.mixin"]
    _backops_readable_fields = ("purchase_order_id",)
    _description = "Line Item Editor"

    purchase_order_id = fields.Many2one("purchase.order", required=True, readonly=True, ondelete="cascade")
    partner_id = fields.Many2one(related="purchase_order_id.partner_id", string="Vendor")
    company_id = fields.Many2one(related="purchase_order_id.company_id")
    block_over_ordering = fields.Boolean(related="company_id.backops_block_over_ordering")
    show_all_needs = fields.Boolean(
        string="Include needs on order",
        help="Also list needs already On Order or in Excess, not only those still to order.",
    )
    show_all_products = fields.Boolean(
        string="Any product",
        help="Also list needs for products this vendor does not sell (not on the product's vendor list).",
    )
    search_text = fields.Char(
        string="Search",
        help="Only list needs whose sale order, customer or product contains this text.",
    )
    need_limit = fields.Integer(
        default=lambda self: EDITOR_NEED_LIMIT,
        readonly=True,
        help="How many of the matching needs are listed (Show more lists more).",
    )
    need_count = fields.Integer(
        string="Matching Needs",
        readonly=True,
        help="Needs matching the filters and the search, listed or not.",
    )
    hidden_count = fields.Integer(
        string="Not Listed",
        readonly=True,
        help="Needs matching the filters that are not listed: search for them, or show more.",
    )
    line_ids = fields.One2many("backops.line.item.editor.line", "editor_id", string="Needs")
    excess_warning = fields.Text(compute="_compute_excess_warning")

    @api.model
    def default_get(self, fields_list):
        res = super().default_get(fields_list)
        context = self.env.context
        order_id = res.get("purchase_order_id") or (
            context.get("active_id") if context.get("active_model") == "purchase.order" else False
        )
        if not order_id:
            return res
        order = self.env["purchase.order"].browse(order_id)
        order.check_access("write")
        order._check_procurement_editable()
        res["purchase_order_id"] = order.id
        if "line_ids" in fields_list:
            rows, count, hidden = self._prepare_line_values(
                order,
                res.get("show_all_needs", False),
                res.get("show_all_products", False),
                limit=res.get("need_limit") or EDITOR_NEED_LIMIT,
                search_text=res.get("search_text"),
            )
            res.update(line_ids=[Command.create(values) for values in rows], need_count=count, hidden_count=hidden)
        return res

    @api.onchange("show_all_needs", "show_all_products", "search_text")
    def _onchange_filters(self):
        self._rebuild_lines()

    def _rebuild_lines(self):
        """List the needs the filters now match, at most ``need_limit`` of them,
        keeping what the buyer changed (those needs stay listed)."""
        edits = {
            line.sale_line_id.id: (line.selected, line.quantity)
            for line in self.line_ids
            if line.sale_line_id and line._is_edited()
        }
        rows, count, hidden = self._prepare_line_values(
            self.purchase_order_id,
            self.show_all_needs,
            self.show_all_products,
            edits,
            limit=self.need_limit or EDITOR_NEED_LIMIT,
            search_text=self.search_text,
        )
        self.line_ids = [Command.clear()] + [Command.create(vals) for vals in rows]
        self.need_count, self.hidden_count = count, hidden

    def action_show_more(self):
        """List the next needs matching the filters, keeping the edits."""
        self.ensure_one()
        self.purchase_order_id.check_access("write")
        self.need_limit = (self.need_limit or EDITOR_NEED_LIMIT) + EDITOR_NEED_LIMIT
        self._rebuild_lines()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Line Item Editor"),
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "new",
        }

    @api.depends("line_ids.status_after", "block_over_ordering")
    def _compute_excess_warning(self):
        for editor in self:
            excess = editor.line_ids.filtered(lambda line: line.status_after == "excess")
            editor.excess_warning = (
                self.env._(
                    "Block Over-Ordering is on: saving is refused while these needs would be in Excess: %(needs)s",
                    needs=", ".join(line.sale_line_id._procurement_label() for line in excess),
                )
                if excess and editor.block_over_ordering
                else False
            )

    @api.model
    def _needs_domain(self, order, show_all_needs, show_all_products, search_text=None):
        domain = [("company_id", "=", order.company_id.id), ("procurement_status", "!=", False)]
        if not show_all_needs:
            domain.append(("procurement_status", "in", ("needs_order", "short")))
        if not show_all_products:
            vendor = order.partner_id.commercial_partner_id
            domain.append(("product_id.seller_ids.partner_id", "child_of", vendor.id))
        if search_text and search_text.strip():
            text = search_text.strip()
            domain += [
                "|",
                "|",
                ("order_id.name", "ilike", text),
                ("order_partner_id", "ilike", text),
                ("product_id", "ilike", text),
            ]
        return domain

    @api.model
    def _prepare_line_values(
        self, order, show_all_needs, show_all_products, edits=None, limit=EDITOR_NEED_LIMIT, search_text=None
    ):
        """Rows of the editor: a header per sale order and section, then its needs;
        the oldest ``limit`` needs matching the filters, and always those this RFQ
        covers and those the buyer changed.

        Returns (rows, needs matching, of those not listed)."""
        edits = edits or {}
        Line = self.env["sale.order.line"]
        Allocation = self.env["backops.procurement.allocation"]
        domain = self._needs_domain(order, show_all_needs, show_all_products, search_text)
        # sale orders sort newest first: their order reversed lists the oldest first
        listed = Line.search(domain, order="order_id desc, sequence, id", limit=limit)
        count = len(listed) if len(listed) < limit else Line.search_count(domain)
        on_this_order = Allocation.search([("purchase_order_id", "=", order.id)]).sale_line_id
        needs = listed | on_this_order | Line.browse(list(edits)).exists()
        needs = needs.filtered(lambda need: need.company_id == order.company_id and need.procurement_status)
        needs = needs.sorted(lambda need: (need.order_id.date_order, need.order_id.id, need.sequence, need.id))
        # the needs listed beyond the limit (on this RFQ, changed) are not hidden
        extra = needs - listed
        hidden = count - len(listed) - (Line.search_count([*domain, ("id", "in", extra.ids)]) if extra else 0)

        elsewhere = defaultdict(float)
        elsewhere_detail = defaultdict(list)
        here = defaultdict(float)
        for need, purchase, partner, quantity in Allocation._read_group(
            [("sale_line_id", "in", needs.ids), ("purchase_line_id.state", "!=", "cancel")],
            ["sale_line_id", "purchase_order_id", "partner_id"],
            ["quantity:sum"],
            order="sale_line_id, purchase_order_id, partner_id",
        ):
            if purchase == order:
                here[need.id] += quantity
                continue
            elsewhere[need.id] += quantity
            elsewhere_detail[need.id].append(f"{purchase.name} {partner.name}: {quantity:g}")

        values = []
        header = None
        for need in needs:
            group = (need.order_id, need.procurement_section)
            if group != header:
                header = group
                title = f"{need.order_id.name} · {need.order_id.partner_id.display_name}"
                if need.procurement_section:
                    title += f" — {need.procurement_section}"
                values.append({"display_type": "line_section", "name": title})
            current = here.get(need.id, 0.0)
            selected, quantity = edits.get(need.id, (bool(current), current))
            values.append(
                {
                    "sale_line_id": need.id,
                    "name": need.product_id.display_name,
                    "elsewhere_qty": elsewhere[need.id],
                    "elsewhere_detail": ", ".join(elsewhere_detail[need.id]),
                    "current_qty": current,
                    "selected": selected,
                    "quantity": quantity,
                }
            )
        return values, count, max(hidden, 0)

    def action_save(self):
        self = without_client_context(self)
        self.ensure_one()
        plan = {}
        for line in self.line_ids.filtered("sale_line_id"):
            if line._is_edited():
                plan[line.sale_line_id] = line.quantity if line.selected else 0.0
        self.purchase_order_id._allocate_procurement_needs({self.purchase_order_id: plan})
        return {"type": "ir.actions.act_window_close"}


class LineItemEditorLine(models.TransientModel):
    _name = "backops.line.item.editor.line"
    _inherit = ["backops.quantity.input.mixin", "backops.readable.records.mixin"]
    _backops_readable_fields = ("sale_line_id",)
    _description = "Line Item Editor Row"
    _backops_quantity_fields = ("quantity",)
    _order = "id"

    editor_id = fields.Many2one("backops.line.item.editor", required=True, ondelete="cascade")
    display_type = fields.Selection([("line_section", "Section")])
    name = fields.Char()
    sale_line_id = fields.Many2one("sale.order.line", string="Need", readonly=True)
    sale_order_id = fields.Many2one(related="sale_line_id.order_id", string="Sale Order")
    section = fields.Char(related="sale_line_id.procurement_section")
    product_id = fields.Many2one(related="sale_line_id.product_id")
    need_qty = fields.Float(related="sale_line_id.product_uom_qty", string="Needed")
    product_uom = fields.Many2one(related="sale_line_id.product_uom", string="Unit")
    elsewhere_qty = fields.Float(
        string="Elsewhere",
        digits="Product Unit of Measure",
        readonly=True,
        help="Allocated on other RFQs and purchase orders that are not cancelled.",
    )
    elsewhere_detail = fields.Char(string="On", readonly=True)
    current_qty = fields.Float(string="On this RFQ (saved)", digits="Product Unit of Measure", readonly=True)
    selected = fields.Boolean(string="Add")
    quantity = fields.Float(string="On this RFQ", digits="Product Unit of Measure")
    remaining_qty = fields.Float(
        string="Remaining",
        digits="Product Unit of Measure",
        compute="_compute_statuses",
        help="Still to order once saved; negative when over-ordered.",
    )
    status_now = fields.Selection(PROCUREMENT_STATUSES, string="Status", compute="_compute_statuses")
    status_after = fields.Selection(PROCUREMENT_STATUSES, string="After Saving", compute="_compute_statuses")

    @api.depends("selected", "quantity", "elsewhere_qty", "current_qty", "need_qty")
    def _compute_statuses(self):
        for line in self:
            if not line.sale_line_id:
                line.remaining_qty = 0.0
                line.status_now = line.status_after = False
                continue
            rounding = line.product_uom.rounding or 0.01
            after = line.elsewhere_qty + (line.quantity if line.selected else 0.0)
            line.remaining_qty = line.need_qty - after
            line.status_now = procurement_status(line.need_qty, line.elsewhere_qty + line.current_qty, rounding)
            line.status_after = procurement_status(line.need_qty, after, rounding)

    @api.onchange("selected")
    def _onchange_selected(self):
        for line in self.filtered("sale_line_id"):
            rounding = line.product_uom.rounding or 0.01
            if line.selected and float_is_zero(line.quantity, precision_rounding=rounding):
                line.quantity = max(line.need_qty - line.elsewhere_qty, 0.0)
            elif not line.selected:
                line.quantity = 0.0

    @api.onchange("quantity")
    def _onchange_quantity(self):
        for line in self.filtered("sale_line_id"):
            if not float_is_zero(line.quantity, precision_rounding=line.product_uom.rounding or 0.01):
                line.selected = True

    def _is_edited(self):
        self.ensure_one()
        new = self.quantity if self.selected else 0.0
        return bool(float_compare(new, self.current_qty, precision_rounding=self.product_uom.rounding or 0.01))
