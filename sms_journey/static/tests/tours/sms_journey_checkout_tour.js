/** @odoo-module **/

import { registry } from "@web/core/registry";

// A visitor buys a (free) product: the SMS consent box of the address form is not
// pre-ticked and shows the company's text; they tick it and place the order. The test
// (tests/test_program_checkout.py) then reads the consent proof on the contact and order.
registry.category("web_tour.tours").add("sms_journey_checkout_consent", {
    steps: () => [
        { content: "add to cart", trigger: "#add_to_cart", run: "click" },
        {
            content: "go to the cart",
            trigger: "a sup.my_cart_quantity:contains(/^1$/)",
            run: "click",
        },
        { content: "checkout", trigger: 'a[href^="/shop/checkout"]', run: "click" },
        {
            content: "the SMS consent box is not pre-ticked",
            trigger: "form.checkout_autoformat input#sms_consent:not(:checked)",
        },
        {
            content: "it shows the company's consent text",
            trigger: "label[for=sms_consent]:contains(Yes, text me offers. STOP to opt out.)",
        },
        { trigger: "#o_country_id", run: "selectByLabel Belgium" },
        { trigger: "form.checkout_autoformat input[name=name]", run: "edit Tina Tour" },
        { trigger: "form.checkout_autoformat input[name=email]", run: "edit tina@example.com" },
        { trigger: "form.checkout_autoformat input[name=phone]", run: "edit +39 333 555 1234" },
        { trigger: "form.checkout_autoformat input[name=street]", run: "edit Via Roma 1" },
        { trigger: "form.checkout_autoformat input[name=city]", run: "edit Brussels" },
        { trigger: "form.checkout_autoformat input[name=zip]", run: "edit 1000" },
        { content: "tick the SMS consent", trigger: "input#sms_consent", run: "click" },
        { trigger: "input#sms_consent:checked" },
        { content: "save the address", trigger: "#save_address", run: "click" },
        {
            content: "confirm the addresses",
            trigger: 'a[name="website_sale_main_button"][href^="/shop/confirm_order"]',
            run: "click",
        },
        {
            content: "place the (free) order",
            trigger:
                'form[name="o_wsale_confirm_order"] button[name="o_payment_submit_button"]:not(:disabled)',
            run: "click",
        },
        { content: "the order is placed", trigger: ".o_portal_sale_sidebar" },
    ],
});
