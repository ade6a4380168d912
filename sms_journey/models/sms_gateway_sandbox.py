import secrets

from odoo import api, fields, models
from odoo.exceptions import ValidationError

from ..tools import conversation
from ..tools import phone as phone_tools
from ..tools.gateways.base import SenderRefused
from ..tools.gateways.sandbox import SandboxClient

SANDBOX_PHONE_PAGE = 30


class SmsGateway(models.Model):
    """The sandbox: a provider that speaks Twilio's API to a loopback server
    (``tools/gateways/loopback/``, run by ``sandbox_server.py``), for demos and tests;
    nothing leaves the machine.

    It deliberately reuses Twilio: its client, ``SandboxClient``, is ``TwilioClient`` with
    the loopback server as default URL, and it takes the same account SID and auth token,
    so the sandbox exercises the real Twilio code path. The sandbox phone's replies
    (``wizards/sms_sandbox_reply.py``) are signed the Twilio way too.

    The Sandbox phone (``static/src/sandbox_phone/``, a client action) reads the numbers
    the sandbox gateways texted (:meth:`sandbox_phone_numbers`), one number's thread
    (:meth:`sandbox_phone_read`, rows of ``sms.conversation.message``) and answers
    through the sandbox reply wizard (:meth:`sandbox_phone_reply`).

    A sandbox takes replies only from the numbers it texted (:meth:`_sandbox_has_texted`),
    typed on the phone or posted to its webhook: otherwise anyone holding its token could
    make it "receive" a STOP or a YES from any number. Each sandbox gets a random token
    of its own at creation (it signs the webhooks), never a shared constant.
    """

    _inherit = "sms.gateway"

    code = fields.Selection(
        selection_add=[("sandbox", "Sandbox")], ondelete={"sandbox": "set default"}
    )

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if vals.get("code") == "sandbox" and not vals.get("auth_token"):
                vals["auth_token"] = secrets.token_urlsafe(32)
        return super().create(vals_list)

    def copy_data(self, default=None):
        # a copy is a new sandbox: a token of its own (see create)
        default = dict(default or {})
        if self.code == "sandbox":
            default.setdefault("auth_token", False)
        return super().copy_data(default=default)

    def _get_client_class(self):
        if self.code != "sandbox":
            return super()._get_client_class()
        return SandboxClient

    # ------------------------------------------------------------------
    # Who may reply: the numbers a sandbox texted
    # ------------------------------------------------------------------

    def _sandbox_texted_domain(self, numbers=None):
        """The outbox rows that put a number on the sandbox phone: what sandbox gateways
        (these ones, or all) handed on, not what the policy canceled before it left. The
        one rule of the phone's numbers, of its replies and of the sandbox webhook."""
        domain = [("state", "!=", "canceled"), ("number", "!=", False)]
        if self:
            domain.append(("gateway_id", "in", self.ids))
        else:
            domain.append(("gateway_id.code", "=", "sandbox"))
        if numbers is not None:
            domain.append(("number", "in", list(numbers)))
        return domain

    def _sandbox_has_texted(self, number):
        """Whether this sandbox gateway texted ``number`` (as typed or in E.164)."""
        self.ensure_one()
        normalized = phone_tools.try_normalize(number) or number
        return bool(
            self.env["sms.gateway.message"]
            .sudo()
            .search_count(self._sandbox_texted_domain([normalized]), limit=1)
        )

    def _receive_inbound(self, inbound):
        # the code from the webhook's cached setup: no read of the gateway per request
        if self._webhook_code() == "sandbox" and not self._sandbox_has_texted(inbound.sender):
            raise SenderRefused("this sandbox never texted the sender")
        return super()._receive_inbound(inbound)

    # ------------------------------------------------------------------
    # The Sandbox phone
    # ------------------------------------------------------------------

    @api.model
    def _sandbox_phone_domain(self, numbers=None):
        """The SMS a sandbox phone holds: what sandbox gateways sent (not what the
        policy canceled before it left) and the replies typed on it."""
        domain = [
            "|",
            ("outbox_message_id.gateway_id.code", "=", "sandbox"),
            ("interaction_id.gateway_id.code", "=", "sandbox"),
            ("state", "!=", conversation.CANCELED),
        ]
        if numbers is not None:
            domain = [("number", "in", list(numbers)), *domain]
        return domain

    @api.model
    def sandbox_phone_numbers(self):
        """The numbers sandbox gateways texted, latest activity first, each with the
        contact of its last SMS and its last message: what the phone's list shows."""
        Outbox = self.env["sms.gateway.message"]
        last_sent = Outbox._read_group(
            self.browse()._sandbox_texted_domain(), ["number"], ["id:max"]
        )
        if not last_sent:
            return []
        partners = {
            message.number: message.partner_id
            for message in Outbox.browse(last_id for _number, last_id in last_sent)
        }
        readable = self.env["res.partner"].union(*partners.values())._filtered_access("read")
        messages = self.env["sms.conversation.message"]
        messages.invalidate_model()
        last = {
            number: (date, last_id)
            for number, date, last_id in messages._read_group(
                self._sandbox_phone_domain(partners), ["number"], ["date:max", "id:max"]
            )
        }
        bodies = {m.id: m.body for m in messages.browse(i for _date, i in last.values())}
        rows = []
        for number, partner in partners.items():
            date, last_id = last.get(number, (False, False))
            rows.append(
                {
                    "number": number,
                    "partner": partner in readable
                    and {"id": partner.id, "name": partner.display_name},
                    "last_body": bodies.get(last_id) or "",
                    "last_date": fields.Datetime.to_string(date) if date else False,
                }
            )
        rows.sort(key=lambda row: row["last_date"] or "", reverse=True)
        return rows

    @api.model
    def sandbox_phone_read(self, number, offset=0, limit=SANDBOX_PHONE_PAGE):
        """A page of ``number``'s thread on the sandbox phone, as the contact's
        conversation widget reads one (``sms.conversation.message._conversation_rows``)."""
        messages = self.env["sms.conversation.message"]
        messages.invalidate_model()
        page = messages.search(self._sandbox_phone_domain([number]), offset=offset, limit=limit + 1)
        return {
            "messages": page[:limit]._conversation_rows(),
            "has_more": len(page) > limit,
            "can_reply": True,
        }

    @api.model
    def sandbox_phone_reply(self, number, body):
        """Type ``body`` on the phone of ``number``: the sandbox reply wizard checks
        (a sandbox gateway, a number it texted) and hands it to the inbound pipeline.
        The reply goes to the sandbox gateway that texted the number last."""
        gateway = (
            self.env["sms.gateway.message"]
            .search(self.browse()._sandbox_texted_domain([number]), limit=1, order="id desc")
            .gateway_id
        ) or self.env["sms.gateway"].search([("code", "=", "sandbox")], limit=1)
        if not gateway:
            raise ValidationError(
                self.env._("There is no sandbox gateway: the Sandbox phone is off.")
            )
        self.env["sms.sandbox.reply"].create(
            {"gateway_id": gateway.id, "number": number, "body": body}
        ).action_send()
        return self.sandbox_phone_read(number)
