/** @odoo-module **/

import { patch } from "@web/core/utils/patch";
import { SmsWidget } from "@sms/components/sms_widget/fields_sms_widget";
import { analyze } from "./sms_encoding";

/**
 * Every field with widget="sms_widget" (the composer in comment and mass mode, the
 * chatter's SMS, the SMS mailing body, templates, journey steps…) counts as the server
 * sends: Odoo's own counter switches to UCS-2 on € [ ] { } ~ ^ \ | and counts a line
 * break twice, where GSM-7 sends an extension character as two septets.
 *
 * What other patches add to the count (mass_mailing_sms: link trackers, the opt-out
 * link) is kept: it is what Odoo's count holds beyond the text, added as plain
 * characters to the text analysed.
 */
patch(SmsWidget.prototype, {
    get smsEncodingInfo() {
        const content = this._getValueForSmsCounts(this.props.record.data[this.props.name] || "");
        const odooBase = content.length + (content.match(/\n/g) || []).length;
        const added = Math.max(super.nbrChar - odooBase, 0);
        return analyze(content + " ".repeat(added));
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
