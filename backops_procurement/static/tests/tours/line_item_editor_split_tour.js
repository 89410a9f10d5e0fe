import { registry } from "@web/core/registry";

const CART_ROW = ".modal .o_data_row:contains(Golf Cart)";

// Data: a confirmed sale of 50 golf carts and an empty draft RFQ of each golf-cart
// vendor (test_tours.py).
registry.category("web_tour.tours").add("backops_line_item_editor_split", {
    steps: () => [
        {
            trigger: ".o_list_view .o_data_row:contains(FairwayFleet Carts) td[name=partner_id]",
            run: "click",
        },
        {
            trigger: ".o_form_view button[name=action_open_line_item_editor]",
            run: "click",
        },
        {
            content: "The need is still to order",
            trigger: `${CART_ROW} td[name=status_now]:contains(Needs Order)`,
        },
        {
            trigger: `${CART_ROW} td[name=quantity]`,
            run: "click",
        },
        {
            content: "30 of the 50 carts on this RFQ",
            trigger: `${CART_ROW} div[name=quantity] input`,
            run: "edit 30 && click body",
        },
        {
            content: "The status it will have, before saving",
            trigger: `${CART_ROW} td[name=status_after]:contains(Short)`,
        },
        {
            trigger: `${CART_ROW} td[name=remaining_qty]:contains(20)`,
        },
        {
            trigger: ".modal button[name=action_save]",
            run: "click",
        },
        {
            content: "The RFQ orders the 30 carts",
            trigger: "body:not(:has(.modal)) .o_form_view div[name=order_line] .o_data_row:contains(Golf Cart)",
        },
        {
            trigger: ".o_breadcrumb .breadcrumb-item a:contains(Requests for Quotation)",
            run: "click",
        },
        {
            trigger: ".o_list_view .o_data_row:contains(GreenLane Cart Hire) td[name=partner_id]",
            run: "click",
        },
        {
            trigger: ".o_form_view button[name=action_open_line_item_editor]",
            run: "click",
        },
        {
            content: "The 30 on the other vendor's RFQ",
            trigger: `${CART_ROW} td[name=elsewhere_detail]:contains(FairwayFleet Carts: 30)`,
        },
        {
            trigger: `${CART_ROW} td[name=status_now]:contains(Short)`,
        },
        {
            content: "Add the need: the 20 that remain",
            trigger: `${CART_ROW} td[name=selected] input`,
            run: "click",
        },
        {
            trigger: `${CART_ROW} td[name=status_after]:contains(On Order)`,
        },
        {
            trigger: `${CART_ROW} td[name=quantity]:contains(20)`,
        },
        {
            trigger: ".modal button[name=action_save]",
            run: "click",
        },
        {
            trigger: "body:not(:has(.modal)) .o_form_view div[name=order_line] .o_data_row:contains(Golf Cart)",
        },
    ],
});
