from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL, float_compare, float_is_zero, float_round

from ..tools import check_not_derived, check_quantity

# purchase orders whose lines count as ordered, and whose receipts count as received
CONFIRMED_PURCHASE_STATES = ("purchase", "done")

# stored values the allocation derives from its lines: never written by hand
DERIVED_FIELDS = (
    "company_id",
    "product_id",
    "sale_order_id",
    "purchase_order_id",
    "partner_id",
    "purchase_uom_qty",
    "received_qty",
)


class ProcurementAllocation(models.Model):
    """A quantity of one need (sale order line) covered by one RFQ/PO line.

    Every rule of allocations lives here, in ``create``/``write``, so that the
    allocation form, a direct call over RPC, the Line Item Editor, the Create RFQs
    wizard and Replenish Backorders all meet the same rules: both lines of the same
    company (checked first), product and convertible units, a confirmed need, an RFQ
    whose lines may still change, never more on an RFQ line than it orders, and, with
    Block Over-Ordering, no need put in Excess. The rows these checks read are locked
    first, so that two transactions cannot both pass them."""

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
    company_id = fields.Many2one(related="sale_line_id.company_id", store=True, index=True, precompute=True)
    is_automatic = fields.Boolean(
        string="Created by Odoo",
        readonly=True,
        copy=False,
        help="Allocation of a purchase line that Odoo created for this sale line "
        "(buy/MTO routes, service to purchase); it follows the line's quantity. Set by "
        "the addon only, never by users.",
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
    purchase_state = fields.Selection(related="purchase_line_id.order_id.state", string="Purchase Status")
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
            allocation.purchase_uom_qty = self._in_purchase_uom(
                allocation.quantity, allocation.sale_line_id.product_uom, allocation.purchase_line_id.product_uom
            )

    @api.model
    def _in_purchase_uom(self, quantity, sale_uom, purchase_uom):
        if sale_uom and purchase_uom and sale_uom.category_id == purchase_uom.category_id:
            return sale_uom._compute_quantity(quantity, purchase_uom, round=False)
        return quantity

    @api.depends("sale_line_id", "purchase_line_id", "quantity")
    def _compute_display_name(self):
        for allocation in self:
            allocation.display_name = self.env._(
                "%(sale)s → %(purchase)s: %(qty)s %(uom)s",
                sale=allocation.sale_order_id.name or "",
                purchase=allocation.purchase_order_id.name or "",
                qty=allocation.quantity,
                uom=allocation.product_uom.name or "",
            )

    # ------------------------------------------------------------------
    # Rules: each refusal names the need and the RFQ line
    # ------------------------------------------------------------------
    def _describe(self):
        return self.env._(
            "%(product)s of %(sale)s on %(purchase)s",
            product=self.sale_line_id.product_id.display_name or self.sale_line_id.name,
            sale=self.sale_order_id.name,
            purchase=self.purchase_order_id.name,
        )

    @api.model
    def _check_quantity_values(self, quantities):
        """Refuse quantities that are not positive finite numbers, before anything is written."""
        if not quantities:
            return
        # looked up once for the batch: each lookup costs as much as the check itself
        label = self.env._("Allocated quantity")
        digits = self.env["decimal.precision"].precision_get("Product Unit of Measure")
        for quantity in quantities:
            check_quantity(self.env, quantity, label, allow_zero=False)
            if float_is_zero(quantity, precision_digits=digits):
                raise ValidationError(
                    self.env._("The quantity allocated to a need must be positive, not %(qty)s.", qty=quantity)
                )

    @api.model
    def _check_pair_companies(self, pairs):
        """Refuse pairs (need, RFQ line) of two companies, before anything else is
        read of them: the message names the user's need only, never the other
        company's order or quantities."""
        for need, line in pairs:
            # sudo: the companies only, to refuse; nothing of the line is shown
            need_company, line_company = need.sudo().company_id, line.sudo().company_id
            if need_company != line_company:
                raise ValidationError(
                    self.env._(
                        "%(need)s belongs to %(company)s: it can only be allocated to an RFQ line of %(company)s.",
                        need=need._procurement_label(),
                        company=need_company.name,
                    )
                )

    @api.model
    def _check_pairs_unique(self, pairs, ignore=()):
        """A need is allocated to an RFQ line once: refuse ``pairs`` (need, line) that
        repeat each other or an allocation other than ``ignore``, with a sentence
        rather than the database's unique violation."""
        pairs = [(need, line) for need, line in pairs if need and line]
        if not pairs:
            return
        self.flush_model(["sale_line_id", "purchase_line_id"])
        self.env.cr.execute(
            SQL(
                """
            SELECT sale_line_id, purchase_line_id FROM backops_procurement_allocation
             WHERE sale_line_id = ANY(%s) AND purchase_line_id = ANY(%s) AND id != ALL(%s)
            """,
                list({need.id for need, _line in pairs}),
                list({line.id for _need, line in pairs}),
                list(ignore),
            )
        )
        taken = set(self.env.cr.fetchall())
        for need, line in pairs:
            key = (need.id, line.id)
            if key in taken:
                raise ValidationError(
                    self.env._(
                        "%(need)s is already allocated to this RFQ line: change that allocation's quantity instead.",
                        need=need._procurement_label(),
                    )
                )
            taken.add(key)

    def _check_companies(self):
        self._check_pair_companies([(allocation.sale_line_id, allocation.purchase_line_id) for allocation in self])

    @api.constrains("sale_line_id", "purchase_line_id")
    def _check_lines(self):
        """Both lines are of the same product, in convertible units."""
        for allocation in self:
            sale_line = allocation.sale_line_id
            purchase_line = allocation.purchase_line_id
            if sale_line.display_type or purchase_line.display_type:
                raise ValidationError(
                    self.env._("Sections and notes cannot be allocated (%(need)s).", need=allocation._describe())
                )
            if sale_line.product_id != purchase_line.product_id:
                raise ValidationError(
                    self.env._(
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
                    self.env._(
                        "%(need)s: the need is in %(sale_uom)s and the RFQ line in %(purchase_uom)s; "
                        "these units cannot be converted into each other.",
                        need=allocation._describe(),
                        sale_uom=sale_line.product_uom.name,
                        purchase_uom=purchase_line.product_uom.name,
                    )
                )

    def _check_editable(self):
        """A buyer allocates confirmed needs to RFQ lines that may still change: not
        on cancelled or locked orders, not for quotations or cancelled sales."""
        for allocation in self:
            order = allocation.purchase_line_id.order_id
            if not order._backops_takes_needs():
                raise ValidationError(
                    self.env._(
                        "%(need)s: %(order)s is %(state)s; needs are allocated only to RFQs and "
                        "purchase orders whose lines can still change.",
                        need=allocation._describe(),
                        order=order.name,
                        state=dict(order._fields["state"]._description_selection(self.env))[order.state],
                    )
                )
            if not allocation.sale_line_id._is_procurement_need():
                raise ValidationError(
                    self.env._(
                        "%(need)s is not a need: its sale order is not confirmed, or its "
                        "product is not subject to procurement.",
                        need=allocation.sale_line_id._procurement_label(),
                    )
                )

    @api.model
    def _allocated_per_need(self, needs):
        """{need id: quantity allocated on RFQs/POs that are not cancelled}, read from
        the database (this transaction's changes included)."""
        if not needs:
            return {}
        self.flush_model(["sale_line_id", "purchase_line_id", "quantity"])
        self.env["purchase.order.line"].flush_model(["order_id"])
        self.env["purchase.order"].flush_model(["state"])
        self.env.cr.execute(
            SQL(
                """
            SELECT alloc.sale_line_id, SUM(alloc.quantity)
              FROM backops_procurement_allocation alloc
              JOIN purchase_order_line pol ON pol.id = alloc.purchase_line_id
              JOIN purchase_order po ON po.id = pol.order_id
             WHERE alloc.sale_line_id = ANY(%s) AND po.state != 'cancel'
          GROUP BY alloc.sale_line_id
            """,
                needs.ids,
            )
        )
        totals = dict(self.env.cr.fetchall())
        return {need.id: float(totals.get(need.id, 0.0)) for need in needs}

    @api.model
    def _blocking_needs(self, needs):
        """The needs of companies with Block Over-Ordering."""
        return needs.filtered(lambda need: need.company_id.backops_block_over_ordering)

    def _check_over_ordering(self, previous=None):
        """With Block Over-Ordering, refuse a change that puts the needs of these
        allocations in Excess, or further into it. ``previous``: {need id: allocated
        before the change}; without it, everything counts as allocated now."""
        needs = self._blocking_needs(self.sale_line_id)
        if not needs:
            return
        totals = self._allocated_per_need(needs)
        previous = previous or {}
        for need in needs:
            rounding = need.product_uom.rounding
            total = totals[need.id]
            if float_compare(total, need.product_uom_qty, precision_rounding=rounding) <= 0:
                continue
            if need.id in previous and float_compare(total, previous[need.id], precision_rounding=rounding) <= 0:
                continue  # already in Excess (the sale was lowered): lowering is always fine
            raise ValidationError(
                self.env._(
                    "%(need_label)s needs %(need)s %(uom)s; this would put %(total)s "
                    "%(uom)s on order (Excess). Block Over-Ordering is on for %(company)s.",
                    need_label=need._procurement_label(),
                    need=need.product_uom_qty,
                    total=total,
                    uom=need.product_uom.name,
                    company=need.company_id.name,
                )
            )

    @api.model
    def _lock_rows(self, needs, lines):
        """Lock the needs and RFQ lines whose quantities the checks read, until the
        transaction ends. A concurrent transaction that changed them (their stored
        allocated quantities change with every allocation) makes this one fail to
        serialize: Odoo retries the request, which then sees that change."""
        for table, records in (("sale_order_line", needs), ("purchase_order_line", lines)):
            if records:
                self.env.cr.execute(
                    SQL(
                        "SELECT id FROM %s WHERE id = ANY(%s) ORDER BY id FOR NO KEY UPDATE",
                        SQL.identifier(table),
                        sorted(records.ids),
                    )
                )

    # ------------------------------------------------------------------
    # CRUD: the rules on every path
    # ------------------------------------------------------------------
    # create, write, unlink: the user's checks, then _create_allocations,
    # _write_allocations, _unlink_allocations (which Odoo's own links also go through,
    # with their own rules) call super()
    @api.model_create_multi
    def create(self, vals_list):  # pylint: disable=method-required-super
        # the user's right first: no rule below tells someone without it anything
        self.check_access("create")
        if any("is_automatic" in vals for vals in vals_list):
            raise UserError(
                self.env._("Allocations created by Odoo follow its own links; they cannot be made by hand.")
            )
        check_not_derived(self, vals_list, DERIVED_FIELDS)
        return self._create_allocations(vals_list)

    def write(self, vals):  # pylint: disable=method-required-super
        self.check_access("write")
        if "is_automatic" in vals:
            raise UserError(self.env._("Whether Odoo created an allocation is not for users to change."))
        check_not_derived(self, [vals], DERIVED_FIELDS)
        self._check_not_locked()
        moving = self.filtered("is_automatic") if vals.keys() & {"sale_line_id", "purchase_line_id"} else self.browse()
        if moving:
            raise UserError(
                self.env._(
                    "%(need)s mirrors the purchase line Odoo created for it: it follows Odoo's link and "
                    "cannot be moved. Allocate the need to another RFQ line instead.",
                    need=moving[0]._describe(),
                )
            )
        return self._write_allocations(vals)

    @api.model
    def _create_allocations(self, vals_list, automatic=False):
        """Create allocations after every rule is met. ``automatic``: allocations that
        mirror the purchase lines Odoo created for sale lines (``_sync_automatic``):
        they follow Odoo, so the buyer's rules (editable order, Block Over-Ordering,
        capacity) do not apply to them."""
        self._check_quantity_values([vals.get("quantity") for vals in vals_list])
        needs = self.env["sale.order.line"].browse([vals.get("sale_line_id") for vals in vals_list])
        lines = self.env["purchase.order.line"].browse([vals.get("purchase_line_id") for vals in vals_list])
        pairs = [(need, line) for need, line in zip(needs, lines, strict=True) if need and line]
        self._check_pair_companies(pairs)
        self._check_pairs_unique(pairs)
        if not automatic:
            self._lock_rows(needs, lines)
        totals_before = self._allocated_per_need(self._blocking_needs(needs)) if not automatic else {}
        orders = lines.sudo().order_id
        with orders._backops_guard_approvals(regroup=True):
            # said explicitly: a default value of the user's never decides it
            allocations = self._insert_allocations(
                [dict(vals, is_automatic=automatic) for vals in vals_list], needs, lines
            )
            if not automatic:
                allocations._check_editable()
                allocations.purchase_line_id._check_procurement_allocated_qty()
                allocations._check_over_ordering(totals_before)
                allocations.purchase_line_id._sync_automatic_allocations()
        return allocations

    @api.model
    def _insert_allocations(self, vals_list, needs, lines):
        """Insert the allocations of ``vals_list`` (for ``needs`` and ``lines``, in
        the same order) with the values they derive from their lines.

        The ORM's ``create`` builds a new record per allocation to precompute those
        values, then updates every row again for the received quantity: the larger
        part of the Line Item Editor's and Create RFQs' time. Here the values are read
        once from records already in the cache, as the computes set them, and given to
        the ORM's own insert (``_create``: the INSERT, the cache, what depends on the
        allocations marked to recompute, the constraints, the access rules), which
        does not recompute what it is given. The computes still follow every later
        change of the lines. Values that are not all plain stored values of
        allocations with both lines go through ``create`` itself, checks included."""
        if not vals_list:
            return self.browse()
        stored_names = {name for name, field in self._fields.items() if field.store and field.column_type} - {"id"}
        derived = [
            self._derived_values(vals.get("quantity"), need, line)
            for vals, need, line in zip(vals_list, needs, lines, strict=True)
        ]
        if not all(derived) or any(vals.keys() - stored_names for vals in vals_list):
            return super().create(vals_list)
        now = self.env.cr.now()
        log_values = {"create_uid": self.env.uid, "create_date": now, "write_uid": self.env.uid, "write_date": now}
        defaults = {}
        data_list = []
        for vals, values in zip(vals_list, derived, strict=True):
            given = frozenset(vals) | frozenset(values)
            if given not in defaults:
                defaults[given] = self.default_get(
                    [name for name in stored_names if name not in given and name not in log_values]
                )
            # the log fields are never the caller's, as in create
            stored = {
                **defaults[given],
                **{k: v for k, v in vals.items() if k not in log_values},
                **values,
                **log_values,
            }
            data_list.append(
                {
                    "stored": stored,
                    "inversed": {},
                    "inherited": {},
                    "protected": {self._fields[name] for name in values},
                }
            )
        # the companies of each need and RFQ line were checked before anything was
        # written (_check_pair_companies): what create's _check_company would check
        return self._insert_rows(data_list)

    # what _insert_rows writes itself: plain values it converts as the ORM does
    _INSERTED_TYPES = frozenset({"many2one", "float", "boolean", "datetime"})

    @api.model
    def _insert_rows(self, data_list):
        """The ORM's ``_create`` for allocations, in one INSERT per set of columns.

        ``_create`` converts each value on its own (a unit precision looked up twice
        per quantity), builds the INSERT a hundred rows at a time and walks every
        field of every record: most of the allocations' cost when thousands are
        made at once. Here each column is converted once for all the rows; the rest
        is the ORM's own: the values in the cache, the new allocations added to their
        lines' cached allocations, what depends on them marked to recompute (the
        given derived values protected), the constraints and the access rules."""
        names = {name for data in data_list for name in data["stored"]}
        if any(self._fields[name].type not in self._INSERTED_TYPES for name in names) or not all(
            data["stored"].get("sale_line_id") and data["stored"].get("purchase_line_id") for data in data_list
        ):
            return self._create(data_list)
        env = self.env
        groups = {}
        for data in data_list:
            groups.setdefault(tuple(sorted(data["stored"])), []).append(data)
        records = self.browse()
        for fnames, datas in groups.items():
            columns = []
            for fname in fnames:
                field = self._fields[fname]
                values = [data["stored"][fname] for data in datas]
                if field.type == "float":
                    digits = field.get_digits(env)
                    values = [float(value or 0.0) for value in values]
                    if digits:
                        values = [float_round(value, precision_digits=digits[1]) for value in values]
                elif field.type == "many2one":
                    values = [value.id if isinstance(value, models.BaseModel) else (value or None) for value in values]
                elif field.type == "boolean":
                    values = [bool(value) for value in values]
                columns.append((field, values))
            self.env.cr.execute(
                SQL(
                    "INSERT INTO %s (%s) SELECT * FROM unnest(%s) RETURNING id, sale_line_id, purchase_line_id",
                    SQL.identifier(self._table),
                    SQL(", ").join(SQL.identifier(field.name) for field, _values in columns),
                    SQL(", ").join(SQL("%s::%s[]", values, SQL(field.column_type[1])) for field, values in columns),
                )
            )
            # the pair of lines is unique: each row is found again whatever the order
            ids = {(need_id, line_id): row_id for row_id, need_id, line_id in self.env.cr.fetchall()}
            values_of = dict(columns)
            keys = zip(
                values_of[self._fields["sale_line_id"]], values_of[self._fields["purchase_line_id"]], strict=True
            )
            group = self.browse([ids[key] for key in keys])
            for field, values in columns:
                env.cache.update(
                    group,
                    field,
                    [field.convert_to_cache(value, group) for value in values]
                    if field.type not in ("float", "many2one", "boolean")
                    else values,
                )
                if field.type == "many2one" and self.pool.field_inverses[field]:
                    by_value = {}
                    for record, value in zip(group, values, strict=True):
                        by_value.setdefault(value, []).append(record.id)
                    for value, record_ids in by_value.items():
                        field._update_inverses(self.browse(record_ids), value)
            for data, record in zip(datas, group, strict=True):
                data["record"] = record
            records |= group
        with env.protecting([(data["protected"], data["record"]) for data in data_list]):
            records.modified(self._fields, create=True)
        records._validate_fields(names)
        records.check_access("create")
        # in the order of data_list, as _create returns them
        return self.browse([data["record"].id for data in data_list])

    @api.model
    def _derived_values(self, quantity, need, line):
        """The stored values an allocation of ``need`` to ``line`` derives from them,
        as their computes would set them, read from records already in the cache:
        nothing without both lines."""
        if not need or not line:
            return {}
        need, line = need.sudo(), line.sudo()
        order = line.order_id
        values = {
            "company_id": need.company_id.id,
            "product_id": need.product_id.id,
            "sale_order_id": need.order_id.id,
            "purchase_order_id": order.id,
            "partner_id": order.partner_id.id,
            "purchase_uom_qty": self._in_purchase_uom(quantity, need.product_uom, line.product_uom),
        }
        if order.state not in CONFIRMED_PURCHASE_STATES:
            # nothing is received on an order that is not confirmed (_received_shares)
            values["received_qty"] = 0.0
        return values

    def _write_allocations(self, vals, automatic=False):
        if "quantity" in vals:
            self._check_quantity_values([vals["quantity"]])
        Need, Line = self.env["sale.order.line"], self.env["purchase.order.line"]
        new_need = Need.browse(vals.get("sale_line_id"))
        new_line = Line.browse(vals.get("purchase_line_id"))
        if new_need or new_line:
            pairs = [
                (new_need or allocation.sale_line_id, new_line or allocation.purchase_line_id) for allocation in self
            ]
            self._check_pair_companies(pairs)
            self._check_pairs_unique(pairs, ignore=self.ids)
        needs, lines = self.sale_line_id | new_need, self.purchase_line_id | new_line
        if not automatic:
            self._lock_rows(needs, lines)
            if "quantity" in vals:
                # a quantity set by hand is the buyer's: it no longer follows Odoo's line
                vals = dict(vals, is_automatic=False)
        totals_before = self._allocated_per_need(self._blocking_needs(needs)) if not automatic else {}
        orders = lines.sudo().order_id
        with orders._backops_guard_approvals(regroup=True):
            res = super().write(vals)
            if not automatic:
                self._check_editable()
                lines._check_procurement_allocated_qty()
                self._check_over_ordering(totals_before)
            if not automatic and vals.keys() & {"quantity", "purchase_line_id", "sale_line_id"}:
                lines._sync_automatic_allocations()
        return res

    def unlink(self):  # pylint: disable=method-required-super
        self.check_access("unlink")
        self._check_not_locked()
        return self._unlink_allocations()

    def _check_not_locked(self):
        """What a locked order covers no longer changes, by hand."""
        locked = self.filtered(lambda allocation: allocation.purchase_line_id.order_id._backops_is_locked())
        if locked:
            raise UserError(
                self.env._(
                    "%(order)s is locked: what it covers no longer changes. Unlock it first.",
                    order=locked[0].purchase_order_id.name,
                )
            )

    def _unlink_allocations(self, sync=True):
        """Remove allocations (always allowed: it only lowers what is on order).
        ``sync``: Odoo's own allocations of the lines take the room freed."""
        lines = self.purchase_line_id
        orders = lines.sudo().order_id
        with orders._backops_guard_approvals(regroup=True):
            res = super().unlink()
            if sync:
                lines.exists()._sync_automatic_allocations()
        return res
