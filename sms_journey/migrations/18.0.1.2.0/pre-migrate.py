"""18.0.1.2.0: the reactivation survey's choices and the demo call-back rule's steps get
xml ids, so that Odoo's .pot export (which only sees records with an xml id) holds their
texts and the translations of it/ro/es reach them.

A database installed before has these records without xml ids: loading the data files
would create them a second time (a noupdate record whose xml id is missing is created).
Before the data is loaded, each existing record is bound to its new xml id, as noupdate
(the texts are the user's to edit): a choice by its question and its shipped English text,
else by its question and position (the text was edited); a rule step by its rule, position
and type. A record already bound, or one the user deleted, is left alone: the data file
creates a deleted one again, as for any missing noupdate record."""

from odoo.tools import SQL

MODULE = "sms_journey"

# the shipped English texts of the survey's choices, per question, in order: the choice
# n of question q is q_choice_n, of sequence n
QUESTION_CHOICES = {
    "survey_reactivation_q1": [
        "I did not need anything",
        "Prices",
        "I could not find what I wanted",
        "I buy elsewhere",
    ],
    "survey_reactivation_q3": ["SMS", "E-mail", "Not at all"],
}
# the demo call-back rule's steps, in order: (xml id suffix, type), of sequence n
CALL_ME = "sms_keyword_rule_call_me_demo"
CALL_ME_STEPS = [("activity", "activity"), ("forward", "forward"), ("handled", "mark_handled")]

# (xml id, parent xml id, sequence, key) of each record to bind
CHOICES = [
    (f"{question}_choice_{n}", question, n, text)
    for question, texts in QUESTION_CHOICES.items()
    for n, text in enumerate(texts, 1)
]
RULE_STEPS = [
    (f"{CALL_ME}_action_{suffix}", CALL_ME, n, action_type)
    for n, (suffix, action_type) in enumerate(CALL_ME_STEPS, 1)
]

# binds the oldest unbound row of the parent that matches, when the xml id is free
BIND = """
    INSERT INTO ir_model_data (module, name, model, res_id, noupdate)
    SELECT %(module)s, %(name)s, %(model)s, r.id, TRUE
      FROM %(table)s r
     WHERE r.%(parent_column)s = (SELECT res_id FROM ir_model_data
                                   WHERE module = %(module)s AND name = %(parent)s)
       AND %(match)s
       AND NOT EXISTS (SELECT 1 FROM ir_model_data
                        WHERE module = %(module)s AND name = %(name)s)
       AND NOT EXISTS (SELECT 1 FROM ir_model_data
                        WHERE model = %(model)s AND res_id = r.id)
     ORDER BY r.id
     LIMIT 1
"""


def bind(cr, table, model, parent_column, match, rows):
    """Bind each of ``rows`` (xml id, parent xml id, sequence, key) to the first row of
    ``table`` under its parent for which ``match`` (SQL on ``r``, given the row's
    ``sequence`` and ``key``) holds."""
    for name, parent, sequence, key in rows:
        cr.execute(
            SQL(
                BIND,
                module=MODULE,
                name=name,
                model=model,
                table=SQL.identifier(table),
                parent_column=SQL.identifier(parent_column),
                parent=parent,
                match=SQL(match, sequence=sequence, key=key),
            )
        )


def migrate(cr, version):
    if not version:
        return
    # the shipped text first, so that an edited choice does not take another's xml id
    bind(cr, "survey_question_answer", "survey.question.answer", "question_id",
         "r.value->>'en_US' = %(key)s", CHOICES)  # fmt: skip
    bind(cr, "survey_question_answer", "survey.question.answer", "question_id",
         "r.sequence = %(sequence)s", CHOICES)  # fmt: skip
    bind(cr, "sms_keyword_rule_action", "sms.keyword.rule.action", "rule_id",
         "r.sequence = %(sequence)s AND r.type = %(key)s", RULE_STEPS)  # fmt: skip
