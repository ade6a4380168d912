"""sms.conversation: the live screens. What changed in the SMS of a company (an outbox
row queued, sent, delivered, failed; a reply processed) is told to the screens showing
conversations (the contact's conversation, the inbox, the Sandbox phone) over Odoo's bus.

- One notification per company and batch, whatever the batch's size: the changes are
  gathered (``_notify_changed``) and sent when the transaction commits (or flushes for a
  savepoint: what was gathered before it goes then); a rolled-back one tells nothing.
- The notification holds which contacts and numbers changed, never a text: the screens
  read the conversation again through the ORM, with the reader's rights.
- It goes to the company's channel ``(res.company, "sms_journey")``, which a browser tab
  joins by asking for ``sms_journey.company_<id>``: ``ir.websocket`` subscribes only SMS
  users of that company (``_sms_conversation_channels``).
"""

from odoo import api, models

from ..tools import conversation

#: The bus notification's type, as the screens subscribe to it.
CHANGED = "sms_journey.conversation/changed"
#: The key of what this transaction changed, in ``cr.precommit.data``.
PENDING = "sms_journey.conversation_changes"
#: The company channel's second part.
SUBCHANNEL = "sms_journey"


class SmsConversation(models.Model):
    """The bus notifications of the screens that show conversations."""

    _inherit = "sms.conversation"

    @api.model
    def _notify_changed(self, changes, replies=False):
        """Tell the screens, when this transaction commits, that the SMS of ``changes``
        ((company id, partner id, number) each) changed; ``replies``: they are replies.
        Costs no query: the callers pass what they hold."""
        precommit = self.env.cr.precommit
        if PENDING not in precommit.data:
            precommit.data[PENDING] = {}
            precommit.add(self.sudo()._send_changed)
        conversation.add_changes(precommit.data[PENDING], changes, replies=replies)

    def _send_changed(self):
        """One bus notification per company of what this transaction changed."""
        pending = self.env.cr.precommit.data.pop(PENDING, {})
        companies = self.env["res.company"].browse(pending)
        for company, payload in zip(
            companies, conversation.change_payloads(pending).values(), strict=True
        ):
            # in the company's environment: the bus row's defaults need no read of the
            # user's company (a public webhook's user: one query per delivery report)
            bus = self.env["bus.bus"].with_company(company)
            bus._sendone((company, SUBCHANNEL), CHANGED, payload)
