import logging
from collections import defaultdict

from dateutil.relativedelta import relativedelta

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL

_logger = logging.getLogger(__name__)

RECURRING_UNITS = [("day", "Days"), ("week", "Weeks"), ("month", "Months"), ("year", "Years")]
# the template's own schedule, not carried over to the orders it generates
TEMPLATE_FIELDS = (
    "backops_recurring_interval",
    "backops_recurring_unit",
    "backops_recurring_next_date",
    "backops_recurring_end_date",
    "backops_recurring_confirm",
)


class SaleOrder(models.Model):
    """Recurring orders: an order of type ``recurring`` is a template that is never
    confirmed, delivered or invoiced; **Generate Order** and the scheduled action
    *BackOps: Recurring Orders* copy it into one order per period that is due, each
    linked back to it (``backops_ref_order_id``) with the period it is for
    (``backops_recurring_date``), unique per template and period."""

    _inherit = "sale.order"

    backops_recurring_interval = fields.Integer(
        string="Repeat Every", default=1, help="Number of units between two generated orders."
    )
    backops_recurring_unit = fields.Selection(RECURRING_UNITS, string="Repeat Unit", default="month")
    backops_recurring_next_date = fields.Date(
        string="Next Order Date",
        compute="_compute_backops_recurring_next_date",
        store=True,
        readonly=False,
        copy=True,
        index="btree_not_null",
        help="The period date of the next order to generate.",
    )
    backops_recurring_end_date = fields.Date(
        string="End Date", help="No order is generated for a period after this date."
    )
    backops_recurring_confirm = fields.Boolean(
        string="Confirm Generated Orders", help="Confirm each generated order, or leave it as a quotation."
    )
    backops_recurring_date = fields.Date(
        string="Recurring Period",
        copy=False,
        readonly=True,
        help="The period of its recurring template this order was generated for.",
    )

    _sql_constraints = [
        (
            "backops_recurring_period_unique",
            "UNIQUE(backops_ref_order_id, backops_recurring_date)",
            "A recurring template has only one order per period.",
        ),
    ]

    @api.depends("backops_order_type")
    def _compute_backops_recurring_next_date(self):
        # an order made a template starts today, unless told otherwise
        for order in self:
            if order.backops_order_type == "recurring" and not order.backops_recurring_next_date:
                order.backops_recurring_next_date = fields.Date.context_today(order)

    # ------------------------------------------------------------------
    # A template is never confirmed, delivered nor invoiced
    # ------------------------------------------------------------------
    @api.constrains("state", "backops_order_type")
    def _check_backops_recurring_not_confirmed(self):
        templates = self.filtered(lambda order: order.backops_order_type == "recurring" and order.state == "sale")
        if templates:
            raise ValidationError(templates._backops_template_refusal())

    @api.constrains(
        "backops_order_type", "backops_recurring_interval", "backops_recurring_unit", "backops_recurring_next_date"
    )
    def _check_backops_recurring_schedule(self):
        for order in self.filtered(lambda order: order.backops_order_type == "recurring"):
            if order.backops_recurring_interval <= 0 or not order.backops_recurring_unit:
                raise ValidationError(
                    self.env._(
                        "Recurring template %(order)s: repeat every must be a positive number of days, "
                        "weeks, months or years.",
                        order=order.display_name,
                    )
                )
            if not order.backops_recurring_next_date:
                raise ValidationError(
                    self.env._("Recurring template %(order)s needs a next order date.", order=order.display_name)
                )

    def _backops_template_refusal(self):
        return self.env._(
            "%(orders)s: a recurring template is never confirmed, delivered or invoiced. "
            "Use Generate Order to create its orders.",
            orders=", ".join(self.mapped("display_name")),
        )

    def _backops_check_not_template(self):
        """The one gate every confirmation and invoicing path goes through."""
        templates = self.filtered(lambda order: order.backops_order_type == "recurring")
        if templates:
            raise UserError(templates._backops_template_refusal())

    def _confirmation_error_message(self):
        if self.backops_order_type == "recurring":
            return self._backops_template_refusal()
        return super()._confirmation_error_message()

    def _action_confirm(self):
        self._backops_check_not_template()
        return super()._action_confirm()

    def _create_invoices(self, grouped=False, final=False, date=None):
        self._backops_check_not_template()
        return super()._create_invoices(grouped=grouped, final=final, date=date)

    @api.depends("backops_order_type")
    def _compute_require_signature(self):
        res = super()._compute_require_signature()
        for order in self.filtered(lambda order: order.backops_order_type == "recurring"):
            order.require_signature = False
        return res

    @api.depends("backops_order_type")
    def _compute_require_payment(self):
        res = super()._compute_require_payment()
        for order in self.filtered(lambda order: order.backops_order_type == "recurring"):
            order.require_payment = False
        return res

    def _has_to_be_signed(self):
        # the customer portal's accept & sign flow confirms what it signs
        return self.backops_order_type != "recurring" and super()._has_to_be_signed()

    def _has_to_be_paid(self):
        return self.backops_order_type != "recurring" and super()._has_to_be_paid()

    # ------------------------------------------------------------------
    # Generating the orders
    # ------------------------------------------------------------------
    def action_backops_generate_order(self):
        """Generate every order due up to today for these templates."""
        if not self:
            return False
        not_templates = self.filtered(lambda order: order.backops_order_type != "recurring")
        if not_templates:
            raise UserError(
                self.env._(
                    "%(orders)s: only a recurring template generates orders.",
                    orders=", ".join(not_templates.mapped("display_name")),
                )
            )
        self.check_access("write")
        # wait for a generation under way: what it advanced decides what is due now
        self._backops_lock_templates()
        today = fields.Date.context_today(self)
        nothing_due = self.filtered(lambda template: not template._backops_recurring_periods(today))
        if nothing_due:
            raise UserError(
                self.env._(
                    "Nothing is due for %(orders)s yet (next order date: %(dates)s).",
                    orders=", ".join(nothing_due.mapped("display_name")),
                    dates=", ".join(str(date or "-") for date in nothing_due.mapped("backops_recurring_next_date")),
                )
            )
        orders = self.env["sale.order"]
        for company, templates in self._backops_by_company().items():
            orders |= templates.with_company(company)._backops_generate_recurring_orders(today)
        return self._backops_orders_action(orders)

    def _backops_lock_templates(self, skip_locked=False):
        """Lock these templates' rows (or those not already locked) and return them,
        their schedule read again after the lock."""
        self.env.cr.execute(
            SQL(
                "SELECT id FROM sale_order WHERE id IN %s ORDER BY id FOR NO KEY UPDATE%s",
                tuple(self.ids),
                SQL(" SKIP LOCKED") if skip_locked else SQL(),
            )
        )
        locked = self.browse([row[0] for row in self.env.cr.fetchall()])
        locked.invalidate_recordset(["backops_recurring_next_date", "backops_recurring_end_date", "state"])
        return locked

    def _backops_by_company(self):
        by_company = defaultdict(lambda: self.browse())
        for template in self:
            by_company[template.company_id] |= template
        return by_company

    def _backops_recurring_step(self):
        return relativedelta(**{f"{self.backops_recurring_unit}s": self.backops_recurring_interval})

    def _backops_recurring_periods(self, today):
        """The period dates due up to ``today`` (none past the end date or for a
        cancelled template)."""
        self.ensure_one()
        if self.state not in ("draft", "sent") or not self.backops_recurring_next_date:
            return []
        last = min(today, self.backops_recurring_end_date or today)
        periods = []
        step = self._backops_recurring_step()
        period = self.backops_recurring_next_date
        while period <= last:
            periods.append(period)
            period = self.backops_recurring_next_date + step * len(periods)
        return periods

    def _prepare_backops_recurring_order_vals(self, periods):
        """Values of the orders of ``periods`` for each template in self:
        {template: [vals]}, a copy of the template as Odoo's ``copy`` makes it."""
        default = {"backops_order_type": "order", **dict.fromkeys(TEMPLATE_FIELDS, False)}
        vals_by_template = {}
        for template, vals in zip(self, self.copy_data(default=default), strict=True):
            vals_by_template[template] = [
                {
                    **vals,
                    # each order its own line values: create() may change what it is given
                    "order_line": [tuple(command[:2]) + (dict(command[2]),) for command in vals["order_line"]],
                    "backops_recurring_date": period,
                    "origin": template.name,
                }
                for period in periods[template]
            ]
        return vals_by_template

    def _backops_generate_recurring_orders(self, today):
        """Create, confirm when asked, and record the orders due up to ``today`` for
        these locked templates of one company; advance their next order date."""
        periods = {template: template._backops_recurring_periods(today) for template in self}
        templates = self.filtered(lambda template: periods[template])
        if not templates:
            return self.browse()
        # periods already generated (a rerun after the next date was set back)
        existing = self.search_fetch(
            [("backops_ref_order_id", "in", templates.ids), ("backops_recurring_date", "!=", False)],
            ["backops_ref_order_id", "backops_recurring_date"],
        )
        done = {(order.backops_ref_order_id.id, order.backops_recurring_date) for order in existing}
        todo = {
            template: [period for period in periods[template] if (template.id, period) not in done]
            for template in templates
        }
        vals_by_template = templates._prepare_backops_recurring_order_vals(todo)
        orders = self.create([vals for template in templates for vals in vals_by_template[template]])
        # the link is set by the addon only (see _backops_link_ref_order); the unique
        # (template, period) constraint holds it as it is written
        start = 0
        for template in templates:
            count = len(vals_by_template[template])
            orders[start : start + count]._backops_link_ref_order(template)
            start += count
        to_confirm = orders.filtered(lambda order: order.backops_ref_order_id.backops_recurring_confirm)
        if to_confirm:
            to_confirm.action_confirm()
        orders_by_template = defaultdict(lambda: self.browse())
        for order in orders:
            orders_by_template[order.backops_ref_order_id] |= order
        step_by_template = {}
        for template in templates:
            step_by_template[template] = (
                template.backops_recurring_next_date + template._backops_recurring_step() * len(periods[template])
            )
            generated = orders_by_template[template]
            if generated:
                template.message_post(
                    body=self.env._(
                        "Generated %(orders)s.",
                        orders=", ".join(f"{order.name} ({order.backops_recurring_date})" for order in generated),
                    ),
                    subtype_xmlid="mail.mt_note",
                )
        for template, next_date in step_by_template.items():
            template.backops_recurring_next_date = next_date
        return orders

    # ------------------------------------------------------------------
    # The scheduled action
    # ------------------------------------------------------------------
    def _backops_due_templates_where(self, today, exclude_ids=()):
        """The due templates, as the condition of a query on ``sale_order`` (a
        template's end date is compared with its own next date, which a domain
        cannot say)."""
        self.flush_model(["backops_order_type", "state", "company_id", *TEMPLATE_FIELDS])
        self.env["res.company"].flush_model(["active"])
        return SQL(
            """sale_order.backops_order_type = 'recurring'
               AND sale_order.state IN ('draft', 'sent')
               AND sale_order.backops_recurring_next_date <= %(today)s
               AND (sale_order.backops_recurring_end_date IS NULL
                    OR sale_order.backops_recurring_end_date >= sale_order.backops_recurring_next_date)
               AND sale_order.company_id IN (SELECT id FROM res_company WHERE active)
               AND NOT sale_order.id = ANY(%(exclude)s)""",
            today=today,
            exclude=list(exclude_ids),
        )

    def _backops_lock_due_templates(self, today, limit, exclude_ids=()):
        """Up to ``limit`` due templates that no other run is working on, locked."""
        self.env.cr.execute(
            SQL(
                """SELECT id FROM sale_order WHERE %s
                   ORDER BY backops_recurring_next_date, id LIMIT %s
                   FOR NO KEY UPDATE SKIP LOCKED""",
                self._backops_due_templates_where(today, exclude_ids),
                limit,
            )
        )
        templates = self.browse([row[0] for row in self.env.cr.fetchall()])
        templates.invalidate_recordset(["backops_recurring_next_date", "backops_recurring_end_date", "state"])
        return templates

    def _backops_count_due_templates(self, today, exclude_ids=()):
        self.env.cr.execute(
            SQL("SELECT COUNT(*) FROM sale_order WHERE %s", self._backops_due_templates_where(today, exclude_ids))
        )
        return self.env.cr.fetchone()[0]

    @api.model
    def _cron_backops_recurring_orders(self, batch_size=50, max_batches=20):
        """Generate the orders due for every template, ``batch_size`` templates at a
        time (committed one by one in the scheduler, which is told the progress and
        calls again while some remain). A template that fails is logged and skipped;
        the others go on. Safe to run twice at once: a template is locked by the run
        working on it, and an order per template and period is unique."""
        today = fields.Date.context_today(self)
        in_scheduler = bool(self.env.context.get("ir_cron_progress_id"))
        failed = set()
        done = remaining = 0
        for _batch in range(max_batches):
            templates = self._backops_lock_due_templates(today, batch_size, exclude_ids=failed)
            if not templates:
                break
            for company, company_templates in templates._backops_by_company().items():
                failed.update(company_templates.with_company(company)._backops_generate_isolated(today))
            done += len(templates)
            remaining = self._backops_count_due_templates(today, failed)
            self.env["ir.cron"]._notify_progress(done=done, remaining=remaining)
            if in_scheduler:
                # each batch generated stays generated
                self.env.cr.commit()  # pylint: disable=invalid-commit
            if not remaining:
                break
        if failed:
            _logger.warning("Recurring orders: %s templates failed and were skipped", len(failed))
        return remaining

    def _backops_generate_isolated(self, today):
        """Generate for these templates in one go or, when that fails, one template
        at a time, each in a savepoint; returns the ids of those that failed."""
        try:
            with self.env.cr.savepoint():
                self._backops_generate_recurring_orders(today)
            return set()
        except Exception:  # noqa: BLE001 - found again, and logged, template by template below
            if len(self) == 1:
                _logger.exception("Recurring orders: template %s failed, skipped", self.display_name)
                return set(self.ids)
        failed = set()
        for template in self:
            failed.update(template._backops_generate_isolated(today))
        return failed
