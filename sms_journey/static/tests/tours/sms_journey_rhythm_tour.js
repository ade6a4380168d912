/** @odoo-module */

import { registry } from "@web/core/registry";

// The contact's rhythm on its SMS tab: the typical days between orders, where they come
// from, the day the next order is expected and the best hour to text
// (tests/test_rhythm.py).
registry.category("web_tour.tours").add("sms_journey_contact_rhythm", {
    steps: () => [
        {
            content: "Open the contact's SMS tab",
            trigger: ".o_notebook_headers .nav-link[name='sms_journey']",
            run: "click",
        },
        {
            content: "The typical days between orders",
            trigger: ".o_field_widget[name='sms_order_gap_days']:contains('21.0')",
        },
        {
            content: "from the contact's own orders",
            trigger: ".o_field_widget[name='sms_order_gap_source']:contains('Own orders')",
        },
        {
            content: "and the day the next order is expected",
            trigger: ".o_field_widget[name='sms_next_order_predicted']:contains('03/15/2027')",
        },
        {
            content: "and when the contact most often clicks or replies, in its zone",
            trigger:
                ".o_field_widget[name='sms_best_hour_label']:contains('Tuesday 19:00 (Europe/Rome, 12 clicks and replies)')",
        },
    ],
});
