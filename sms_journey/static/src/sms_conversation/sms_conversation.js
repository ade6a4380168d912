/** @odoo-module **/

import { Component, onWillStart, onWillUpdateProps, useRef, useState, onPatched } from "@odoo/owl";
import { registry } from "@web/core/registry";
import { useService } from "@web/core/utils/hooks";
import { standardWidgetProps } from "@web/views/widgets/standard_widget_props";
import { formatDateTime, deserializeDateTime } from "@web/core/l10n/dates";

const PAGE_SIZE = 30;

/**
 * The contact's SMS conversation, like a phone: every SMS sent to and received from the
 * contact's numbers, whatever record it was logged on, newest at the bottom; older
 * pages on demand; a reply box that sends through sms.sender (res.partner
 * sms_conversation_read / sms_conversation_send do the work).
 */
export class SmsConversation extends Component {
    static template = "sms_journey.SmsConversation";
    static props = { ...standardWidgetProps };

    setup() {
        this.orm = useService("orm");
        this.action = useService("action");
        this.notification = useService("notification");
        this.listRef = useRef("list");
        this.state = useState({ messages: [], hasMore: false, canReply: false, body: "", sending: false });
        this.scrollToBottom = true;
        onWillStart(() => this.load(this.props.record.resId));
        onWillUpdateProps((next) => {
            if (next.record.resId !== this.props.record.resId) {
                return this.load(next.record.resId);
            }
        });
        onPatched(() => {
            if (this.scrollToBottom && this.listRef.el) {
                this.listRef.el.scrollTop = this.listRef.el.scrollHeight;
                this.scrollToBottom = false;
            }
        });
    }

    apply(page, older = []) {
        this.state.messages = [...page.messages, ...older];
        this.state.hasMore = page.has_more;
        this.state.canReply = page.can_reply;
    }

    async load(resId) {
        if (!resId) {
            this.apply({ messages: [], has_more: false, can_reply: false });
            return;
        }
        this.scrollToBottom = true;
        this.apply(await this.orm.call("res.partner", "sms_conversation_read", [[resId]], { limit: PAGE_SIZE }));
    }

    async loadOlder() {
        const page = await this.orm.call("res.partner", "sms_conversation_read", [[this.props.record.resId]], {
            offset: this.state.messages.length,
            limit: PAGE_SIZE,
        });
        this.apply(page, this.state.messages);
    }

    async send() {
        const body = this.state.body.trim();
        if (!body || this.state.sending) {
            return;
        }
        this.state.sending = true;
        try {
            const page = await this.orm.call("res.partner", "sms_conversation_send", [[this.props.record.resId], body]);
            this.state.body = "";
            this.scrollToBottom = true;
            this.apply(page);
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

    formatDate(value) {
        return value ? formatDateTime(deserializeDateTime(value)) : "";
    }

    openRecord(model, id) {
        this.action.doAction({
            type: "ir.actions.act_window",
            res_model: model,
            res_id: id,
            views: [[false, "form"]],
        });
    }
}

registry.category("view_widgets").add("sms_conversation", { component: SmsConversation });
