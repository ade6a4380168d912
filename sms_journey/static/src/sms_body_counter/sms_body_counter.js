/** @odoo-module **/

import { registry } from "@web/core/registry";
import { SmsWidget, smsWidget } from "@sms/components/sms_widget/fields_sms_widget";

// Same rules as tools/encoding.py: extension characters take two GSM-7 septets,
// UCS-2 counts UTF-16 code units; multipart segments lose their header bytes.
const GSM7_EXTENSION = "\f^{}\\[~]|€";
export const MAX_SEGMENTS = 3;
export const MAX_CHARS = 480;

/**
 * SMS body with a live counter: characters, encoding (GSM-7 / UCS-2), segments, and
 * a warning past 3 segments or 480 characters.
 */
export class SmsJourneyBodyCounter extends SmsWidget {
    static template = "sms_journey.SmsJourneyBodyCounter";

    get counterText() {
        return this._getValueForSmsCounts(this.props.record.data[this.props.name] || "");
    }

    get encoding() {
        const withoutExtension = [...this.counterText]
            .filter((ch) => !GSM7_EXTENSION.includes(ch))
            .join("");
        return this._extractEncoding(withoutExtension);
    }

    get encodingLabel() {
        return this.encoding === "GSM7" ? "GSM-7" : "UCS-2";
    }

    get nbrChar() {
        const text = this.counterText;
        if (this.encoding !== "GSM7") {
            return text.length;
        }
        let count = 0;
        for (const ch of text) {
            count += GSM7_EXTENSION.includes(ch) ? 2 : 1;
        }
        return count;
    }

    get tooLong() {
        return this.nbrSMS > MAX_SEGMENTS || this.nbrChar > MAX_CHARS;
    }
}

export const smsJourneyBodyCounter = {
    ...smsWidget,
    component: SmsJourneyBodyCounter,
};

registry.category("fields").add("sms_journey_body_counter", smsJourneyBodyCounter);
