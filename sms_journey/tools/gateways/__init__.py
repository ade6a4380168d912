"""SMS provider clients (no Odoo import): see ``base`` for the interface and
:func:`get_client` for the registry; ``loopback`` holds fake providers for tests and demos."""

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
    get_client,
)
