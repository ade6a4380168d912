from markupsafe import Markup

from odoo import api, models
from odoo.tools import plaintext2html

from ..tools import review as review_tools
from .sms_sender import SmsRequest


class SmsReview(models.AbstractModel):
    """Routes a satisfaction answer (an SMS survey answer, a keyword reply, an Odoo
    survey): satisfied contacts get the review request SMS with the review link,
    unsatisfied ones an activity for their salesperson (``tools/review.py`` decides).

    The link and the SMS template come from the question, rule or survey, else from the
    company (*Settings → SMS Journeys → Reviews*)."""

    _name = "sms.review"
    _description = "SMS review routing"

    @api.model
    def _route(self, partner, grade, threshold, link=None, origin="", interaction=None, batch=None):
        """Route ``partner``'s ``grade`` against ``threshold``; returns what was done
        (``tools.review.REVIEW`` / ``SALESPERSON``) or None.

        :param link: the review link of the question / rule / survey (else the company's)
        :param origin: what was answered, for the activity ("After-purchase survey")
        :param interaction: the SMS reply that answered (the request goes back through
            the gateway it came in on), if any
        :param batch: the ``InboundBatch`` of ``interaction``, on which the request is
            queued
        """
        if not partner:
            return None
        company = (interaction and interaction.company_id) or partner.company_id or self.env.company
        link = link or company.sms_review_url
        decision = review_tools.route(grade, threshold, link)
        if decision == review_tools.REVIEW:
            self._send_request(partner, company, link, interaction, batch)
        elif decision == review_tools.SALESPERSON:
            self._schedule_call_back(partner, grade, origin, interaction)
        return decision

    @api.model
    def _send_request(self, partner, company, link, interaction=None, batch=None):
        template = company.sms_review_template_id or self.env.ref(
            "sms_journey.sms_template_review_request", raise_if_not_found=False
        )
        if template:
            body = template._render_field("body", partner.ids, compute_lang=True)[partner.id]
        else:
            body = self.env._("Thank you! Would you share your experience in a review?")
        body = review_tools.fill_link(body, link)
        # the request is of its template's kind (ours is transactional: it answers the
        # contact's own rating); without a template, the text above is
        kind = template.sudo().sms_kind if template else "transactional"
        if interaction:
            return interaction._reply(batch, body, kind=kind, template=template or None)
        request = SmsRequest(body=body, partner=partner, kind=kind, template=template)
        return self.env["sms.sender"].sudo()._send([request], company=company)[0]

    @api.model
    def _schedule_call_back(self, partner, grade, origin, interaction=None):
        user = partner.user_id or partner.commercial_partner_id.user_id or self.env.user
        summary = self.env._(
            "Unsatisfied customer (%(grade)s): %(origin)s", grade=grade, origin=origin
        )
        note = plaintext2html(interaction.body) if interaction and interaction.body else Markup()
        return partner.sudo().activity_schedule(
            "mail.mail_activity_data_call",
            summary=summary,
            note=note,
            user_id=user.id,
        )
