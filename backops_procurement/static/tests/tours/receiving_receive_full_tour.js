import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_service/tour_utils";

const LINE = ".o_list_view .o_data_row:contains(FairwayFleet Carts)";

// Data: a confirmed purchase order of 30 carts and 10 decks from FairwayFleet
// (test_tours.py).
registry.category("web_tour.tours").add("backops_receiving_receive_full", {
    steps: () => [
        ...stepUtils.goToAppSteps("backops_procurement.menu_procurement_root", "Open Procurement"),
        {
            trigger: ".o_main_navbar [data-menu-xmlid='backops_procurement.menu_procurement_receiving']",
            run: "click",
        },
        {
            content: "Both lines wait to be received",
            trigger: `${LINE}:contains(Fleet Golf Cart)`,
        },
        {
            trigger: `${LINE}:contains(Riser Deck)`,
        },
        ...[1, 2].map(() => ({
            trigger: `${LINE}:not(.o_data_row_selected) .o_list_record_selector input`,
            run: "click",
        })),
        {
            trigger: ".o_control_panel button[name=action_backops_receive_full]",
            run: "click",
        },
        {
            content: "Confirm receiving everything expected",
            trigger: ".modal:contains(Receive everything) .modal-footer .btn-primary",
            run: "click",
        },
        {
            content: "Nothing is left to receive",
            trigger: ".o_view_nocontent:contains(Nothing waits to be received)",
        },
    ],
});
