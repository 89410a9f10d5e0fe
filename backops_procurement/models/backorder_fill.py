import logging
from collections import defaultdict
from datetime import timedelta

from odoo import Command, _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import float_compare, float_is_zero, float_round

from .stock_picking import OPEN_STATES

_logger = logging.getLogger(__name__)

OUTCOMES = [("complete", "Completed"), ("partial", "Partly Filled"), ("skipped", "Skipped")]


class BackorderFill(models.Model):
    """Ship backordered quantities now in stock, over chosen products or all, by a
    policy (complete orders only, or partial too; oldest order or commitment date
    first). Saved, a fill is also the policy of the nightly scheduled action."""

    _name = "backops.backorder.fill"
    _description = "Fill Backorders"
    _order = "id desc"
    _check_company_auto = True

    name = fields.Char(required=True, default=lambda self: _("Fill Backorders"))
    company_id = fields.Many2one("res.company", required=True, default=lambda self: self.env.company, index=True)
    state = fields.Selection(
        [("draft", "Draft"), ("preview", "Previewed"), ("done", "Done")], default="draft", required=True, readonly=True
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
    ship_date = fields.Datetime(string="Actual Ship Date", help="Recorded as the deliveries' date; now when empty.")
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
    run_date = fields.Datetime(readonly=True)
    run_user_id = fields.Many2one("res.users", readonly=True)
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
        for fill in self:
            if fill.ship_date and fill.ship_date > fields.Datetime.now():
                raise UserError(_("The actual ship date cannot be in the future."))

    # ------------------------------------------------------------------
    # Finding and planning
    # ------------------------------------------------------------------
    def _candidate_moves(self, extra_domain=()):
        """Open moves of backorder deliveries within the policy's scope."""
        self.ensure_one()
        domain = [
            *extra_domain,
            *self.env["stock.move"]._backops_backorder_domain(),
            ("picking_id.state", "in", OPEN_STATES),
            ("picking_id.sale_id", "!=", False),
            ("company_id", "=", self.company_id.id),
        ]
        if self.product_scope == "selected":
            domain.append(("product_id", "in", self.product_ids.ids))
        if self.warehouse_id:
            domain.append(("picking_type_id.warehouse_id", "=", self.warehouse_id.id))
        if self.date_from:
            domain.append(("picking_id.sale_id.date_order", ">=", fields.Datetime.to_datetime(self.date_from)))
        if self.date_to:
            domain.append(
                ("picking_id.sale_id.date_order", "<", fields.Datetime.to_datetime(self.date_to) + timedelta(days=1))
            )
        return self.env["stock.move"].search(domain)

    @api.model
    def _order_key(self, priority):
        if priority == "commitment":
            return lambda order: (
                not order.commitment_date,
                order.commitment_date or fields.Datetime.now(),
                order.name,
            )
        return lambda order: (order.date_order, order.name)

    @api.model
    def _plan(self, moves, mode, priority, wanted=None):
        """Decide what each move ships, without writing anything.

        Stock free in each source location, plus what these moves reserved, is a pool
        shared by priority: orders in ``priority`` order take from it. In ``complete``
        mode an order takes only if all its moves can ship in full, so an order that
        cannot complete leaves the stock to later orders. ``wanted`` ({move: quantity,
        product unit}) caps a move below its demand.

        Returns a list of (sale order, [(move, needed, available, fill)], outcome,
        reason), in priority order; quantities in the product's unit."""
        pool = moves._backops_free_quantities()
        for move in moves:
            pool[(move.product_id.id, move.location_id.id)] += move._backops_reserved_product_qty()

        moves_by_order = defaultdict(lambda: self.env["stock.move"])
        for move in moves:
            moves_by_order[move.picking_id.sale_id] |= move
        plan = []
        for order in sorted(moves_by_order, key=self._order_key(priority)):
            rows = []
            for move in moves_by_order[order].sorted(lambda m: (m.picking_id.id, m.sequence, m.id)):
                rounding = move.product_id.uom_id.rounding
                needed = move.product_qty
                if wanted is not None:
                    needed = min(needed, wanted.get(move, 0.0))
                available = max(pool[(move.product_id.id, move.location_id.id)], 0.0)
                fill = float_round(min(needed, available), precision_rounding=rounding, rounding_method="DOWN")
                rows.append((move, move.product_qty, available, fill))
            short = [
                row for row in rows
                if float_compare(row[3], row[1], precision_rounding=row[0].product_id.uom_id.rounding) < 0
            ]
            if mode == "complete" and short:
                move, needed, available, _fill = short[0]
                reason = _(
                    "%(product)s: %(needed)s %(uom)s backordered, %(available)s available",
                    product=move.product_id.display_name,
                    needed=needed,
                    available=available,
                    uom=move.product_id.uom_id.name,
                )
                plan.append((order, [(m, n, a, 0.0) for m, n, a, _f in rows], "skipped", reason))
                continue
            for move, _needed, _available, fill in rows:
                pool[(move.product_id.id, move.location_id.id)] -= fill
            shipped = [row for row in rows if not float_is_zero(row[3], precision_rounding=row[0].product_id.uom_id.rounding)]
            if not shipped:
                plan.append((order, rows, "skipped", _("nothing of it is in stock")))
            elif short:
                plan.append((order, rows, "partial", False))
            else:
                plan.append((order, rows, "complete", False))
        return plan

    # ------------------------------------------------------------------
    # Shipping
    # ------------------------------------------------------------------
    @api.model
    def _execute(self, plan, ship_date=None):
        """Ship what ``plan`` says, in batch: reserve in priority order, validate the
        deliveries (what is not shipped stays on a further backorder), date them.
        Returns the pickings validated."""
        ship_date = ship_date or fields.Datetime.now()
        if ship_date > fields.Datetime.now():
            raise UserError(_("The actual ship date cannot be in the future."))
        to_ship = [(move, fill) for _order, rows, outcome, _r in plan if outcome != "skipped" for move, _n, _a, fill in rows]
        to_ship = [(move, fill) for move, fill in to_ship if not float_is_zero(fill, precision_rounding=move.product_id.uom_id.rounding)]
        if not to_ship:
            return self.env["stock.picking"]
        all_moves = self.env["stock.move"].concat(*(move for _o, rows, _oc, _r in plan for move, *_rest in rows))
        bad = all_moves.filtered(lambda m: m.state not in OPEN_STATES or m.picking_id.state not in OPEN_STATES)
        if bad:
            raise UserError(
                _(
                    "%(pickings)s is done or cancelled: nothing was shipped.",
                    pickings=", ".join(bad.picking_id.mapped("name")),
                )
            )
        # reservations follow the plan's priority
        all_moves._do_unreserve()
        ship_moves = self.env["stock.move"].concat(*(move for move, _fill in to_ship))
        for move, fill in to_ship:
            move.quantity = move.product_id.uom_id._compute_quantity(fill, move.product_uom, round=False)
        ship_moves.picked = True
        pickings = ship_moves.picking_id
        pickings.with_context(skip_backorder=True, skip_sms=True).button_validate()
        failed = pickings.filtered(lambda p: p.state != "done")
        if failed:
            raise UserError(_("%(pickings)s could not be validated.", pickings=", ".join(failed.mapped("name"))))
        pickings.write({"date_done": ship_date})
        ship_moves.write({"date": ship_date})
        ship_moves.move_line_ids.write({"date": ship_date})
        # what did not ship reserves what is left, in the same priority
        (all_moves - ship_moves).exists().filtered(lambda m: m.state in OPEN_STATES)._action_assign()
        return pickings

    @api.model
    def _send_fill_emails(self, pickings, template_complete, template_partial):
        """Queue one email per shipped delivery: the 'complete' template when its sale
        order has nothing left to deliver, the 'partial' one otherwise."""
        complete, partial = self._split_complete(pickings)
        if template_complete and complete:
            template_complete.send_mail_batch(complete.ids)
        if template_partial and partial:
            template_partial.send_mail_batch(partial.ids)
        return complete, partial

    @api.model
    def _split_complete(self, pickings):
        """(pickings whose sale order has nothing left to deliver, the others)."""
        open_orders = {
            order.id
            for [order] in self.env["stock.picking"]._read_group(
                [
                    ("sale_id", "in", pickings.sale_id.ids),
                    ("picking_type_code", "=", "outgoing"),
                    ("state", "in", OPEN_STATES + ("draft",)),
                ],
                ["sale_id"],
            )
        }
        complete = pickings.filtered(lambda p: p.sale_id.id not in open_orders)
        return complete, pickings - complete

    # ------------------------------------------------------------------
    # The screen: Preview, Start
    # ------------------------------------------------------------------
    def _line_values(self, plan, emails):
        """Result lines of ``plan``; ``emails`` is ``_planned_emails``: an order
        skipped (if only by an error while shipping) gets no email."""
        values = []
        for order, rows, outcome, reason in plan:
            for move, needed, available, fill in rows:
                values.append(
                    {
                        "sale_order_id": order.id,
                        "picking_id": move.picking_id.id,
                        "product_id": move.product_id.id,
                        "needed_qty": needed,
                        "available_qty": available,
                        "fill_qty": fill if outcome != "skipped" else 0.0,
                        "outcome": outcome,
                        "reason": reason,
                        "email": emails.get(order.id, False) if outcome != "skipped" else False,
                    }
                )
        return values

    def action_preview(self):
        """What would ship and what would remain; nothing is shipped."""
        self.ensure_one()
        self._check_runnable()
        plan = self._plan(self._candidate_moves(), self.mode, self.priority)
        values = self._line_values(plan, self._planned_emails(plan))
        self.write({"line_ids": [Command.clear()] + [Command.create(vals) for vals in values], "state": "preview"})
        return True

    def _planned_emails(self, plan):
        """{sale order id: 'complete' / 'partial'}: the email each customer would get."""
        emails = {}
        shipping_orders = [order for order, _rows, outcome, _r in plan if outcome != "skipped"]
        if not shipping_orders:
            return emails
        # moves of the order's deliveries that the plan leaves unshipped
        left = defaultdict(float)
        planned = {move.id: fill for _o, rows, outcome, _r in plan if outcome != "skipped" for move, _n, _a, fill in rows}
        other_moves = self.env["stock.move"].search(
            [
                ("picking_id.sale_id", "in", [order.id for order in shipping_orders]),
                ("picking_code", "=", "outgoing"),
                ("state", "in", OPEN_STATES + ("draft",)),
            ]
        )
        for move in other_moves:
            remaining = move.product_qty - planned.get(move.id, 0.0)
            if float_compare(remaining, 0.0, precision_rounding=move.product_id.uom_id.rounding) > 0:
                left[move.picking_id.sale_id.id] += remaining
        for order in shipping_orders:
            kind = "partial" if left.get(order.id) else "complete"
            enabled = self.email_partial if kind == "partial" else self.email_complete
            emails[order.id] = kind if enabled else False
        return emails

    def action_start(self):
        """Ship what can ship now by the policy, then show the summary."""
        self.ensure_one()
        self._check_runnable()
        self._run()
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "current",
        }

    def _check_runnable(self):
        for fill in self:
            fill.check_access("write")
            if fill.product_scope == "selected" and not fill.product_ids:
                raise UserError(_("Choose the products to fill, or fill all products."))

    def _run(self, batch_size=None, on_progress=None):
        """Plan, then ship order batch by order batch. A batch that fails is retried
        order by order, so that one failing order is logged and skipped without
        stopping the others. Returns the result lines' values."""
        self.ensure_one()
        moves = self._candidate_moves()
        plan = self._plan(moves, self.mode, self.priority)
        emails = self._planned_emails(plan)
        ship_date = self.ship_date or fields.Datetime.now()
        batch_size = batch_size or len(plan) or 1
        results = []
        done_count = 0
        for start in range(0, len(plan), batch_size):
            batch = plan[start:start + batch_size]
            results += self._run_batch(batch, ship_date)
            done_count += len(batch)
            if on_progress:
                on_progress(done_count, len(plan) - done_count)
        values = self._line_values(results, emails)
        self.write(
            {
                "line_ids": [Command.clear()] + [Command.create(vals) for vals in values],
                "state": "done",
                "run_date": fields.Datetime.now(),
                "run_user_id": self.env.uid,
            }
        )
        return values

    def _run_batch(self, batch, ship_date):
        try:
            with self.env.cr.savepoint():
                pickings = self._execute(batch, ship_date)
                self._send_planned_emails(pickings)
            return batch
        except Exception as error:  # noqa: BLE001 - one order must not stop the others
            if len(batch) == 1:
                order = batch[0][0]
                _logger.warning("Fill Backorders: %s skipped: %s", order.name, error)
                return [(order, batch[0][1], "skipped", _("error: %(error)s", error=str(error)))]
            self.env.invalidate_all()
            results = []
            for entry in batch:
                results += self._run_batch([entry], ship_date)
            return results

    def _send_planned_emails(self, pickings):
        if not pickings:
            return
        self._send_fill_emails(
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
        self.write({"state": "draft", "line_ids": [Command.clear()]})

    def _get_export_sheets(self):
        """(title, headers, rows) of the summary, for the XLSX export."""
        self.ensure_one()
        outcomes = dict(self.env["backops.backorder.fill.line"]._fields["outcome"]._description_selection(self.env))
        order_rows = [
            (
                line.sale_order_id.name,
                line.sale_order_id.partner_id.display_name,
                line.picking_id.name,
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
                _("Orders"),
                [_("Sale Order"), _("Customer"), _("Delivery"), _("Product"), _("Needed"), _("Available"),
                 _("Shipped"), _("Remaining"), _("Unit"), _("Outcome"), _("Reason"), _("Email")],
                order_rows,
            ),
            (
                _("Units per Product"),
                [_("Product"), _("Unit"), _("Shipped")],
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


class BackorderFillLine(models.Model):
    _name = "backops.backorder.fill.line"
    _description = "Fill Backorders Line"
    _order = "id"

    fill_id = fields.Many2one("backops.backorder.fill", required=True, ondelete="cascade", index=True)
    sale_order_id = fields.Many2one("sale.order", string="Sale Order", readonly=True)
    partner_id = fields.Many2one(related="sale_order_id.partner_id", string="Customer")
    picking_id = fields.Many2one("stock.picking", string="Backorder", readonly=True)
    product_id = fields.Many2one("product.product", readonly=True)
    product_uom = fields.Many2one(related="product_id.uom_id", string="Unit")
    needed_qty = fields.Float(string="Needed", digits="Product Unit of Measure", readonly=True)
    available_qty = fields.Float(string="Available", digits="Product Unit of Measure", readonly=True)
    fill_qty = fields.Float(string="Ships", digits="Product Unit of Measure", readonly=True)
    remaining_qty = fields.Float(
        string="Remains", digits="Product Unit of Measure", compute="_compute_remaining_qty"
    )
    outcome = fields.Selection(OUTCOMES, readonly=True)
    reason = fields.Char(readonly=True)
    email = fields.Selection(
        [("complete", "Order complete"), ("partial", "Partial shipment")], string="Email", readonly=True
    )

    @api.depends("needed_qty", "fill_qty")
    def _compute_remaining_qty(self):
        for line in self:
            line.remaining_qty = max(line.needed_qty - line.fill_qty, 0.0)

