/** @odoo-module */

import { registry } from "@web/core/registry";
import {
    COMPOSER_BODY,
    PHONE,
    sendInConversation,
    typeAndCheck,
} from "@sms_journey/../tests/tours/sms_journey_tour_steps";

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

// The SMS template body counts characters, encoding and segments as one types
// (Odoo's sms_widget, patched by static/src/sms_encoding/).
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
        ...sendInConversation("Great, see you at 10"),
        {
            content: "The answer appears at once, at the bottom",
            trigger: ".o_sms_conversation_message:last-child.o_sms_conversation_out:contains('Great, see you at 10')",
        },
    ],
});

// A two-branch journey built from the flow, then started.
const MAIN_ADD = ".o_sms_journey_flow > .o_sms_journey_flow_path > .o_sms_journey_flow_add";
// + SMS in the flow: the new step's form in a dialog, created only when saved.
function addSmsStep(addButton, content) {
    return [
        { content, trigger: addButton, run: "click" },
        {
            content: "The new step opens in a dialog: pick its template",
            trigger: ".modal .o_form_view .o_field_widget[name='template_id'] input",
            run: "edit Flow tour",
        },
        {
            trigger: ".ui-autocomplete .dropdown-item:contains('Flow tour template')",
            run: "click",
        },
        { trigger: ".modal .o_form_button_save", run: "click" },
        { trigger: "body:not(:has(.modal))" },
    ];
}

registry.category("web_tour.tours").add("sms_journey_flow_build", {
    url: "/odoo/action-sms_journey.sms_journey_action/new",
    steps: () => [
        {
            content: "Name the new journey",
            trigger: ".o_field_widget[name='name'] input",
            run: "edit Flow tour journey",
        },
        {
            content: "+ SMS (saves the journey), then Discard: nothing is added",
            trigger: `${MAIN_ADD} .o_sms_journey_flow_add_sms`,
            run: "click",
        },
        {
            trigger: ".modal .o_form_view .o_field_widget[name='template_id']",
        },
        {
            trigger: ".modal .o_form_button_cancel",
            run: "click",
        },
        {
            content: "No card for the discarded step",
            trigger: "body:not(:has(.modal)) .o_sms_journey_flow:not(:has(.o_sms_journey_flow_card))",
        },
        ...addSmsStep(`${MAIN_ADD} .o_sms_journey_flow_add_sms`, "Add an SMS step on the main path"),
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
            content: "The branch opens in a dialog with its condition",
            trigger: ".modal .o_form_view .o_field_widget[name='condition']",
        },
        {
            trigger: ".modal .o_form_button_save",
            run: "click",
        },
        ...addSmsStep(
            ".o_sms_journey_flow_branch[data-side='yes'] .o_sms_journey_flow_add_sms",
            "Add an SMS step on the yes path"
        ),
        {
            content: "Its card is on the yes path",
            trigger: ".o_sms_journey_flow_branch[data-side='yes'] .o_sms_journey_flow_card",
        },
        ...addSmsStep(
            ".o_sms_journey_flow_branch[data-side='no'] .o_sms_journey_flow_add_sms",
            "Add an SMS step on the no path"
        ),
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

// (a) A journey built from scratch in the form, then previewed.
registry.category("web_tour.tours").add("sms_journey_build_and_preview", {
    url: "/odoo/action-sms_journey.sms_journey_action/new",
    steps: () => [
        {
            content: "Name the new journey",
            trigger: ".o_field_widget[name='name'] input",
            run: "edit Welcome tour journey",
        },
        {
            content: "Add an SMS step from the flow (saves the journey): its form opens",
            trigger: `${MAIN_ADD} .o_sms_journey_flow_add_sms`,
            run: "click",
        },
        {
            content: "Pick the template",
            trigger: ".modal .o_field_widget[name='template_id'] input",
            run: "edit Welcome tour",
        },
        {
            trigger: ".ui-autocomplete .dropdown-item:contains('Welcome tour template')",
            run: "click",
        },
        {
            content: "The step shows the template's text with the SMS counter",
            trigger: ".modal .o_field_widget[name='template_body'] .o_sms_count:contains('GSM-7')",
        },
        {
            content: "Save the step",
            trigger: ".modal .o_form_button_save",
            run: "click",
        },
        {
            content: "Preview the journey",
            trigger: "body:not(:has(.modal)) .o_form_view button[name='action_preview']",
            run: "click",
        },
        {
            content: "The preview lists the recipient, the step and the rendered SMS",
            trigger: ".modal .o_field_widget[name='line_ids'] .o_data_row:contains('Tour Recipient'):contains('Welcome Tour Recipient, 10€ off')",
        },
        {
            content: "with the count of recipients",
            trigger: ".modal .o_field_widget[name='partner_count']:not(:contains('0'))",
        },
        {
            content: "Close the preview",
            trigger: ".modal .modal-footer button:contains('Close')",
            run: "click",
        },
        {
            trigger: "body:not(:has(.modal)) .o_form_view",
        },
    ],
});

// (b) A contact's reply answered from the contact's SMS conversation.
registry.category("web_tour.tours").add("sms_journey_answer_reply", {
    steps: () => [
        {
            content: "Open the contact's SMS conversation",
            trigger: ".o_notebook .nav-link:contains('SMS conversation')",
            run: "click",
        },
        {
            content: "The contact's reply is a bubble",
            trigger: ".o_sms_conversation_in:contains('Is my order ready?')",
        },
        ...sendInConversation("Yes, come by at 5pm"),
        {
            content: "The answer appears at the bottom, queued",
            trigger: ".o_sms_conversation_message:last-child.o_sms_conversation_out:contains('Yes, come by at 5pm') .o_sms_thread_ticks",
        },
    ],
});

// (c) The composer's counter: an extension character costs two septets and stays
// GSM-7; ł or an emoji switch to UCS-2.
registry.category("web_tour.tours").add("sms_journey_composer_counter", {
    steps: () => [
        {
            content: "Send an SMS from the contact's mobile (the button shows on hover)",
            trigger: ".o_field_widget[name='mobile'] .o_field_phone_sms:not(:visible)",
            run: "click",
        },
        ...typeAndCheck(
            "Hello",
            ".o_sms_count:contains('5 characters')",
            ".o_sms_encoding:contains('GSM-7')"
        ),
        ...typeAndCheck(
            "Hello €",
            ".o_sms_count:contains('8 characters')",
            ".o_sms_encoding:contains('GSM-7')",
            ".o_sms_count:contains('1 segment')"
        ),
        ...typeAndCheck(
            "Hello € ł",
            ".o_sms_count:contains('9 characters')",
            ".o_sms_encoding:contains('UCS-2')",
            ".o_sms_unicode_chars:contains('ł')"
        ),
        {
            // typed keys drop characters outside the BMP: set the value as a paste would
            content: "Paste Hello 😀",
            trigger: `${COMPOSER_BODY} textarea`,
            run() {
                this.anchor.value = "Hello 😀";
                this.anchor.dispatchEvent(new InputEvent("input", { bubbles: true }));
                this.anchor.dispatchEvent(new Event("change", { bubbles: true }));
            },
        },
        { trigger: ".modal .modal-title", run: "click" },
        {
            content: "an emoji takes two UCS-2 units",
            trigger: `${COMPOSER_BODY} .o_sms_count:contains('8 characters'):contains('UCS-2')`,
        },
        ...typeAndCheck(
            `${"€".repeat(81)}`,
            ".o_sms_count:contains('162 characters')",
            ".o_sms_encoding:contains('GSM-7')",
            ".o_sms_count:contains('2 segment')"
        ),
        ...typeAndCheck(
            "Price: 10€ [promo] {code}",
            ".o_sms_count:contains('30 characters')",
            ".o_sms_encoding:contains('GSM-7')"
        ),
        {
            content: "Send it",
            trigger: ".modal button[name='action_send_sms']",
            run: "click",
        },
        {
            trigger: "body:not(:has(.modal))",
        },
    ],
});

// The mass composer (contacts list, Actions, Send SMS) counts the same way.
registry.category("web_tour.tours").add("sms_journey_mass_composer_counter", {
    steps: () => [
        {
            content: "Select the contacts",
            trigger: ".o_list_view thead .o_list_record_selector input",
            run: "click",
        },
        {
            content: "Open the actions",
            trigger: ".o_cp_action_menus .dropdown-toggle",
            run: "click",
        },
        {
            trigger: ".o-dropdown--menu .dropdown-item:contains('Send SMS')",
            run: "click",
        },
        ...typeAndCheck(
            "Sconto 10€ {{ object.name }}",
            ".o_sms_count:contains('33 characters')",
            ".o_sms_encoding:contains('GSM-7')"
        ),
        ...typeAndCheck(
            "Zniżka 10€",
            ".o_sms_encoding:contains('UCS-2')",
            ".o_sms_unicode_chars:contains('ż')"
        ),
        {
            content: "Close the composer",
            trigger: ".modal .btn-close",
            run: "click",
        },
        {
            trigger: "body:not(:has(.modal))",
        },
    ],
});

// (d) STOP typed on the Sandbox phone.
registry.category("web_tour.tours").add("sms_journey_sandbox_stop", {
    url: "/odoo/action-sms_journey.sms_sandbox_phone_client_action",
    steps: () => [
        {
            content: "Pick the contact's number",
            trigger: ".o_sms_sandbox_phone_number[data-number='+393331234567']:contains('Giulia Rossi')",
            run: "click",
        },
        {
            content: "The phone shows the SMS it received, delivered",
            trigger: ".o_sms_thread_phone .o_sms_conversation_out:contains('Your order shipped') .o_sms_thread_ticks_delivered",
        },
        ...sendInConversation("STOP", PHONE),
        {
            content: "STOP is on the phone, on the right",
            trigger: ".o_sms_conversation_in:contains('STOP') .o_sms_thread_mine",
        },
    ],
});

// ... and once the inbound worker ran: the confirmation on the phone, the contact opted out.
registry.category("web_tour.tours").add("sms_journey_sandbox_stop_confirmed", {
    url: "/odoo/action-sms_journey.sms_sandbox_phone_client_action",
    steps: () => [
        {
            trigger: ".o_sms_sandbox_phone_number[data-number='+393331234567']",
            run: "click",
        },
        {
            content: "The STOP confirmation reached the phone",
            trigger: ".o_sms_thread_phone .o_sms_conversation_message:last-child.o_sms_conversation_out",
        },
        {
            content: "Open the contact",
            trigger: ".o_sms_sandbox_phone_contact",
            run: "click",
        },
        {
            content: "Its SMS consent shows opted out",
            trigger: ".o_form_view .o_field_widget[name='sms_consent_state']:contains('Opted out')",
        },
    ],
});

// Typing sets the textarea's value and fires "input" only: no change, no blur, as a
// person typing (the counter must follow without leaving the field).
function typeWithoutBlur(trigger, text, content) {
    return {
        content,
        trigger,
        run() {
            this.anchor.focus();
            this.anchor.value = text;
            this.anchor.dispatchEvent(new InputEvent("input", { bubbles: true }));
        },
    };
}

// A template's counter moves while typing; 1,601 characters are refused with the
// gateway's reason (tools/sms_limits.py, the test company's Twilio gateway).
registry.category("web_tour.tours").add("sms_journey_limits_template", {
    url: "/odoo/action-sms.sms_template_action/new",
    steps: () => [
        { trigger: ".o_field_widget[name='name'] input", run: "edit Limits tour" },
        typeWithoutBlur(".o_field_widget[name='body'] textarea", "Hello", "Type Hello"),
        {
            content: "counted without leaving the field",
            trigger: ".o_field_widget[name='body'] textarea:focus",
        },
        { trigger: ".o_field_widget[name='body'] .o_sms_count:contains('5 characters'):contains('1 segment')" },
        typeWithoutBlur(".o_field_widget[name='body'] textarea", "Hello €", "Type Hello €"),
        { trigger: ".o_field_widget[name='body'] .o_sms_count:contains('8 characters'):contains('GSM-7')" },
        typeWithoutBlur(".o_field_widget[name='body'] textarea", "a".repeat(1601), "Type 1,601 characters"),
        {
            content: "refused with the reason, still typing",
            trigger: ".o_field_widget[name='body'] .o_sms_journey_over_limit:contains('1,601 characters'):contains('Twilio accepts at most 1,600')",
        },
        { trigger: ".o_field_widget[name='body'] textarea:focus" },
        typeWithoutBlur(".o_field_widget[name='body'] textarea", "a".repeat(1600), "Back to 1,600"),
        { trigger: ".o_field_widget[name='body']:not(:has(.o_sms_journey_over_limit))" },
        { trigger: ".o_field_widget[name='body'] .o_sms_count:contains('1600 characters')" },
        { content: "Discard", trigger: ".o_form_button_cancel", run: "click" },
        { trigger: ".o_list_view, .o_kanban_view" },
    ],
});

// The contact's reply box counts while typing and refuses 1,601 characters.
registry.category("web_tour.tours").add("sms_journey_limits_reply_box", {
    steps: () => [
        {
            content: "Open the contact's SMS conversation",
            trigger: ".o_notebook .nav-link:contains('SMS conversation')",
            run: "click",
        },
        typeWithoutBlur(".o_sms_conversation_input", "Hello €", "Type a reply"),
        { trigger: ".o_sms_conversation_counter .o_sms_count:contains('8 characters'):contains('GSM-7')" },
        typeWithoutBlur(".o_sms_conversation_input", "a".repeat(1601), "Type 1,601 characters"),
        {
            content: "refused with the reason",
            trigger: ".o_sms_conversation_counter .o_sms_journey_over_limit:contains('1,601 characters'):contains('Twilio accepts at most 1,600')",
        },
        { content: "Send is disabled", trigger: ".o_sms_conversation_send:disabled" },
    ],
});
