"""One failure, one record: run a cron's unit of work in its own savepoint.

A cron that walks journeys, keyword rules or digests must not let one broken record
(an audience filter that raises, an action whose target is gone) stop the others.
``run_isolated`` runs the unit in a savepoint; on an error the savepoint is rolled back,
the traceback goes to the server log and the error to the record itself, where the
person who owns it looks: its chatter when it is a ``mail.thread``, else its
``last_error`` field (shown on its form). A unit that succeeds clears ``last_error``.
"""

import logging

from markupsafe import Markup

_logger = logging.getLogger(__name__)


def run_isolated(record, what, method, *args, **kwargs):
    """``method(*args, **kwargs)`` in a savepoint; returns ``(True, result)``, or
    ``(False, None)`` once the error is logged on ``record`` (``what`` says which unit
    of work failed, e.g. "Enrolment")."""
    env = record.env
    try:
        with env.cr.savepoint():
            result = method(*args, **kwargs)
    except Exception as error:  # the point: the other records go on
        _logger.exception("%s failed on %s", what, record)
        # the ORM cache may hold values of the rolled-back savepoint
        env.invalidate_all()
        message = f"{what} failed: {error}"
        if "last_error" in record._fields:
            record.sudo().last_error = message
        else:
            record.sudo().message_post(body=Markup("<p>%s</p>") % message)
        return False, None
    if "last_error" in record._fields and record.last_error:
        record.sudo().last_error = False
    return True, result
