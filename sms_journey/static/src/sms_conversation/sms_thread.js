/** @odoo-module **/

import { Component, onPatched, useRef, useState } from "@odoo/owl";
import { formatDateTime, deserializeDateTime } from "@web/core/l10n/dates";
import { _t } from "@web/core/l10n/translation";
import { formatInteger } from "@web/views/fields/formatters";
import { analyze, lengthRefusal } from "../sms_encoding/sms_encoding";

// delivery ticks and state label of an SMS sent by the business, from its conversation
// state; the labels are translated here (the server's state_label is the fallback)
const TICKS = {
    queued: { icon: "fa-clock-o", title: _t("Queued") },
    sent: { icon: "fa-check", title: _t("Sent") },
    delivered: { icon: "fa-check", double: true, title: _t("Delivered") },
    failed: { icon: "fa-exclamation-circle", title: _t("Failed") },
    canceled: { icon: "fa-ban", title: _t("Canceled") },
};

/**
 * A thread of SMS as chat bubbles, newest at the bottom, older pages on demand, and a
 * reply box. Rows are sms.conversation.message _conversation_rows(). Shown from the
 * business's side (the contact's SMS conversation: what we sent on the right) or from
 * the phone's (the Sandbox phone: what the phone typed on the right).
 */
export class SmsThread extends Component {
    static template = "sms_journey.SmsThread";
    static props = {
        messages: Array,
        hasMore: { type: Boolean, optional: true },
        canReply: { type: Boolean, optional: true },
        side: { type: String, optional: true }, // "business" (default) or "phone"
        onLoadOlder: { type: Function, optional: true },
        onSend: { type: Function, optional: true }, // async (body) => void
        onOpenRecord: { type: Function, optional: true },
        emptyText: { type: String, optional: true },
        placeholder: { type: String, optional: true },
        maxHeight: { type: String, optional: true },
    };
    static defaultProps = { side: "business", maxHeight: "480px" };

    setup() {
        this.listRef = useRef("list");
        this.state = useState({ body: "", sending: false });
        this.lastCount = 0;
        onPatched(() => this.scrollIfNew());
        this.ticks = TICKS;
    }

    scrollIfNew() {
        // a new message at the bottom (load, send, poll): scroll to it; older pages: stay
        const last = this.props.messages.at(-1);
        const key = last && last.id;
        if (key !== this.lastKey && this.listRef.el) {
            this.listRef.el.scrollTop = this.listRef.el.scrollHeight;
        }
        this.lastKey = key;
    }

    get emptyText() {
        return this.props.emptyText || _t("No SMS yet.");
    }

    get placeholder() {
        return this.props.placeholder || _t("Reply by SMS… (Ctrl+Enter to send)");
    }

    /** The reply's live count (business side: what we send), or null. */
    get replyInfo() {
        return this.props.side === "business" ? analyze(this.state.body) : null;
    }

    /** Why the gateway would refuse the reply (tools/sms_limits.py), formatted, or null. */
    get replyRefusal() {
        const refusal = this.props.side === "business" && lengthRefusal(this.state.body.trim());
        return (
            refusal && {
                provider: refusal.provider,
                length: formatInteger(refusal.length),
                limit: formatInteger(refusal.limit),
            }
        );
    }

    isMine(message) {
        return this.props.side === "phone" ? message.direction === "in" : message.direction === "out";
    }

    stateLabel(message) {
        const tick = this.ticks[message.state];
        return tick ? tick.title : message.state_label;
    }

    formatDate(value) {
        return value ? formatDateTime(deserializeDateTime(value)) : "";
    }

    async send() {
        const body = this.state.body.trim();
        if (!body || this.state.sending || this.replyRefusal) {
            return;
        }
        this.state.sending = true;
        try {
            await this.props.onSend(body);
            this.state.body = "";
        } finally {
            this.state.sending = false;
        }
    }

    onKeydown(ev) {
        if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) {
            ev.preventDefault();
            this.send();
        }
    }
}
