"""ir.websocket: the company channels of the live SMS screens (``sms_conversation_live.py``)."""

import re

from odoo import models

from .sms_conversation_live import SUBCHANNEL

#: What a browser tab asks for to follow a company's SMS conversations.
COMPANY_CHANNEL = re.compile(r"sms_journey\.company_(\d+)")


class IrWebsocket(models.AbstractModel):
    """Subscribe a tab to a company's SMS changes only if its user may read them."""

    _inherit = "ir.websocket"

    def _build_bus_channel_list(self, channels):
        channels = list(channels)  # the caller's list is left as it was
        wanted = set()
        for channel in list(channels):
            match = isinstance(channel, str) and COMPANY_CHANNEL.fullmatch(channel)
            if match:
                channels.remove(channel)
                wanted.add(int(match[1]))
        channels.extend(self._sms_conversation_channels(wanted))
        return super()._build_bus_channel_list(channels)

    def _sms_conversation_channels(self, company_ids):
        """The company channels of ``company_ids`` this user may follow: an SMS user
        (the SMS of a contact are theirs to read) of those companies (the companies'
        record rules). Others get none, silently, as for any channel refused."""
        user = self.env.user
        if not company_ids or not user.has_group("sms_journey.group_sms_journey_user"):
            return []
        return [(company, SUBCHANNEL) for company in user.company_ids if company.id in company_ids]
