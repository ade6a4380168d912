"""18.0.1.1.0: an SMS canceled before it reached a provider costs nothing.

Before, an outbox row canceled by the sending policy kept its estimated cost (segments ×
price), and journey results summed it: ROAS and ROI came out too low. The rows and the
journey traces that copy their cost are set to 0; the next results refresh reads them.

The customer facts are computed after an install by a backfill job now (issue 22); a
database upgraded from 18.0.1.0.0 computed them at its install and kept them current
since: its backfill is done, and the job's cron (new in this version) stays off."""


def migrate(cr, version):
    if not version:
        return
    cr.execute(
        # write_date moves with the cost: the results' incremental refresh follows
        # write_date watermarks, and must see these rows again
        """UPDATE sms_gateway_message SET cost = 0, write_date = now() at time zone 'UTC'
            WHERE state = 'canceled' AND cost IS DISTINCT FROM 0"""
    )
    cr.execute(
        """UPDATE sms_journey_trace t SET cost = 0, write_date = now() at time zone 'UTC'
             FROM sms_gateway_message m
            WHERE m.id = t.outbox_message_id AND m.state = 'canceled'
              AND t.cost IS DISTINCT FROM 0"""
    )
    cr.execute(
        """DELETE FROM ir_config_parameter
            WHERE key IN ('sms_journey.facts_backfill_next_id',
                          'sms_journey.facts_backfill_last_id')"""
    )
    cr.execute(
        """UPDATE ir_cron SET active = FALSE
            WHERE id IN (SELECT res_id FROM ir_model_data
                          WHERE module = 'sms_journey' AND model = 'ir.cron'
                            AND name = 'ir_cron_sms_facts_backfill')"""
    )
