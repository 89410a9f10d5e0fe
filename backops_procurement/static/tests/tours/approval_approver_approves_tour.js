import { registry } from "@web/core/registry";

// Data: the order backops_approval_buyer_confirms left waiting, and an approver of its
// tier (test_tours.py). The tour starts on Purchase → Orders → To Approve.
registry.category("web_tour.tours").add("backops_approval_approver_approves", {
    steps: () => [
        {
            content: "The order waits for me",
            trigger: ".o_list_view .o_data_row:contains(FairwayFleet Carts):contains(Over 1,000) .o_list_record_selector input",
            run: "click",
        },
        {
            trigger: ".o_control_panel button[name=action_approve]",
            run: "click",
        },
        {
            content: "Nothing waits for me any more",
            trigger: ".o_view_nocontent:contains(Nothing waits for your approval)",
        },
    ],
});
