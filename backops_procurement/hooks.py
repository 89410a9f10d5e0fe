"""What uninstalling the addon does before Odoo removes its records and columns."""

# activity types of data/mail_activity_type_data.xml
ACTIVITY_TYPES = (
    "mail_activity_purchase_approval",
    "mail_activity_procurement_slip",
    "mail_activity_returned_after_invoicing",
    "mail_activity_purchase_closed",
    "mail_activity_demand_change",
)


def uninstall_hook(env):
    """Hand the addon's activities over to Odoo's To-Do type.

    Activities reference their type with ``ondelete='restrict'``: while one of the
    addon's types is used (an approval to give, a slip to look at, done activities
    kept in the history), Odoo cannot delete the type and leaves it behind, with
    its external id. Each activity keeps its user, deadline, note and summary (the
    type's own summary when it had none), so that no reminder is lost."""
    todo = env.ref("mail.mail_activity_data_todo", raise_if_not_found=False)
    for xmlid in ACTIVITY_TYPES:
        activity_type = env.ref(f"backops_procurement.{xmlid}", raise_if_not_found=False)
        if not activity_type:
            continue
        # archived too: done activities Odoo keeps
        activities = (
            env["mail.activity"].with_context(active_test=False).search([("activity_type_id", "=", activity_type.id)])
        )
        if not activities:
            continue
        if not todo:  # a database without Odoo's To-Do type: nothing to hand them to
            activities.unlink()
            continue
        activities.filtered(lambda activity: not activity.summary).write(
            {"summary": activity_type.summary or activity_type.name}
        )
        activities.write({"activity_type_id": todo.id})
