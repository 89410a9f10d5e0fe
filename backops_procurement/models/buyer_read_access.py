"""What buyers read of sale orders: the procurement work, not the sale.

The procurement group grants read access to ``sale.order`` and ``sale.order.line``
(``security/ir.model.access.csv``) so that buyers see every need. Its record rules
(``security/backops_procurement_security.xml``) limit that access to the lines an RFQ
or purchase order covers or must cover and to their orders, and, for users whose only
read access to these models is the procurement group's, ``check_field_access_rights``
limits the fields to those of ``_backops_buyer_fields`` (no prices, discounts, taxes,
margins, notes or invoicing), and the orders' messages and attachments stay the sale's.
Users to whom another group gives these models (salespeople, stock users, accountants)
keep what Odoo gives them.
"""

from odoo import api, models, tools
from odoo.exceptions import AccessError
from odoo.models import fix_import_export_id_paths
from odoo.osv import expression
from odoo.tools.safe_eval import safe_eval

PROCUREMENT_GROUPS = ("backops_procurement.group_procurement_user", "backops_procurement.group_procurement_manager")


class ProcurementReadMixin(models.AbstractModel):
    """Read access that the procurement group gives to a sale model."""

    _name = "backops.procurement.read.mixin"
    _description = "Procurement Read Access"

    # what a buyer reads of this model to do procurement work; set by each model
    _backops_buyer_fields = frozenset()

    @api.model
    @tools.ormcache("self.env.uid", "self._name")
    def _backops_procurement_read_scope(self):
        """How the procurement group's read access to this model applies to the
        current user:

        - ``"buyer"``: it is their only read access to the model: they read the
          procurement records (record rules) and only ``_backops_buyer_fields``;
        - ``"extended"``: another group gives them some records (a salesperson's own
          orders): the procurement records are added to those, every field readable;
        - ``False``: not a procurement user, or another group gives them every record
          (Odoo's ``sale_stock`` does for stock users): nothing is restricted.
        """
        # sudo: the user's own access rights and rules are read to decide their reach
        groups = self.env["res.groups"].sudo().browse(self.env.user._get_group_ids())
        procurement_groups = self.env["res.groups"].sudo()
        for xmlid in PROCUREMENT_GROUPS:
            procurement_groups |= self.env.ref(xmlid, raise_if_not_found=False) or procurement_groups
        if not groups & procurement_groups:
            return False
        other_groups = groups - procurement_groups
        accesses = (
            self.env["ir.model.access"].sudo().search([("model_id.model", "=", self._name), ("perm_read", "=", True)])
        )
        if not any(not access.group_id or access.group_id in other_groups for access in accesses):
            return "buyer"
        rules = (
            self.env["ir.rule"]
            .sudo()
            .search(
                [
                    ("model_id.model", "=", self._name),
                    ("perm_read", "=", True),
                    ("global", "=", False),
                    ("groups", "in", other_groups.ids),
                ]
            )
        )
        if not rules:
            return False
        # the domains as Odoo evaluates them for this user; this addon's function
        # grants nothing here (and does not call itself back)
        eval_context = dict(
            self.env["ir.rule"]._eval_context(), backops_procurement_domain=lambda model_name: expression.FALSE_DOMAIN
        )
        domains = [
            expression.normalize_domain(safe_eval(rule.domain_force, eval_context)) if rule.domain_force else []
            for rule in rules
        ]
        if any(domain in ([], expression.TRUE_DOMAIN) for domain in domains):
            return False  # another group reads every record (sales managers, "All Documents")
        return "extended"

    @api.model
    def _backops_procurement_domain(self):
        """The records of this model that the procurement group lets the current user
        read: the domain of its record rule."""
        scope = self._backops_procurement_read_scope()
        return self._backops_procurement_records_domain(scope) if scope else [(1, "=", 1)]

    @api.model
    def _backops_procurement_records_domain(self, scope):
        raise NotImplementedError()

    @api.model
    def _backops_buyer_reads_only_procurement(self):
        return not self.env.su and self._backops_procurement_read_scope() == "buyer"

    @api.model
    def check_field_access_rights(self, operation, field_names):
        every_field = not field_names
        field_names = super().check_field_access_rights(operation, field_names)
        if operation != "read" or not self._backops_buyer_reads_only_procurement():
            return field_names
        if every_field:
            return [name for name in field_names if name in self._backops_buyer_fields]
        forbidden = [name for name in field_names if name in self._fields and name not in self._backops_buyer_fields]
        if forbidden:
            raise AccessError(
                self.env._(
                    "Buyers read the procurement side of %(model)s, not %(fields)s. Reading them takes Sales rights.",
                    model=self.env["ir.model"]._get(self._name).name,
                    fields=", ".join(sorted(forbidden)),
                )
            )
        return field_names

    def export_data(self, fields_to_export):
        # Odoo's export reads every field of every path from the cache (which other
        # reads of the transaction, as superuser, may have filled): each field a buyer
        # may not read is refused, on this model and on the sale models down a path
        if self._backops_buyer_reads_only_procurement():
            for path in fields_to_export:
                self._backops_check_export_path(fix_import_export_id_paths(path))
        return super().export_data(fields_to_export)

    @api.model
    def _backops_check_export_path(self, names):
        model = self
        for name in names:
            field = model._fields.get(name)
            if name in ("id", ".id") or not field:
                return  # Odoo answers unknown fields itself
            if isinstance(model, ProcurementReadMixin) and model._backops_buyer_reads_only_procurement():
                model.check_field_access_rights("read", [name])
            if not field.relational:
                return
            model = self.env[field.comodel_name]

    def _fetch_field(self, field):
        # a field read on a record (``record.price_unit``: exports, onchanges, any
        # public method) is refused as ``read`` refuses it, rather than computed
        # afresh once it is left out of the fetch below
        if field.name not in self._backops_buyer_fields and self._backops_buyer_reads_only_procurement():
            self.check_field_access_rights("read", [field.name])
        return super()._fetch_field(field)

    def _determine_fields_to_fetch(self, field_names, ignore_when_in_cache=False):
        # what the ORM prefetches with a field (the rest of its table) stays out of
        # a buyer's cache, rather than refusing the field asked for
        if self._backops_buyer_reads_only_procurement():
            field_names = [name for name in field_names if name in self._backops_buyer_fields]
        return super()._determine_fields_to_fetch(field_names, ignore_when_in_cache)

    @api.model
    def fields_get(self, allfields=None, attributes=None):
        res = super().fields_get(allfields=allfields, attributes=attributes)
        if self._backops_buyer_reads_only_procurement():
            res = {name: description for name, description in res.items() if name in self._backops_buyer_fields}
        return res


class SaleOrder(models.Model):
    _name = "sale.order"
    _inherit = ["sale.order", "backops.procurement.read.mixin"]

    # the header of an order whose needs buyers order
    _backops_buyer_fields = frozenset(
        {
            "id",
            "display_name",
            "name",
            "state",
            "company_id",
            "partner_id",
            "partner_shipping_id",
            "user_id",
            "date_order",
            "commitment_date",
            # whether its lines are needs at all: a return's lines are not
            "backops_order_type",
            "order_line",
            "procurement_need_count",
            "procurement_needs_order_count",
            "procurement_short_count",
            "procurement_on_order_count",
            "procurement_excess_count",
            "procurement_summary",
        }
    )

    @api.model
    def _backops_procurement_records_domain(self, scope):
        """Orders with procurement work."""
        return [("order_line", "any", self.env["sale.order.line"]._backops_procurement_work_domain())]

    @api.model
    def _get_mail_message_access(self, res_ids, operation, model_name=None):
        # the conversation of an order (quotations sent, prices discussed) is the
        # sale's: a buyer reads only the messages they wrote or received
        operation = super()._get_mail_message_access(res_ids, operation, model_name=model_name)
        if operation == "read" and self._backops_buyer_reads_only_procurement():
            return "write"
        return operation


class SaleOrderLine(models.Model):
    _name = "sale.order.line"
    _inherit = ["sale.order.line", "backops.procurement.read.mixin"]

    # a need: what, how many, where in the order, its statuses, vendor, dates and people
    _backops_buyer_fields = frozenset(
        {
            "id",
            "display_name",
            "name",
            "sequence",
            "display_type",
            "state",
            "company_id",
            "order_id",
            "order_partner_id",
            "salesman_id",
            "product_id",
            "product_uom_qty",
            "product_uom",
            "product_uom_category_id",
            # confirming a purchase line Odoo linked to the sale line (dropship) reads
            # it for the receipt (sale_purchase_stock)
            "route_id",
            "backops_need_status_id",
            "procurement_status",
            "procurement_allocated_qty",
            "procurement_remaining_qty",
            "procurement_vendor_id",
            "procurement_commitment_date",
            "procurement_section",
            "procurement_allocation_ids",
            "backops_backordered_qty",
            # where the units are (Needs list, Receiving), and when they arrive
            "qty_delivered",
            "backops_qty_ordered",
            "backops_qty_received",
            "backops_qty_ready",
            "backops_fulfilment_status",
            "backops_promised_date",
            "backops_expected_date",
            "backops_is_late",
        }
    )

    @api.model
    def _backops_procurement_work_domain(self):
        """Lines that are procurement work: needs, lines an RFQ or purchase order
        covers (allocated, or linked by Odoo), and backordered lines (Replenish
        Backorders)."""
        return [
            "|",
            "|",
            "|",
            ("procurement_status", "!=", False),
            ("procurement_allocation_ids", "!=", False),
            ("purchase_line_ids", "!=", False),
            ("move_ids.picking_id.backops_is_backorder", "=", True),
        ]

    @api.model
    def _backops_procurement_records_domain(self, scope):
        """A buyer reads the lines of procurement work. Salespeople who buy read
        every line of the orders with such work: Odoo's sale order form reads all
        the lines of the order it opens, and their fields are not restricted."""
        work = self._backops_procurement_work_domain()
        if scope == "buyer":
            return work
        return [("order_id", "any", [("order_line", "any", work)])]


class IrAttachment(models.Model):
    _inherit = "ir.attachment"

    def _backops_buyer_hidden_models(self):
        """Sale models whose attachments (quotations, signed orders) the current
        user does not read: those they read only as a buyer."""
        return [
            model_name
            for model_name in ("sale.order", "sale.order.line")
            if self.env[model_name]._backops_buyer_reads_only_procurement()
        ]

    @api.model
    def _search(self, domain, offset=0, limit=None, order=None):
        # what reading, fetching and listing attachments go through
        if not self.env.is_superuser() and (hidden := self._backops_buyer_hidden_models()):
            domain = [
                "|",
                "|",
                ("res_model", "=", False),
                ("res_model", "not in", hidden),
                ("public", "=", True),
                *domain,
            ]
        return super()._search(domain, offset, limit, order)

    def check(self, mode, values=None):
        # what mail and portal downloads ask
        res = super().check(mode, values)
        if mode == "read" and self and not self.env.is_superuser() and self._backops_buyer_hidden_models():
            if self - self.search([("id", "in", self.ids)]):
                raise AccessError(self.env._("Sorry, you are not allowed to access this document."))
        return res


class MailMessage(models.Model):
    _inherit = "mail.message"

    @api.model
    def _find_allowed_doc_ids(self, model_ids):
        # what searching messages lets through on the documents' read access: not
        # the conversation of sale documents a user reads only as a buyer (they keep
        # the messages they wrote or received, which Odoo lets through before this)
        hidden = {
            model_name
            for model_name in model_ids
            if model_name in ("sale.order", "sale.order.line")
            and self.env[model_name]._backops_buyer_reads_only_procurement()
        }
        return super()._find_allowed_doc_ids(
            {model_name: docs for model_name, docs in model_ids.items() if model_name not in hidden}
        )


class IrRule(models.Model):
    _inherit = "ir.rule"

    @api.model
    def _eval_context(self):
        """``backops_procurement_domain(model)`` in rule domains: the records of
        ``model`` the procurement group lets the current user read (see
        ``_backops_procurement_domain``)."""
        context = super()._eval_context()
        env = self.env

        def backops_procurement_domain(model_name):
            return env[model_name]._backops_procurement_domain()

        context["backops_procurement_domain"] = backops_procurement_domain
        return context
