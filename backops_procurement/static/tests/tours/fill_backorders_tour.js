import { registry } from "@web/core/registry";

// Data: a sale of 6 carts with 5 on Odoo's backorder, and 5 carts back in stock
// (test_tours.py). The tour starts on Procurement → Backorders → Fill Backorders.
registry.category("web_tour.tours").add("backops_fill_backorders", {
    steps: () => [
        {
            trigger: ".o_list_button_add",
            run: "click",
        },
        {
            content: "Preview first: nothing ships yet",
            trigger: ".o_form_view .o_statusbar_buttons button[name=action_preview]",
            run: "click",
        },
        {
            trigger: ".o_statusbar_status button.o_arrow_button_current:contains(Previewed)",
        },
        {
            content: "The backorder would ship complete",
            trigger: ".o_form_view div[name=line_ids] .o_data_row:contains(Fleet Golf Cart):contains(Completed)",
        },
        {
            trigger: ".o_form_view .o_statusbar_buttons button[name=action_start]",
            run: "click",
        },
        {
            content: "Confirm the run",
            trigger: ".modal:contains(Ship every backorder) .modal-footer .btn-primary",
            run: "click",
        },
        {
            trigger: ".o_statusbar_status button.o_arrow_button_current:contains(Done)",
        },
        {
            content: "The summary counts the completed order",
            trigger: ".o_form_view div[name=order_completed_count]:contains(1)",
        },
    ],
});
