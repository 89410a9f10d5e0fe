import logging
from collections import defaultdict

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.service.model import PG_CONCURRENCY_EXCEPTIONS_TO_RETRY
from odoo.tools import SQL

from ..tools import check_not_derived, check_ship_date, without_client_context

# what a fill records of its previews and runs: never written by users
RUN_FIELDS = ("state", "line_ids", "run_date", "run_user_id")

_logger = logging.getLogger(__name__)


class BackorderFill(models.Model):
    """Ship backordered quantities now in stock, over chosen products or all, by a
    policy (complete orders only, or partial too; oldest order or commitment date
    first). Saved, a fill is also the policy of the nightly scheduled action."""

    _name = "backops.backorder.fill"
    _description = "Fill Backorders"
    _order = "id desc"
    _check_company_auto = True

    name = fields.Char(required=True, default=lambda self: self.env._("Fill Backorders"))
    company_id = fields.Many2one("res.company", required=True, default=lambda self: self.env.company, index=True)
    state = fields.Selection(
        [("draft", "Draft"), ("preview", "Previewed"), ("done", "Done")],
        default="draft",
        required=True,
        readonly=True,
        copy=False,
    )
    product_scope = fields.Selection(
        [("all", "All products"), ("selected", "Selected products")], default="all", required=True, string="Products"
    )
    product_ids = fields.Many2many("product.product", string="Selected Products", check_company=True)
    warehouse_id = fields.Many2one("stock.warehouse", check_company=True, help="Only backorders of this warehouse.")
    date_from = fields.Date(string="Orders From", help="Only backorders of sale orders from this date.")
    date_to = fields.Date(string="Orders To")
    mode = fields.Selection(
        [("complete", "Complete orders only"), ("partial", "Partial shipments too")],
        default="complete",
        required=True,
        help="Complete: an order ships only if all its backordered lines can ship in full. "
        "Partial: ship whatever is available.",
    )
    priority = fields.Selection(
        [("oldest", "Oldest order first"), ("commitment", "Earliest delivery date first")],
        default="oldest",
        required=True,
        help="Which orders get scarce stock first; ties go by order reference.",
    )
    ship_date = fields.Datetime(
        string="Actual Ship Date",
        help="Recorded on the deliveries as their actual ship date, told to the customers; now when empty.",
    )
    email_complete = fields.Boolean(string="Email Completed Orders", default=True)
    template_complete_id = fields.Many2one(
        "mail.template",
        string="Template for Completed Orders",
        domain="[('model', '=', 'stock.picking')]",
        default=lambda self: self.env.ref("backops_procurement.mail_template_backorder_complete", False),
    )
    email_partial = fields.Boolean(string="Email Partial Shipments", default=True)
    template_partial_id = fields.Many2one(
        "mail.template",
        string="Template for Partial Shipments",
        domain="[('model', '=', 'stock.picking')]",
        default=lambda self: self.env.ref("backops_procurement.mail_template_backorder_partial", False),
    )
    cron_active = fields.Boolean(
        string="Run Nightly",
        help="The scheduled action 'Fill Backorders' runs this policy (it must be active too).",
    )
    line_ids = fields.One2many("backops.backorder.fill.line", "fill_id", string="Lines", readonly=True)
    run_date = fields.Datetime(readonly=True, copy=False)
    run_user_id = fields.Many2one("res.users", readonly=True, copy=False)
    order_completed_count = fields.Integer(compute="_compute_summary", string="Orders Completed")
    order_partial_count = fields.Integer(compute="_compute_summary", string="Orders Partly Filled")
    order_skipped_count = fields.Integer(compute="_compute_summary", string="Orders Skipped")
    product_summary = fields.Html(compute="_compute_summary", string="Units per Product")

    @api.depends("line_ids.outcome", "line_ids.fill_qty")
    def _compute_summary(self):
        for fill in self:
            outcomes = {}
            units = defaultdict(float)
            for line in fill.line_ids:
                outcomes[line.sale_order_id.id] = line.outcome
                units[(line.product_id, line.product_uom)] += line.fill_qty
            fill.order_completed_count = sum(1 for o in outcomes.values() if o == "complete")
            fill.order_partial_count = sum(1 for o in outcomes.values() if o == "partial")
            fill.order_skipped_count = sum(1 for o in outcomes.values() if o == "skipped")
            fill.product_summary = self.env["ir.qweb"]._render(
                "backops_procurement.backorder_fill_product_summary",
                {"units": sorted(units.items(), key=lambda item: item[0][0].display_name)},
            )

    @api.constrains("ship_date")
    def _check_ship_date(self):
        for fill in self.filtered("ship_date"):
            check_ship_date(self.env, fill.ship_date)

    # ------------------------------------------------------------------
    # The screen: Preview, Start
    # ------------------------------------------------------------------
    def _candidate_moves(self):
        """Open moves of backorder deliveries within the policy's scope."""
        self.ensure_one()
        return self.env["backops.backorder.fill.service"]._candidate_moves(
            self.company_id,
            products=self.product_ids if self.product_scope == "selected" else None,
            warehouse=self.warehouse_id,
            date_from=self.date_from,
            date_to=self.date_to,
        )

    @api.model
    def _line_values(self, plan, emails):
        """Result lines of ``plan`` ([FillOrder]); ``emails``: {sale order id: the
        email its customer gets}. An order skipped gets no email."""
        values = []
        for entry in plan:
            shipping = entry.outcome != "skipped"
            for row in entry.rows:
                values.append(
                    {
                        "sale_order_id": entry.order.id,
                        "picking_id": row.picking.id,
                        "product_id": row.move.product_id.id,
                        "needed_qty": row.needed,
                        "available_qty": row.available,
                        "fill_qty": row.fill if shipping else 0.0,
                        "outcome": entry.outcome,
                        "reason": entry.reason,
                        "email": emails.get(entry.order.id, False) if shipping else False,
                    }
                )
        return values

    @api.model_create_multi
    def create(self, vals_list):
        check_not_derived(self, vals_list, RUN_FIELDS, self.env._("a fill records them when it previews or runs."))
        # said explicitly: a default value of the user's never records a run
        return super().create([dict(vals, state="draft", run_date=False, run_user_id=False) for vals in vals_list])

    @api.constrains("template_complete_id", "template_partial_id")
    def _check_templates(self):
        for fill in self:
            for template in fill.template_complete_id | fill.template_partial_id:
                if template.model != "stock.picking":
                    raise UserError(
                        self.env._(
                            "%(template)s is an email of %(model)s: a fill sends emails of deliveries.",
                            template=template.name,
                            model=template.model,
                        )
                    )

    def write(self, vals):
        check_not_derived(self, [vals], RUN_FIELDS, self.env._("a fill records them when it previews or runs."))
        return super().write(vals)

    def _write_results(self, values, **fill_values):  # pylint: disable=missing-return
        """Write the fill (``fill_values``: what it records of its run), then replace
        its result lines by ``values``."""
        self.ensure_one()
        # Model.write, past this model's write(), which refuses these fields to users;
        # nothing to return
        super().write(fill_values)
        # sudo: fill lines are read-only for users; the fill, which the user may
        # write (just written), writes its own results and nothing else
        self.line_ids.sudo().unlink()
        self.env["backops.backorder.fill.line"].sudo().create([{**vals, "fill_id": self.id} for vals in values])

    def action_preview(self):
        """What would ship and what would remain; nothing is shipped: the preview
        lines are all that is written. The results of a run are kept: reset it
        first."""
        self = without_client_context(self)
        self.ensure_one()
        self._check_runnable()
        if self.state == "done":
            raise UserError(
                self.env._(
                    "%(fill)s ran on %(date)s: reset it to preview again (its results are then cleared).",
                    fill=self.name,
                    date=self.run_date,
                )
            )
        Service = self.env["backops.backorder.fill.service"]
        plan = Service._plan(self._candidate_moves(), self.mode, self.priority)
        emails = Service._planned_emails(plan, self.email_complete, self.email_partial)
        self._write_results(self._line_values(plan, emails), state="preview")
        return True

    def action_start(self):
        """Ship what can ship now by the policy, then show the summary. A run is
        started once: its results (what shipped, the emails sent) are what the
        policy shows until a New Run clears them."""
        self = without_client_context(self)
        self.ensure_one()
        self._check_runnable()
        self._lock_for_run()
        if self.state == "done":
            raise UserError(
                self.env._(
                    "%(fill)s ran on %(date)s (by %(user)s): start a New Run to ship again "
                    "(the results of this one are then cleared).",
                    fill=self.name,
                    date=self.run_date,
                    user=self.run_user_id.name,
                )
            )
        self._run()
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "current",
        }

    def _lock_for_run(self):
        """Lock these fills before reading their state: a Start pressed twice at
        once (two users, two workers) waits for the first run, then fails to
        serialize; Odoo retries it, and the retry sees that the policy ran."""
        self.env.cr.execute(
            SQL("SELECT id FROM backops_backorder_fill WHERE id IN %s ORDER BY id FOR NO KEY UPDATE", tuple(self.ids))
        )
        self.invalidate_recordset(["state", "run_date", "run_user_id"])

    def _check_runnable(self):
        for fill in self:
            fill.check_access("write")
            if fill.product_scope == "selected" and not fill.product_ids:
                raise UserError(self.env._("Choose the products to fill, or fill all products."))

    def _run(self, batch_size=None, on_progress=None):
        """Plan, then ship order batch by order batch. A batch that fails is retried
        order by order, so that one failing order is logged and skipped without
        stopping the others. The result lines say what really shipped. Returns
        their values."""
        self.ensure_one()
        Service = self.env["backops.backorder.fill.service"]
        plan = Service._plan(self._candidate_moves(), self.mode, self.priority)
        ship_date = self.ship_date or fields.Datetime.now()
        # the stock the plan's moves hold goes by the plan's priority, in every batch
        Service._release(self.env["stock.move"].concat(*(row.move for entry in plan for row in entry.rows)))
        batch_size = batch_size or len(plan) or 1
        results = []
        emails = {}
        done_count = 0
        for start in range(0, len(plan), batch_size):
            batch = plan[start : start + batch_size]
            batch_results, batch_emails = self._run_batch(batch, ship_date)
            results += batch_results
            emails.update(batch_emails)
            done_count += len(batch)
            if on_progress:
                on_progress(done_count, len(plan) - done_count)
        # what did not ship reserves what is left, by the same priority
        Service._reassign(plan)
        values = self._line_values(results, emails)
        self._write_results(values, state="done", run_date=fields.Datetime.now(), run_user_id=self.env.uid)
        return values

    def _run_batch(self, batch, ship_date):
        """Ship ``batch`` ([FillOrder]) and email its customers. Returns ([FillOrder]
        as shipped, {sale order id: email sent})."""
        Service = self.env["backops.backorder.fill.service"]
        try:
            with self.env.cr.savepoint():
                results, pickings = Service._ship(batch, ship_date, reassign=False)
                emails = self._send_emails(pickings)
            return results, emails
        except PG_CONCURRENCY_EXCEPTIONS_TO_RETRY:
            # another transaction changed this stock: not a failing order, the whole
            # request is retried by Odoo and sees what is left
            raise
        except Exception as error:  # noqa: BLE001 - one order must not stop the others
            self.env.invalidate_all()
            if len(batch) == 1:
                entry = batch[0]
                _logger.warning("Fill Backorders: %s skipped: %s", entry.order.name, error)
                skipped = entry._replace(
                    rows=[row._replace(fill=0.0) for row in entry.rows],
                    outcome="skipped",
                    reason=self.env._("error: %(error)s", error=str(error)),
                )
                return [skipped], {}
            results, emails = [], {}
            for entry in batch:
                entry_results, entry_emails = self._run_batch([entry], ship_date)
                results += entry_results
                emails.update(entry_emails)
            return results, emails

    def _send_emails(self, pickings):
        if not pickings:
            return {}
        return self.env["backops.backorder.fill.service"]._send_fill_emails(
            pickings,
            self.email_complete and self.template_complete_id,
            self.email_partial and self.template_partial_id,
        )

    def action_print(self):
        return self.env.ref("backops_procurement.action_report_backorder_fill").report_action(self)

    def action_export_xlsx(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_url",
            "url": f"/backops_procurement/backorder_fill/{self.id}.xlsx",
            "target": "download",
        }

    def action_reset(self):
        self = without_client_context(self)
        for fill in self:
            fill._write_results([], state="draft")

    def _get_export_sheets(self):
        """(title, headers, rows) of the summary, for the XLSX export."""
        self.ensure_one()
        outcomes = dict(self.env["backops.backorder.fill.line"]._fields["outcome"]._description_selection(self.env))
        order_rows = [
            (
                line.sale_order_id.name,
                line.sale_order_id.partner_id.display_name,
                line.picking_id.name,
                (line.picking_id.backops_ship_date or "") if line.fill_qty else "",
                line.product_id.display_name,
                line.needed_qty,
                line.available_qty,
                line.fill_qty,
                line.remaining_qty,
                line.product_uom.name,
                outcomes.get(line.outcome, ""),
                line.reason or "",
                line.email or "",
            )
            for line in self.line_ids
        ]
        units = defaultdict(float)
        for line in self.line_ids:
            units[(line.product_id.display_name, line.product_uom.name)] += line.fill_qty
        return [
            (
                self.env._("Orders"),
                [
                    self.env._("Sale Order"),
                    self.env._("Customer"),
                    self.env._("Delivery"),
                    self.env._("Shipped On"),
                    self.env._("Product"),
                    self.env._("Needed"),
                    self.env._("Available"),
                    self.env._("Shipped"),
                    self.env._("Remaining"),
                    self.env._("Unit"),
                    self.env._("Outcome"),
                    self.env._("Reason"),
                    self.env._("Email"),
                ],
                order_rows,
            ),
            (
                self.env._("Units per Product"),
                [self.env._("Product"), self.env._("Unit"), self.env._("Shipped")],
                [(product, uom, quantity) for (product, uom), quantity in sorted(units.items())],
            ),
        ]

    # ------------------------------------------------------------------
    # Scheduled action
    # ------------------------------------------------------------------
    @api.model
    def _cron_fill_backorders(self, batch_size=50):
        """Run every policy marked 'Run Nightly', in batches of orders; progress is
        reported to the scheduler; safe to run again (it ships what can ship now)."""
        for fill in self.search([("cron_active", "=", True)]):
            policy = fill.with_company(fill.company_id)

            def progress(done, remaining):
                self.env["ir.cron"]._notify_progress(done=done, remaining=remaining)
                if self.env.context.get("ir_cron_progress_id"):
                    # in the scheduler, each batch shipped stays shipped
                    self.env.cr.commit()  # pylint: disable=invalid-commit

            values = policy._run(batch_size=batch_size, on_progress=progress)
            _logger.info(
                "Fill Backorders %s: %s lines, %s shipped",
                fill.name,
                len(values),
                sum(1 for vals in values if vals["outcome"] != "skipped"),
            )
