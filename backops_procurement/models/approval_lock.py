from odoo import api, fields, models
from odoo.tools import SQL


class ApprovalLock(models.Model):
    """One row per company and vendor whose orders add up against the approval
    tiers. Every change the approval gate decides writes the rows of the vendors of
    the orders it measures, before measuring: two transactions that could each make
    the other's orders add up (a regrouping, a confirmation) write the same row, so
    one waits for the other and then fails to serialize (Odoo retries it, and it
    sees the other's change). A lock alone would not do: under Odoo's REPEATABLE
    READ, a row only locked by a transaction that committed does not fail the
    other, which would go on measuring without the change."""

    _name = "backops.approval.lock"
    _description = "Purchase Approval Lock"
    _rec_name = "partner_id"

    company_id = fields.Many2one("res.company", required=True, readonly=True, ondelete="cascade", index=True)
    partner_id = fields.Many2one("res.partner", string="Vendor", required=True, readonly=True, ondelete="cascade")
    version = fields.Integer(readonly=True, help="How many changes of this vendor's orders the gate decided.")

    _sql_constraints = [
        ("company_partner_unique", "UNIQUE(company_id, partner_id)", "One lock per company and vendor."),
    ]

    @api.model
    def _lock(self, keys):
        """Write the rows of ``keys`` ({(company id, commercial vendor id)}), made
        when missing, in a fixed order (no deadlock between two gates).

        Raw SQL: an upsert, which the ORM does not have; it sets the columns the ORM
        would (``write_date``, ``write_uid``) and nothing reads these rows through
        the cache."""
        keys = sorted(keys)
        if not keys:
            return
        companies, partners = zip(*keys, strict=True)
        self.env.cr.execute(
            SQL(
                """
            INSERT INTO backops_approval_lock
                   (company_id, partner_id, version, create_uid, create_date, write_uid, write_date)
            SELECT company_id, partner_id, 1, %(uid)s, now() at time zone 'UTC', %(uid)s, now() at time zone 'UTC'
              FROM unnest(%(companies)s::int[], %(partners)s::int[]) AS key(company_id, partner_id)
            ON CONFLICT (company_id, partner_id) DO UPDATE
               SET version = backops_approval_lock.version + 1,
                   write_uid = EXCLUDED.write_uid, write_date = EXCLUDED.write_date
            """,
                uid=self.env.uid,
                companies=list(companies),
                partners=list(partners),
            )
        )
