from odoo import api, fields, models, tools
from odoo.tools import SQL


class QuotedActualReport(models.Model):
    """Quoted vs Actual: per line of a confirmed order, the unit price the customer
    was quoted, the price ordered and the average price invoiced.

    A SQL view, as Odoo's ``sale.report``. The quoted price is the line's own, or for
    a line of an order created from a quote that has none, the quote's first line of
    the same product. The invoiced average is the untaxed amount over the quantity of
    the posted customer invoice lines of the sale line, credit notes subtracted, the
    quantity in the sale line's unit. *Actual* is that average once something is
    invoiced, the ordered price before; the difference and the percentage compare it
    with the quoted price."""

    _name = "backops.quoted.actual.report"
    _description = "Quoted vs Actual Prices"
    _auto = False
    _rec_name = "order_id"
    _order = "date desc, order_id desc, id"
    # what the view reads: flushed before any query on it
    _depends = {
        "sale.order": [
            "backops_order_type",
            "backops_ref_order_id",
            "company_id",
            "currency_id",
            "date_order",
            "partner_id",
            "state",
            "user_id",
        ],
        "sale.order.line": [
            "backops_quoted_date",
            "backops_quoted_price_unit",
            "display_type",
            "invoice_lines",
            "is_downpayment",
            "order_id",
            "price_unit",
            "product_id",
            "product_uom",
            "product_uom_qty",
            "sequence",
        ],
        "account.move.line": ["move_id", "parent_state", "price_subtotal", "product_uom_id", "quantity"],
        "account.move": ["move_type", "state"],
        "res.partner": ["commercial_partner_id"],
        "uom.uom": ["factor"],
    }

    order_id = fields.Many2one("sale.order", readonly=True)
    sale_line_id = fields.Many2one("sale.order.line", string="Order Line", readonly=True)
    ref_order_id = fields.Many2one("sale.order", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    currency_id = fields.Many2one("res.currency", readonly=True)
    partner_id = fields.Many2one("res.partner", string="Customer", readonly=True)
    commercial_partner_id = fields.Many2one("res.partner", string="Customer Entity", readonly=True)
    product_id = fields.Many2one("product.product", readonly=True)
    user_id = fields.Many2one("res.users", string="Salesperson", readonly=True)
    date = fields.Datetime(string="Order Date", readonly=True)
    product_uom_qty = fields.Float(string="Quantity Ordered", digits="Product Unit of Measure", readonly=True)
    qty_invoiced_net = fields.Float(
        string="Quantity Invoiced", digits="Product Unit of Measure", readonly=True, help="Credit notes subtracted."
    )
    quoted_price_unit = fields.Float(
        string="Quoted Unit Price", digits="Product Price", aggregator="avg", readonly=True
    )
    price_unit = fields.Float(string="Ordered Unit Price", digits="Product Price", aggregator="avg", readonly=True)
    invoiced_price_unit = fields.Float(
        string="Invoiced Average Unit Price", digits="Product Price", aggregator="avg", readonly=True
    )
    actual_price_unit = fields.Float(
        string="Actual Unit Price",
        digits="Product Price",
        aggregator="avg",
        readonly=True,
        help="The invoiced average once something is invoiced, the ordered price before.",
    )
    price_difference = fields.Float(
        string="Difference", digits="Product Price", aggregator="avg", readonly=True, help="Actual less quoted."
    )
    price_difference_percent = fields.Float(
        string="Difference (%)", digits=(16, 2), aggregator="avg", readonly=True, help="Of the quoted price."
    )
    amount_difference = fields.Monetary(
        string="Difference Amount",
        readonly=True,
        help="The difference times the quantity ordered.",
    )

    def _select(self):
        return SQL(
            """
            l.id AS id,
            l.id AS sale_line_id,
            o.id AS order_id,
            o.backops_ref_order_id AS ref_order_id,
            o.company_id AS company_id,
            o.currency_id AS currency_id,
            o.partner_id AS partner_id,
            partner.commercial_partner_id AS commercial_partner_id,
            l.product_id AS product_id,
            o.user_id AS user_id,
            o.date_order AS date,
            l.product_uom_qty AS product_uom_qty,
            COALESCE(inv.quantity, 0.0) AS qty_invoiced_net,
            q.quoted AS quoted_price_unit,
            l.price_unit AS price_unit,
            inv.amount / NULLIF(inv.quantity, 0.0) AS invoiced_price_unit,
            a.actual AS actual_price_unit,
            a.actual - q.quoted AS price_difference,
            (a.actual - q.quoted) * 100.0 / NULLIF(q.quoted, 0.0) AS price_difference_percent,
            (a.actual - q.quoted) * l.product_uom_qty AS amount_difference
            """
        )

    def _from(self):
        return SQL(
            """
            sale_order_line l
            JOIN sale_order o ON o.id = l.order_id
            JOIN res_partner partner ON partner.id = o.partner_id
            LEFT JOIN uom_uom line_uom ON line_uom.id = l.product_uom
            LEFT JOIN LATERAL (
                SELECT COALESCE(ql.backops_quoted_price_unit, ql.price_unit) AS price
                  FROM sale_order_line ql
                 WHERE ql.order_id = o.backops_ref_order_id
                   AND ql.product_id = l.product_id
                   AND ql.display_type IS NULL
                 ORDER BY ql.sequence, ql.id
                 LIMIT 1
            ) quote_line ON l.backops_quoted_date IS NULL AND o.backops_ref_order_id IS NOT NULL
            LEFT JOIN (
                -- one grouping of the posted customer invoice lines of sale lines:
                -- a hash join, not a sub-query per line (whose estimated cost makes
                -- PostgreSQL compile the whole report with JIT, ten times slower)
                SELECT rel.order_line_id,
                       SUM(CASE WHEN m.move_type = 'out_refund' THEN -aml.price_subtotal
                                ELSE aml.price_subtotal END) AS amount,
                       SUM(CASE WHEN m.move_type = 'out_refund' THEN -1 ELSE 1 END
                           * aml.quantity / COALESCE(aml_uom.factor, 1.0)) AS reference_quantity
                  FROM sale_order_line_invoice_rel rel
                  JOIN account_move_line aml ON aml.id = rel.invoice_line_id
                  JOIN account_move m ON m.id = aml.move_id
                  LEFT JOIN uom_uom aml_uom ON aml_uom.id = aml.product_uom_id
                 WHERE aml.parent_state = 'posted'
                   AND m.move_type IN ('out_invoice', 'out_refund')
                 GROUP BY rel.order_line_id
            ) invoiced ON invoiced.order_line_id = l.id
            CROSS JOIN LATERAL (
                SELECT invoiced.amount AS amount,
                       invoiced.reference_quantity * COALESCE(line_uom.factor, 1.0) AS quantity
            ) inv
            CROSS JOIN LATERAL (
                SELECT CASE WHEN l.backops_quoted_date IS NOT NULL THEN l.backops_quoted_price_unit
                            ELSE quote_line.price END AS quoted
            ) q
            CROSS JOIN LATERAL (
                SELECT CASE WHEN COALESCE(inv.quantity, 0.0) <> 0.0 THEN inv.amount / inv.quantity
                            ELSE l.price_unit END AS actual
            ) a
            """
        )

    def _where(self):
        return SQL(
            """
            o.state = 'sale'
            AND o.backops_order_type = 'order'
            AND l.display_type IS NULL
            AND NOT COALESCE(l.is_downpayment, FALSE)
            """
        )

    def _query(self):
        return SQL("SELECT %s FROM %s WHERE %s", self._select(), self._from(), self._where())

    def init(self):
        tools.drop_view_if_exists(self.env.cr, self._table)
        self.env.cr.execute(SQL("CREATE OR REPLACE VIEW %s AS (%s)", SQL.identifier(self._table), self._query()))

    # ------------------------------------------------------------------
    # XLSX export
    # ------------------------------------------------------------------
    @api.model
    def _get_export_sheets(self, domain):
        """The XLSX export of the report lines matching ``domain``, read as the user:
        a list of one (title, headers, rows)."""
        lines = self.search(domain)
        rows = [
            (
                line.order_id.name,
                line.ref_order_id.name or "",
                line.partner_id.display_name,
                line.product_id.display_name,
                line.user_id.name or "",
                line.date,
                line.product_uom_qty,
                line.qty_invoiced_net,
                line.quoted_price_unit,
                line.price_unit,
                line.invoiced_price_unit,
                line.actual_price_unit,
                line.price_difference,
                line.price_difference_percent,
                line.amount_difference,
                line.currency_id.name,
            )
            for line in lines
        ]
        headers = [
            self._fields[fname]._description_string(self.env)
            for fname in (
                "order_id",
                "ref_order_id",
                "partner_id",
                "product_id",
                "user_id",
                "date",
                "product_uom_qty",
                "qty_invoiced_net",
                "quoted_price_unit",
                "price_unit",
                "invoiced_price_unit",
                "actual_price_unit",
                "price_difference",
                "price_difference_percent",
                "amount_difference",
                "currency_id",
            )
        ]
        return [(self.env._("Quoted vs Actual"), headers, rows)]

    def action_backops_export_xlsx(self):
        """Download the selected lines, or all those of the list, as XLSX. The
        selection stays on the server, in an export only this user reads."""
        domain = [("id", "in", self.ids)] if self else self.env.context.get("active_domain") or []
        export = self.env["backops.procurement.export"]._create_for(domain, res_model=self._name)
        return {
            "type": "ir.actions.act_url",
            "url": f"/backops_procurement/quoted_vs_actual.xlsx?export_id={export.id}",
            "target": "download",
        }
