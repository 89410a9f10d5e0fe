import logging
from collections import defaultdict

from odoo import api, fields, models
from odoo.exceptions import AccessError
from odoo.service.model import PG_CONCURRENCY_EXCEPTIONS_TO_RETRY

_logger = logging.getLogger(__name__)

INVOICE_READERS = "account.group_account_invoice,sales_team.group_sale_salesman"
INVOICE_MODES = [("no", "Do not invoice"), ("draft", "Draft invoices"), ("posted", "Posted invoices")]


class BackorderFill(models.Model):
    """Invoice what a fill ships (PortalProdigy's backorder-as-order: a new invoice
    per shipment): after shipping, each order that shipped is invoiced with Odoo's
    own ``sale.order._create_invoices`` on what it delivered, one invoice per
    order, left in draft or posted as the policy says."""

    _inherit = "backops.backorder.fill"

    invoice_shipped = fields.Selection(
        INVOICE_MODES,
        string="Invoice What Ships",
        default="no",
        required=True,
        help="After shipping, invoice each order that shipped for what it delivered (one invoice per order), "
        "as draft or posted invoices. An order that cannot be invoiced is noted in the results; its shipment stays.",
    )
    invoice_ids = fields.Many2many(
        "account.move", compute="_compute_invoice_ids", string="Invoices", groups=INVOICE_READERS
    )
    invoice_count = fields.Integer(compute="_compute_invoice_ids", string="Invoices Made", groups=INVOICE_READERS)

    @api.depends("line_ids.invoice_id")
    def _compute_invoice_ids(self):
        for fill in self:
            fill.invoice_ids = fill.line_ids.invoice_id
            fill.invoice_count = len(fill.invoice_ids)

    # ------------------------------------------------------------------
    # Who may set the policy
    # ------------------------------------------------------------------
    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._check_backops_invoice_rights(vals.get("invoice_shipped", "no"))
        return super().create(vals_list)

    def write(self, vals):
        if "invoice_shipped" in vals:
            self._check_backops_invoice_rights(vals["invoice_shipped"])
        return super().write(vals)

    @api.model
    def _check_backops_invoice_rights(self, mode):
        """Invoicing what ships is the billing side's decision: draft invoices take
        the right to invoice sale orders, posted ones the Billing right. The run
        then invoices as the policy says, whoever ships (a warehouse user)."""
        if self.env.su or mode in (False, "no"):
            return
        user = self.env.user
        if mode == "posted" and not user.has_group("account.group_account_invoice"):
            raise AccessError(self.env._("Only Billing users can make a fill post invoices."))
        if not (user.has_group("account.group_account_invoice") or user.has_group("sales_team.group_sale_salesman")):
            raise AccessError(self.env._("Only Sales or Billing users can make a fill invoice what ships."))

    # ------------------------------------------------------------------
    # The run
    # ------------------------------------------------------------------
    def _run(self, batch_size=None, on_progress=None):
        values = super()._run(batch_size=batch_size, on_progress=on_progress)
        if self.invoice_shipped != "no":
            self._backops_invoice_shipped(batch_size=batch_size)
        return values

    def _backops_invoice_shipped(self, batch_size=None):
        """Invoice the orders this run shipped, batch by batch; an order that fails
        is retried alone, logged on its result lines and skipped, its shipment
        kept. Returns {sale order: (invoice, note)}."""
        self.ensure_one()
        orders = self.line_ids.filtered(lambda line: line.fill_qty > 0).sale_order_id
        batch_size = batch_size or len(orders) or 1
        outcome = {}
        for start in range(0, len(orders), batch_size):
            outcome.update(self._backops_invoice_batch(orders[start : start + batch_size]))
        by_outcome = defaultdict(lambda: self.env["backops.backorder.fill.line"])
        for line in self.line_ids:
            if line.sale_order_id in outcome:
                by_outcome[outcome[line.sale_order_id]] |= line
        for (invoice, note), lines in by_outcome.items():
            # sudo: fill lines are read-only for users; the fill writes its results
            lines.sudo().write({"invoice_id": invoice.id, "invoice_note": note or False})
        return outcome

    def _backops_invoice_batch(self, orders):
        """{order: (invoice, note)} for ``orders`` invoiced together, or one by one
        when that fails."""
        # sudo: the policy, set by a Sales or Billing user, decides to invoice;
        # whoever ships (a warehouse user) does not read invoices
        orders = orders.sudo().with_company(self.company_id).with_context(raise_if_nothing_to_invoice=False)
        try:
            with self.env.cr.savepoint():
                invoices = orders._create_invoices(grouped=True)
        except PG_CONCURRENCY_EXCEPTIONS_TO_RETRY:
            raise
        except Exception as error:  # noqa: BLE001 - one order must not stop the others
            self.env.invalidate_all()
            if len(orders) == 1:
                _logger.warning("Fill Backorders: %s not invoiced: %s", orders.name, error)
                note = self.env._("not invoiced: %(error)s", error=str(error))
                return {orders: (self.env["account.move"], note)}
            outcome = {}
            for order in orders:
                outcome.update(self._backops_invoice_batch(order))
            return outcome
        by_order = {}
        for invoice in invoices:
            for order in invoice.invoice_line_ids.sale_line_ids.order_id:
                by_order[order] = invoice
        notes = {}
        if self.invoice_shipped == "posted" and invoices:
            notes = self._backops_post(invoices)
        nothing = self.env._("nothing to invoice")
        return {
            order: (
                by_order.get(order, self.env["account.move"]),
                notes.get(by_order[order], False) if order in by_order else nothing,
            )
            for order in orders
        }

    def _backops_post(self, invoices):
        """Post ``invoices`` together, or one by one when that fails: an invoice
        that cannot be posted stays in draft, with why. Returns {invoice: note}."""
        try:
            with self.env.cr.savepoint():
                invoices.action_post()
            return {}
        except PG_CONCURRENCY_EXCEPTIONS_TO_RETRY:
            raise
        except Exception as error:  # noqa: BLE001 - one invoice must not stop the others
            self.env.invalidate_all()
            if len(invoices) == 1:
                _logger.warning("Fill Backorders: %s left in draft: %s", invoices.display_name, error)
                return {invoices: self.env._("left in draft: %(error)s", error=str(error))}
            notes = {}
            for invoice in invoices:
                notes.update(self._backops_post(invoice))
            return notes

    def action_view_invoices(self):
        self.ensure_one()
        return self.invoice_ids._get_records_action(name=self.env._("Invoices of %(fill)s", fill=self.name))
