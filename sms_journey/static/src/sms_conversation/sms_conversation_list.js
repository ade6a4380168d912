/** @odoo-module **/

import { registry } from "@web/core/registry";
import { listView } from "@web/views/list/list_view";
import { ListController } from "@web/views/list/list_controller";
import { coalesced, useConversationChanges } from "./sms_live";

/**
 * The conversations inbox (sms.conversation list): read again when the bus says replies
 * came or were marked done in one of the user's companies; not while rows are selected
 * (a reload would drop the selection: the next notification brings the list up to date).
 */
export class SmsConversationListController extends ListController {
    setup() {
        super.setup();
        const reload = coalesced(() => this.model.root.load());
        useConversationChanges((payload) => {
            if (payload.replies && !this.model.root.selection.length) {
                reload();
            }
        });
    }
}

registry.category("views").add("sms_conversation_list", {
    ...listView,
    Controller: SmsConversationListController,
});
