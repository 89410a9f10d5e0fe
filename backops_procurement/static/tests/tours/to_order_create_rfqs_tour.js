import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_service/tour_utils";

const NEED_ROW = ".o_list_view .o_data_row:contains(SO Harbourlight Tour)";

// Data: the draft order "SO Harbourlight Tour" (test_tours.py): stage decks and golf
// carts from FairwayFleet, chairs from GreenLane.
registry.category("web_tour.tours").add("backops_to_order_create_rfqs", {
    steps: () => [
        {
            content: "Confirm the quotation: its lines become needs",
            trigger: ".o_form_view .o_statusbar_buttons button[name=action_confirm]",
            run: "click",
        },
        {
            trigger: ".o_statusbar_status button.o_arrow_button_current:contains(Sales Order)",
        },
        ...stepUtils.goToAppSteps("backops_procurement.menu_procurement_root", "Open Procurement"),
        {
            content: "Open the purchasing worklist",
            trigger: ".o_main_navbar [data-menu-xmlid='backops_procurement.menu_procurement_to_order']",
            run: "click",
        },
        {
            content: "The order's three needs are to order",
            trigger: `${NEED_ROW}:eq(2)`,
        },
        ...[1, 2, 3].map(() => ({
            content: "Select a need of the order",
            trigger: `${NEED_ROW}:not(.o_data_row_selected) .o_list_record_selector input`,
            run: "click",
        })),
        {
            trigger: ".o_control_panel button[name=action_open_rfq_wizard]",
            run: "click",
        },
        {
            content: "One RFQ per vendor",
            trigger: ".modal .o_data_row:contains(FairwayFleet Carts):contains(Stage Deck):contains(Golf Cart)",
        },
        {
            trigger: ".modal .o_data_row:contains(GreenLane Cart Hire):contains(Banquet Chair)",
        },
        {
            trigger: ".modal button[name=action_create_rfqs]",
            run: "click",
        },
        {
            content: "The new RFQs are listed",
            trigger: ".o_breadcrumb:contains(RFQs from Needs)",
        },
        {
            trigger: ".o_list_view .o_data_row:contains(FairwayFleet Carts)",
        },
        {
            trigger: ".o_list_view .o_data_row:contains(GreenLane Cart Hire)",
        },
    ],
});
