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
            content: "The flow draws the steps as cards, with their figures",
            trigger: ".o_sms_journey_flow_card .o_sms_journey_flow_figures",
        },
        {
            content: "Open the step list",
            trigger: ".o_notebook_headers .nav-link[name='steps']",
            run: "click",
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

// A two-branch journey built from the flow, then started.
const MAIN_ADD = ".o_sms_journey_flow > .o_sms_journey_flow_path > .o_sms_journey_flow_add";
registry.category("web_tour.tours").add("sms_journey_flow_build", {
    url: "/odoo/action-sms_journey.sms_journey_action/new",
    steps: () => [
        {
            content: "Name the new journey",
            trigger: ".o_field_widget[name='name'] input",
            run: "edit Flow tour journey",
        },
        {
            content: "Add an SMS step on the main path (saves the journey)",
            trigger: `${MAIN_ADD} .o_sms_journey_flow_add_sms`,
            run: "click",
        },
        {
            content: "Its card appears",
            trigger: ".o_sms_journey_flow_card[data-action='sms']",
        },
        {
            content: "Add a branch after it",
            trigger: `${MAIN_ADD} .o_sms_journey_flow_add_branch`,
            run: "click",
        },
        {
            content: "Add an SMS step on the yes path",
            trigger: ".o_sms_journey_flow_branch[data-side='yes'] .o_sms_journey_flow_add_sms",
            run: "click",
        },
        {
            content: "Add an SMS step on the no path",
            trigger: ".o_sms_journey_flow_branch[data-side='yes'] .o_sms_journey_flow_card",
        },
        {
            trigger: ".o_sms_journey_flow_branch[data-side='no'] .o_sms_journey_flow_add_sms",
            run: "click",
        },
        {
            content: "Open the branch step from its card",
            trigger: ".o_sms_journey_flow_branch[data-side='no'] .o_sms_journey_flow_card",
        },
        {
            trigger: ".o_sms_journey_flow_card[data-action='branch']",
            run: "click",
        },
        {
            content: "The step form opens in a dialog",
            trigger: ".modal .o_form_view .o_field_widget[name='condition']",
        },
        {
            trigger: ".modal .o_form_button_save",
            run: "click",
        },
        {
            content: "Start the journey",
            trigger: "body:not(:has(.modal)) .o_form_view button[name='action_start']",
            run: "click",
        },
        {
            content: "It runs",
            trigger: ".o_statusbar_status [aria-checked='true']:contains('Running'), .o_statusbar_status .o_arrow_button_current:contains('Running')",
        },
    ],
});
