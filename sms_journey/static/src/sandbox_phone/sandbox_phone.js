/** @odoo-module **/

import { Component, onWillStart, useState } from "@odoo/owl";
import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";
import { useService } from "@web/core/utils/hooks";
import { Layout } from "@web/search/layout";
import { formatDateTime, deserializeDateTime } from "@web/core/l10n/dates";
import { SmsThread } from "../sms_conversation/sms_thread";
import { coalesced, useConversationChanges } from "../sms_conversation/sms_live";

const PAGE_SIZE = 30;

/**
 * The Sandbox phone: the numbers the sandbox gateways texted, and for one number its
 * thread as the handset shows it (received SMS on the left with their delivery ticks,
 * the typed replies on the right) with a box to type the customer's reply. The server
 * does the work (sms.gateway sandbox_phone_numbers / _read / _reply); the reply goes
 * through the sandbox reply wizard and its checks.
 *
 * Live, without polling: the bus tells the phone when the SMS of its company change (an
 * SMS queued or sent, a delivery report, a reply processed by the inbound worker, with
 * its answers such as the STOP confirmation); the phone then reads its numbers and the
 * shown thread again. Without the bus (no websocket) it shows what it read when opened,
 * a number picked, or a reply typed.
 */
export class SandboxPhone extends Component {
    static template = "sms_journey.SandboxPhone";
    static components = { Layout, SmsThread };
    static props = ["*"];

    setup() {
        this.orm = useService("orm");
        this.action = useService("action");
        this.emptyText = _t("Nothing on this phone yet.");
        this.placeholder = _t("Type the customer's reply, e.g. STOP (Ctrl+Enter to send)");
        const context = this.props.action.context || {};
        this.state = useState({
            numbers: [],
            number: context.sandbox_number || null,
            messages: [],
            hasMore: false,
        });
        onWillStart(() => this.refresh());
        useConversationChanges(coalesced(() => this.refresh()));
    }

    get current() {
        return this.state.numbers.find((row) => row.number === this.state.number);
    }

    async refresh() {
        this.state.numbers = await this.orm.silent.call("sms.gateway", "sandbox_phone_numbers", []);
        if (!this.state.number && this.state.numbers.length) {
            this.state.number = this.state.numbers[0].number;
        }
        if (this.state.number) {
            // keep the older pages already shown
            const limit = Math.max(this.state.messages.length, PAGE_SIZE);
            this.apply(await this.read(this.state.number, 0, limit));
        }
    }

    read(number, offset, limit = PAGE_SIZE) {
        return this.orm.silent.call("sms.gateway", "sandbox_phone_read", [number], { offset, limit });
    }

    apply(page, older = []) {
        this.state.messages = [...page.messages, ...older];
        this.state.hasMore = page.has_more;
    }

    async select(number) {
        this.state.number = number;
        this.state.messages = [];
        this.apply(await this.read(number, 0));
    }

    async loadOlder() {
        const page = await this.read(this.state.number, this.state.messages.length);
        this.apply(page, this.state.messages);
    }

    async send(body) {
        this.apply(await this.orm.call("sms.gateway", "sandbox_phone_reply", [this.state.number, body]));
    }

    formatDate(value) {
        return value ? formatDateTime(deserializeDateTime(value)) : "";
    }

    openContact(partner) {
        this.action.doAction({
            type: "ir.actions.act_window",
            res_model: "res.partner",
            res_id: partner.id,
            views: [[false, "form"]],
        });
    }
}

registry.category("actions").add("sms_journey.sandbox_phone", SandboxPhone);
