import re

from odoo import fields, models
from odoo.tools import SQL
from odoo.tools.mail import TEXT_URL_REGEX, generate_tracking_message_id

from ..tools.sms_html import sms_text_to_html
from .bulk_sql import insert_rows

# the links Odoo makes clickable in SMS shown on the chatter
_URL = re.compile(TEXT_URL_REGEX)


class MailThread(models.AbstractModel):
    """SMS on chatters: log them in one INSERT for the journey step cron
    (``_sms_journey_log_batch``), post a batch of received SMS as ``message_post``
    would (``_sms_journey_post_batch``, for the inbound worker), and send SMS written
    from a template as the template's kind, tagged with it (see
    ``sms.sms.template_id``).

    Both batch methods write what Odoo's own path writes, column for column; the tests
    check it with ``tests/common.py: assert_same_message``."""

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
        author_id, email_from = self._message_compute_author(author_id, None, raise_on_email=False)
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

    def _sms_journey_post_batch(self, bodies, authors, recipients):
        """What ``message_post`` writes for one comment on each of these records (the
        values it computes, Odoo's ``_message_create``), created in one go, then its
        after-hook and ``_notify_thread`` for the messages someone is to be told about
        (their recipients, followers of the record's discussions other than the author)
        — one by one, as Odoo notifies. Records are distinct.

        :param list bodies: each record's message body (html)
        :param list authors: each message's author (partner id)
        :param list recipients: each message's recipients (lists of partner ids)
        :return: the messages, in the order of ``self``
        """
        company = self.env.company
        alias_domains = self._mail_get_alias_domains(default_company=company)
        companies = self._mail_get_companies(default=company)
        reply_to = self._notify_get_reply_to(default=False)
        subtype_id = self.env["ir.model.data"]._xmlid_to_res_id("mail.mt_comment")
        followers = self._sms_journey_comment_followers(subtype_id)
        values = []
        for record, body, author, partner_ids in zip(
            self, bodies, authors, recipients, strict=True
        ):
            author_id, email_from = record._message_compute_author(
                author, None, raise_on_email=False
            )
            values.append(
                {
                    "email_add_signature": True,
                    "record_name": record.display_name,
                    "author_id": author_id,
                    "author_guest_id": False,
                    "email_from": email_from,
                    "model": record._name,
                    "res_id": record.id,
                    "body": body,
                    "message_type": "comment",
                    # no query: a thread that is not flat has no parent to look up
                    "parent_id": record._message_compute_parent_id(False),
                    "subject": False,
                    "subtype_id": subtype_id,
                    "partner_ids": partner_ids,
                    "record_alias_domain_id": alias_domains[record.id].id,
                    "record_company_id": companies[record.id].id,
                    "reply_to": reply_to[record.id] or email_from,
                    "attachment_ids": [],
                }
            )
        messages = self._message_create(values)
        for record, message, vals in zip(self, messages, values, strict=True):
            record._message_post_after_hook(message, vals)
            if vals["partner_ids"] or followers.get(record.id, set()) - {vals["author_id"]}:
                record._notify_thread(message, vals)
        return messages

    def _sms_journey_comment_followers(self, subtype_id):
        """{record id: partners following its discussions (``subtype_id``)}, in one query."""
        followers = {}
        for res_id, partner_id in self.env.execute_query(
            SQL(
                """SELECT DISTINCT f.res_id, f.partner_id FROM mail_followers f
                     JOIN mail_followers_mail_message_subtype_rel rel
                       ON rel.mail_followers_id = f.id
                    WHERE f.res_model = %s AND f.res_id IN %s
                      AND rel.mail_message_subtype_id = %s""",
                self._name,
                tuple(self.ids),
                subtype_id,
            )
        ):
            followers.setdefault(res_id, set()).add(partner_id)
        return followers


def _log_html(text):
    """The stored chatter body of an SMS text: what the sanitiser makes of Odoo's
    rendering (``sms_content_to_rendered_html``), built escaped piece by piece."""
    return sms_text_to_html(text, _URL)
