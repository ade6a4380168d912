"""A batch of inbound replies: what its replies leave to do once they all ran.

The inbound worker runs the pipeline on the replies it claimed one by one, then acts for
the whole batch at once: it posts the replies on their contacts' chatters, sends the
answers (one send per gateway), and writes the facts the replies share (processed,
courtesy reply sent, the contacts' last interaction) in a few statements. An
:class:`InboundBatch` holds that work between the two; the model flushes it
(``sms.interaction._flush_batch``). A reply handled outside the worker is a batch of one,
flushed at once, so every step of the pipeline has one behaviour.

No Odoo import: a reply and an answer are whatever the caller queues (records, requests);
the batch only needs a reply's id.
"""


class InboundBatch:
    """The work a batch of replies leaves for its end, and what it knows of itself.

    - ``answers``: (reply, request) to send, in the order the replies queued them;
    - ``posts``: the replies to post on their contacts' chatters;
    - ``done``: the ids of the replies processed;
    - ``courtesy``: (reply id, number) of the replies answered with the courtesy reply;
    - ``touches``: (contact id, time) of each reply, the contacts' last interaction;
    - ``quiet``: ``{kind: reply ids}``, the replies for which the batch knows there is
      nothing of ``kind`` to look up ("journey", "mailing", "survey", "courtesy");
    - ``lookups``: what the replies look up alike, once per batch (:meth:`lookup`).

    A reply that fails drops what it queued: :meth:`checkpoint` before it,
    :meth:`rollback` after.
    """

    def __init__(self, quiet=None):
        self.answers = []
        self.posts = []
        self.done = []
        self.courtesy = []
        self.touches = []
        self.quiet = quiet or {}
        self.lookups = {}

    # what a reply queues ----------------------------------------------------------

    def answer(self, reply, request):
        """Queue ``request``, the answer to ``reply``."""
        self.answers.append((reply, request))

    def post(self, reply):
        """Queue ``reply`` for its contact's chatter."""
        self.posts.append(reply)

    def mark_done(self, reply_id):
        self.done.append(reply_id)

    def mark_courtesy(self, reply_id, number):
        """``reply_id`` got the courtesy reply: ``number`` gets no other in the batch."""
        self.courtesy.append((reply_id, number))

    def touch(self, partner_id, when):
        """The contact ``partner_id`` interacted at ``when``."""
        self.touches.append((partner_id, when))

    # what the batch knows ---------------------------------------------------------

    def knows_none(self, kind, reply_id):
        """Whether the batch knows ``reply_id`` has nothing of ``kind`` to look up."""
        return reply_id in self.quiet.get(kind, ())

    def courtesy_sent_to(self, number):
        """Whether a reply of the batch already got the courtesy reply on ``number``."""
        return any(sent_to == number for _reply_id, sent_to in self.courtesy)

    def lookup(self, key, compute):
        """The value of ``key`` for the batch: ``compute()`` the first time it is asked."""
        if key not in self.lookups:
            self.lookups[key] = compute()
        return self.lookups[key]

    # a reply that fails -----------------------------------------------------------

    def _queues(self):
        return self.answers, self.posts, self.done, self.courtesy, self.touches

    def checkpoint(self):
        """Where the batch stands, to drop what a failing reply queued (:meth:`rollback`)."""
        return tuple(len(items) for items in self._queues())

    def rollback(self, checkpoint):
        for items, length in zip(self._queues(), checkpoint, strict=True):
            del items[length:]

    # what the batch does at its end -----------------------------------------------

    def answers_by(self, key):
        """``{key(reply): [(reply, request), ...]}``, each list in queueing order."""
        grouped = {}
        for reply, request in self.answers:
            grouped.setdefault(key(reply), []).append((reply, request))
        return grouped

    def courtesy_ids(self):
        return [reply_id for reply_id, _number in self.courtesy]

    def touches_by_time(self):
        """``[(time, sorted contact ids)]``, oldest first: one write per time, dates
        only move forward."""
        by_time = {}
        for partner_id, when in self.touches:
            by_time.setdefault(when, set()).add(partner_id)
        return [(when, sorted(by_time[when])) for when in sorted(by_time)]
