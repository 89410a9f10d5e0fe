"""Screenshots of the screens the addon adds, taken from a running Odoo with the demo data.

Run by `make screenshots` (scripts/backops.sh screenshots), which creates a fresh demo
database, starts Odoo on it and calls this script with its URL. Chromium is the
system's (Debian's `chromium`, as for the tours), driven by Playwright; no browser
is downloaded. The script walks the README's "First ten minutes" as admin (and as
the demo approver for To Approve), so it changes the database as a newcomer would: it
creates the RFQs of To Order, approves the waiting purchase, receives the LED wall
panels and runs the saved Fill Backorders.

    python scripts/screenshots.py --url http://127.0.0.1:8369 --out docs
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

VIEWPORT = {"width": 1400, "height": 900}
MODULE = "backops_procurement"
# the view is there once the action manager holds a controller and nothing is loading
LOADED = ".o_action_manager .o_view_controller"
TIMEOUT_MS = 60_000
# the apps whose menus the screens are under
SALES = "sale.sale_menu_root"
PURCHASE = "purchase.menu_purchase_root"
PROCUREMENT = "backops_procurement.menu_procurement_root"


def wait_for_server(url, seconds=180):
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(f"{url}/web/health", timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if time.monotonic() > deadline:
            sys.exit(f"Odoo did not answer on {url} within {seconds} s")
        time.sleep(1)


class Session:
    """One logged-in browser context: pages, settling, JSON-RPC with its cookie."""

    def __init__(self, browser, url, login, password):
        self.url = url
        self.context = browser.new_context(viewport=VIEWPORT, locale="en-US", timezone_id="Europe/London")
        self.context.set_default_timeout(TIMEOUT_MS)
        self.page = self.context.new_page()
        self.page.goto(f"{url}/web/login")
        self.page.fill("input[name=login]", login)
        self.page.fill("input[name=password]", password)
        self.page.click("button[type=submit]")
        self.page.wait_for_selector(".o_main_navbar")
        self._rpc_id = 0

    def call(self, model, method, *args, **kwargs):
        self._rpc_id += 1
        response = self.context.request.post(
            f"{self.url}/web/dataset/call_kw/{model}/{method}",
            data=json.dumps(
                {
                    "jsonrpc": "2.0",
                    "method": "call",
                    "id": self._rpc_id,
                    "params": {"model": model, "method": method, "args": list(args), "kwargs": kwargs},
                }
            ),
            headers={"Content-Type": "application/json"},
        )
        body = response.json()
        if "error" in body:
            raise RuntimeError(f"{model}.{method}: {body['error']['data']['message']}")
        return body["result"]

    def ref(self, xmlid):
        """Database id of the record of ``xmlid`` (the addon's when it names no module)."""
        module, _dot, name = xmlid.rpartition(".")
        module = module or MODULE
        rows = self.call("ir.model.data", "search_read", [("module", "=", module), ("name", "=", name)], ["res_id"])
        if not rows:
            raise RuntimeError(f"no record {module}.{name}: is the demo data installed?")
        return rows[0]["res_id"]

    def settle(self):
        """Wait until the web client has loaded the view and stopped loading."""
        page = self.page
        page.wait_for_selector(LOADED)
        page.wait_for_load_state("load")
        page.wait_for_function(
            "() => !document.querySelector('.o_loading_indicator, .o_blockUI')"
            " && !document.querySelector('.o_view_controller .o_list_loading')"
        )
        page.evaluate("document.fonts.ready")
        page.wait_for_timeout(600)  # animations (dialogs, badges) end

    def open(self, path, app):
        """Open ``path`` in the app of the menu id ``app``, which the navbar shows."""
        self.page.goto(f"{self.url}{path}?menu_id={app}")
        self.settle()

    def expand_groups(self, limit=40):
        """Open every group of a grouped list, level by level (a bounded loop)."""
        for _i in range(limit):
            closed = self.page.locator(".o_list_view .o_group_header:not(.o_group_open)")
            if not closed.count():
                return
            closed.first.click()
            self.settle()

    def shoot(self, out, name):
        path = out / name
        self.page.screenshot(path=str(path))
        print(f"  {path}")


def pdf_first_page(session, report, record_id, out, name, dpi=80):
    """The first page of a PDF report as a PNG (pdftoppm, from poppler-utils)."""
    response = session.context.request.get(f"{session.url}/report/pdf/{report}/{record_id}")
    if not response.ok or not response.body().startswith(b"%PDF"):
        raise RuntimeError(f"{report}/{record_id} is not a PDF (HTTP {response.status})")
    with tempfile.TemporaryDirectory() as tmp:
        pdf = Path(tmp) / "report.pdf"
        pdf.write_bytes(response.body())
        target = out / name
        subprocess.run(
            [
                "pdftoppm",
                "-png",
                "-r",
                str(dpi),
                "-f",
                "1",
                "-l",
                "1",
                "-singlefile",
                str(pdf),
                str(target.with_suffix("")),
            ],
            check=True,
        )
    print(f"  {target}")


def take(url, out, chromium):
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        admin = Session(browser, url, "admin", "admin")
        page = admin.page
        # wkhtmltopdf fetches the report's styles from this server, not from :8069
        admin.call("ir.config_parameter", "set_param", "report.url", url)
        sales, purchase, procurement = (admin.ref(app) for app in (SALES, PURCHASE, PROCUREMENT))

        # 1. The festival sale order: a badge per line, the summary, the To Order button
        festival = admin.ref("sale_order_festival")
        admin.open(f"/odoo/action-sale.action_orders/{festival}", sales)
        admin.shoot(out, "sale-order.png")

        # 2. Needs, grouped by sale order and section
        admin.open("/odoo/action-backops_procurement.action_procurement_needs", procurement)
        admin.expand_groups()
        admin.shoot(out, "needs.png")

        # 3. To Order, every row selected, and Create RFQs: one RFQ per vendor
        admin.open("/odoo/action-backops_procurement.action_procurement_to_order", procurement)
        page.locator(".o_list_view thead .o_list_record_selector input").check()
        admin.settle()
        admin.shoot(out, "to-order.png")
        page.locator(".o_control_panel button[name=action_open_rfq_wizard]").click()
        page.wait_for_selector(".modal .o_form_view")
        admin.settle()
        admin.shoot(out, "create-rfqs.png")
        page.locator(".modal-footer button[name=action_create_rfqs]").click()
        page.wait_for_selector(".modal", state="detached")
        admin.settle()

        # 4. The Line Item Editor on the FairwayFleet RFQ just made, every need and
        #    product shown; 5 of its 8 golf carts: On Order now, Short after saving
        rfq = admin.call(
            "purchase.order",
            "search",
            [("partner_id", "=", admin.ref("partner_fairway_fleet")), ("state", "=", "draft")],
            order="id desc",
            limit=1,
        )[0]
        admin.open(f"/odoo/action-purchase.purchase_rfq/{rfq}", purchase)
        page.locator(".o_form_statusbar button[name=action_open_line_item_editor]").click()
        page.wait_for_selector(".modal .o_form_view")
        admin.settle()
        for toggle in ("show_all_needs", "show_all_products"):
            page.locator(f".modal .o_field_widget[name={toggle}] input").check()
            admin.settle()
        cart = page.locator(".modal .o_data_row", has_text="Golf Cart")
        cart.locator("td[name=quantity]").click()
        cart.locator(".o_field_widget[name=quantity] input").fill("5")
        page.locator(".modal .modal-title").click()  # leaves the cell: the row's statuses follow
        admin.settle()
        admin.shoot(out, "line-item-editor.png")
        page.locator(".modal-footer button:has-text('Discard')").click()
        page.wait_for_selector(".modal", state="detached")

        # 5. The printed RFQ: delivery window and contact, bill-to, notes, needs per line
        pdf_first_page(
            admin, "purchase.report_purchasequotation", admin.ref("rfq_golf_carts_fairway"), out, "rfq-pdf.png"
        )

        # 6. To Approve, as the production manager: the buyer's 7,200 of LED wall panels
        approver = Session(browser, url, "approver", "approver")
        approver.open("/odoo/action-backops_procurement.action_approval_requests_to_approve", purchase)
        approver.page.locator(".o_list_view thead .o_list_record_selector input").check()
        approver.settle()
        approver.shoot(out, "to-approve.png")
        requests = approver.call("backops.approval.request", "search", [("can_approve", "=", True)])
        approver.call("backops.approval.request", "action_approve", requests)
        approver.context.close()

        # 7. Receiving: the approved LED wall panels and the drapes on order; the
        #    panels arrive (Receive Full) and are reserved on the expo's backorder
        admin.open("/odoo/action-backops_procurement.action_procurement_receiving", procurement)
        admin.shoot(out, "receiving.png")
        panels = admin.call("purchase.order.line", "search", [("order_id", "=", admin.ref("po_led_wall_panels"))])
        admin.call("purchase.order.line", "action_backops_receive_full", panels)

        # 8. Delivery & Shipping, Ready to Deliver/Ship, grouped by delivery address
        admin.open("/odoo/action-backops_procurement.action_delivery_ready", procurement)
        admin.expand_groups()
        admin.shoot(out, "delivery-shipping.png")

        # 9. Fill Backorders: the saved policy's preview, then a run's summary
        fill = admin.ref("backorder_fill_partial")
        admin.open(f"/odoo/action-backops_procurement.action_backorder_fill/{fill}", procurement)
        page.locator(".o_form_statusbar button[name=action_preview]").click()
        page.wait_for_selector(".o_field_widget[name=line_ids] .o_data_row")
        admin.settle()
        admin.shoot(out, "fill-backorders-preview.png")
        page.locator(".o_form_statusbar button[name=action_start]").click()
        page.locator(".modal-footer .btn-primary").click()
        page.wait_for_selector(".o_form_statusbar button[name=action_reset]")
        admin.settle()
        admin.shoot(out, "fill-backorders-summary.png")

        browser.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="the running Odoo, e.g. http://127.0.0.1:8369")
    parser.add_argument("--out", default="docs", type=Path, help="folder of the PNG files")
    parser.add_argument("--chromium", default=os.environ.get("CHROMIUM", "/usr/bin/chromium"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    wait_for_server(args.url)
    started = time.monotonic()
    take(args.url.rstrip("/"), args.out, args.chromium)
    print(f"Screenshots taken in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
