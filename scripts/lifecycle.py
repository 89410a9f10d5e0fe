"""Lifecycle checks of backops_procurement: uninstalling it leaves Odoo working, and
upgrading a database made by the previous version keeps its data.

    python scripts/lifecycle.py -c .backops/odoo.conf [--only uninstall|upgrade] [--keep]

Run by `make lifecycle` (scripts/backops.sh lifecycle) with the project's virtualenv.

**Uninstall** (database ``backops_lifecycle_uninstall``): Sales, Purchase, Inventory
and the addon, without demo data; procurement work built through the addon (needs,
allocations on an RFQ and on purchase orders, an approval tier with an order waiting
for it and one it approved, a partial receipt, a customer backorder, a nightly Fill
Backorders policy, activities and digests); the addon uninstalled with Odoo's own
``button_immediate_uninstall``. Then, in a new process whose addons path no longer
holds the addon: nothing of it is left (models, tables, columns, fields, views, menus,
actions, rules, crons, external ids), Odoo's screens and reports load, the order left
waiting is approved, a new sale and a new purchase are confirmed, their receipt and
delivery validated, and Odoo's own double validation works.

**Upgrade** (database ``backops_lifecycle_upgrade``): the addon of
``--previous-ref`` (``$BACKOPS_PREVIOUS_REF``, default ``f5823e4``, the previous
landing), taken out of git into a temporary folder, installed and given the same
procurement work with its own code; a snapshot of its rows; ``odoo-bin -u
backops_procurement`` with the current tree, whose log must hold no ERROR. Then every
row and column of the snapshot is still there with its value (a stored computed
column may only change to what the current code computes), every stored computed
field of the addon holds what its compute gives now, the fields the new version adds
are filled on existing records, and the waiting order can still be approved and the
open receipt received.

Both databases are copies of one made first with Sales, Purchase and Inventory
(``backops_lifecycle_base``), on which the addon is installed, as a company adding
it would. The three are dropped first and at the end (``--keep`` keeps them to look
into). Each check prints an ``OK`` line; a step stops at its first failure with a
``FAIL`` line and the script exits 1. Logs and snapshots: ``.backops/lifecycle/``.
"""

import argparse
import ast
import configparser
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ADDON = "backops_procurement"
ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PREVIOUS_REF = "f5823e4"
ERROR_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ \d+ (ERROR|CRITICAL) ")
WARNING_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ \d+ WARNING ")


class CheckFailed(Exception):
    pass


def ok(message):
    print(f"OK   {message}", flush=True)


def expect(condition, message):
    """Stop the step unless ``condition`` (what building the records relies on)."""
    if not condition:
        raise CheckFailed(message)


def check(condition, message, detail=None):
    """An ``OK`` line, or stop the step with ``message`` (and ``detail``)."""
    if not condition:
        raise CheckFailed(message + (f": {detail}" if detail not in (None, "") else ""))
    ok(message)


# ==========================================================================
# Orchestration: odoo-bin, and each step in a process of its own (this one loads no registry)
# ==========================================================================
class Lifecycle:
    def __init__(self, args):
        self.args = args
        self.conf = Path(args.config).resolve()
        parser = configparser.ConfigParser()
        parser.read(self.conf)
        options = parser["options"]
        self.data_dir = Path(options.get("data_dir"))
        paths = [path.strip() for path in options.get("addons_path").split(",") if path.strip()]
        # the addons path without the entry holding this addon: plain Odoo
        self.odoo_paths = [path for path in paths if not (Path(path) / ADDON / "__manifest__.py").exists()]
        self.current_path = ",".join([*self.odoo_paths, str(ROOT)])
        self.plain_path = ",".join(self.odoo_paths)
        self.odoo_bin = args.odoo_bin
        self.logs = Path(args.log_dir)
        self.logs.mkdir(parents=True, exist_ok=True)
        self.base_ready = False

    # ---------------------------------------------------------------- helpers
    def drop(self, dbname):
        pgtool().drop(dbname)
        shutil.rmtree(self.data_dir / "filestore" / dbname, ignore_errors=True)

    def new_database(self, dbname):
        """``dbname``, a copy of a database with Odoo's Sales, Purchase and Inventory
        (``sale_purchase_stock``, no demo data), made once per run: both checks start
        from it and install the addon on top, as a company adding it would."""
        base = self.args.base_db
        if not self.base_ready:
            self.drop(base)
            self.odoo("base-install", base, self.plain_path, "-i", "sale_purchase_stock", "--without-demo=all")
            self.base_ready = True
        self.drop(dbname)
        pgtool().copy(base, dbname)
        filestore = self.data_dir / "filestore" / base
        if filestore.exists():
            shutil.copytree(filestore, self.data_dir / "filestore" / dbname)

    def odoo(self, label, dbname, addons_path, *options):
        """``odoo-bin`` with the project's configuration and ``addons_path``; its log
        (level info) must end well and hold no ERROR or CRITICAL line."""
        log = self.logs / f"{label}.log"
        log.unlink(missing_ok=True)
        command = [
            sys.executable,
            self.odoo_bin,
            "-c",
            str(self.conf),
            "-d",
            dbname,
            f"--addons-path={addons_path}",
            "--stop-after-init",
            "--log-level=info",
            f"--logfile={log}",
            *options,
        ]
        started = time.perf_counter()
        status = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        seconds = time.perf_counter() - started
        text = log.read_text(errors="replace") if log.exists() else ""
        errors = [line for line in text.splitlines() if ERROR_LINE.match(line)]
        warnings = [line for line in text.splitlines() if WARNING_LINE.match(line)]
        if status.returncode or errors:
            shown = "\n  ".join(errors[:10] or status.stderr.strip().splitlines()[-10:])
            raise CheckFailed(f"odoo-bin {' '.join(options)} failed (exit {status.returncode}, see {log}):\n  {shown}")
        for line in warnings[:10]:
            print(f"     warning logged: {line[24:]}")
        ok(f"odoo-bin {' '.join(options)} on {dbname}: no ERROR logged, {len(warnings)} warning(s) ({seconds:.0f} s)")
        return text

    def step(self, phase, dbname, addons_path, state=None):
        """Run ``phase`` of this script in a process of its own on ``addons_path``."""
        log = self.logs / f"{phase}.log"
        log.unlink(missing_ok=True)
        command = [
            sys.executable,
            __file__,
            "-c",
            str(self.conf),
            "--phase",
            phase,
            "-d",
            dbname,
            "--addons-path",
            addons_path,
            "--logfile",
            str(log),
        ]
        if state:
            command += ["--state", str(state)]
        status = subprocess.run(command)
        if status.returncode:
            raise CheckFailed(f"step {phase} failed (its log: {log})")

    # ---------------------------------------------------------------- uninstall
    def uninstall(self):
        db = self.args.uninstall_db
        print(f"\n== Uninstall: {db}")
        self.new_database(db)
        self.odoo("uninstall-install", db, self.current_path, "-i", ADDON)
        state = self.logs / "uninstall.json"
        self.step("build-uninstall", db, self.current_path, state)
        self.step("uninstall", db, self.current_path, state)
        self.step("check-uninstalled", db, self.plain_path, state)

    # ---------------------------------------------------------------- upgrade
    def upgrade(self, workdir):
        db = self.args.upgrade_db
        ref = self.args.previous_ref
        print(f"\n== Upgrade from {ref}: {db}")
        commit = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],
            capture_output=True,
            text=True,
        ).stdout.strip()
        if not commit:
            raise CheckFailed(f"{ref} is not a commit of {ROOT} (set BACKOPS_PREVIOUS_REF)")
        old_tree = workdir / "previous"
        old_tree.mkdir()
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit, ADDON], capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(old_tree)], input=archive.stdout, check=True)
        old_version = manifest(old_tree / ADDON)["version"]
        new_version = manifest(ROOT / ADDON)["version"]
        ok(f"previous version {old_version} ({commit[:10]}) in {old_tree}, current {new_version}")
        old_path = ",".join([*self.odoo_paths, str(old_tree)])
        self.new_database(db)
        self.odoo("upgrade-install-previous", db, old_path, "-i", ADDON)
        state = self.logs / "upgrade.json"
        self.step("build-upgrade", db, old_path, state)
        self.odoo("upgrade-update", db, self.current_path, "-u", ADDON)
        self.step("check-upgraded", db, self.current_path, state)

    def run(self):
        started = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="backops-lifecycle-") as workdir:
            try:
                if self.args.only in (None, "uninstall"):
                    self.uninstall()
                if self.args.only in (None, "upgrade"):
                    self.upgrade(Path(workdir))
            except CheckFailed as exc:
                print(f"FAIL {exc}", flush=True)
                return 1
            finally:
                # kept with --keep only, to look into (the next run drops them first)
                if not self.args.keep:
                    for dbname in (self.args.base_db, self.args.uninstall_db, self.args.upgrade_db):
                        self.drop(dbname)
        print(f"\nlifecycle: every check passed in {time.perf_counter() - started:.0f} s")
        return 0


def pgtool():
    """The project's PostgreSQL helper, next to this script."""
    if str(ROOT / "scripts") not in sys.path:
        sys.path.insert(0, str(ROOT / "scripts"))
    import pgtool as module

    return module


def manifest(addon_dir):
    return ast.literal_eval((Path(addon_dir) / "__manifest__.py").read_text())


# ==========================================================================
# Steps, each in its own process, with Odoo as a library
# ==========================================================================
def odoo_environment(args):
    """A superuser environment on ``args.database``; the caller commits."""
    import odoo
    from odoo import SUPERUSER_ID, api
    from odoo.modules.registry import Registry

    odoo.tools.config.parse_config(
        [
            "-c",
            args.config,
            "-d",
            args.database,
            f"--addons-path={args.addons_path}",
            "--log-level=info",
            f"--logfile={args.logfile}",
        ]
    )
    registry = Registry(args.database)
    cr = registry.cursor()
    # no context: chatter, tracking and digests as a user would make them
    return api.Environment(cr, SUPERUSER_ID, {})


def build_records(env):
    """Procurement work, through the addon's code (the current one, or the previous
    version's: only what both have). Returns the ids of what the checks follow."""
    from odoo import Command

    company = env.company
    warehouse = env["stock.warehouse"].search([("company_id", "=", company.id)], limit=1)
    group = env["res.groups"].create({"name": "Lifecycle Approvers"})
    purchase_user = env.ref("purchase.group_purchase_user")
    buyer, approver = env["res.users"].create(
        [
            {
                "name": "Lifecycle Buyer",
                "login": "lifecycle_buyer",
                "email": "buyer@lifecycle.example.com",
                "groups_id": [Command.set((purchase_user | env.ref("sales_team.group_sale_salesman")).ids)],
            },
            {
                "name": "Lifecycle Approver",
                "login": "lifecycle_approver",
                "email": "approver@lifecycle.example.com",
                "groups_id": [Command.set((purchase_user | group).ids)],
            },
        ]
    )
    tier = env["backops.approval.tier"].create(
        {"name": "Lifecycle Tier", "min_amount": 1000, "group_id": group.id, "company_id": company.id}
    )
    customer, vendor = env["res.partner"].create(
        [
            {"name": "Harbourlight Festival", "email": "hf@lifecycle.example.com"},
            {"name": "FairwayFleet Carts", "email": "ff@lifecycle.example.com"},
        ]
    )
    cart = env["product.product"].create(
        {
            "name": "Golf Cart",
            "type": "consu",
            "is_storable": True,
            "subject_to_procurement": True,
            "seller_ids": [Command.create({"partner_id": vendor.id, "price": 100.0})],
        }
    )
    chair = env["product.product"].create({"name": "Banquet Chair", "type": "consu", "is_storable": True})

    def sale(product, quantity):
        order = env["sale.order"].create(
            {
                "partner_id": customer.id,
                "order_line": [Command.create({"product_id": product.id, "product_uom_qty": quantity})],
            }
        )
        order.action_confirm()
        return order

    def purchase(quantity, need, allocated, confirm=True):
        order = (
            env["purchase.order"]
            .with_user(buyer)
            .create(
                {
                    "partner_id": vendor.id,
                    "order_line": [
                        Command.create({"product_id": cart.id, "product_qty": quantity, "price_unit": 100.0})
                    ],
                }
            )
        )
        env["backops.procurement.allocation"].with_user(buyer).create(
            {"sale_line_id": need.id, "purchase_line_id": order.order_line.id, "quantity": allocated}
        )
        if confirm:
            order.button_confirm()
        return order.with_user(env.user)

    # a need of 10 carts: 6 on a draft RFQ, 4 on a confirmed purchase order (under
    # the tier) of which 2 are received, the other 2 left on a receipt backorder
    festival = sale(cart, 10)
    festival.message_subscribe(partner_ids=buyer.partner_id.ids)  # with the default subtypes
    need = festival.order_line
    rfq = purchase(6, need, 6, confirm=False)
    ordered = purchase(4, need, 4)
    expect(ordered.state == "purchase", f"the order under the tier is {ordered.state}")
    validate(env, ordered.picking_ids, {cart: 2})
    # needs of 15 and 12 carts: 1,500 waiting for the tier, 1,200 approved
    gala = sale(cart, 15)
    waiting = purchase(15, gala.order_line, 15)
    expect(waiting.state == "to approve", f"the order above the tier is {waiting.state}")
    press = sale(cart, 12)
    approved = purchase(12, press.order_line, 12)
    expect(approved.state == "to approve", f"the order above the tier is {approved.state}")
    request = (
        env["backops.approval.request"]
        .with_user(approver)
        .search([("purchase_order_id", "=", approved.id), ("state", "=", "pending")])
    )
    request.action_approve()
    expect(approved.state == "purchase", f"the approved order is {approved.state}")
    # a customer backorder: 5 chairs sold, 2 in stock and shipped
    env["stock.quant"]._update_available_quantity(chair, warehouse.lot_stock_id, 2)
    banquet = sale(chair, 5)
    banquet.picking_ids.action_assign()
    validate(env, banquet.picking_ids, {chair: 2})
    backorder = banquet.picking_ids.filtered(lambda picking: picking.state != "done")
    expect(backorder.backorder_id, "shipping 2 of 5 chairs left no backorder")
    fill = env["backops.backorder.fill"].create(
        {"name": "Nightly partial fill", "mode": "partial", "cron_active": True}
    )
    env.flush_all()
    ids = {
        "company": company.id,
        "buyer": buyer.id,
        "approver": approver.id,
        "tier": tier.id,
        "vendor": vendor.id,
        "customer": customer.id,
        "cart": cart.id,
        "chair": chair.id,
        "festival": festival.id,
        "gala": gala.id,
        "press": press.id,
        "banquet": banquet.id,
        "rfq": rfq.id,
        "ordered": ordered.id,
        "waiting": waiting.id,
        "approved": approved.id,
        "backorder": backorder.id,
        "fill": fill.id,
    }
    activity_types = env["ir.model.data"].search([("module", "=", ADDON), ("model", "=", "mail.activity.type")])
    activities = (
        env["mail.activity"]
        .with_context(active_test=False)
        .search([("activity_type_id", "in", activity_types.mapped("res_id"))])
    )
    ids["activities"] = activities.ids
    ok(
        f"built with the addon: 3 needs, 4 allocations (RFQ, confirmed, waiting for the tier, approved), "
        f"a partial receipt, a customer backorder, a fill policy, {len(activities)} activities of its types"
    )
    return ids


def validate(env, pickings, quantities):
    """Validate ``pickings`` as a user does: set the quantities done (per product,
    the rest of each move when absent), Validate, and keep a backorder for what is
    not done (Odoo's backorder wizard)."""
    for move in pickings.move_ids:
        move.quantity = quantities.get(move.product_id, move.product_uom_qty)
        move.picked = True
    action = pickings.button_validate()
    if isinstance(action, dict) and action.get("res_model") == "stock.backorder.confirmation":
        env["stock.backorder.confirmation"].with_context(action["context"]).create({}).process()
    elif action is not True:
        raise CheckFailed(f"validating {pickings.mapped('name')} asks {action.get('res_model')}")


def addon_schema(env):
    """What the addon owns in the database: its models and tables, the stored fields
    it adds to any model (table, column, computed or not), its many2many tables."""
    data = env["ir.model.data"].search([("module", "=", ADDON)])
    by_model = {}
    for record in data:
        by_model.setdefault(record.model, []).append(record.res_id)
    xmlids = {model: len(res_ids) for model, res_ids in by_model.items()}
    # what only the addon defines (Odoo keeps a model or field another module
    # defines too: sale.order, or a field the addon redefines)
    for model in ("ir.model", "ir.model.fields"):
        shared = env["ir.model.data"].search(
            [("model", "=", model), ("res_id", "in", by_model.get(model, [])), ("module", "!=", ADDON)]
        )
        by_model[model] = sorted(set(by_model.get(model, [])) - set(shared.mapped("res_id")))
    models_ = env["ir.model"].browse(by_model.get("ir.model", [])).mapped("model")
    fields_ = []
    for ir_field in env["ir.model.fields"].browse(by_model.get("ir.model.fields", [])):
        model = env.registry.get(ir_field.model)
        field = model._fields.get(ir_field.name) if model is not None else None
        fields_.append(
            {
                "model": ir_field.model,
                "name": ir_field.name,
                "table": model._table if model is not None else None,
                "column": bool(field is not None and field.store and field.column_type),
                "computed": bool(field is not None and field.compute and field.store and field.readonly),
                "relation_table": getattr(field, "relation", None)
                if field is not None and field.type == "many2many"
                else None,
            }
        )
    tables = sorted(
        {env.registry[name]._table for name in models_ if name in env.registry and not env.registry[name]._abstract}
    )
    relations = env["ir.model.relation"].search([("module.name", "=", ADDON)]).mapped("name")
    return {
        "models": sorted(models_),
        "tables": tables,
        "fields": fields_,
        "relations": sorted(relations),
        "xmlids": xmlids,
    }


MAGIC_COLUMNS = ("id", "create_uid", "create_date", "write_uid", "write_date")

# Odoo's own columns whose values the upgrade must keep, next to every column of the addon
CORE_COLUMNS = {
    "sale_order": ["name", "state", "partner_id", "amount_total"],
    "sale_order_line": ["order_id", "product_id", "product_uom_qty", "qty_delivered", "state"],
    "purchase_order": ["name", "state", "partner_id", "amount_total"],
    "purchase_order_line": ["order_id", "product_id", "product_qty", "qty_received", "sale_line_id"],
    "stock_picking": ["name", "state", "backorder_id", "picking_type_id"],
    "stock_move": ["picking_id", "product_id", "product_uom_qty", "quantity", "state"],
    "res_company": ["name"],
    "mail_activity": ["res_model", "res_id", "activity_type_id", "user_id", "summary", "date_deadline"],
}


def snapshot(env, schema, kept=None):
    """Every row of the addon's tables, and of Odoo's tables it adds columns to (those
    columns and Odoo's own key columns), as JSON values. ``kept``: {table: columns}
    of an earlier snapshot whose columns are read too where the table still has
    them (a field no longer stored leaves its column, as Odoo does)."""
    columns = {table: {"id", *names} for table, names in CORE_COLUMNS.items()}
    for field in schema["fields"]:
        if field["column"] and field["table"] not in schema["tables"]:
            columns.setdefault(field["table"], {"id"}).add(field["name"])
    for table, names in (kept or {}).items():
        if table in columns and table not in schema["tables"]:
            env.cr.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = %s AND column_name = ANY(%s)",
                [table, list(names)],
            )
            columns[table].update(name for (name,) in env.cr.fetchall())
    for table in schema["tables"] + schema["relations"]:
        env.cr.execute("SELECT column_name FROM information_schema.columns WHERE table_name = %s", [table])
        columns[table] = {name for (name,) in env.cr.fetchall()} - {"write_date", "write_uid"}
    rows = {}
    for table, names in sorted(columns.items()):
        names = sorted(names)
        select = ", ".join(f'"{name}"' for name in names)
        order = "id" if "id" in names else select
        env.cr.execute(f'SELECT {select} FROM "{table}" ORDER BY {order}')  # noqa: S608 - names from the catalogue
        rows[table] = {"columns": names, "rows": [[json_value(value) for value in row] for row in env.cr.fetchall()]}
    return rows


def json_value(value):
    if isinstance(value, float):
        return round(value, 6)
    if value is None or isinstance(value, (int, bool, str)):
        return value
    if isinstance(value, dict):
        return value
    try:
        return float(value) if type(value).__name__ == "Decimal" else str(value)
    except (TypeError, ValueError):
        return str(value)


def phase_build(env, args, upgrade):
    ids = build_records(env)
    schema = addon_schema(env)
    state = {"ids": ids, "schema": schema}
    if upgrade:
        state["snapshot"] = snapshot(env, schema)
        state["version"] = env["ir.module.module"].search([("name", "=", ADDON)]).latest_version
    env.cr.commit()
    # the fulfilment digests are posted when the transaction commits
    subtypes = env["ir.model.data"].search([("module", "=", ADDON), ("model", "=", "mail.message.subtype")])
    messages = env["mail.message"].search([("subtype_id", "in", subtypes.mapped("res_id"))])
    followers = env["mail.followers"].search_count([("subtype_ids", "in", subtypes.mapped("res_id"))])
    ids["messages"] = messages.ids
    if subtypes:
        ok(f"{len(messages)} messages and {followers} followers of its message subtypes")
    Path(args.state).write_text(json.dumps(state, indent=1))
    ok(
        f"committed; the addon owns {len(schema['models'])} models, {len(schema['tables'])} tables, "
        f"{sum(1 for f in schema['fields'] if f['column'])} columns, {sum(schema['xmlids'].values())} external ids"
    )


def phase_uninstall(env, args):
    module = env["ir.module.module"].search([("name", "=", ADDON)])
    check(module.state == "installed", f"{ADDON} installed before uninstalling")
    started = time.perf_counter()
    module.button_immediate_uninstall()
    env.cr.rollback()
    env.invalidate_all()
    state = env["ir.module.module"].search([("name", "=", ADDON)]).state
    log = Path(args.logfile).read_text(errors="replace")
    errors = [line for line in log.splitlines() if ERROR_LINE.match(line)]
    check(not errors, "uninstalling logs no ERROR", "\n  ".join(errors[:10]))
    undeletable = re.findall(r"ir\.model\.data could not be deleted \((.*)\)", log)
    check(
        undeletable and all(found == "[]" for found in undeletable),
        "Odoo deleted every record of the addon (no 'ir.model.data could not be deleted')",
        undeletable,
    )
    check(
        state == "uninstalled",
        f"button_immediate_uninstall: {ADDON} uninstalled ({time.perf_counter() - started:.0f} s)",
        state,
    )


def phase_check_uninstalled(env, args):
    """Plain Odoo (the addons path no longer holds the addon): nothing of the addon
    left, and Odoo's sales, purchases, approvals and stock work on what it left."""
    from odoo import Command, fields

    state = json.loads(Path(args.state).read_text())
    ids, schema = state["ids"], state["schema"]
    cr = env.cr
    check(ADDON not in env.registry._init_modules, f"the registry loads without {ADDON}")

    # ---- nothing left in the database
    def rows(query, params=()):
        cr.execute(query, params)
        return cr.fetchall()

    check(not rows("SELECT id FROM ir_model_data WHERE module = %s", [ADDON]), f"no external id of {ADDON}")
    check(
        not rows("SELECT model FROM ir_model WHERE model LIKE 'backops.%%' OR model LIKE 'report.backops%%'"),
        "no backops.* model in ir.model",
    )
    check(
        not rows("SELECT 1 FROM ir_model WHERE model = ANY(%s)", [schema["models"]]), "none of its models in ir.model"
    )
    tables = rows(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() "
        "AND (table_name LIKE 'backops%%' OR table_name = ANY(%s))",
        [schema["tables"] + schema["relations"]],
    )
    check(
        not tables,
        f"no table of the addon ({len(schema['tables'])} models, {len(schema['relations'])} many2many)",
        tables,
    )
    added = [(f["table"], f["name"]) for f in schema["fields"] if f["column"] and f["table"] not in schema["tables"]]
    left = [
        (table, column)
        for table, column in rows(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema()"
        )
        if (table, column) in added or column.startswith("backops_")
    ]
    check(
        not left,
        f"none of the {len(added)} columns it added to Odoo's tables (sale_order_line, purchase_order, "
        "stock_picking, res_company...) nor any backops_* column",
        left,
    )
    check(
        not rows(
            "SELECT model, name FROM ir_model_fields"
            " WHERE (model, name) IN (SELECT * FROM unnest(%s::varchar[], %s::varchar[]))",
            [[f["model"] for f in schema["fields"]], [f["name"] for f in schema["fields"]]],
        )
        and not rows("SELECT model, name FROM ir_model_fields WHERE name LIKE 'backops\\_%%'"),
        f"none of its {len(schema['fields'])} fields in ir.model.fields",
    )
    leftovers = {
        "views": "SELECT id, name FROM ir_ui_view WHERE arch_db::text ILIKE '%%backops%%' OR key ILIKE 'backops%%'",
        "menus": "SELECT m.id, m.name FROM ir_ui_menu m WHERE m.action IS NOT NULL AND NOT EXISTS "
        "(SELECT 1 FROM ir_actions a WHERE a.id = split_part(m.action, ',', 2)::int)",
        "window actions": "SELECT id, name FROM ir_act_window WHERE res_model LIKE 'backops.%%' "
        "OR context ILIKE '%%backops%%' OR domain ILIKE '%%backops%%'",
        "server actions and crons": "SELECT id, name FROM ir_act_server WHERE code ILIKE '%%backops%%' "
        "OR model_name LIKE 'backops.%%'",
        "reports": "SELECT id, name FROM ir_act_report_xml WHERE report_name ILIKE 'backops%%' "
        "OR model LIKE 'backops.%%'",
        "record rules": "SELECT id, name FROM ir_rule WHERE domain_force ILIKE '%%backops%%'",
        "access rights": "SELECT id, name FROM ir_model_access WHERE name ILIKE '%%backops%%'",
        "default values": "SELECT d.id FROM ir_default d JOIN ir_model_fields f ON f.id = d.field_id "
        "WHERE f.name LIKE 'backops%%' OR f.model LIKE 'backops.%%'",
        "system parameters": "SELECT id, key FROM ir_config_parameter WHERE key ILIKE '%%backops%%'",
        "mail templates": "SELECT id, model FROM mail_template WHERE model LIKE 'backops.%%' "
        "OR body_html::text ILIKE '%%backops%%'",
        "activity types": "SELECT id, res_model FROM mail_activity_type WHERE res_model LIKE 'backops.%%'",
        "message subtypes": "SELECT id, res_model FROM mail_message_subtype WHERE res_model LIKE 'backops.%%'",
        "messages and followers of its models": "SELECT id, model FROM mail_message WHERE model LIKE 'backops.%%' "
        "UNION ALL SELECT id, res_model FROM mail_followers WHERE res_model LIKE 'backops.%%' "
        "UNION ALL SELECT id, res_model FROM mail_activity WHERE res_model LIKE 'backops.%%'",
        "filters": "SELECT id, model_id FROM ir_filters WHERE model_id LIKE 'backops.%%'",
        "assets": "SELECT id, path FROM ir_asset WHERE path ILIKE '%%backops%%'",
        "groups and categories": "SELECT id, name::text FROM res_groups WHERE name::text ILIKE '%%procurement%%' "
        'UNION ALL SELECT id, name::text FROM ir_module_category WHERE name::text = \'{"en_US": "Procurement"}\'',
    }
    for label, query in leftovers.items():
        found = rows(query)
        check(not found, f"no {label} of the addon left", found[:10])
    dangling = rows(
        "SELECT id, res_model, res_id FROM mail_activity a WHERE NOT EXISTS "
        "(SELECT 1 FROM mail_activity_type t WHERE t.id = a.activity_type_id) AND a.activity_type_id IS NOT NULL"
    )
    check(not dangling, "every activity left has its activity type", dangling)

    # ---- Odoo's screens and reports load without the addon's views
    for model, types in [
        ("sale.order", ("form", "list", "search", "kanban")),
        ("sale.order.line", ("form", "list", "search")),
        ("purchase.order", ("form", "list", "search", "kanban")),
        ("purchase.order.line", ("form", "list", "search")),
        ("stock.picking", ("form", "list", "search")),
        ("stock.move", ("form", "list")),
        ("product.template", ("form", "list", "search")),
        ("res.company", ("form",)),
        ("res.config.settings", ("form",)),
    ]:
        env[model].get_views([(False, view_type) for view_type in types])
    ok("the views of sale and purchase orders and lines, transfers, products, companies and settings load")
    Report = env["ir.actions.report"]
    for report, _model, record_ids in [
        ("purchase.report_purchasequotation", "purchase.order", [ids["rfq"]]),
        ("purchase.report_purchaseorder", "purchase.order", [ids["ordered"], ids["approved"]]),
        ("stock.report_deliveryslip", "stock.picking", env["sale.order"].browse(ids["banquet"]).picking_ids.ids),
        ("sale.report_saleorder", "sale.order", [ids["festival"]]),
    ]:
        html, _kind = Report._render_qweb_html(report, record_ids)
        check(b"backops" not in html.lower(), f"{report} renders as in Odoo")
    activities = env["mail.activity"].with_context(active_test=False).browse(ids["activities"]).exists()
    todo = env.ref("mail.mail_activity_data_todo")
    check(
        ids["activities"]
        and len(activities) == len(ids["activities"])
        and all(activity.activity_type_id == todo and activity.summary for activity in activities),
        f"the {len(ids['activities'])} activities of its types are kept as To-Dos with their summary",
        activities.read(["activity_type_id", "summary"]),
    )
    messages = env["mail.message"].browse(ids["messages"]).exists()
    check(
        len(messages) == len(ids["messages"]),
        f"the {len(ids['messages'])} messages posted with its subtypes are kept in the chatter",
        len(messages),
    )
    messages.read(["body", "subtype_id", "model", "res_id"])
    env["mail.activity"].search([("res_model", "in", ("purchase.order", "sale.order"))]).read(
        ["activity_type_id", "summary", "res_name", "note"]
    )
    buyer = env["res.users"].browse(ids["buyer"])  # a salesperson too
    env["sale.order"].with_user(buyer).search_read([], ["name", "order_line"])
    env["sale.order.line"].with_user(buyer).search_read([], ["product_uom_qty", "qty_delivered"])
    env["purchase.order"].with_user(buyer).search_read([], ["name", "state"])
    ok("a salesperson and buyer reads sale orders, lines and purchase orders (record rules without the addon's)")

    # ---- what the addon left, in plain Odoo
    Purchase = env["purchase.order"]
    waiting = Purchase.browse(ids["waiting"])
    check(waiting.state == "to approve", "the order left waiting for the tier is still To Approve", waiting.state)
    waiting.button_approve()
    check(
        waiting.state == "purchase" and waiting.picking_ids,
        "Odoo's Approve confirms it (purchase manager) and makes its receipt",
        waiting.state,
    )
    rfq = Purchase.browse(ids["rfq"])
    rfq.button_confirm()
    check(rfq.state == "purchase", "the RFQ the addon allocated confirms in plain Odoo", rfq.state)
    ordered = Purchase.browse(ids["ordered"])
    open_receipts = ordered.picking_ids.filtered(lambda picking: picking.state not in ("done", "cancel"))
    validate(env, open_receipts, {})
    check(
        ordered.order_line.qty_received == ordered.order_line.product_qty and ordered.receipt_status == "full",
        "the receipt backorder left by the addon is received in full",
        ordered.order_line.qty_received,
    )
    backorder = env["stock.picking"].browse(ids["backorder"])
    chair = env["product.product"].browse(ids["chair"])
    env["stock.quant"]._update_available_quantity(chair, backorder.location_id, 3)
    backorder.action_assign()
    validate(env, backorder, {})
    banquet = env["sale.order"].browse(ids["banquet"])
    check(
        backorder.state == "done" and banquet.order_line.qty_delivered == 5,
        "the customer backorder ships; the sale line is delivered (5)",
        (backorder.state, banquet.order_line.qty_delivered),
    )

    # ---- a new sale and a new purchase in plain Odoo
    customer = env["res.partner"].browse(ids["customer"])
    vendor = env["res.partner"].browse(ids["vendor"])
    crate = env["product.product"].create(
        {
            "name": "Plain Crate",
            "type": "consu",
            "is_storable": True,
            "seller_ids": [Command.create({"partner_id": vendor.id, "price": 100.0})],
        }
    )
    po = Purchase.create(
        {
            "partner_id": vendor.id,
            "order_line": [Command.create({"product_id": crate.id, "product_qty": 5, "price_unit": 100.0})],
        }
    )
    po.button_confirm()
    check(po.state == "purchase" and po.picking_ids, "a new purchase order confirms, with its receipt", po.state)
    validate(env, po.picking_ids, {})
    check(
        po.receipt_status == "full" and crate.qty_available == 5,
        "its receipt is validated: 5 in stock",
        crate.qty_available,
    )
    so = env["sale.order"].create(
        {"partner_id": customer.id, "order_line": [Command.create({"product_id": crate.id, "product_uom_qty": 3})]}
    )
    so.action_confirm()
    check(so.state == "sale" and so.picking_ids, "a new sale order confirms, with its delivery", so.state)
    so.picking_ids.action_assign()
    check(so.picking_ids.state == "assigned", "its delivery is reserved", so.picking_ids.state)
    validate(env, so.picking_ids, {})
    check(
        so.order_line.qty_delivered == 3 and so.delivery_status == "full" and crate.qty_available == 2,
        "its delivery is validated: 3 delivered, 2 left",
        (so.order_line.qty_delivered, so.delivery_status),
    )

    # ---- Odoo's own approval (double validation)
    company = env["res.company"].browse(ids["company"])
    company.write({"po_double_validation": "two_step", "po_double_validation_amount": 500})
    po = Purchase.with_user(buyer).create(
        {
            "partner_id": vendor.id,
            "order_line": [Command.create({"product_id": crate.id, "product_qty": 10, "price_unit": 100.0})],
        }
    )
    po.button_confirm()
    check(po.state == "to approve", "double validation: a buyer's 1,000 order above 500 waits (To Approve)", po.state)
    po.button_approve()
    check(po.state == "to approve", "the buyer cannot approve it", po.state)
    po.with_user(env.ref("base.user_admin")).button_approve()
    check(po.state == "purchase", "a purchase manager approves it: confirmed", po.state)
    check(po.date_approve and po.date_approve <= fields.Datetime.now(), "Odoo records the approval date")
    env.cr.rollback()  # leaves the database as the uninstall did


def phase_check_upgraded(env, args):
    """The current code on the database the previous version made."""
    state = json.loads(Path(args.state).read_text())
    ids, schema_before, before = state["ids"], state["schema"], state["snapshot"]
    cr = env.cr
    module = env["ir.module.module"].search([("name", "=", ADDON)])
    current = manifest(ROOT / ADDON)
    check(
        module.state == "installed" and module.latest_version == current["version"],
        f"{ADDON} installed at {current['version']} (was {state['version']})",
        (module.state, module.latest_version),
    )
    missing = env["ir.module.module"].search([("name", "in", current["depends"]), ("state", "!=", "installed")])
    check(not missing, f"its dependencies are installed ({', '.join(current['depends'])})", missing.mapped("name"))

    missing = [
        xmlid for xmlid in data_xmlids(ROOT / ADDON, current["data"]) if not env.ref(xmlid, raise_if_not_found=False)
    ]
    check(
        not missing, "every record of the current data files exists (new activity types, subtypes, views...)", missing
    )

    schema = addon_schema(env)
    computed = {(f["table"], f["name"]) for f in schema["fields"] if f["computed"]}
    before_columns = {table: data["columns"] for table, data in before.items()}
    after = snapshot(env, schema, before_columns)

    # ---- every row and column of the previous version is kept
    kept = recomputed = 0
    problems, notes = [], []
    for table, data in before.items():
        if table not in after:
            problems.append(f"table {table} is gone")
            continue
        now = after[table]
        gone = set(data["columns"]) - set(now["columns"])
        if gone:
            problems.append(f"{table}: columns {sorted(gone)} are gone")
        common = [column for column in data["columns"] if column in now["columns"]]
        if "id" not in data["columns"]:  # a many2many table: the same pairs
            pairs = {tuple(r[now["columns"].index(c)] for c in common) for r in now["rows"]}
            lost = [row for row in data["rows"] if tuple(row[data["columns"].index(c)] for c in common) not in pairs]
            problems.extend(f"{table}: row {row} is gone" for row in lost)
            kept += len(data["rows"]) - len(lost)
            continue
        index_now = {row[now["columns"].index("id")]: row for row in now["rows"]}
        for row in data["rows"]:
            ident = row[data["columns"].index("id")]
            if ident not in index_now:
                problems.append(f"{table}: row id {ident} is gone")
                continue
            new_row = index_now[ident]
            for column, value in zip(data["columns"], row, strict=True):
                if column not in now["columns"]:
                    continue
                new_value = new_row[now["columns"].index(column)]
                if same(value, new_value):
                    continue
                if (table, column) in computed:
                    recomputed += 1
                    notes.append(f"{table}.{column} id {ident}: {value!r} -> {new_value!r}")
                else:
                    problems.append(f"{table}.{column} id {ident}: {value!r} became {new_value!r}")
            kept += 1
    check(
        not problems,
        f"every row of the previous version is kept with its values ({kept} rows of {len(before)} tables)",
        "\n  ".join(problems[:20]),
    )
    for note in notes[:20]:
        print(f"     recomputed by the new code: {note}")
    ok(f"{recomputed} stored computed value(s) changed, each checked against the new compute below")

    # ---- every stored computed field holds what its compute gives now
    cr.execute("SAVEPOINT lifecycle_recompute")
    env.invalidate_all()
    records_by_model = {}
    for field in schema["fields"]:
        if field["computed"] and field["column"]:
            model = env[field["model"]]
            records = records_by_model.setdefault(field["model"], model.with_context(active_test=False).search([]))
            env.add_to_compute(model._fields[field["name"]], records)
    env.flush_all()
    recomputed_now = snapshot(env, schema, before_columns)
    cr.execute("ROLLBACK TO SAVEPOINT lifecycle_recompute")
    env.invalidate_all()
    stale = []
    for table, data in after.items():
        columns = data["columns"]
        for row, fresh in zip(data["rows"], recomputed_now[table]["rows"], strict=True):
            for column, value, new_value in zip(columns, row, fresh, strict=True):
                if (table, column) in computed and not same(value, new_value):
                    stale.append(
                        f"{table}.{column} id {row[columns.index('id')]}: stored {value!r}, computed {new_value!r}"
                    )
    count = sum(1 for f in schema["fields"] if f["computed"] and f["column"])
    check(
        not stale,
        f"each of the {count} stored computed fields holds what the current code computes",
        "\n  ".join(stale[:20]),
    )

    # ---- the needs' statuses, kept on the sale lines before 18.0.1.2.0, have their rows
    cr.execute(
        """SELECT count(*) FROM sale_order_line sol
            WHERE NOT EXISTS (SELECT 1 FROM backops_need_status ns WHERE ns.id = sol.id)"""
    )
    missing = cr.fetchone()[0]
    check(not missing, "every sale line has its ordering status row (backops_need_status)", missing)
    cr.execute(
        """SELECT count(*) FROM information_schema.columns
            WHERE table_name = 'sale_order_line' AND column_name = 'procurement_status'"""
    )
    if cr.fetchone()[0]:
        cr.execute(
            """SELECT count(*), count(*) FILTER (
                      WHERE sol.procurement_status IS DISTINCT FROM ns.procurement_status
                         OR COALESCE(sol.procurement_allocated_qty, 0) != COALESCE(ns.procurement_allocated_qty, 0)
                         OR COALESCE(sol.procurement_remaining_qty, 0) != COALESCE(ns.procurement_remaining_qty, 0))
                 FROM sale_order_line sol JOIN backops_need_status ns ON ns.id = sol.id"""
        )
        lines, moved_changed = cr.fetchone()
        check(
            not moved_changed,
            f"the statuses of the {lines} sale lines are in their rows as the lines held them",
            moved_changed,
        )

    # ---- the fields the new version adds are filled on existing records
    old_fields = {(f["model"], f["name"]) for f in schema_before["fields"]}
    new_fields = [
        f
        for f in schema["fields"]
        if f["column"]
        and (f["model"], f["name"]) not in old_fields
        and not env[f["model"]]._transient
        and f["name"] not in MAGIC_COLUMNS
    ]
    names = ", ".join(f"{f['model']}.{f['name']}" for f in new_fields) or "none"
    print(f"     new stored fields: {names}")
    cr.execute(
        """SELECT count(*), count(l.backops_fulfilment_status), count(l.backops_promised_date)
             FROM sale_order_line l
            WHERE l.state = 'sale' AND l.display_type IS NULL AND l.product_id IS NOT NULL"""
    )
    lines, with_status, with_promise = cr.fetchone()
    check(
        lines and with_status == lines and with_promise == lines,
        f"the {lines} confirmed sale lines have a fulfilment status and a promised date",
        (with_status, with_promise),
    )
    Line = env["sale.order.line"]
    festival = Line.search([("order_id", "=", ids["festival"])])
    check(
        (festival.backops_qty_ordered, festival.backops_qty_received, festival.backops_fulfilment_status)
        == (4.0, 2.0, "to_order"),
        "the need of 10 (4 on a confirmed order, 2 of them received, 6 on a draft RFQ) reads Ordered 4, "
        "Received 2, Need to Order",
        (festival.backops_qty_ordered, festival.backops_qty_received, festival.backops_fulfilment_status),
    )
    gala = Line.search([("order_id", "=", ids["gala"])])
    check(
        gala.procurement_status == "on_order"
        and gala.backops_qty_ordered == 0
        and gala.backops_fulfilment_status == "to_order",
        "the need on the order waiting for approval: On Order, nothing ordered yet, Need to Order",
        (gala.procurement_status, gala.backops_qty_ordered, gala.backops_fulfilment_status),
    )

    # ---- the work goes on with the current code
    approver = env["res.users"].browse(ids["approver"])
    waiting = env["purchase.order"].browse(ids["waiting"])
    request = (
        env["backops.approval.request"]
        .with_user(approver)
        .search([("purchase_order_id", "=", waiting.id), ("state", "=", "pending")])
    )
    check(len(request) == 1, "the request of the waiting order is still pending for the tier's approver")
    request.action_approve()
    check(waiting.state == "purchase", "the tier's approver approves it: confirmed", waiting.state)
    check(
        gala.backops_qty_ordered == 15 and gala.backops_fulfilment_status == "ordered", "its need is now On Order (15)"
    )
    ordered = env["purchase.order"].browse(ids["ordered"])
    validate(env, ordered.picking_ids.filtered(lambda picking: picking.state not in ("done", "cancel")), {})
    check(
        festival.backops_qty_received == 4 and ordered.backops_status == "fulfilled",
        "the receipt backorder of the previous version is received: Received 4, Received Full",
        (festival.backops_qty_received, ordered.backops_status),
    )
    env.cr.rollback()


def data_xmlids(addon_dir, files):
    """The external ids the data files of the manifest declare."""
    import csv
    import xml.etree.ElementTree as ET

    xmlids = []
    for name in files:
        path = Path(addon_dir) / name
        if name.endswith(".csv"):
            with path.open(newline="") as handle:
                xmlids += [row["id"] for row in csv.DictReader(handle)]
        elif name.endswith(".xml"):
            tags = ("record", "template", "menuitem")
            xmlids += [node.get("id") for node in ET.parse(path).iter() if node.tag in tags and node.get("id")]
    return [xmlid if "." in xmlid else f"{ADDON}.{xmlid}" for xmlid in xmlids]


def same(a, b):
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return abs(a - b) < 1e-6
    return a == b


PHASES = {
    "build-uninstall": lambda env, args: phase_build(env, args, upgrade=False),
    "build-upgrade": lambda env, args: phase_build(env, args, upgrade=True),
    "uninstall": phase_uninstall,
    "check-uninstalled": phase_check_uninstalled,
    "check-upgraded": phase_check_upgraded,
}


def run_phase(args):
    env = odoo_environment(args)
    try:
        PHASES[args.phase](env, args)
    except CheckFailed as exc:
        print(f"FAIL {exc}", flush=True)
        return 1
    except Exception as exc:  # noqa: BLE001 - any error of Odoo is the step's failure
        import traceback

        traceback.print_exc()
        print(f"FAIL {args.phase}: {type(exc).__name__}: {exc}", flush=True)
        return 1
    finally:
        env.cr.close()
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-c", "--config", required=True, help="Odoo configuration file (scripts/backops.sh writes it)")
    parser.add_argument("--odoo-bin", help="odoo-bin of Odoo 18.0 (default: next to the odoo package)")
    parser.add_argument(
        "--previous-ref",
        default=os.environ.get("BACKOPS_PREVIOUS_REF") or DEFAULT_PREVIOUS_REF,
        help="git commit or tag of the previous version (default: $BACKOPS_PREVIOUS_REF or %(default)s)",
    )
    parser.add_argument("--only", choices=("uninstall", "upgrade"), help="run one of the two checks")
    parser.add_argument("--keep", action="store_true", help="keep the scratch databases at the end")
    parser.add_argument("--base-db", default=os.environ.get("BACKOPS_LIFECYCLE_BASE_DB", "backops_lifecycle_base"))
    parser.add_argument(
        "--uninstall-db", default=os.environ.get("BACKOPS_LIFECYCLE_UNINSTALL_DB", "backops_lifecycle_uninstall")
    )
    parser.add_argument(
        "--upgrade-db", default=os.environ.get("BACKOPS_LIFECYCLE_UPGRADE_DB", "backops_lifecycle_upgrade")
    )
    parser.add_argument("--log-dir", help="where the logs go (default: lifecycle/ next to the configuration)")
    # one step, in a process of its own (the orchestrator runs them)
    parser.add_argument("--phase", choices=sorted(PHASES), help=argparse.SUPPRESS)
    parser.add_argument("-d", "--database", help=argparse.SUPPRESS)
    parser.add_argument("--addons-path", help=argparse.SUPPRESS)
    parser.add_argument("--logfile", help=argparse.SUPPRESS)
    parser.add_argument("--state", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        return run_phase(args)
    if not args.odoo_bin:
        import odoo

        args.odoo_bin = str(Path(odoo.__file__).resolve().parent.parent / "odoo-bin")
    args.log_dir = args.log_dir or str(Path(args.config).resolve().parent / "lifecycle")
    return Lifecycle(args).run()


if __name__ == "__main__":
    sys.exit(main())
