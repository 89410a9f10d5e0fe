from odoo import _, api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import float_compare


class ProcurementAllocation(models.Model):
    """A quantity of one need (sale order line) covered by one RFQ/PO line."""

    _name = "backops.procurement.allocation"
    _description = "Procurement Allocation"
    _order = "sale_line_id, id"
    _check_company_auto = True
    _rec_names_search = ["sale_order_id", "purchase_order_id", "product_id"]

    sale_line_id = fields.Many2one(
        "sale.order.line",
        string="Need",
        required=True,
        index=True,
        ondelete="cascade",
        domain="[('display_type', '=', False), ('company_id', '=', company_id)]",
    )
    purchase_line_id = fields.Many2one(
        "purchase.order.line",
        string="RFQ Line",
        required=True,
        index=True,
        ondelete="cascade",
        check_company=True,
        domain="[('display_type', '=', False), ('product_id', '=', product_id)]",
    )
    quantity = fields.Float(
        required=True,
        digits="Product Unit of Measure",
        help="Quantity of the need covered by the RFQ line, in the need's unit of measure.",
    )
    company_id = fields.Many2one(
        related="sale_line_id.company_id", store=True, index=True, precompute=True
    )
    is_automatic = fields.Boolean(
        string="Created by Odoo",
        readonly=True,
        help="Allocation of a purchase line that Odoo created for this sale line "
        "(buy/MTO routes, service to purchase); it follows the line's quantity.",
    )
    # stored values are computed before the INSERT (precompute): creating allocations
    # in batch costs no UPDATE afterwards
    product_id = fields.Many2one(related="sale_line_id.product_id", store=True, index=True, precompute=True)
    product_uom = fields.Many2one(related="sale_line_id.product_uom", string="Unit")
    sale_order_id = fields.Many2one(
        related="sale_line_id.order_id", string="Sale Order", store=True, index=True, precompute=True
    )
    sale_state = fields.Selection(related="sale_line_id.state", string="Sale Status")
    purchase_order_id = fields.Many2one(
        related="purchase_line_id.order_id", string="Purchase Order", store=True, index=True, precompute=True
    )
    partner_id = fields.Many2one(
        related="purchase_line_id.order_id.partner_id", string="Vendor", store=True, index=True, precompute=True
    )
    purchase_state = fields.Selection(
        related="purchase_line_id.order_id.state", string="Purchase Status"
    )
    purchase_uom = fields.Many2one(related="purchase_line_id.product_uom", string="Purchase Unit")
    # not rounded: sums of it are compared with the purchase line's quantity
    purchase_uom_qty = fields.Float(
        string="Quantity in Purchase Unit",
        compute="_compute_purchase_uom_qty",
        store=True,
        precompute=True,
    )

    _sql_constraints = [
        ("quantity_positive", "CHECK(quantity > 0)", "An allocated quantity must be positive."),
        (
            "sale_purchase_line_unique",
            "UNIQUE(sale_line_id, purchase_line_id)",
            "A need is allocated to an RFQ line only once; change that allocation's quantity.",
        ),
    ]

    @api.depends("quantity", "sale_line_id.product_uom", "purchase_line_id.product_uom")
    def _compute_purchase_uom_qty(self):
        for allocation in self:
            sale_uom = allocation.sale_line_id.product_uom
            purchase_uom = allocation.purchase_line_id.product_uom
            if sale_uom and purchase_uom and sale_uom.category_id == purchase_uom.category_id:
                allocation.purchase_uom_qty = sale_uom._compute_quantity(
                    allocation.quantity, purchase_uom, round=False
                )
            else:
                allocation.purchase_uom_qty = allocation.quantity

    @api.depends("sale_line_id", "purchase_line_id", "quantity")
    def _compute_display_name(self):
        for allocation in self:
            allocation.display_name = _(
                "%(sale)s → %(purchase)s: %(qty)s %(uom)s",
                sale=allocation.sale_order_id.name or "",
                purchase=allocation.purchase_order_id.name or "",
                qty=allocation.quantity,
                uom=allocation.product_uom.name or "",
            )

    # ------------------------------------------------------------------
    # Constraints: each refusal names the need and the RFQ line
    # ------------------------------------------------------------------
    def _describe(self):
        return _(
            "%(product)s of %(sale)s on %(purchase)s",
            product=self.sale_line_id.product_id.display_name or self.sale_line_id.name,
            sale=self.sale_order_id.name,
            purchase=self.purchase_order_id.name,
        )

    def _check_quantity_values(self, quantities):
        """Refuse quantities that are not positive, before anything is written."""
        digits = self.env["decimal.precision"].precision_get("Product Unit of Measure")
        for quantity in quantities:
            if float_compare(quantity or 0.0, 0.0, precision_digits=digits) <= 0:
                raise ValidationError(
                    _("The quantity allocated to a need must be positive, not %(qty)s.", qty=quantity or 0.0)
                )

    @api.constrains("sale_line_id", "purchase_line_id")
    def _check_lines(self):
        """Both lines are of the same product, in convertible units."""
        for allocation in self:
            sale_line = allocation.sale_line_id
            purchase_line = allocation.purchase_line_id
            if sale_line.display_type or purchase_line.display_type:
                raise ValidationError(
                    _("Sections and notes cannot be allocated (%(need)s).", need=allocation._describe())
                )
            if sale_line.product_id != purchase_line.product_id:
                raise ValidationError(
                    _(
                        "The RFQ line %(purchase)s is for %(purchase_product)s; it cannot cover "
                        "the need %(sale)s for %(sale_product)s.",
                        purchase=purchase_line.order_id.name,
                        purchase_product=purchase_line.product_id.display_name,
                        sale=sale_line.order_id.name,
                        sale_product=sale_line.product_id.display_name,
                    )
                )
            if sale_line.product_uom.category_id != purchase_line.product_uom.category_id:
                raise ValidationError(
                    _(
                        "%(need)s: the need is in %(sale_uom)s and the RFQ line in %(purchase_uom)s; "
                        "these units cannot be converted into each other.",
                        need=allocation._describe(),
                        sale_uom=sale_line.product_uom.name,
                        purchase_uom=purchase_line.product_uom.name,
                    )
                )

    @api.constrains("quantity", "purchase_line_id")
    def _check_purchase_line_quantity(self):
        self.filtered(lambda a: not a.is_automatic).purchase_line_id._check_procurement_allocated_qty()

    # ------------------------------------------------------------------
    # CRUD: Odoo-created allocations make room for the buyer's own
    # ------------------------------------------------------------------
    @api.model_create_multi
    def create(self, vals_list):
        self._check_quantity_values([vals.get("quantity") for vals in vals_list])
        allocations = super().create(vals_list)
        allocations.purchase_line_id._sync_automatic_allocations()
        return allocations

    def write(self, vals):
        if "quantity" in vals:
            self._check_quantity_values([vals["quantity"]])
        if "quantity" in vals and not self.env.context.get("backops_syncing_allocations"):
            # a quantity set by hand is the buyer's: it no longer follows the line
            vals = dict(vals, is_automatic=False)
        previous_lines = self.purchase_line_id
        res = super().write(vals)
        if vals.keys() & {"quantity", "purchase_line_id", "sale_line_id"}:
            (previous_lines | self.purchase_line_id)._sync_automatic_allocations()
        return res

    def unlink(self):
        purchase_lines = self.purchase_line_id
        res = super().unlink()
        purchase_lines.exists()._sync_automatic_allocations()
        return res
