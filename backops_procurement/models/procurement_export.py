import json
from collections import defaultdict

from odoo import api, fields, models
from odoo.exceptions import AccessError, MissingError, UserError
from odoo.osv import expression
from odoo.tools import SQL

DOMAIN_OPERATORS = ("&", "|", "!")
DOMAIN_SCALARS = (str, int, float, bool, type(None))
# records an export reads at a time
EXPORT_CHUNK = 2000


class ProcurementExport(models.TransientModel):
    """The records an XLSX export is for (needs, or Quoted vs Actual lines), kept on
    the server: a selection of thousands does not fit in a URL. Only its creator
    reads it (record rule)."""

    _name = "backops.procurement.export"
    _description = "Procurement XLSX Export"

    domain = fields.Text(
        required=True,
        default="[]",
        help="JSON domain on the exported model: the records to export.",
    )
    res_model = fields.Selection(
        [("sale.order.line", "Needs"), ("backops.quoted.actual.report", "Quoted vs Actual")],
        string="Exported Model",
        required=True,
        default="sale.order.line",
    )

    @api.model
    def _parse_domain(self, text, res_model="sale.order.line"):
        """The domain of needs (or of ``res_model``) in ``text`` (JSON); ``UserError``
        naming what is wrong when it is not one."""
        try:
            domain = json.loads(text)
        except ValueError as error:
            raise UserError(self.env._("The domain is not JSON: %(error)s", error=error)) from None
        return self._check_domain(domain, res_model)

    @api.model
    def _check_domain(self, domain, res_model="sale.order.line"):
        """``domain`` if it is a valid domain on sale order lines (or ``res_model``)
        for the current user, else ``UserError`` saying why."""
        if not isinstance(domain, (list, tuple)):
            raise UserError(self.env._("The domain must be a list of conditions, not %(domain)s.", domain=domain))
        for term in domain:
            if term in DOMAIN_OPERATORS:
                continue
            if (
                not isinstance(term, (list, tuple))
                or len(term) != 3
                or not isinstance(term[0], (str, int))
                or not isinstance(term[1], str)
                or not isinstance(term[2], DOMAIN_SCALARS)
                and not (isinstance(term[2], (list, tuple)) and all(isinstance(v, DOMAIN_SCALARS) for v in term[2]))
            ):
                raise UserError(
                    self.env._(
                        "%(term)s is not a condition: a condition is [field, operator, value], "
                        "the value a number, a text, true, false, null or a list of those.",
                        term=json.dumps(term),
                    )
                )
        try:
            # run, not only built: values the database cannot compare (a date that is
            # not one, a number out of range) fail only then
            with self.env.cr.savepoint():
                self.env[res_model].search_count(domain, limit=1)
        except (AccessError, MissingError):
            raise
        except Exception as error:  # noqa: BLE001 - any malformed domain is the client's error
            raise UserError(self.env._("The domain is not valid: %(error)s", error=error)) from None
        return domain

    @api.model
    def _create_for(self, domain, res_model="sale.order.line"):
        return self.create({"domain": json.dumps(self._check_domain(domain, res_model)), "res_model": res_model})

    def _get_domain(self):
        self.ensure_one()
        return self._parse_domain(self.domain, self.res_model)


class SaleOrderLine(models.Model):
    _inherit = "sale.order.line"

    @api.model
    def _get_procurement_export_data(self, domain):
        """Sheets of the XLSX export of the needs matching ``domain``: a list of
        (title, headers, rows). The rows are generators that read the records
        ``EXPORT_CHUNK`` at a time and forget them after each chunk, so that
        exporting 50,000 needs takes no more memory than exporting 5,000; the sheets
        are written one after the other, in one pass.

        Everything is read as the current user: a salesperson gets the needs of the
        orders they may read and the allocations of those needs, whatever else the
        RFQs cover."""
        need_domain = expression.AND([[("procurement_status", "!=", False)], domain])
        need_ids = self.search(need_domain).ids
        return [
            (
                self.env._("Needs"),
                [
                    self.env._("Sale Order"),
                    self.env._("Customer"),
                    self.env._("Section"),
                    self.env._("Product"),
                    self.env._("Needed"),
                    self.env._("Unit"),
                    self.env._("Status"),
                    self.env._("Ordered"),
                    self.env._("Allocated"),
                    self.env._("Remaining"),
                    self.env._("Vendor"),
                    self.env._("Salesperson"),
                    self.env._("Delivery Date"),
                ],
                self._procurement_export_need_rows(need_ids),
            ),
            (
                self.env._("Allocations by Vendor"),
                [
                    self.env._("Vendor"),
                    self.env._("RFQ / PO"),
                    self.env._("Purchase Status"),
                    self.env._("Sale Order"),
                    self.env._("Section"),
                    self.env._("Product"),
                    self.env._("Allocated"),
                    self.env._("Unit"),
                    self.env._("In Purchase Unit"),
                    self.env._("Purchase Unit"),
                ],
                self._procurement_export_allocation_rows(need_domain),
            ),
        ]

    @api.model
    def _procurement_export_chunks(self, model, ids):
        """``ids`` of ``model`` as records, ``EXPORT_CHUNK`` at a time; what was
        read for a chunk leaves the cache before the next one (nothing is pending:
        an export writes nothing)."""
        for start in range(0, len(ids), EXPORT_CHUNK):
            yield self.env[model].browse(ids[start : start + EXPORT_CHUNK])
            self.env.invalidate_all(flush=False)

    @api.model
    def _procurement_export_need_rows(self, need_ids):
        statuses = dict(self._fields["procurement_status"]._description_selection(self.env))
        Allocation = self.env["backops.procurement.allocation"]
        for needs in self._procurement_export_chunks(self._name, need_ids):
            needs._backops_read_statuses()
            ordered = defaultdict(float)
            for need, quantity in Allocation._read_group(
                [("sale_line_id", "in", needs.ids), ("purchase_state", "in", ("purchase", "done"))],
                ["sale_line_id"],
                ["quantity:sum"],
            ):
                ordered[need.id] = quantity
            for need in needs:
                yield (
                    need.order_id.name,
                    need.order_partner_id.display_name,
                    need.procurement_section or "",
                    need.product_id.display_name,
                    need.product_uom_qty,
                    need.product_uom.name,
                    statuses[need.procurement_status],
                    ordered[need.id],
                    need.procurement_allocated_qty,
                    need.procurement_remaining_qty,
                    need.procurement_vendor_id.display_name or "",
                    need.salesman_id.name or "",
                    need.order_id.commitment_date or "",
                )

    @api.model
    def _procurement_export_allocation_rows(self, need_domain):
        """The allocations of the needs, by vendor, then RFQ, as the user reads them."""
        purchase_states = dict(self.env["purchase.order"]._fields["state"]._description_selection(self.env))
        Allocation = self.env["backops.procurement.allocation"]
        allocations = Allocation._search([("sale_line_id", "in", self._search(need_domain))])
        # sorted in the database (by the vendor's and the RFQ's names, which the
        # ORM's order cannot reach), so that only ids are held
        self.env["res.partner"].flush_model(["complete_name"])
        self.env["purchase.order"].flush_model(["name"])
        Allocation.flush_model(["partner_id", "purchase_order_id"])
        self.env.cr.execute(
            SQL(
                """
            SELECT alloc.id
              FROM backops_procurement_allocation alloc
         LEFT JOIN res_partner partner ON partner.id = alloc.partner_id
         LEFT JOIN purchase_order po ON po.id = alloc.purchase_order_id
             WHERE alloc.id IN %s
          ORDER BY COALESCE(partner.complete_name, ''), po.name, alloc.id
            """,
                allocations.subselect(),
            )
        )
        allocation_ids = [row[0] for row in self.env.cr.fetchall()]
        for chunk in self._procurement_export_chunks(Allocation._name, allocation_ids):
            # sudo: the reference of the RFQ of an allocation the user reads, as the
            # allocation shows it (salespeople have no right on purchase orders)
            rfq_names = {allocation.id: allocation.sudo().purchase_order_id.name for allocation in chunk}
            for allocation in chunk:
                yield (
                    allocation.partner_id.display_name,
                    rfq_names[allocation.id],
                    purchase_states[allocation.purchase_state],
                    allocation.sale_order_id.name,
                    allocation.sale_line_id.procurement_section or "",
                    allocation.product_id.display_name,
                    allocation.quantity,
                    allocation.product_uom.name,
                    allocation.purchase_uom_qty,
                    allocation.purchase_uom.name,
                )

    def action_export_procurement_xlsx(self):
        """Download the needs (selected ones, or all those of the list) and their
        allocations as an XLSX workbook. The selection stays on the server, in an
        export only this user reads: the URL carries its id, not the needs'."""
        if self:
            domain = [("id", "in", self.ids)]
        else:
            domain = self.env.context.get("active_domain") or []
        export = self.env["backops.procurement.export"]._create_for(domain)
        return {
            "type": "ir.actions.act_url",
            "url": f"/backops_procurement/needs.xlsx?export_id={export.id}",
            "target": "download",
        }
