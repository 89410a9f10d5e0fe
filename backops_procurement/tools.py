"""Helpers shared by the addon's models and wizards."""

import math

from odoo import fields
from odoo.exceptions import UserError, ValidationError

# Far above any real quantity, far below where float arithmetic loses the units'
# rounding (1e12 units at 0.001 still has every digit in a double).
MAX_QUANTITY = 1e12


def check_quantity(env, value, label, allow_zero=True):
    """Refuse a quantity that is not a finite number, is negative (or zero when
    ``allow_zero`` is False) or is out of any real range, with a sentence naming
    ``label``. Returns the value as a float."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValidationError(env._("%(what)s: the quantity must be a number, not %(value)r.", what=label, value=value))
    value = float(value)
    if not math.isfinite(value):
        raise ValidationError(env._("%(what)s: the quantity must be a number, not %(value)s.", what=label, value=value))
    if abs(value) > MAX_QUANTITY:
        raise ValidationError(
            env._(
                "%(what)s: %(value)g is beyond any real quantity (at most %(max)g).",
                what=label,
                value=value,
                max=MAX_QUANTITY,
            )
        )
    if value < 0 or (not allow_zero and value == 0):
        raise ValidationError(
            env._("%(what)s: the quantity must be positive, not %(value)g.", what=label, value=value)
            if not allow_zero
            else env._("%(what)s: the quantity cannot be negative (%(value)g).", what=label, value=value)
        )
    return value


def check_not_derived(records, vals_list, fnames, reason=None):
    """Refuse values given for ``fnames`` of ``records``' model: fields the addon
    derives from other records (statuses, quantities, related columns), which a
    write would make lie until their next recomputation. ``reason`` says where
    their values come from instead."""
    given = sorted({fname for vals in vals_list for fname in vals if fname in fnames})
    if given:
        env = records.env
        raise UserError(
            env._(
                "%(fields)s of %(model)s cannot be written: %(reason)s",
                fields=", ".join(records._fields[fname]._description_string(env) for fname in given),
                model=env["ir.model"]._get(records._name).name,
                reason=reason or env._("they are computed from other records."),
            )
        )


# what the web client legitimately sends that the addon's actions keep
SAFE_CONTEXT_KEYS = ("lang", "tz", "allowed_company_ids")


def without_client_context(records):
    """``records`` with only the language, time zone and companies of the caller's
    context. Any other key is input an RPC client can send, and Odoo's own methods
    that the addon's actions call honour many of them (units and locations of split
    moves, backorders not to create, defaults of the records they copy): the
    actions run without them."""
    context = records.env.context
    # with_context(dict) replaces the context, which is the point here
    # pylint: disable-next=context-overridden
    return records.with_context({key: context[key] for key in SAFE_CONTEXT_KEYS if key in context})


def check_ship_date(env, ship_date):
    """The actual ship date of a shipment: now when empty; never in the future."""
    now = fields.Datetime.now()
    ship_date = fields.Datetime.to_datetime(ship_date) or now
    if ship_date > now:
        raise UserError(env._("The actual ship date cannot be in the future."))
    return ship_date


def take_pending(records, fnames):
    """``records`` and every other record whose ``fnames`` (computed together) are
    pending, taken off the ORM's list of what to compute. The ORM hands computes
    over in batches of 1,000 records; taking every pending record at once lets one
    query read and one write however many changed."""
    env = records.env
    pending = env.records_to_compute(records._fields[fnames[0]])
    # new records' ids are false: dropped without building a record for each one
    taken = records | records.browse([record_id for record_id in pending._ids if record_id])
    for fname in fnames:
        env.remove_to_compute(records._fields[fname], taken)
    return taken
