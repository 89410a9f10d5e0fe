import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_service/tour_utils";

const CART_ROW = ".o_list_view .o_data_row:contains(Fleet Golf Cart)";

// Data: a confirmed sale of 4 carts, reserved on its delivery (test_tours.py).
registry.category("web_tour.tours").add("backops_deliver_ship", {
    steps: () => [
        ...stepUtils.goToAppSteps("backops_procurement.menu_procurement_root", "Open Procurement"),
        {
            trigger: ".o_main_navbar [data-menu-xmlid='backops_procurement.menu_procurement_delivery_root']",
            run: "click",
        },
        {
            trigger: ".o-dropdown-item[data-menu-xmlid='backops_procurement.menu_procurement_delivery_ready']",
            run: "click",
        },
        {
            content: "Lines are grouped by delivery address",
            trigger: ".o_list_view .o_group_header:contains(Harbourlight Festival)",
            run: "click",
        },
        {
            trigger: `${CART_ROW} .o_list_record_selector input`,
            run: "click",
        },
        {
            trigger: ".o_control_panel button[name=action_open_backops_deliver]",
            run: "click",
        },
        {
            content: "All 4 are ready",
            trigger: ".modal .o_data_row:contains(Fleet Golf Cart) td[name=ready_qty]:contains(4)",
        },
        {
            trigger: ".modal .o_data_row:contains(Fleet Golf Cart) td[name=quantity]",
            run: "click",
        },
        {
            content: "Ship 3 now",
            trigger: ".modal .o_data_row:contains(Fleet Golf Cart) div[name=quantity] input",
            run: "edit 3 && click body",
        },
        {
            trigger: ".modal button[name=action_deliver]",
            run: "click",
        },
        {
            content: "3 delivered, the last one still ready",
            trigger: `body:not(:has(.modal)) ${CART_ROW} td[name=qty_delivered]:contains(3)`,
        },
    ],
});
