"""Random sequences of what users do, with the rules checked after every step.

A hypothesis state machine allocates needs to RFQs, resizes RFQ lines, cancels,
resets, confirms and approves purchase orders, writes their state as an attacker
would, changes the customer's quantities, receives, delivers and fills backorders.
After every step the invariants hold:

- every need's stored ordering status and quantities are what its allocations say;
- no RFQ line has more allocated by hand than it orders;
- no quant of the products in stock is negative (fills ship only what is there);
- no confirmed purchase order is above what approvals cover.

``make test`` runs the ``ci`` profile (fixed seed, about a minute);
``HYPOTHESIS_PROFILE=long make test -k invariants`` runs many more, randomly.
"""

import os

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from odoo.exceptions import UserError, ValidationError
from odoo.tests import Form, new_test_user, tagged
from odoo.tools import float_compare

from ..models.sale_order_line import procurement_status
from .common import ProcurementCommon

settings.register_profile(
    "ci",
    max_examples=15,
    stateful_step_count=20,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
settings.register_profile(
    "long",
    max_examples=150,
    stateful_step_count=30,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)

NEEDS = range(3)
RFQS = range(3)
QUANTITIES = st.integers(min_value=0, max_value=14)


class ProcurementMachine(RuleBasedStateMachine):
    """One example: a sequence of steps, each run as an RPC request would be (a
    refusal rolls the step back), on the records of ``case``."""

    case = None  # the test case whose records and environment the machine uses

    def __init__(self):
        super().__init__()
        case = self.case
        self.env = case.env
        self.env.flush_all()
        self.env.cr.execute("SAVEPOINT invariant_example")

    def teardown(self):
        self._forget()
        self.env.cr.execute("ROLLBACK TO SAVEPOINT invariant_example")
        self._forget()

    def _forget(self):
        """Drop what the ORM holds of work that was rolled back (cache, pending
        computations) and what waited for the commit."""
        self.env.transaction.clear()
        self.env.cr.precommit.clear()
        self.env.cr.postcommit.clear()

    def _request(self, function):
        """Run a step as Odoo runs a request: a refusal writes nothing."""
        try:
            with self.env.cr.savepoint():
                function()
                self.env.flush_all()
        except (UserError, ValidationError):
            self._forget()

    def _rfq(self, index, user=None):
        return self.case.rfqs[index].with_user(user or self.case.buyer)

    # ------------------------------------------------------------------
    # Buyers
    # ------------------------------------------------------------------
    @initialize(
        plan=st.lists(
            st.tuples(st.sampled_from(NEEDS), st.sampled_from(RFQS), st.integers(min_value=1, max_value=10)),
            min_size=2,
            max_size=5,
        )
    )
    def start_with_needs_on_rfqs(self, plan):
        for need, rfq, quantity in plan:
            self.allocate(need, rfq, quantity)

    @rule(need=st.sampled_from(NEEDS), rfq=st.sampled_from(RFQS), quantity=QUANTITIES)
    def allocate(self, need, rfq, quantity):
        order = self._rfq(rfq)
        self._request(lambda: order._allocate_procurement_needs({order: {self.case.needs[need]: quantity}}))

    @rule(need=st.sampled_from(NEEDS), rfq=st.sampled_from(RFQS), quantity=QUANTITIES)
    def allocate_directly(self, need, rfq, quantity):
        sale_line = self.case.needs[need]
        line = self._rfq(rfq).order_line.filtered(
            lambda line, product=sale_line.product_id: line.product_id == product
        )[:1]
        if line:
            Allocation = self.env["backops.procurement.allocation"].with_user(self.case.buyer)
            self._request(
                lambda: Allocation.create(
                    {"sale_line_id": sale_line.id, "purchase_line_id": line.id, "quantity": quantity}
                )
            )

    @rule(rfq=st.sampled_from(RFQS), quantity=QUANTITIES)
    def resize_line(self, rfq, quantity):
        line = self._rfq(rfq).order_line[:1]
        if line:
            self._request(lambda: line.write({"product_qty": quantity}))

    @rule(rfq=st.sampled_from(RFQS))
    def cancel(self, rfq):
        self._request(self._rfq(rfq).button_cancel)

    @rule(rfq=st.sampled_from(RFQS))
    def reset_to_draft(self, rfq):
        self._request(self._rfq(rfq).button_draft)

    @rule(rfq=st.sampled_from(RFQS))
    def confirm(self, rfq):
        self._request(self._rfq(rfq).button_confirm)

    @rule(rfq=st.sampled_from(RFQS), approver=st.sampled_from(("approver_1", "approver_2")))
    def approve(self, rfq, approver):
        self._request(self._rfq(rfq, getattr(self.case, approver)).button_approve)

    @rule(rfq=st.sampled_from(RFQS), state=st.sampled_from(("purchase", "done", "to approve")))
    def write_the_state(self, rfq, state):
        order = self._rfq(rfq)
        self._request(lambda: order.write({"state": state}))

    # ------------------------------------------------------------------
    # Sales, warehouse
    # ------------------------------------------------------------------
    @rule(need=st.sampled_from(NEEDS), quantity=st.integers(min_value=1, max_value=14))
    def change_the_sale(self, need, quantity):
        sale_line = self.case.needs[need]
        self._request(lambda: sale_line.write({"product_uom_qty": quantity}))

    @rule(rfq=st.sampled_from(RFQS), quantity=st.integers(min_value=1, max_value=10))
    def receive(self, rfq, quantity):
        receipts = self._rfq(rfq).sudo().picking_ids.filtered(lambda p: p.state not in ("done", "cancel"))
        if receipts:
            self._request(lambda: self.case._validate(receipts[0], quantity))

    @rule(order=st.sampled_from((0, 1)))
    def deliver(self, order):
        deliveries = self.case.sale_orders[order].picking_ids.filtered(lambda p: p.state not in ("done", "cancel"))
        if deliveries:
            self._request(lambda: self.case._validate(deliveries[0], None))

    @rule(mode=st.sampled_from(("complete", "partial")))
    def fill_backorders(self, mode):
        Fill = self.env["backops.backorder.fill"].with_user(self.case.stock_user)
        self._request(
            lambda: Fill.create({"mode": mode, "email_complete": False, "email_partial": False}).action_start()
        )

    @rule(quantity=st.integers(min_value=1, max_value=4))
    def stock_goes_missing(self, quantity):
        """An inventory count finds fewer carts than the system thought (free ones only)."""
        cart = self.case.cart
        free = cart.with_context(location=self.case.stock.id).free_qty
        if free >= quantity:
            self._request(lambda: self.env["stock.quant"]._update_available_quantity(cart, self.case.stock, -quantity))

    # ------------------------------------------------------------------
    # What must hold after every step
    # ------------------------------------------------------------------
    @invariant()
    def statuses_say_what_allocations_say(self):
        self.env.flush_all()
        self.env.cr.execute(
            """
            SELECT alloc.sale_line_id, SUM(alloc.quantity)
              FROM backops_procurement_allocation alloc
              JOIN purchase_order_line pol ON pol.id = alloc.purchase_line_id
              JOIN purchase_order po ON po.id = pol.order_id
             WHERE po.state != 'cancel' AND alloc.sale_line_id = ANY(%s)
          GROUP BY alloc.sale_line_id
            """,
            [self.case.needs.ids],
        )
        allocated = dict(self.env.cr.fetchall())
        self.env.invalidate_all()
        for need in self.case.needs:
            total = float(allocated.get(need.id, 0.0))
            expected = procurement_status(need.product_uom_qty, total, need.product_uom.rounding)
            self.case.assertEqual(
                (need.procurement_status, need.procurement_allocated_qty), (expected, total), need._procurement_label()
            )

    @invariant()
    def no_rfq_line_over_allocated(self):
        lines = self.case.rfqs.order_line
        manual = lines._manual_allocated_qty()
        for line in lines:
            self.case.assertLessEqual(
                float_compare(manual.get(line.id, 0.0), line.product_qty, precision_rounding=line.product_uom.rounding),
                0,
                f"{line.order_id.name} {line.product_id.name}: over-allocated",
            )

    @invariant()
    def no_negative_stock(self):
        quants = self.env["stock.quant"].search(
            [
                ("product_id", "in", (self.case.cart | self.case.deck).ids),
                ("location_id", "child_of", self.case.stock.id),
            ]
        )
        self.case.assertFalse(
            quants.filtered(lambda quant: quant.quantity < 0), "a fill shipped stock that was not there"
        )

    @invariant()
    def no_confirmed_order_above_its_approvals(self):
        confirmed = self.case.rfqs.filtered(lambda order: order.state in ("purchase", "done"))
        measures = confirmed._backops_measure() if confirmed else {}
        for order in confirmed:
            self.case.assertFalse(
                measures[order.id].missing,
                f"{order.name} confirmed without {measures[order.id].missing.mapped('name')}",
            )


@tagged("post_install", "-at_install")
class TestInvariants(ProcurementCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Groups = cls.env["res.groups"]
        group_1, group_2 = Groups.create([{"name": "Invariant Approvers 1"}, {"name": "Invariant Approvers 2"}])
        cls.approver_1 = new_test_user(cls.env, "inv_approver_1", groups="purchase.group_purchase_user")
        cls.approver_1.groups_id += group_1
        cls.approver_2 = new_test_user(cls.env, "inv_approver_2", groups="purchase.group_purchase_user")
        cls.approver_2.groups_id += group_2
        cls.stock_user = new_test_user(
            cls.env, "inv_stock", groups="stock.group_stock_user,sales_team.group_sale_salesman_all_leads"
        )
        cls.env["backops.approval.tier"].create(
            [
                {"name": "Tier 1", "sequence": 1, "min_amount": 1000, "group_id": group_1.id},
                {"name": "Tier 2", "sequence": 2, "min_amount": 2000, "group_id": group_2.id},
            ]
        )
        cls.stock = cls.env["stock.warehouse"].search([("company_id", "=", cls.env.company.id)], limit=1).lot_stock_id
        cls.cart = cls._create_product(
            "Invariant Cart", sellers=[(cls.vendor_a, 100.0), (cls.vendor_b, 110.0)], is_storable=True
        )
        cls.deck = cls._create_product("Invariant Deck", sellers=[(cls.vendor_a, 40.0)], is_storable=True)
        cls.env["stock.quant"]._update_available_quantity(cls.cart, cls.stock, 3)
        cls.sale_orders = cls._create_sale_order([(cls.cart, 8), (cls.deck, 5)]) | cls._create_sale_order(
            [(cls.cart, 6)], partner=cls.vendor_b
        )
        cls.needs = cls.sale_orders.order_line
        cls.rfqs = cls.env["purchase.order"].create(
            [{"partner_id": vendor.id} for vendor in (cls.vendor_a, cls.vendor_b, cls.vendor_a)]
        )

    def _validate(self, picking, quantity):
        """Validate ``picking`` as a warehouse user does: ``quantity`` of each line
        (what is reserved when None), a backorder of the rest."""
        picking = picking.with_user(self.stock_user)
        picking.action_assign()
        for move in picking.move_ids:
            if quantity is not None:
                move.quantity = min(quantity, move.product_uom_qty)
            move.picked = bool(move.quantity)
        if not any(picking.move_ids.mapped("picked")):
            return
        action = picking.button_validate()
        if isinstance(action, dict):
            Form.from_action(picking.env, action).save().process()

    def test_invariants_hold_after_every_step(self):
        ProcurementMachine.case = self
        profile = os.environ.get("HYPOTHESIS_PROFILE", "ci")
        run_state_machine_as_test(ProcurementMachine, settings=settings.get_profile(profile))
