/** @odoo-module **/

import { session } from "@web/session";

/**
 * The browser's port of tools/encoding.py analyze(): GSM-7 when every character is in
 * the GSM 03.38 basic or extension table (an extension character costs two septets),
 * UCS-2 otherwise (a character outside the BMP costs two units); 160/153 septets and
 * 70/67 units per segment, a two-unit character never split across segments.
 *
 * The alphabet, limits and advice are not repeated here: the server sends
 * tools/encoding.py client_definition() in the session (ir.http session_info).
 * tests/test_sms_encoding_js.py runs this port on tools/tests/encoding_cases.json,
 * the cases tools/tests/test_encoding.py checks the Python on.
 */

export const GSM7 = "GSM-7";
export const UCS2 = "UCS-2";

let compiled = null;

/** The session's definition, as sets; null when the session has none. */
export function encodingDefinition(definition = session.sms_journey_encoding) {
    if (!definition) {
        return null;
    }
    if (!compiled || compiled.source !== definition) {
        compiled = {
            source: definition,
            basic: new Set(definition.basic),
            extension: new Set(definition.extension),
            limits: { [GSM7]: definition.gsm7, [UCS2]: definition.ucs2 },
            advisedMaxSegments: definition.advised_max_segments,
            advisedMaxLength: definition.advised_max_length,
        };
    }
    return compiled;
}

function charCost(char, encoding, definition) {
    if (encoding === GSM7) {
        return definition.extension.has(char) ? 2 : 1;
    }
    return char.codePointAt(0) > 0xffff ? 2 : 1;
}

/**
 * How `text` will be sent: {encoding, length, segments, charsLeft, unicodeChars,
 * maxSegments, maxLength, tooLong}, as tools/encoding.py SmsEncodingInfo (unicodeChars: the distinct
 * characters that forced UCS-2, in order). Null without a definition.
 */
export function analyze(text, definition = encodingDefinition()) {
    if (!definition) {
        return null;
    }
    const chars = [...(text || "")]; // code points, as Python iterates a str
    const unicodeChars = [];
    for (const char of chars) {
        if (!definition.basic.has(char) && !definition.extension.has(char) && !unicodeChars.includes(char)) {
            unicodeChars.push(char);
        }
    }
    const encoding = unicodeChars.length ? UCS2 : GSM7;
    const [singleLimit, segmentLimit] = definition.limits[encoding];
    const costs = chars.map((char) => charCost(char, encoding, definition));
    const length = costs.reduce((total, cost) => total + cost, 0);
    let segments;
    let charsLeft;
    if (!length) {
        [segments, charsLeft] = [0, singleLimit];
    } else if (length <= singleLimit) {
        [segments, charsLeft] = [1, singleLimit - length];
    } else {
        // greedy filling, a two-unit character that does not fit whole opens the next segment
        let used = 0;
        segments = 1;
        for (const cost of costs) {
            if (used + cost > segmentLimit) {
                segments += 1;
                used = 0;
            }
            used += cost;
        }
        charsLeft = segmentLimit - used;
    }
    return {
        encoding,
        length,
        segments,
        charsLeft,
        unicodeChars: unicodeChars.join(""),
        maxSegments: definition.advisedMaxSegments,
        maxLength: definition.advisedMaxLength,
        tooLong: segments > definition.advisedMaxSegments || length > definition.advisedMaxLength,
    };
}

/**
 * The port of tools/sms_limits.py check_length(): {provider, length, limit} when `text`
 * has more characters (code points) than the current company's gateway accepts for
 * its encoding, else null. The limits come with the session (ir.http session_info,
 * tools/sms_limits.py client_limits()), so the counter refuses what the server refuses.
 */
export function lengthRefusal(text, limits = session.sms_journey_limits, definition = encodingDefinition()) {
    if (!limits || !limits.provider || !definition) {
        return null;
    }
    const info = analyze(text, definition);
    const limit = limits[info.encoding];
    const length = [...(text || "")].length;
    if (!limit || length <= limit) {
        return null;
    }
    return { provider: limits.provider, length, limit };
}
