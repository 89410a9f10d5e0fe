from lxml import etree

from odoo.exceptions import AccessError
from odoo.tests import Form, new_test_user, tagged
from odoo.tools.safe_eval import safe_eval

from .common import ProcurementCommon


@tagged("post_install", "-at_install")
class TestBuyerAccess(ProcurementCommon):
    """Buyers read the procurement side of sale orders: the needs and their orders'
    header, not prices, quotations or lines nobody buys for. Whoever another group
    gives sale orders keeps what Odoo gives them."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.buyer_salesman = new_test_user(
            cls.env,
            "backops_buyer_salesman",
            groups="purchase.group_purchase_user,sales_team.group_sale_salesman",
            name="Buyer Sales Sue",
        )
        cls.stock_buyer = new_test_user(
            cls.env,
            "backops_stock_buyer",
            groups="purchase.group_purchase_user,stock.group_stock_user",
            name="Stock Buyer Stu",
        )
        cls.stock_user = new_test_user(cls.env, "backops_stock_user", groups="stock.group_stock_user")
        cls.order = cls._create_sale_order(
            ["Transport", (cls.golf_cart, 50), "Staging", (cls.stage_deck, 24), (cls.pa_system, 2)],
            user=cls.salesman,
        ).with_env(cls.env)
        cls.cart = cls._line(cls.order, cls.golf_cart)
        cls.deck = cls._line(cls.order, cls.stage_deck)
        cls.pa_line = cls._line(cls.order, cls.pa_system)
        cls.other_order = cls._create_sale_order(
            [(cls.golf_cart, 10), (cls.pa_system, 1)], user=cls.other_salesman
        ).with_env(cls.env)
        cls.other_cart = cls._line(cls.other_order, cls.golf_cart)
        cls.quotation = cls._create_sale_order([(cls.golf_cart, 5)], confirm=False, user=cls.other_salesman).with_env(
            cls.env
        )
        cls.own_order = cls._create_sale_order([(cls.pa_system, 3)], user=cls.buyer_salesman).with_env(cls.env)
        cls.orders = cls.order | cls.other_order | cls.quotation | cls.own_order
        cls.rfq = cls._create_rfq(cls.vendor_a, [(cls.golf_cart, 60)])
        cls._allocate(cls.cart, cls.rfq.order_line, 30)
        cls._allocate(cls.other_cart, cls.rfq.order_line, 10)

    def _lines(self, user):
        return self.env["sale.order.line"].with_user(user).search([("order_id", "in", self.orders.ids)])

    def _orders(self, user):
        return self.env["sale.order"].with_user(user).search([("id", "in", self.orders.ids)])

    # ------------------------------------------------------------------
    # what a buyer reads, and what not
    # ------------------------------------------------------------------
    def test_buyer_reads_the_needs_not_the_sale(self):
        self.env.invalidate_all()
        Line = self.env["sale.order.line"].with_user(self.buyer)
        # the needs of confirmed orders; no section, no line nobody buys for, no quotation
        self.assertEqual(self._lines(self.buyer), self.cart | self.deck | self.other_cart)
        self.assertEqual(self._orders(self.buyer), self.order | self.other_order)
        need = self.cart.with_user(self.buyer)
        values = need.read(
            [
                "order_id",
                "product_id",
                "product_uom_qty",
                "product_uom",
                "procurement_section",
                "procurement_status",
                "procurement_vendor_id",
                "salesman_id",
                "order_partner_id",
                "procurement_commitment_date",
            ]
        )[0]
        self.assertEqual(values["procurement_section"], "Transport")
        self.assertEqual(values["salesman_id"][0], self.salesman.id)
        self.assertEqual(values["procurement_status"], "short")
        # not the price, by any way of asking (Odoo's export included, for buyers who may export)
        self.buyer.groups_id += self.env.ref("base.group_allow_export")
        for read in (
            lambda: need.read(["price_unit"]),
            lambda: need.price_unit,
            lambda: need.order_id.amount_total,
            lambda: Line.search([("price_unit", ">", 0)]),
            lambda: Line.search([("order_id.amount_total", ">", 0)]),
            lambda: Line.web_read_group([], ["price_unit:sum"], ["order_id"]),
            lambda: Line.web_search_read([], {"price_subtotal": {}}),
            lambda: self.order.with_user(self.buyer).read(["note"]),
            # Odoo's export (for buyers with the export right)
            lambda: need.export_data(["price_unit"]),
            lambda: need.export_data(["product_id", "order_id/amount_total"]),
            lambda: self.order.with_user(self.buyer).export_data(["access_token"]),
            lambda: self.order.with_user(self.buyer).export_data(["order_line/price_subtotal"]),
        ):
            self.env.invalidate_all()
            with self.assertRaises(AccessError):
                read()
        self.assertNotIn("price_unit", need.read()[0])
        self.assertNotIn("price_unit", Line.fields_get())
        self.assertNotIn("amount_total", self.env["sale.order"].with_user(self.buyer).fields_get())
        # the header of the need's order
        header = self.order.with_user(self.buyer).read(["name", "partner_id", "user_id", "commitment_date", "state"])
        self.assertEqual(header[0]["user_id"][0], self.salesman.id)
        # not a quotation, nor a line that is no need
        with self.assertRaises(AccessError):
            self.quotation.with_user(self.buyer).read(["name"])
        with self.assertRaises(AccessError):
            self.quotation.order_line.with_user(self.buyer).read(["product_id"])
        with self.assertRaises(AccessError):
            self.pa_line.with_user(self.buyer).read(["product_id"])
        # reading is all: buyers change no sale line (but a need's vendor, in To Order)
        with self.assertRaises(AccessError):
            need.product_uom_qty = 1
        need.procurement_vendor_id = self.vendor_b
        self.assertEqual(self.cart.procurement_vendor_id, self.vendor_b)

    def test_buyer_reads_no_conversation_or_document_of_the_sale(self):
        note = self.order.message_post(
            body="Agreed: 2,400 per golf cart", message_type="comment", subtype_xmlid="mail.mt_note"
        )
        quotation_pdf = self.env["ir.attachment"].create(
            {"name": "Quotation.pdf", "res_model": "sale.order", "res_id": self.order.id, "raw": b"%PDF-1.4"}
        )
        # the purchasing team's notification of new needs is theirs to read
        notice = self.env["mail.thread"].message_notify(
            model="sale.order",
            res_id=self.order.id,
            partner_ids=self.buyer.partner_id.ids,
            body="3 new needs to order",
            subject="New needs",
        )
        order_messages = [("model", "=", "sale.order"), ("res_id", "=", self.order.id)]
        Message = self.env["mail.message"].with_user(self.buyer)
        self.assertEqual(Message.search(order_messages + [("id", "=", notice.id)]).read(["body"])[0]["id"], notice.id)
        # searching finds only what they received: no text to read, none to test for
        self.assertEqual(Message.search(order_messages), notice)
        self.assertFalse(Message.search(order_messages + [("body", "ilike", "2,400")]))
        self.assertNotIn("2,400", str(Message.search_read(order_messages, ["body"])))
        self.assertNotIn("2,400", str(Message.search_fetch(order_messages, ["body"]).mapped("body")))
        self.env.invalidate_all()
        with self.assertRaises(AccessError):
            note.with_user(self.buyer).read(["body"])
        self.env.invalidate_all()  # as a request starts
        Attachment = self.env["ir.attachment"].with_user(self.buyer)
        self.assertFalse(Attachment.search([("res_model", "=", "sale.order"), ("res_id", "=", self.order.id)]))
        with self.assertRaises(AccessError):
            quotation_pdf.with_user(self.buyer).read(["raw"])
        with self.assertRaises(AccessError):
            quotation_pdf.with_user(self.buyer).check("read")
        # whoever else reads the order reads them
        for user in (self.salesman, self.stock_buyer):
            self.env.invalidate_all()
            self.assertIn(
                "2,400", "".join(self.env["mail.message"].with_user(user).search(order_messages).mapped("body"))
            )
            self.assertEqual(quotation_pdf.with_user(user).read(["name"])[0]["name"], "Quotation.pdf")

    def test_salespeople_and_stock_users_keep_what_odoo_gives_them(self):
        self.env.invalidate_all()
        # a salesperson: their own orders, every field; not the others'
        self.assertEqual(self._orders(self.salesman), self.order)
        self.assertEqual(self.pa_line.with_user(self.salesman).price_unit, self.pa_line.price_unit)
        with self.assertRaises(AccessError):
            self.other_cart.with_user(self.salesman).read(["product_id"])
        # a salesperson who buys: their own orders as Odoo gives them, plus the orders
        # with needs (whole, as Odoo's sale order form reads them), not the quotations
        self.assertEqual(self._orders(self.buyer_salesman), self.order | self.other_order | self.own_order)
        self.assertEqual(
            self._lines(self.buyer_salesman),
            (self.order | self.other_order | self.own_order).order_line,
        )
        self.assertTrue(self.other_cart.with_user(self.buyer_salesman).read(["price_unit", "discount"]))
        self.assertEqual(self.own_order.with_user(self.buyer_salesman).amount_total, self.own_order.amount_total)
        with self.assertRaises(AccessError):
            self.quotation.with_user(self.buyer_salesman).read(["name"])
        # the needs of other salespeople are read, not written
        with self.assertRaises(AccessError):
            self.other_cart.with_user(self.buyer_salesman).product_uom_qty = 1
        # stock users read every order (Odoo's sale_stock), buyers among them too
        for user in (self.stock_user, self.stock_buyer):
            self.env.invalidate_all()
            self.assertEqual(self._orders(user), self.orders)
            self.assertEqual(self._lines(user), self.orders.order_line)
            self.assertTrue(self.quotation.with_user(user).read(["amount_total", "note"]))
            self.assertEqual(self.pa_line.with_user(user).price_unit, self.pa_line.price_unit)
            self.assertIn("price_unit", self.env["sale.order.line"].with_user(user).fields_get())

    # ------------------------------------------------------------------
    # every screen a buyer uses, read as the web client reads it
    # ------------------------------------------------------------------
    def _views(self, model, action_xmlid=None, views=(("list",), ("form",), ("search",)), user=None):
        """``get_views`` of ``model`` as ``user`` (the buyer), with the views of the
        action ``action_xmlid`` when given."""
        view_ids = {}
        if action_xmlid:
            action = self.env.ref(action_xmlid)
            view_ids = {view.view_mode: view.view_id.id for view in action.view_ids}
            if action.search_view_id:
                view_ids["search"] = action.search_view_id.id
        Model = self.env[model].with_user(user or self.buyer)
        return Model.get_views([(view_ids.get(view_type), view_type) for (view_type,) in views])

    def _spec(self, result, model, view_type):
        """What the web client reads for the view: its fields, display names of
        relations and the fields of inline lists."""
        return self._node_spec(etree.fromstring(result["views"][view_type]["arch"]), model, result["models"])

    def _node_spec(self, node, model, models):
        spec = {}
        for child in node:
            if child.tag == "field":
                name = child.get("name")
                field = models[model]["fields"][name]
                subview = next((sub for sub in child if sub.tag in ("list", "form", "kanban")), None)
                if subview is not None:
                    spec[name] = {"fields": self._node_spec(subview, field["relation"], models)}
                elif field["type"] in ("many2one", "many2many", "one2many"):
                    spec[name] = {"fields": {"display_name": {}}}
                else:
                    spec[name] = {}
            elif child.tag not in ("list", "form", "kanban"):
                spec.update(self._node_spec(child, model, models))
        return spec

    def _search_view_domains(self, result, user):
        """The domains of the search view's filters and fields, and its group-bys."""
        arch = etree.fromstring(result["views"]["search"]["arch"])
        domains, groupbys = [], []
        for node in arch.iter("filter"):
            if node.get("domain"):
                domains.append(safe_eval(node.get("domain"), {"uid": user.id}))
            if node.get("context"):
                groupbys.append(safe_eval(node.get("context"))["group_by"])
        for node in arch.iter("field"):
            if node.get("filter_domain"):
                domains.append(safe_eval(node.get("filter_domain"), {"self": "Golf"}))
            else:
                domains.append([(node.get("name"), "ilike", "Golf")])
        return domains, groupbys

    def test_needs_and_to_order_lists_as_a_buyer(self):
        Line = self.env["sale.order.line"].with_user(self.buyer)
        expected = {
            "backops_procurement.action_procurement_needs": (self.cart | self.deck | self.other_cart, 84),
            "backops_procurement.action_procurement_to_order": (self.cart | self.deck, 74),
        }
        for xmlid, (needs, needed) in expected.items():
            action = self.env["ir.actions.act_window"]._for_xml_id(xmlid)
            domain = safe_eval(action["domain"]) + [("order_id", "in", self.orders.ids)]
            views = (("list",), ("form",), ("search",)) if "form" in action["view_mode"] else (("list",), ("search",))
            result = self._views("sale.order.line", xmlid, views)
            self.assertNotIn("price_unit", result["models"]["sale.order.line"]["fields"])
            spec = self._spec(result, "sale.order.line", "list")
            self.env.invalidate_all()
            records = Line.web_search_read(domain, spec, limit=80)["records"]
            self.assertEqual({record["id"] for record in records}, set(needs.ids))
            groups = Line.web_read_group(
                domain,
                ["product_uom_qty:sum", "procurement_remaining_qty:sum"],
                ["order_id", "procurement_section"],
                lazy=False,
            )["groups"]
            self.assertEqual(sum(group["product_uom_qty"] for group in groups), needed)
            search_domains, groupbys = self._search_view_domains(result, self.buyer)
            for search_domain in search_domains:
                Line.web_search_read(domain + search_domain, spec, limit=80)
            for groupby in groupbys:
                Line.web_read_group(domain, ["product_uom_qty:sum"], [groupby])
            if "form" in action["view_mode"]:
                form = Line.browse(self.cart.id).web_read(self._spec(result, "sale.order.line", "form"))[0]
                self.assertEqual(form["procurement_allocation_ids"][0]["purchase_order_id"]["id"], self.rfq.id)
        # the vendor of a need is chosen in To Order, as the list saves it
        Line.browse(self.deck.id).web_save({"procurement_vendor_id": self.vendor_b.id}, {"procurement_vendor_id": {}})
        self.assertEqual(self.deck.procurement_vendor_id, self.vendor_b)
        # and the list exports as the buyer
        sheets = Line._get_procurement_export_data([("order_id", "in", self.orders.ids)])
        self.assertEqual(len(list(sheets[0][2])), 3)

    def test_purchase_order_editor_and_rfq_wizard_as_a_buyer(self):
        rfq = self.rfq.with_user(self.buyer)
        result = self._views("purchase.order", views=(("form",),))
        self.assertNotIn("sale_order_count", result["models"]["purchase.order"]["fields"])
        self.env.invalidate_all()
        values = rfq.web_read(self._spec(result, "purchase.order", "form"))[0]
        self.assertEqual(
            {need["id"] for need in values["order_line"][0]["procurement_sale_line_ids"]},
            {self.cart.id, self.other_cart.id},
        )
        html, _format = (
            self.env["ir.actions.report"]
            .with_user(self.buyer)
            ._render_qweb_html("purchase.report_purchasequotation", rfq.ids)
        )
        self.assertIn(self.order.name, html.decode())
        # Line Item Editor: the rest of the golf carts onto this RFQ
        action = rfq.action_open_line_item_editor()
        editor = Form(self.env[action["res_model"]].with_user(self.buyer).with_context(**action["context"]))
        rows = {row["sale_line_id"]: index for index, row in enumerate(editor.line_ids._records)}
        with editor.line_ids.edit(rows[self.cart.id]) as row:
            row.quantity = 50
        editor.save().action_save()
        self.assertEqual(self.cart.procurement_status, "on_order")
        # Create RFQs from the To Order list
        wizard_action = self.deck.with_user(self.buyer).action_open_rfq_wizard()
        wizard = Form(
            self.env[wizard_action["res_model"]].with_user(self.buyer).with_context(**wizard_action["context"])
        )
        self.assertEqual(wizard.need_count, 1)
        wizard.save().action_create_rfqs()
        self.assertEqual(self.deck.procurement_status, "on_order")

    def test_sale_orders_of_a_purchase_order(self):
        # Odoo's smart button is for salespeople: a buyer who sells opens the orders
        # the RFQ covers, those of other salespeople included
        action = self.rfq.with_user(self.buyer_salesman).action_view_sale_orders()
        SaleOrder = self.env["sale.order"].with_user(self.buyer_salesman)
        result = self._views("sale.order", views=(("list",), ("form",)), user=self.buyer_salesman)
        self.env.invalidate_all()
        records = SaleOrder.web_search_read(action["domain"], self._spec(result, "sale.order", "list"))["records"]
        self.assertEqual({record["id"] for record in records}, {self.order.id, self.other_order.id})
        SaleOrder.browse(self.other_order.id).web_read(self._spec(result, "sale.order", "form"))

    def test_purchase_orders_odoo_creates_for_sales_as_a_buyer(self):
        # make-to-order and service-to-purchase lines are bought, needs or not
        mto_route = self.env.ref("stock.route_warehouse0_mto")
        mto_route.active = True
        mto_route.rule_ids.procure_method = "make_to_order"
        buy_route = self.env.ref("purchase_stock.route_warehouse0_buy")
        tent = self._create_product(
            "Marquee (MTO)",
            sellers=[(self.vendor_a, 900.0)],
            subject=False,
            is_storable=True,
            route_ids=[(6, 0, (mto_route | buy_route).ids)],
        )
        shuttle = self._create_product(
            "Shuttle Bus",
            sellers=[(self.vendor_b, 300.0)],
            subject=False,
            type="service",
            service_to_purchase=True,
        )
        order = self._create_sale_order([(tent, 2), (shuttle, 1)], user=self.salesman).with_env(self.env)
        purchases = self.env["purchase.order"].search(
            [
                ("partner_id", "in", (self.vendor_a | self.vendor_b).ids),
                ("state", "=", "draft"),
                ("id", "!=", self.rfq.id),
            ]
        )
        self.assertEqual(len(purchases), 2)
        self.env.invalidate_all()
        lines = self.env["sale.order.line"].with_user(self.buyer).search([("order_id", "=", order.id)])
        self.assertEqual(lines, order.order_line)
        with self.assertRaises(AccessError):
            order.order_line.with_user(self.buyer).read(["price_unit"])
        result = self._views("purchase.order", views=(("form",),))
        for purchase in purchases.with_user(self.buyer):
            purchase.web_read(self._spec(result, "purchase.order", "form"))
            purchase.button_confirm()
            self.assertEqual(purchase.state, "purchase")
