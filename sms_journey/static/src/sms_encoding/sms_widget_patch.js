/** @odoo-module **/

import { useEffect, useState } from "@odoo/owl";
import { patch } from "@web/core/utils/patch";
import { formatInteger } from "@web/views/fields/formatters";
import { SmsWidget } from "@sms/components/sms_widget/fields_sms_widget";
import { analyze, lengthRefusal } from "./sms_encoding";

/**
 * Every field with widget="sms_widget" (the composer in comment and mass mode, the
 * chatter's SMS, the SMS mailing body, templates, journey steps, survey questions…)
 * counts as the server sends: Odoo's own counter switches to UCS-2 on € [ ] { } ~ ^ \ |
 * and counts a line break twice, where GSM-7 sends an extension character as two septets.
 *
 * The count follows the text as it is typed: the record gets the text only when the
 * field is left (Odoo's input hook commits on change), so the counter reads the
 * textarea's value from each input event until then. A text longer than the company's
 * gateway takes is refused here with the reason (tools/sms_limits.py, sent with the
 * session), as the server refuses it.
 *
 * What other patches add to the count (mass_mailing_sms: link trackers, the opt-out
 * link) is kept: it is what Odoo's count holds beyond the text, added as plain
 * characters to the text analysed.
 */
patch(SmsWidget.prototype, {
    setup() {
        super.setup(...arguments);
        // the text typed since the record last changed: {text, base (the record's value then)}
        this.smsLive = useState({ text: null, base: null });
        useEffect(
            (el) => {
                if (!el) {
                    return;
                }
                const onInput = () => {
                    this.smsLive.base = this.smsRecordValue;
                    this.smsLive.text = el.value;
                };
                el.addEventListener("input", onInput);
                return () => el.removeEventListener("input", onInput);
            },
            () => [this.textareaRef.el]
        );
    },
    get smsRecordValue() {
        return this.props.record.data[this.props.name] || "";
    },
    /** The text as typed: the textarea's while the record has not taken it yet. */
    get smsText() {
        const recordValue = this.smsRecordValue;
        const { text, base } = this.smsLive;
        const el = this.textareaRef.el;
        if (text !== null && base === recordValue && (!el || el.value === text)) {
            return text;
        }
        return recordValue;
    },
    get smsEncodingInfo() {
        // what other patches add beyond the record's text (Odoo's way of counting it)
        const odooCount = super.nbrChar;
        const recorded = this._getValueForSmsCounts(this.smsRecordValue);
        const added = Math.max(odooCount - recorded.length - (recorded.match(/\n/g) || []).length, 0);
        const content = this._getValueForSmsCounts(this.smsText);
        return analyze(content + " ".repeat(added));
    },
    /** Why the gateway would refuse the text, formatted, or null. */
    get smsLengthRefusal() {
        const refusal = lengthRefusal(this.smsText);
        return (
            refusal && {
                provider: refusal.provider,
                length: formatInteger(refusal.length),
                limit: formatInteger(refusal.limit),
            }
        );
    },
    get nbrChar() {
        const info = this.smsEncodingInfo;
        return info ? info.length : super.nbrChar;
    },
    get encoding() {
        const info = this.smsEncodingInfo;
        return info ? info.encoding : super.encoding;
    },
    get nbrSMS() {
        const info = this.smsEncodingInfo;
        return info ? info.segments : super.nbrSMS;
    },
});
