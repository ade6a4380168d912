/** @odoo-module */

// Steps that several tours take, imported as
// "@sms_journey/../tests/tours/sms_journey_tour_steps".

// The SMS composer's body (a dialog).
export const COMPOSER_BODY = ".modal .o_field_widget[name='body']:visible";

// Type ``text`` into the SMS composer, leave the field, then wait for each of ``checks``
// (selectors inside the body field: its counter, its encoding...).
export function typeAndCheck(text, ...checks) {
    return [
        { content: `Type ${text}`, trigger: `${COMPOSER_BODY} textarea`, run: `edit ${text}` },
        { trigger: ".modal .modal-title", run: "click" },
        ...checks.map((check) => ({ content: check, trigger: `${COMPOSER_BODY} ${check}` })),
    ];
}

// Type ``text`` into an SMS conversation and send it; ``within``: the conversation's
// container when the page shows several (the Sandbox phone's device).
export function sendInConversation(text, within = "") {
    const scope = within ? `${within} ` : "";
    return [
        {
            content: `Type ${text}`,
            trigger: `${scope}.o_sms_conversation_input`,
            run: `edit ${text}`,
        },
        { content: "Send it", trigger: `${scope}.o_sms_conversation_send`, run: "click" },
    ];
}

// The Sandbox phone's device, where its contact types.
export const PHONE = ".o_sms_sandbox_phone_device";
