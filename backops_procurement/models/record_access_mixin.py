from odoo import api, models


class ReadableRecordsMixin(models.AbstractModel):
    """Wizards name records they work on (a sale order, a delivery, a need): the
    user must be able to read those, or a wizard's related fields (read as
    superuser) would show another company's records to whoever creates one over
    RPC."""

    _name = "backops.readable.records.mixin"
    _description = "Wizard Records Readable by Their User"

    # names of the relational fields whose records the user must read; set by each model
    _backops_readable_fields = ()

    @api.model_create_multi
    def create(self, vals_list):
        records = super().create(vals_list)
        records._backops_check_readable({fname for vals in vals_list for fname in vals})
        return records

    def write(self, vals):
        res = super().write(vals)
        self._backops_check_readable(vals)
        return res

    def _backops_check_readable(self, fnames):
        for fname in self._backops_readable_fields:
            if fname in fnames:
                self[fname].check_access("read")
