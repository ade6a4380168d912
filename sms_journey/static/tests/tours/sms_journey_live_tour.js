/** @odoo-module */

import { rpc } from "@web/core/network/rpc";
import { registry } from "@web/core/registry";

// The contact's conversation is live: the provider's delivery report, posted while the
// conversation is open, turns the SMS's tick to "delivered" without a reload (the bus,
// not polling). The test leaves the signed report in sms_journey.tour_status_report.
const SHIPPED = ".o_sms_conversation_out:contains('Your order shipped')";
let postedAt = 0;

registry.category("web_tour.tours").add("sms_journey_live_ticks", {
    steps: () => [
        {
            content: "Open the contact's SMS conversation",
            trigger: ".o_notebook .nav-link:contains('SMS conversation')",
            run: "click",
        },
        {
            content: "The SMS is sent, not delivered yet; the provider reports it delivered",
            trigger: `${SHIPPED} .o_sms_thread_ticks_sent`,
            async run() {
                const report = JSON.parse(
                    await rpc("/web/dataset/call_kw/ir.config_parameter/get_param", {
                        model: "ir.config_parameter",
                        method: "get_param",
                        args: ["sms_journey.tour_status_report"],
                        kwargs: {},
                    })
                );
                postedAt = Date.now();
                const response = await fetch(report.url, {
                    method: "POST",
                    headers: report.headers,
                    body: new URLSearchParams(report.params),
                });
                if (!response.ok) {
                    throw new Error(`the status webhook answered ${response.status}`);
                }
            },
        },
        {
            content: "The tick turns to delivered, without a reload",
            trigger: `${SHIPPED} .o_sms_thread_ticks_delivered`,
            run() {
                console.log(`sms_journey live tick: ${Date.now() - postedAt} ms after the report`);
            },
        },
        {
            content: "The state's label follows",
            trigger: `${SHIPPED} .o_sms_conversation_state:contains('Delivered')`,
        },
    ],
});
