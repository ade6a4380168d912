/** @odoo-module */

import { registry } from "@web/core/registry";
import {
    PHONE,
    sendInConversation,
    typeAndCheck,
} from "@sms_journey/../tests/tours/sms_journey_tour_steps";

// The README's "Five minutes with the demo", on the demo data, in the order the README
// tells it. tests/test_demo_story.py plays the parts one after the other and runs, in
// between, what the server's crons and the sandbox provider do.

const ANDREI = "+40722345678";
const tours = registry.category("web_tour.tours");
// Website → eCommerce → Abandoned Carts. The Website app opens the site's live preview
// first (an iframe, slow to load and racing the menu's click): the tours open the
// menu's action directly.
const ABANDONED_CARTS = "/odoo/action-website_sale.action_view_abandoned_tree";

// The menus the README names, from the apps menu.
function openMenu(appXmlid, sectionName, itemXmlid) {
    return [
        { content: "Open the apps menu", trigger: ".o_navbar_apps_menu button", run: "click" },
        { trigger: `.o_app[data-menu-xmlid='${appXmlid}']`, run: "click" },
        {
            content: `Open ${sectionName}`,
            trigger: `.o_menu_sections button:contains('${sectionName}'), .o_menu_sections .dropdown-toggle:contains('${sectionName}')`,
            run: "click",
        },
        { trigger: `.dropdown-item[data-menu-xmlid='${itemXmlid}']`, run: "click" },
    ];
}

function openCartJourney() {
    return [
        ...openMenu(
            "sms_journey.sms_journey_menu_root",
            "Journeys",
            "sms_journey.sms_journey_menu"
        ),
        {
            content: "Open the Abandoned cart journey",
            trigger: ".o_data_cell:contains('Abandoned cart'), .o_kanban_record:contains('Abandoned cart')",
            run: "click",
        },
        { trigger: ".o_form_view .o_breadcrumb:contains('Abandoned cart')" },
    ];
}

function openAndreiOnThePhone() {
    return [
        ...openMenu(
            "sms_journey.sms_journey_menu_root",
            "Messages",
            "sms_journey.sms_sandbox_phone_menu"
        ),
        {
            content: "Pick Andrei's number",
            trigger: `.o_sms_sandbox_phone_number[data-number='${ANDREI}']:contains('Andrei Popescu')`,
            run: "click",
        },
    ];
}

// Steps 1 and 2: the abandoned cart, the journey that answers it, its preview, Start.
tours.add("sms_journey_story_cart", {
    url: ABANDONED_CARTS,
    steps: () => [
        {
            content: "1. Andrei's cart is among the abandoned carts",
            trigger: ".o_list_view .o_data_row:contains('Andrei Popescu') .o_data_cell[name='partner_id']",
            run: "click",
        },
        {
            content: "two espresso cup sets",
            trigger: ".o_field_widget[name='order_line'] .o_data_row:contains('Espresso cup set') .o_data_cell[name='product_uom_qty']:contains('2')",
        },
        ...openCartJourney(),
        {
            content: "2. The journey is in draft: nobody was enrolled or texted",
            trigger: ".o_statusbar_status [aria-checked='true']:contains('Draft')",
        },
        {
            content: "Trigger: abandoned cart",
            trigger: ".o_field_widget[name='trigger'] select option:selected:contains('Abandoned cart'):not(:visible)",
        },
        {
            content: "idle for 1 hour",
            trigger: ".o_field_widget[name='cart_idle_hours'] input:value('1.00')",
        },
        { content: "one SMS step, drawn as a card", trigger: ".o_sms_journey_flow_card[data-action='sms']" },
        {
            content: "Preview",
            trigger: ".o_form_view button[name='action_preview']",
            run: "click",
        },
        {
            content: "The preview lists Andrei and the SMS he will get, with the cart's link",
            trigger: ".modal .o_field_widget[name='line_ids'] .o_data_row:contains('Andrei Popescu'):contains('your cart is waiting for you'):contains('/shop/cart?access_token=')",
        },
        {
            content: "its segments and cost",
            trigger: ".modal .o_field_widget[name='segment_count']:not(:contains('0'))",
        },
        { trigger: ".modal .o_field_widget[name='cost']:not(:contains('0.0000'))" },
        {
            content: "Close the preview",
            trigger: ".modal .modal-footer button:contains('Close')",
            run: "click",
        },
        {
            content: "Start the journey",
            trigger: "body:not(:has(.modal)) .o_form_view button[name='action_start']",
            run: "click",
        },
        {
            content: "It runs",
            trigger: ".o_statusbar_status [aria-checked='true']:contains('Running')",
        },
    ],
});

// Step 4: the SMS on the Sandbox phone, delivered; Andrei answers.
tours.add("sms_journey_story_phone", {
    url: "/odoo",
    steps: () => [
        ...openAndreiOnThePhone(),
        {
            content: "4. His phone shows the journey's SMS with its (tracked) link, delivered (✓✓)",
            trigger: ".o_sms_thread_phone .o_sms_conversation_out:contains('your cart is waiting for you'):contains('/r/') .o_sms_thread_ticks_delivered",
        },
        ...sendInConversation("Is the espresso cup set still available in blue?", PHONE),
        {
            content: "His answer is on his phone, on the right",
            trigger: ".o_sms_conversation_in:contains('still available in blue') .o_sms_thread_mine",
        },
    ],
});

// Steps 5 and 6: the reply on the contact, answered; the composer's counter.
tours.add("sms_journey_story_contact", {
    steps: () => [
        {
            content: "5. Andrei's SMS conversation",
            trigger: ".o_notebook .nav-link[name='sms_conversation']",
            run: "click",
        },
        {
            content: "The journey's SMS, with its journey",
            trigger: ".o_sms_conversation_out:contains('your cart is waiting for you') .o_sms_conversation_journey:contains('Abandoned cart')",
        },
        {
            content: "and the order it was logged on",
            trigger: ".o_sms_conversation_out:contains('your cart is waiting for you') .o_sms_conversation_source",
        },
        {
            content: "His reply",
            trigger: ".o_sms_conversation_in:contains('still available in blue')",
        },
        ...sendInConversation("Yes, two blue sets left. Your cart is saved."),
        {
            content: "The answer is at the bottom, queued",
            trigger: ".o_sms_conversation_message:last-child.o_sms_conversation_out:contains('two blue sets left') .o_sms_thread_ticks",
        },
        {
            content: "6. The SMS button beside the mobile number (shown on hover) opens the composer",
            trigger: ".o_field_widget[name='mobile'] .o_field_phone_sms:not(:visible)",
            run: "click",
        },
        ...typeAndCheck(
            "Hello €",
            ".o_sms_count:contains('8 characters')",
            ".o_sms_encoding:contains('GSM-7')",
            ".o_sms_count:contains('1 segment')"
        ),
        ...typeAndCheck(
            "Hello € ł",
            ".o_sms_encoding:contains('UCS-2')",
            ".o_sms_unicode_chars:contains('ł')"
        ),
        { content: "Close the composer without sending", trigger: ".modal .btn-close", run: "click" },
        { trigger: "body:not(:has(.modal))" },
    ],
});

// Step 7, he buys: his cart confirmed, attributed to the journey's SMS.
tours.add("sms_journey_story_order", {
    url: ABANDONED_CARTS,
    steps: () => [
        {
            content: "7. Open his cart",
            trigger: ".o_list_view .o_data_row:contains('Andrei Popescu') .o_data_cell[name='partner_id']",
            run: "click",
        },
        {
            content: "Confirm",
            trigger: ".o_form_view .o_statusbar_buttons button[name='action_confirm']:visible",
            run: "click",
        },
        { trigger: ".o_statusbar_status [aria-checked='true']:contains('Sales Order')" },
        {
            content: "Its Other Info tab",
            trigger: ".o_notebook .nav-link[name='other_information']",
            run: "click",
        },
        {
            content: "The order is attributed to the journey's SMS",
            trigger: ".o_field_widget[name='sms_journey_id']:contains('Abandoned cart')",
        },
        {
            content: "by its delivery",
            trigger: ".o_field_widget[name='sms_attribution_kind']:contains('Delivery')",
        },
    ],
});

// Step 7, he stops: STOP typed on his phone.
tours.add("sms_journey_story_stop", {
    url: "/odoo",
    steps: () => [
        ...openAndreiOnThePhone(),
        ...sendInConversation("STOP", PHONE),
        {
            content: "STOP is on his phone",
            trigger: ".o_sms_conversation_in:contains('STOP') .o_sms_thread_mine",
        },
    ],
});

// A figure of the Results tab above zero (whatever its currency and format).
function positive(field, content) {
    return {
        content: `${content} is above zero`,
        trigger: `.o_notebook .tab-pane.active .o_field_widget[name='${field}']`,
        run() {
            const value = parseFloat(this.anchor.textContent.replace(/[^0-9.]/g, ""));
            if (!(value > 0)) {
                throw new Error(`${field} reads "${this.anchor.textContent}"`);
            }
        },
    };
}

// Step 7, once processed: the confirmation on the phone, the contact opted out; step 8:
// the journey's results.
tours.add("sms_journey_story_results", {
    url: "/odoo",
    steps: () => [
        ...openAndreiOnThePhone(),
        {
            content: "The phone got the STOP confirmation, after his STOP",
            trigger: ".o_sms_thread_phone .o_sms_conversation_in:contains('STOP') ~ .o_sms_conversation_out",
        },
        {
            content: "Open the contact",
            trigger: ".o_sms_sandbox_phone_contact",
            run: "click",
        },
        {
            content: "His SMS consent reads Opted out",
            trigger: ".o_form_view .o_field_widget[name='sms_consent_state']:contains('Opted out')",
        },
        ...openCartJourney(),
        {
            content: "8. Results",
            trigger: ".o_notebook .nav-link[name='results']",
            run: "click",
        },
        {
            content: "Refresh the SMS figures (the cron does every 15 minutes)",
            trigger: ".o_notebook .tab-pane.active button[name='action_refresh_sms_figures']",
            run: "click",
        },
        {
            content: "sent 1",
            trigger: ".o_notebook .tab-pane.active .o_field_widget[name='sent_count']:contains('1')",
        },
        { content: "delivered 1", trigger: ".o_field_widget[name='delivered_count']:contains('1')" },
        { content: "replied 1", trigger: ".o_field_widget[name='replied_count']:contains('1')" },
        { content: "one order", trigger: ".o_notebook .tab-pane.active .o_field_widget[name='order_count']:contains('1')" },
        positive("revenue", "its revenue"),
        positive("cost", "the SMS's cost"),
        positive("roas_label", "ROAS"),
    ],
});
