"""Helpers shared by the addon's models and wizards."""

import math

from odoo.exceptions import ValidationError

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
            env._("%(what)s: %(value)g is beyond any real quantity (at most %(max)g).", what=label, value=value, max=MAX_QUANTITY)
        )
    if value < 0 or (not allow_zero and value == 0):
        raise ValidationError(
            env._("%(what)s: the quantity must be positive, not %(value)g.", what=label, value=value)
            if not allow_zero
            else env._("%(what)s: the quantity cannot be negative (%(value)g).", what=label, value=value)
        )
    return value
