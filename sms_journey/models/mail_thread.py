import re

from odoo import fields, models
from odoo.tools.mail import TEXT_URL_REGEX, generate_tracking_message_id

from ..tools.sms_html import sms_text_to_html
from .bulk_sql import insert_rows

# the links Odoo makes clickable in SMS shown on the chatter
_URL = re.compile(TEXT_URL_REGEX)


class MailThread(models.AbstractModel):
    """SMS on chatters: log them in one INSERT for the journey step cron
    (``_sms_journey_log_batch``), and send SMS written from a template as the
    template's kind, tagged with it (see ``sms.sms.template_id``)."""

    _inherit = "mail.thread"

    def _message_sms_with_template(
        self,
        template=False,
        template_xmlid=False,
        template_fallback="",
        partner_ids=False,
        **kwargs,
    ):
        if not template and template_xmlid:
            template = self.env.ref(template_xmlid, raise_if_not_found=False)
        if not template:
            return super()._message_sms_with_template(
                template=template,
                template_xmlid=template_xmlid,
                template_fallback=template_fallback,
                partner_ids=partner_ids,
                **kwargs,
            )
        # the SMS is of the template's kind (marketing unless the template says otherwise)
        with self.env["sms.sms"]._sms_journey_source(template.sudo().sms_kind, template):
            return super()._message_sms_with_template(
                template=template,
                template_xmlid=template_xmlid,
                template_fallback=template_fallback,
                partner_ids=partner_ids,
                **kwargs,
            )

    def _sms_journey_log_batch(self, texts, author_id=None):
        """What ``_message_log_batch`` writes for SMS texts (``message_type='sms'``, the
        body rendered by ``sms_content_to_rendered_html``), in one INSERT.

        Odoo's version goes through ``mail.message.create`` record by record (defaults,
        sanitising a body that is escaped text, cache inverses) and was half of the
        step cron's time. The values are the ones it computes (author, reply-to, note
        subtype, shared tracking message-id) and the body is what the sanitiser leaves of
        Odoo's rendering, built escaped (``tools/sms_html.py``); no module of Odoo
        overrides that path, and a test compares both rows column by column.

        :param dict texts: {record id: SMS text}
        :param author_id: the author's partner id (default: the current user's)
        :return: the messages, sudo, in the order of ``self``
        """
        if not self:
            return self.env["mail.message"].sudo()
        author_id, email_from = self._message_compute_author(
            author_id, None, raise_on_email=False
        )
        base = {
            "author_id": author_id or None,
            "email_from": email_from or None,
            "model": self._name,
            "message_type": "sms",
            "is_internal": True,
            "subtype_id": self.env["ir.model.data"]._xmlid_to_res_id("mail.mt_note"),
            "email_add_signature": False,
            "message_id": generate_tracking_message_id("message-notify"),
            "reply_to": self.env["mail.thread"]._notify_get_reply_to(default=email_from)[False]
            or None,
            "date": fields.Datetime.now(),
        }
        messages = insert_rows(
            self.env["mail.message"].sudo(),
            [
                dict(base, res_id=record.id, body=_log_html(texts.get(record.id, "")))
                for record in self
            ],
        )
        # as mail.message.create does: the documents' message lists changed
        self.invalidate_recordset(["message_ids"])
        return messages


def _log_html(text):
    """The stored chatter body of an SMS text: what the sanitiser makes of Odoo's
    rendering (``sms_content_to_rendered_html``), built escaped piece by piece."""
    return sms_text_to_html(text, _URL)
