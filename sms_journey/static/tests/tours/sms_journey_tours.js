/** @odoo-module */

import { registry } from "@web/core/registry";

// The journey form and its steps open in the web client.
registry.category("web_tour.tours").add("sms_journey_journey_form", {
    url: "/odoo/action-sms_journey.sms_journey_action",
    steps: () => [
        {
            content: "Open the shipped abandoned-cart journey",
            trigger: ".o_data_cell:contains('Abandoned cart'), .o_kanban_record:contains('Abandoned cart')",
            run: "click",
        },
        {
            content: "The form shows the trigger",
            trigger: ".o_form_view .o_field_widget[name='trigger']",
        },
        {
            content: "and the steps",
            trigger: ".o_form_view .o_field_widget[name='step_ids'] .o_data_row",
        },
    ],
});

// The SMS template body counts characters, encoding and segments as one types.
registry.category("web_tour.tours").add("sms_journey_body_counter", {
    url: "/odoo/action-sms.sms_template_action/new",
    steps: () => [
        {
            content: "Type a GSM-7 text",
            trigger: ".o_field_widget[name='body'] textarea",
            run: "edit Hello {{ object.name }}",
        },
        {
            content: "Leave the field",
            trigger: ".o_form_sheet .o_notebook_headers",
            run: "click",
        },
        {
            content: "GSM-7, one segment",
            trigger: ".o_sms_count:contains('GSM-7'):contains('1 segment')",
        },
        {
            content: "A Romanian ș (not in GSM-7) switches to UCS-2",
            trigger: ".o_field_widget[name='body'] textarea",
            run: "edit Mulțumim, ședința e mâine",
        },
        {
            content: "Leave the field",
            trigger: ".o_form_sheet .o_notebook_headers",
            run: "click",
        },
        {
            content: "UCS-2 is shown",
            trigger: ".o_sms_count:contains('UCS-2')",
        },
        {
            content: "A very long text",
            trigger: ".o_field_widget[name='body'] textarea",
            run: `edit ${"Lorem ipsum dolor sit amet. ".repeat(20)}`,
        },
        {
            content: "Leave the field",
            trigger: ".o_form_sheet .o_notebook_headers",
            run: "click",
        },
        {
            content: "warns past 3 segments / 480 characters",
            trigger: ".o_sms_journey_too_long",
        },
        {
            content: "Discard the draft template",
            trigger: ".o_form_button_cancel",
            run: "click",
        },
        {
            content: "Back to the templates list",
            trigger: ".o_list_view, .o_kanban_view",
        },
    ],
});

// The contact's SMS conversation: a journey SMS logged on an order, a reminder logged
// on an event and the contact's reply in one thread; an answer from the reply box.
registry.category("web_tour.tours").add("sms_journey_conversation", {
    steps: () => [
        {
            content: "Open the contact's SMS conversation",
            trigger: ".o_notebook .nav-link:contains('SMS conversation')",
            run: "click",
        },
        {
            content: "The journey SMS logged on the order, with its order",
            trigger: ".o_sms_conversation_out:contains('Your cart is waiting') .o_sms_conversation_source",
        },
        {
            content: "belongs to its journey",
            trigger: ".o_sms_conversation_out:contains('Your cart is waiting') .o_sms_conversation_journey:contains('Abandoned cart test')",
        },
        {
            content: "The reminder logged on the event",
            trigger: ".o_sms_conversation_out:contains('Reminder: fitting tomorrow') .o_sms_conversation_source:contains('Fitting')",
        },
        {
            content: "The contact's reply",
            trigger: ".o_sms_conversation_in:contains('See you tomorrow')",
        },
        {
            content: "Type an answer",
            trigger: ".o_sms_conversation_input",
            run: "edit Great, see you at 10",
        },
        {
            content: "Send it",
            trigger: ".o_sms_conversation_send",
            run: "click",
        },
        {
            content: "The answer appears at once, at the bottom",
            trigger: ".o_sms_conversation_message:last-child.o_sms_conversation_out:contains('Great, see you at 10')",
        },
    ],
});
