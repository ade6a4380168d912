import functools
import math
from typing import NamedTuple

from werkzeug.urls import url_encode

from odoo import api, fields, models, tools
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..tools import cost_guard, routing
from ..tools import phone as phone_tools
from ..tools.gateways.base import GatewayConfig
from ..tools.rate_limit import SharedRate


def book_send_window(registry, gateway_id, span, cr=None):
    """Book the next ``span`` seconds of the gateway's sending time, after every window
    booked before by any worker; return the delay in seconds until it starts. The clock
    is the database's, and the booking is committed at once on a cursor of its own (or
    on ``cr``), so that every worker sees it. Safe to call from any thread."""
    if cr is None:
        with registry.cursor() as own:
            # Odoo's cursors are REPEATABLE READ: two workers booking at once would fail
            # with a serialisation error; under READ COMMITTED the upsert waits its turn
            own.execute(SQL("SET TRANSACTION ISOLATION LEVEL READ COMMITTED"))
            return book_send_window(registry, gateway_id, span, own)
    cr.execute(
        SQL(
            """WITH clock AS (SELECT clock_timestamp() AT TIME ZONE 'UTC' AS now)
               INSERT INTO sms_gateway_send_window AS w (gateway_id, booked_until)
               SELECT %(id)s, clock.now + make_interval(secs => %(span)s) FROM clock
               ON CONFLICT (gateway_id) DO UPDATE
                  SET booked_until = GREATEST(w.booked_until, EXCLUDED.booked_until
                                              - make_interval(secs => %(span)s))
                                     + make_interval(secs => %(span)s)
               RETURNING EXTRACT(EPOCH FROM w.booked_until
                                 - (SELECT now FROM clock)) - %(span)s""",
            id=gateway_id,
            span=float(span),
        )
    )
    return max(float(cr.fetchone()[0]), 0.0)


class WebhookSetup(NamedTuple):
    """What a webhook needs of its gateway (``SmsGateway._webhook_setup``)."""

    company_id: int | None
    code: str
    client_class: type
    config: GatewayConfig


class SmsGateway(models.Model):
    """An SMS provider account, in the shape of ``payment.provider``.

    This file is the provider-neutral part. Each provider is one model file here
    (``sms_gateway_<code>.py``: its ``code``, its own settings, its part of the client
    config) plus one client file in ``tools/gateways/<code>.py``, and acts only on records
    of its code. The company's active gateway (``res.company.sms_gateway_id``) carries
    every SMS Odoo sends for that company; with none set, Odoo's stock IAP path is used
    untouched.

    Provider hooks, each overridden as ``if self.code != '<code>': return super()...``:

    * :meth:`_get_client_class`: the ``tools/gateways`` client class of the code;
    * :meth:`_get_client_config`: the :class:`GatewayConfig` handed to that client.
    """

    _name = "sms.gateway"
    _inherit = ["sms.cached.lookup.mixin"]
    _description = "SMS Gateway"
    _order = "sequence, id"

    name = fields.Char(required=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    code = fields.Selection(
        [("none", "No provider set")],
        string="Provider",
        required=True,
        default="none",
    )
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company, index=True
    )
    api_url = fields.Char(
        "API URL",
        help="Base URL of the provider's API. Leave empty for the provider's default.",
    )
    # The account's id and secret: every provider authenticates with such a pair (Twilio's
    # account SID and auth token, Vonage's API key and secret), so it is one pair of fields
    # here rather than one per provider; settings only one provider has live in its file.
    account_sid = fields.Char("Account SID / API key", groups="base.group_system")
    auth_token = fields.Char("Auth token / API secret", groups="base.group_system")
    sender = fields.Char(
        help="Sender phone number in E.164 (+15551234567) or an alphanumeric sender "
        "ID of up to 11 characters where the destination country allows it."
    )
    rate_limit = fields.Float(
        "Messages per second",
        default=10.0,
        help="Provider throughput limit for this account: the outbox never sends faster.",
    )
    max_concurrency = fields.Integer(
        "Parallel requests",
        default=4,
        help="How many requests may be in flight at once to this provider.",
    )
    timeout = fields.Float("Request time-out (s)", default=10.0)
    max_attempts = fields.Integer(
        "Attempts",
        default=5,
        help="How many times a temporary failure (HTTP 429, 5xx, time-out) is tried "
        "before the message fails.",
    )
    price_per_segment = fields.Float(
        "Price per segment", digits=(12, 5), help="Used for cost reporting."
    )
    currency_id = fields.Many2one("res.currency", related="company_id.currency_id", readonly=True)

    status_url = fields.Char(
        "Delivery report URL",
        compute="_compute_webhook_urls",
        help="Give this URL to the provider for delivery reports (status callbacks).",
    )
    inbound_url = fields.Char(
        "Inbound URL",
        compute="_compute_webhook_urls",
        help="Give this URL to the provider for incoming messages.",
    )
    webhook_warning = fields.Char(
        compute="_compute_webhook_urls",
        help="A provider limit the delivery report URL breaks.",
    )

    _sql_constraints = [
        ("rate_limit_positive", "CHECK(rate_limit > 0)", "The rate limit must be positive."),
        (
            "max_concurrency_positive",
            "CHECK(max_concurrency > 0)",
            "At least one request must be allowed at a time.",
        ),
    ]

    def init(self):
        # The book of sending windows that Odoo workers share (see _book_send_window): one
        # row per gateway, outside the ORM so that booking never touches the gateway's row.
        self.env.cr.execute(
            SQL(
                """CREATE TABLE IF NOT EXISTS sms_gateway_send_window (
                       gateway_id integer PRIMARY KEY REFERENCES sms_gateway(id)
                                  ON DELETE CASCADE,
                       booked_until timestamp NOT NULL)"""
            )
        )

    @api.model
    def _get_company_gateway(self, company=None, number=None):
        """The gateway of an SMS of ``company`` (the current one by default) to
        ``number`` (E.164 or as typed; None: any): the gateway the company routes the
        number's country to (``sms.gateway.route``), else the company's active gateway,
        else an empty recordset when the company uses Odoo's IAP service. The one place
        that picks the gateway of an SMS."""
        company = company or self.env.company
        gateway = company.sudo().sms_gateway_id
        # "none" is what a gateway becomes when its provider's code is removed
        default = gateway.id if gateway.active and gateway.code != "none" else None
        if number:
            routes = self.env["sms.gateway.route"]._routes_of(company.id)
            if routes:
                e164 = phone_tools.try_normalize(number, company.country_id.code or None)
                country = cost_guard.destination_country(e164)
                return self.browse(routing.route_gateway(country, routes, default))
        return self.browse(default)

    def _compute_webhook_urls(self):
        for gateway in self:
            gateway.status_url = gateway._webhook_url("status") if gateway.id else False
            gateway.inbound_url = gateway._webhook_url("inbound") if gateway.id else False
            gateway.webhook_warning = gateway._webhook_warning()

    def _webhook_warning(self):
        """What a provider limit does to this gateway's delivery reports, or False."""
        if not self.id or self.code == "none":
            return False
        # each SMS carries its own reference in the URL it gives the provider
        callback = self._webhook_url("status", ref="0" * 32)
        problem = self._get_client_class().callback_problem(callback)
        if not problem:
            return False
        return self.env._(
            "%(problem)s: SMS are sent without it. Set the account's delivery report URL "
            "at the provider to %(url)s (or shorten the web.base.url).",
            problem=problem,
            url=self._webhook_url("status"),
        )

    def _webhook_url(self, kind, **query):
        """Public URL of this gateway's ``kind`` webhook ('status' or 'inbound').

        Providers sign the full URL, so it is built from ``web.base.url`` exactly as
        the provider will call it."""
        self.ensure_one()
        url = f"{self.get_base_url()}/sms_journey/{self.id}/{kind}"
        return f"{url}?{url_encode(query)}" if query else url

    def _receive_inbound(self, inbound):
        """Inbound pipeline of a webhook's :class:`InboundSms`, before the interaction:
        a part of a long SMS waits for the others (``sms.inbound.part``); the complete
        message is recorded once (``sms.interaction._receive``) with its MMS media links.
        Returns the interaction, or an empty recordset while parts are missing."""
        self.ensure_one()
        complete = self.env["sms.inbound.part"]._collect(self, inbound)
        if complete is None:
            return self.env["sms.interaction"]
        interaction = self.env["sms.interaction"]._receive(self, complete)
        if complete.media and interaction and not interaction.media_urls:
            interaction._pipeline_write(
                {
                    "media_urls": "\n".join(
                        f"{media.url} ({media.content_type})" if media.content_type else media.url
                        for media in complete.media
                    )
                }
            )
        return interaction

    def _shared_rate(self):
        """The rate limiter of this account for one batch: the gateway's messages per
        second, shared by every Odoo worker and server sending through it (each books
        its sending windows in the database; see ``tools/rate_limit.SharedRate``)."""
        self.ensure_one()
        return SharedRate(
            self.rate_limit, functools.partial(book_send_window, self.env.registry, self.id)
        )

    def _dispatch_quota(self, batch_size, budget):
        """How many messages one dispatch claim takes for this gateway: what it sends
        in ``budget`` (a ``timedelta``) at its rate, at least one, at most ``batch_size``."""
        self.ensure_one()
        return max(1, min(batch_size, math.ceil(self.rate_limit * budget.total_seconds())))

    @api.model
    def _webhook_setup(self, gateway_id):
        """What a webhook of gateway ``gateway_id`` needs of it: its company, client class
        and client config, or None when no such gateway is active. Read once per worker
        and kept until a gateway changes (``sms.cached.lookup.mixin``): providers call
        at line rate, and this read was the webhook's only query besides storing.

        The id comes from the URL, chosen by anyone: only ids of active gateways reach
        the cache keyed by id, so that a client cannot fill it with ids of its choice."""
        if gateway_id not in self._webhook_gateway_ids():
            return None
        return self._webhook_setup_of(gateway_id)

    @api.model
    @tools.ormcache()
    def _webhook_gateway_ids(self):
        """The ids of the gateways whose webhooks answer (active, with a provider): one
        cached set, whatever the URLs asked for."""
        gateways = self.sudo().search([("code", "!=", "none")])  # active ones only
        return frozenset(gateways.ids)

    @api.model
    @tools.ormcache("gateway_id")
    def _webhook_setup_of(self, gateway_id):
        """The cached setup of an active gateway (:meth:`_webhook_setup` checks the id)."""
        gateway = self.sudo().browse(gateway_id)
        return WebhookSetup(
            gateway.company_id.id or None,
            gateway.code,
            gateway._get_client_class(),
            gateway._get_client_config(),
        )

    def _webhook_company_id(self):
        """This gateway's company id, from the webhook's cached setup when active."""
        self.ensure_one()
        setup = self._webhook_setup(self.id)
        return setup.company_id if setup else self.company_id.id or None

    def _webhook_code(self):
        """This gateway's provider code, from the webhook's cached setup when active:
        the webhook does not read the gateway's row."""
        self.ensure_one()
        setup = self._webhook_setup(self.id)
        return setup.code if setup else self.code

    def _get_client(self):
        """A client of the provider's API (tools/gateways), to close after use."""
        self.ensure_one()
        return self._get_client_class()(self._get_client_config())

    def _get_client_class(self):
        """Provider hook: the ``tools/gateways`` client class of this gateway's code."""
        self.ensure_one()
        raise UserError(self.env._("The gateway %s has no SMS provider set.", self.name))

    def _get_client_config(self):
        """Provider hook: the account settings handed to the client. Providers with
        settings of their own extend the generic ones (``dataclasses.replace``)."""
        self.ensure_one()
        gateway = self.sudo()
        return GatewayConfig(
            api_url=gateway.api_url or None,
            account_sid=gateway.account_sid or None,
            auth_token=gateway.auth_token or None,
            sender=gateway.sender or None,
            timeout=gateway.timeout or 10.0,
            rate_limit=gateway.rate_limit,
            max_concurrency=gateway.max_concurrency,
        )

    def action_send_test_sms(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Send a test SMS"),
            "res_model": "sms.gateway.test",
            "view_mode": "form",
            "target": "new",
            "context": {"default_gateway_id": self.id},
        }

    def action_view_messages(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "sms_journey.sms_gateway_message_action"
        )
        action["domain"] = [("gateway_id", "=", self.id)]
        return action

    def _check_usable(self):
        for gateway in self:
            if not gateway.active:
                raise UserError(self.env._("The gateway %s is archived.", gateway.name))
