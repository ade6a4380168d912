from dataclasses import replace
from datetime import timedelta

from odoo import fields, models

from ..tools import journey as journey_tools
from .sms_journey_participant import _group_by
from .sms_journey_trace import StepSms
from .sms_sender import SmsRequest
from .sms_template import COUPON_PLACEHOLDER, LANDING_PLACEHOLDER, PRODUCT_PLACEHOLDER


class SmsJourneyParticipant(models.Model):
    """The SMS of the journey steps, written and sent the way Odoo's mass SMS are: one
    render per template, model and language, the landing page and each participant's
    coupon filled in, links shortened per trace, then one batch through
    ``sms.sender._send`` (``_send_sms_batch``)."""

    _inherit = "sms.journey.participant"

    def _sms_skip_reason(self, step):
        """Why this participant's SMS of ``step`` cannot be written, or None."""
        if not step.template_id and not step.variant_ids:
            return self.env._("No SMS template on the step")
        if not self.partner_id._sms_number():
            return self.env._("The contact has no phone number")
        return None

    def _sms_item(self, step, trace_id, now):
        """What ``_send_sms_batch`` needs to send this participant's SMS of ``step``;
        ``trace_id`` may not be written yet (see ``_apply_due_steps``)."""
        variant = step._variant_for(self)
        template = variant.template_id if variant else step.template_id
        record = self._render_record(step, template)
        thread = (
            record
            if record._name != "res.partner" and hasattr(record, "_message_sms")
            else self.partner_id
        )
        return StepSms(
            self,
            step,
            trace_id,
            now,
            record=record,
            thread=thread,
            template=template,
            variant=variant or None,
        )

    def _send_sms_batch(self, step, items):
        """Send the SMS of ``step`` for ``items`` (from ``_sms_item``) the way Odoo's
        mass SMS do: one render per model, links shortened per trace, one log message
        per SMS on its document's chatter with its SMS notification (whose tracker follows
        the delivery reports), all through ``sms.sender._send``: the sending policy
        decides per SMS, then the outbox (with a gateway) or Odoo's IAP.
        Then the traces are filled and the participants move on, their next step's
        wait counted from when their SMS goes (``journey.step_done_at``).
        """
        bodies = self._batch_bodies(step, items)
        journey = step.journey_id
        requests = [
            SmsRequest(
                body=bodies[item.trace_id],
                partner=item.participant.partner_id,
                thread=item.thread,
                kind=journey.sms_kind,
                template=item.template,
            )
            for item in items
        ]
        sent = [
            replace(item, sent=sms)
            for item, sms in zip(
                items,
                self.env["sms.sender"]._send(requests, company=journey.company_id),
                strict=True,
            )
        ]
        # the next-step write also stamps the last SMS time (one UPDATE, not two)
        due_times, texted = self.env["sms.journey.trace"]._record_sent_batch(sent)
        done_at = {
            item.participant: journey_tools.step_done_at(item.now, due_times[item.trace_id])
            for item in items
            if item.participant.state == "running"
        }
        self._advance_batch(step, done_at, texted)
        (texted - self.browse([p.id for p in done_at])).write(
            {"last_sms_at": fields.Datetime.now()}
        )

    def _batch_bodies(self, step, items):
        """{trace id: SMS text} of ``items``: one render per model and language (the
        contact's, see ``res.partner._sms_langs``), then the links shortened and tied to
        each trace."""
        bodies = {}
        partners = self.env["res.partner"].union(*(item.participant.partner_id for item in items))
        langs = partners._sms_langs(step.journey_id.company_id)
        groups = _group_by(
            items,
            lambda item: (item.template, item.record._name, langs[item.participant.partner_id.id]),
        )
        for (template, model, lang), group in groups.items():
            records = self.env[model].browse(dict.fromkeys(item.record.id for item in group))
            rendered = self._render_bodies(template.with_context(lang=lang), records)
            for item in group:
                bodies[item.trace_id] = rendered[item.record.id]
        bodies = self._fill_products(step, items, bodies)
        bodies = self._fill_landing_url(step, bodies)
        bodies = self._fill_coupons(step, items, bodies)
        return self.env["sms.journey.trace"]._track_links_batch(bodies, step.journey_id)

    def _render_record(self, step, template):
        record = None
        if step.render_on == "source":
            record = self._source()
        if not record or record._name != template.model:
            record = self.partner_id
        if record._name == "sale.order":
            record._portal_ensure_token()
        return record

    def _render_body(self, template, record):
        return self._render_bodies(template, record)[record.id]

    def _render_bodies(self, template, records):
        """{record id: body} of ``template`` rendered on ``records`` (one model), in the
        template's language when it computes one, else in the context's."""
        if template.model != records._name:
            # a template made for another model: render its text on the contact anyway
            return template._render_template(
                template.body, records._name, records.ids, engine="inline_template"
            )
        return template._render_field("body", records.ids, compute_lang=True)

    def _fill_landing_url(self, step, bodies):
        """Put the step's landing page where the template says ``{{ landing_url }}``
        (before the links are shortened per trace: the contact clicks its own tracked
        link; a survey is opened for that contact by the click, see
        ``sms.journey.trace._landing_redirect``). Without a landing page the placeholder
        is dropped."""
        if not any(body and LANDING_PLACEHOLDER in body for body in bodies.values()):
            return bodies
        path = step._landing_path()
        url = f"{step.journey_id.get_base_url()}{path}" if path else ""
        return {
            key: body.replace(LANDING_PLACEHOLDER, url) if body else body
            for key, body in bodies.items()
        }

    def _fill_products(self, step, items, bodies):
        """``_fill_product`` for each item, the products read at once."""
        ids = {
            item.participant.source_res_id
            for item in items
            if item.participant.source_model == "product.product"
        }
        products = self.env["product.product"].browse(ids).exists() if ids else None
        by_id = {product.id: product for product in products or ()}
        return {
            item.trace_id: self._fill_product(
                step, bodies[item.trace_id], by_id.get(item.participant.source_res_id)
            )
            for item in items
        }

    def _fill_product(self, step, body, source):
        """Put the participant's product (``source``, of a behaviour trigger) where the
        template says ``{{ product }}``, and its page where it says ``{{ landing_url }}``
        when the step links to a product without naming one. Without a product the
        name is dropped (the landing placeholder is left to ``_fill_landing_url``)."""
        if not body:
            return body
        product = source if source and source._name == "product.product" else None
        body = body.replace(PRODUCT_PLACEHOLDER, product.display_name if product else "")
        if product and step.landing_type == "product" and not step.landing_product_id:
            url = f"{step.journey_id.get_base_url()}{product.sudo().website_url}"
            body = body.replace(LANDING_PLACEHOLDER, url)
        return body

    def _fill_coupons(self, step, items, bodies):
        """Put each participant's own coupon code where the template says
        ``{{ coupon_code }}``: one single-use card of the step's program per participant,
        created in one batch, expiring ``coupon_validity_days`` from today. Without a
        program the placeholder is dropped."""
        if not any(COUPON_PLACEHOLDER in body for body in bodies.values()):
            return bodies
        program = step.loyalty_program_id
        if not program:
            return {key: body.replace(COUPON_PLACEHOLDER, "") for key, body in bodies.items()}
        expiry = fields.Date.context_today(self) + timedelta(days=step.coupon_validity_days)
        points = max(program.reward_ids.mapped("required_points") or [1])
        cards = (
            self.env["loyalty.card"]
            .sudo()
            .with_context(loyalty_no_mail=True)
            .create(
                [
                    {
                        "program_id": program.id,
                        "partner_id": item.participant.partner_id.id,
                        "points": points,
                        "expiration_date": expiry,
                        "sms_journey_participant_id": item.participant.id,
                        "sms_journey_step_id": step.id,
                    }
                    for item in items
                ]
            )
        )
        filled = dict(bodies)
        for item, card in zip(items, cards, strict=True):
            filled[item.trace_id] = bodies[item.trace_id].replace(COUPON_PLACEHOLDER, card.code)
        return filled
