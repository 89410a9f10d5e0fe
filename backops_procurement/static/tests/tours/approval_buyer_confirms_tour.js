import { registry } from "@web/core/registry";

// Data: a buyer's draft RFQ of 1,200 and a tier from 1,000 (test_tours.py).
registry.category("web_tour.tours").add("backops_approval_buyer_confirms", {
    steps: () => [
        {
            content: "The buyer confirms the order",
            trigger: ".o_form_view .o_statusbar_buttons button[name=button_confirm]",
            run: "click",
        },
        {
            content: "Above the tier, it waits for approval",
            trigger: ".o_statusbar_status button.o_arrow_button_current:contains(To Approve)",
        },
        {
            content: "The buyer cannot approve it",
            trigger: ".o_form_view .o_statusbar_buttons:not(:has(button[name=button_approve]))",
        },
    ],
});
