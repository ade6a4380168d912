/** @odoo-module */

import { registry } from "@web/core/registry";

// A visitor on a sold-out product's page asks to be texted when it is back
// (tests/test_back_in_stock_request.py, TestBackInStockTour).
registry.category("web_tour.tours").add("sms_journey_back_in_stock_visitor", {
    steps: () => [
        {
            content: "The sold-out product offers to text the visitor: type a mobile number",
            trigger: "#sms_back_in_stock_form input[name='phone']",
            run: "edit 333 123 4567",
        },
        {
            content: "Ask to be texted",
            trigger: "#sms_back_in_stock_form button[type='submit']:contains('Text me when it')",
            run: "click",
        },
        {
            content: "The page confirms the request",
            trigger: ".o_sms_back_in_stock:contains('We will text you when this product is back in stock.')",
        },
    ],
});
