/** @odoo-module **/

import { onMounted, onWillUnmount } from "@odoo/owl";
import { useService } from "@web/core/utils/hooks";

/** The bus notification of sms_conversation_live.py: {partner_ids, numbers, replies}. */
export const CONVERSATION_CHANGED = "sms_journey.conversation/changed";

// how many mounted screens follow each company channel: the channel is left with the last
const followers = new Map();

/**
 * Follow the SMS conversations of the user's active companies while the component is
 * mounted: ``onChange(payload)`` is called for each notification (one per company and
 * batch of changes: which contacts and numbers changed, and whether replies came). The
 * server subscribes the tab to a company's channel only for its SMS users
 * (ir_websocket.py); the payload holds no text: the screen reads again what concerns it.
 */
export function useConversationChanges(onChange) {
    const busService = useService("bus_service");
    const channels = useService("company").activeCompanyIds.map((id) => `sms_journey.company_${id}`);
    onMounted(() => {
        for (const channel of channels) {
            const count = followers.get(channel) || 0;
            followers.set(channel, count + 1);
            if (!count) {
                busService.addChannel(channel);
            }
        }
        busService.subscribe(CONVERSATION_CHANGED, onChange);
    });
    onWillUnmount(() => {
        busService.unsubscribe(CONVERSATION_CHANGED, onChange);
        for (const channel of channels) {
            const count = followers.get(channel) - 1;
            if (count) {
                followers.set(channel, count);
            } else {
                followers.delete(channel);
                busService.deleteChannel(channel);
            }
        }
    });
}

/**
 * ``load`` called at once, never twice at the same time: a call while it runs makes it
 * run once more after (a burst of notifications costs two reads, and the last one sees
 * everything).
 */
export function coalesced(load) {
    let running = null;
    let again = false;
    const run = async () => {
        if (running) {
            again = true;
            return running;
        }
        try {
            do {
                again = false;
                running = load();
                await running;
            } while (again);
        } finally {
            running = null;
        }
    };
    return run;
}

/** Whether ``payload`` is about these contacts or numbers. */
export function concerns(payload, partnerIds, numbers) {
    return (
        payload.partner_ids.some((id) => partnerIds.includes(id)) ||
        payload.numbers.some((number) => numbers.includes(number))
    );
}
