"""18.0.1.1.0: an SMS canceled before it reached a provider costs nothing.

Before, an outbox row canceled by the sending policy kept its estimated cost (segments ×
price), and journey results summed it: ROAS and ROI came out too low. The rows and the
journey traces that copy their cost are set to 0; the next results refresh reads them."""


def migrate(cr, version):
    if not version:
        return
    cr.execute(
        """UPDATE sms_gateway_message SET cost = 0
            WHERE state = 'canceled' AND cost IS DISTINCT FROM 0"""
    )
    cr.execute(
        """UPDATE sms_journey_trace t SET cost = 0
             FROM sms_gateway_message m
            WHERE m.id = t.outbox_message_id AND m.state = 'canceled'
              AND t.cost IS DISTINCT FROM 0"""
    )
