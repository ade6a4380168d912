import re
from io import BytesIO

from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.formparser import FormDataParser

from odoo import models
from odoo.http import request

from ..tools.encoding import client_definition
from ..tools.sms_limits import client_limits

# a byte that is not part of valid UTF-8, as decoded with "surrogateescape"
_INVALID_BYTE = re.compile("[\udc80-\udcff]")


def escape_invalid_utf8(data):
    """``data`` (bytes of a query string or a url-encoded form) with every byte that is
    not valid UTF-8 written as ``%XX``: werkzeug refuses such input with an exception (a
    500, or a misleading 413 for a form); escaped, it keeps the bytes as ``%XX`` text."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("utf-8", "surrogateescape")
        return _INVALID_BYTE.sub(lambda m: f"%{ord(m[0]) - 0xDC00:02X}", text).encode("utf-8")
    return data


class IrHttp(models.AbstractModel):
    _inherit = "ir.http"

    @classmethod
    def _pre_dispatch(cls, rule, args):
        """Provider webhooks accept any bytes: a query string or a url-encoded body that
        is not UTF-8 is escaped before Odoo parses it (after the route's body size cap,
        which ``super`` sets, so an oversized body is refused before being read)."""
        super()._pre_dispatch(rule, args)
        if not rule.endpoint.routing.get("sms_journey_webhook"):
            return
        httprequest = request.httprequest
        httprequest.query_string = escape_invalid_utf8(httprequest.query_string)
        if httprequest.mimetype == "application/x-www-form-urlencoded":
            data = httprequest.get_data(cache=True)
            escaped = escape_invalid_utf8(data)
            if escaped is not data:
                parser = FormDataParser(cls=ImmutableMultiDict)
                _stream, form, files = parser.parse(
                    BytesIO(escaped), httprequest.mimetype, len(escaped), {}
                )
                # both, as werkzeug sets them together (it parses again when one is missing)
                httprequest.form, httprequest.files = form, files

    @classmethod
    def _dispatch(cls, endpoint):
        """Provider webhooks read their parameters from the request themselves: Odoo
        would pass every form field as a keyword argument, and a field named ``self``
        (anyone can post one) would break the call with a TypeError, a 500."""
        if getattr(endpoint, "routing", {}).get("sms_journey_webhook"):
            request.params = {
                key: value for key, value in request.params.items() if key == "gateway_id"
            }
        return super()._dispatch(endpoint)

    def session_info(self):
        """The web client's SMS counter (``static/src/sms_encoding/``) counts with the
        alphabet and limits of ``tools/encoding.py``, and refuses what the current
        company's gateway refuses (``tools/sms_limits.py``), sent here rather than copied."""
        info = super().session_info()
        info["sms_journey_encoding"] = client_definition()
        gateway = self.env["sms.gateway"]._get_company_gateway()
        info["sms_journey_limits"] = client_limits(gateway.code if gateway else None)
        return info
