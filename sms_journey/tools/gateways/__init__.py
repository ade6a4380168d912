"""SMS provider clients (no Odoo import): ``base`` holds the interface, each provider its
own module (``twilio``, ``vonage``, ``sandbox``), picked by the provider's model
(``models/sms_gateway_<code>.py``); ``loopback`` holds fake providers for tests and demos."""

from .base import (
    GatewayClient,
    GatewayConfig,
    GatewayError,
    InboundSms,
    OutgoingSms,
    PayloadError,
    SendResult,
    SignatureError,
    StatusReport,
)
