/** @odoo-module **/

import { Component, onWillStart, onWillUpdateProps, useState } from "@odoo/owl";
import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";
import { useService } from "@web/core/utils/hooks";
import { standardWidgetProps } from "@web/views/widgets/standard_widget_props";
import { SmsThread } from "./sms_thread";
import { coalesced, concerns, useConversationChanges } from "./sms_live";

const PAGE_SIZE = 30;

/**
 * The contact's SMS conversation, like a phone: every SMS sent to and received from the
 * contact's numbers, whatever record it was logged on, newest at the bottom; older
 * pages on demand; a reply box that sends through sms.sender (res.partner
 * sms_conversation_read / sms_conversation_send do the work). The bubbles are SmsThread,
 * shared with the Sandbox phone. Live: a bus notification about the contact's
 * conversation (a delivery report, a reply) reads the shown messages again.
 */
export class SmsConversation extends Component {
    static template = "sms_journey.SmsConversation";
    static components = { SmsThread };
    static props = { ...standardWidgetProps };

    setup() {
        this.orm = useService("orm");
        this.action = useService("action");
        this.emptyText = _t("No SMS with this contact yet.");
        // replyRefusal: why there is no reply box, in the server's words (translated there)
        this.state = useState({ messages: [], hasMore: false, canReply: false, replyRefusal: "" });
        onWillStart(() => this.load(this.props.record.resId));
        this.refresh = coalesced(() => this.reloadShown());
        useConversationChanges((payload) => {
            if (this.scope && concerns(payload, this.scope.partnerIds, this.scope.numbers)) {
                this.refresh();
            }
        });
        onWillUpdateProps((next) => {
            if (next.record.resId !== this.props.record.resId) {
                return this.load(next.record.resId);
            }
        });
    }

    apply(page, older = []) {
        this.state.messages = [...page.messages, ...older];
        this.state.hasMore = page.has_more;
        this.state.canReply = page.can_reply;
        this.state.replyRefusal = page.reply_refusal || "";
        // which notifications are about this conversation (not state: nothing shown)
        this.scope = { partnerIds: page.partner_ids || [], numbers: page.numbers || [] };
    }

    async reloadShown() {
        const resId = this.props.record.resId;
        if (!resId) {
            return;
        }
        // the pages already shown, read again
        const limit = Math.max(this.state.messages.length, PAGE_SIZE);
        const page = await this.orm.silent.call("res.partner", "sms_conversation_read", [[resId]], { limit });
        if (resId === this.props.record.resId) {
            this.apply(page);
        }
    }

    async load(resId) {
        if (!resId) {
            this.apply({ messages: [], has_more: false, can_reply: false });
            return;
        }
        this.apply(await this.orm.call("res.partner", "sms_conversation_read", [[resId]], { limit: PAGE_SIZE }));
    }

    async loadOlder() {
        const page = await this.orm.call("res.partner", "sms_conversation_read", [[this.props.record.resId]], {
            offset: this.state.messages.length,
            limit: PAGE_SIZE,
        });
        this.apply(page, this.state.messages);
    }

    async send(body) {
        this.apply(await this.orm.call("res.partner", "sms_conversation_send", [[this.props.record.resId], body]));
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
