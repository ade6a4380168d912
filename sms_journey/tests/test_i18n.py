from datetime import datetime, timedelta
from unittest.mock import patch

from odoo import Command
from odoo.tests import TransactionCase, tagged
from odoo.tools import SQL
from odoo.tools.convert import convert_file
from odoo.tools.translate import TranslationModuleReader, code_translations

from ..models.res_company import DEFAULT_COURTESY_REPLY
from .common import JourneyCaseMixin, SmsJourneyCase, load_migration, new_partner_template

T0 = datetime(2026, 3, 2, 9, 0)  # 10:00 in Rome, inside the send window
NUMBER = "+393331234567"  # the Italian contact's mobile

# msgids of the code strings under test (a changed msgid must change here too)
STOP = (
    "%(brand)s: you are unsubscribed and will receive no more SMS. "
    "Reply START to subscribe again."
)
HELP = (
    "%(brand)s: %(frequency)s Msg & data rates may apply. Help: %(support)s. "
    "Reply STOP to opt out."
)
FREQUENCY = "Up to %(n)s msg per %(h)s h."
CONSENT_REQUEST = (
    "%(brand)s: reply YES to receive our offers by SMS. Reply STOP to opt out, "
    "HELP for help. Msg & data rates may apply."
)

# The shipped records whose texts reached the .pot late (issue 23): the reactivation
# survey's choices (data) and the demo call-back rule's activity step (demo)
SURVEY_CHOICES = [f"survey_reactivation_q1_choice_{n}" for n in (1, 2, 3, 4)] + [
    f"survey_reactivation_q3_choice_{n}" for n in (1, 2, 3)
]
CALL_BACK_ACTIVITY = "sms_keyword_rule_call_me_demo_action_activity"
# the same word in Italian: its msgstr repeats the msgid
SAME_IN_ITALIAN = {"SMS", "E-mail"}


@tagged("post_install", "-at_install")
class TestAnswerLanguage(JourneyCaseMixin, SmsJourneyCase):
    """Automatic SMS are written in the contact's language, else the company's, else
    English: consent answers, the courtesy reply, keyword-rule replies, the double
    opt-in request and journey SMS. Translations are set in the tests themselves (code
    strings through ``code_translations``, record fields with
    ``update_field_translations``), not read from the translators' .po files."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for code in ("it_IT", "ro_RO", "es_ES"):
            cls.env["res.lang"]._activate_lang(code)
        cls.env["sms.keyword.rule"].search([]).active = False
        cls.company.partner_id.lang = "en_US"
        cls.partner.lang = "it_IT"

    def contact(self, name, mobile, lang):
        partner = self.make_partner(name, mobile)
        partner.lang = lang
        return partner

    def test_stop_confirmed_in_contact_language(self):
        with self.code_translations(
            "it_IT", {STOP: "%(brand)s: non riceverai più SMS. Rispondi START per riattivarli."}
        ):
            interaction = self.receive("STOP")
        self.assertEqual(interaction.consent_action, "opt_out")
        self.assertEqual(self.partner.sms_consent_state, "opted_out")
        self.assertEqual(
            self.outbox_bodies(NUMBER),
            ["Acme: non riceverai più SMS. Rispondi START per riattivarli."],
        )

    def test_english_contact_keeps_the_source_text(self):
        self.partner.lang = "en_US"
        with self.code_translations("it_IT", {STOP: "%(brand)s: non riceverai più SMS."}):
            self.receive("STOP")
        self.assertEqual(
            self.outbox_bodies(NUMBER),
            [
                "Acme: you are unsubscribed and will receive no more SMS. "
                "Reply START to subscribe again."
            ],
        )

    def test_help_to_unknown_number_in_company_language(self):
        self.company.partner_id.lang = "es_ES"
        translations = {
            HELP: "%(brand)s: %(frequency)s Ayuda: %(support)s. Responde STOP para la baja.",
            FREQUENCY: "Hasta %(n)s SMS cada %(h)s h.",
        }
        with self.code_translations("es_ES", translations):
            self.receive("HELP", sender="+34600111222")
        self.assertEqual(
            self.outbox_bodies("+34600111222"),
            ["Acme: Hasta 1 SMS cada 24 h. Ayuda: help@acme.test. Responde STOP para la baja."],
        )

    def test_contact_without_language_gets_company_language(self):
        self.company.partner_id.lang = "ro_RO"
        partner = self.contact("Ana", "+40 722 000 111", False)
        self.assertEqual(partner._sms_lang(self.company), "ro_RO")
        self.assertEqual(self.env["res.partner"]._sms_lang(self.company), "ro_RO")
        with self.code_translations("ro_RO", {STOP: "%(brand)s: dezabonare confirmată."}):
            self.receive("STOP", sender="+40722000111")
        self.assertEqual(self.outbox_bodies("+40722000111"), ["Acme: dezabonare confirmată."])

    def test_language_not_installed_falls_back(self):
        partner = self.contact("Ana", "+40 722 000 111", False)
        # a language uninstalled since (the ORM refuses to write it)
        self.env.cr.execute(
            "UPDATE res_partner SET lang = 'fr_FR' WHERE id IN %s",
            [(partner.id, self.company.partner_id.id)],
        )
        self.env.invalidate_all()
        self.assertEqual(partner._sms_lang(self.company), "en_US")
        self.company.partner_id.lang = "es_ES"
        self.assertEqual(partner._sms_lang(self.company), "es_ES")

    def test_languages_of_many_contacts_cost_no_query_per_contact(self):
        partners = self.make_partners(30)
        partners[::2].lang = "ro_RO"

        def run(count):
            batch = self.env["res.partner"].browse(partners.ids[:count])
            with self.count_queries() as counter:
                langs = batch._sms_langs(self.company)
            self.assertEqual(len(langs), count)
            return counter[0]

        self.assertQueriesFlat(run, 3, 30)

    def test_courtesy_reply_shipped_text_translated(self):
        self.courtesy_msgid = DEFAULT_COURTESY_REPLY._translate("en_US")
        self.company.with_context(lang="en_US").sms_courtesy_reply = self.courtesy_msgid
        self.partner.lang = "ro_RO"
        translation = "Mulțumim pentru mesaj: l-am primit și revenim dacă este nevoie."
        with self.code_translations("ro_RO", {self.courtesy_msgid: translation}):
            interaction = self.receive("Hello, is the shop open on Sunday?")
        self.assertTrue(interaction.courtesy_sent)
        self.assertEqual(self.outbox_bodies(NUMBER), [translation])

    def test_courtesy_reply_company_text_and_its_translation(self):
        company = self.company.with_context(lang="en_US")
        company.sms_courtesy_reply = "Thanks, we'll call you back."
        company.update_field_translations(
            "sms_courtesy_reply", {"it_IT": "Grazie, la richiamiamo."}
        )
        spanish = self.contact("Pablo", "+34 600 222 333", "es_ES")
        self.receive("Ciao!")
        self.receive("¡Hola!", sender="+34600222333")
        self.assertEqual(self.outbox_bodies(NUMBER), ["Grazie, la richiamiamo."])
        # no Spanish translation: the company's own text
        self.assertEqual(spanish.lang, "es_ES")
        self.assertEqual(self.outbox_bodies("+34600222333"), ["Thanks, we'll call you back."])

    def test_keyword_rule_reply_in_contact_language(self):
        template = new_partner_template(
            self.env, "Price", "Hi {{ object.name }}, the price is 10 EUR."
        )
        template.update_field_translations(
            "body", {"it_IT": "Ciao {{ object.name }}, il prezzo è 10 EUR."}
        )
        self.env["sms.keyword.rule"].create(
            {
                "name": "Price",
                "keywords": "PRICE, PREZZO",
                "match_mode": "first_word",
                "action_ids": [Command.create({"type": "reply", "template_id": template.id})],
            }
        )
        self.receive("PREZZO?")
        self.assertEqual(self.outbox_bodies(NUMBER), ["Ciao Giulia Rossi, il prezzo è 10 EUR."])

    def test_double_opt_in_request_in_contact_language(self):
        translation = "%(brand)s: rispondi SI per ricevere le nostre offerte via SMS."
        with self.code_translations("it_IT", {CONSENT_REQUEST: translation}):
            self.partner.action_sms_request_consent()
        self.assertEqual(self.partner.sms_consent_state, "pending")
        expected = "Acme: rispondi SI per ricevere le nostre offerte via SMS."
        self.assertEqual(self.outbox_bodies(NUMBER), [expected])
        # the consent log keeps the question as asked
        self.assertIn(expected, self.partner.sms_consent_proof or "")

    def test_journey_sms_rendered_in_each_contact_language(self):
        self.company.partner_id.lang = "es_ES"
        self.tpl_hello.update_field_translations(
            "body",
            {
                "it_IT": "Ciao {{ object.name }}",
                "ro_RO": "Salut {{ object.name }}",
                "es_ES": "Hola {{ object.name }}",
            },
        )
        romanian = self.contact("Ana", "+40 722 000 111", "ro_RO")
        english = self.contact("John", "+44 7700 900123", "en_US")
        no_lang = self.contact("Pablo", "+34 600 222 333", False)
        partners = self.partner | romanian | english | no_lang
        journey = self.make_journey(
            [self.sms_step()], audience_domain=f"[('id', 'in', {partners.ids})]"
        )
        with self.frozen_now(T0):
            journey.action_start()
        self.run_crons(T0)
        bodies = {trace.partner_id: trace.body for trace in self.traces(journey)}
        self.assertEqual(
            bodies,
            {
                self.partner: "Ciao Giulia Rossi",
                romanian: "Salut Ana",
                english: "Hello John",
                no_lang: "Hola Pablo",
            },
        )

    def test_contest_answers_in_each_entrant_language(self):
        self.company.partner_id.lang = "es_ES"
        contest = self.env["sms.contest"].create(
            {
                "name": "Spring contest",
                "keyword": "WIN",
                "date_start": T0,
                "date_end": T0 + timedelta(days=7),
                "winner_count": 2,
                "entry_reply": "You are in!",
                "winner_message": "You won!",
            }
        )
        contest.update_field_translations("entry_reply", {"it_IT": "Sei in gara!"})
        contest.update_field_translations(
            "winner_message", {"it_IT": "Hai vinto!", "es_ES": "¡Has ganado!"}
        )
        contest.action_open()
        with self.frozen_now(T0 + timedelta(hours=1)):
            self.receive("WIN")
            self.receive("WIN", sender="+34600111222")  # an unknown number
        with self.frozen_now(T0 + timedelta(days=7, hours=1)):
            contest.action_draw()
        self.assertEqual(self.outbox_bodies(NUMBER), ["Sei in gara!", "Hai vinto!"])
        self.assertEqual(self.outbox_bodies("+34600111222"), ["You are in!", "¡Has ganado!"])

    def test_shipped_template_in_contact_language(self):
        template = self.env.ref("sms_journey.sms_template_journey_reactivation_survey")
        template.update_field_translations(
            "body",
            {
                "it_IT": "{{ object.name }}, ci manchi!",
                "es_ES": "¡{{ object.name }}, te echamos de menos!",
            },
        )
        no_lang = self.contact("Pablo", "+34 600 222 333", False)
        participant = self.env["sms.journey.participant"]
        # the template names the contact's language; without one, the company's (context)
        company_lang = template.with_context(lang="es_ES")
        self.assertEqual(
            participant._render_body(company_lang, self.partner), "Giulia Rossi, ci manchi!"
        )
        self.assertEqual(
            participant._render_body(company_lang, no_lang), "¡Pablo, te echamos de menos!"
        )
        # Odoo's own rendering (composer, server actions) follows the template's language too
        self.assertEqual(
            template._render_field("body", self.partner.ids, compute_lang=True)[self.partner.id],
            "Giulia Rossi, ci manchi!",
        )

    def test_reply_digest_in_company_language(self):
        """Digests go to e-mail addresses, not users: the company's language."""
        self.company.partner_id.lang = "ro_RO"
        journey = self.make_journey([self.sms_step()])
        digest = self.env["sms.interaction.digest"].create(
            {"journey_id": journey.id, "email_to": "anna@acme.test", "date_start": T0}
        )
        Digest = type(digest)
        send = Digest._send
        langs = []

        def _send(record, now):
            langs.append(record.env.lang)
            return send(record, now)

        with patch.object(Digest, "_send", _send), self.frozen_now(T0 + timedelta(hours=10)):
            self.env["sms.interaction.digest"]._cron_send_digests()
        self.assertEqual(langs, ["ro_RO"])


class RecordsReader(TranslationModuleReader):
    """What Odoo's .pot export takes from the records (their xml ids and translatable
    fields), without reading the module's source files."""

    def _export_translatable_resources(self):
        pass


@tagged("post_install", "-at_install")
class TestShippedTranslations(TransactionCase):
    """What the module ships reads in Italian once Italian is installed: the names of
    the shipped journeys, their steps and templates, the templates' texts (from the
    records' entries of ``i18n/it.po``), the steps' computed names and the labels of the
    web client's widgets (the ``odoo-javascript`` entries). Read from the translators'
    .po files: a missing translation fails here as in ``scripts/i18n.sh --check``."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["res.lang"]._activate_lang("it_IT")
        cls.env["ir.module.module"]._load_module_terms(["sms_journey"], ["it_IT"], overwrite=True)
        cls.italian = cls.env(context=dict(cls.env.context, lang="it_IT"))

    def italian_ref(self, xmlid):
        return self.italian.ref(f"sms_journey.{xmlid}")

    def test_shipped_journey_steps_and_templates(self):
        journey = self.italian_ref("sms_journey_reactivation")
        self.assertEqual(journey.name, "Riattivazione 30/60/90 giorni")
        self.assertEqual(
            self.italian_ref("sms_journey_reactivation_step_survey").name,
            "Percorso: riattivazione giorno 30 (sondaggio)",
        )
        self.assertEqual(
            self.italian_ref("sms_journey_reactivation_step_branch_60").name,
            "Divisione: Ha risposto all'SMS precedente",
        )
        self.assertEqual(
            self.italian_ref("sms_journey_reactivation_step_active_60").name,
            "Sposta ad attivo",
        )
        template = self.italian_ref("sms_template_journey_reactivation_survey")
        self.assertEqual(template.name, "Percorso: riattivazione giorno 30 (sondaggio)")
        self.assertTrue(template.body.startswith("{{ object.name }}, ci manchi!"), template.body)
        self.assertIn("{{ landing_url }}", template.body)
        # English readers keep the source text
        self.assertEqual(journey.with_context(lang="en_US").name, "Reactivation 30/60/90 days")

    def test_new_step_named_in_every_language(self):
        """A step added by an English user reads in Italian for an Italian one."""
        journey = self.env.ref("sms_journey.sms_journey_payment_reminder")
        Step = self.env["sms.journey.step"].with_context(lang="en_US")
        active = Step.create({"journey_id": journey.id, "action": "set_active"})
        branch = Step.create({"journey_id": journey.id, "action": "branch", "condition": "clicked"})
        self.assertEqual(active.name, "Move to active")
        self.assertEqual(active.with_env(self.italian).name, "Sposta ad attivo")
        self.assertEqual(branch.name, "Split: Clicked the previous SMS")
        self.assertEqual(
            branch.with_env(self.italian).name, "Divisione: Ha cliccato l'SMS precedente"
        )
        # a later change renames the step in Italian too
        branch.condition = "replied"
        self.assertEqual(
            branch.with_env(self.italian).name, "Divisione: Ha risposto all'SMS precedente"
        )

    def test_conversation_states_in_the_web_client(self):
        web = code_translations.get_web_translations("sms_journey", "it_IT")
        strings = {message["id"]: message["string"] for message in web["messages"]}
        self.assertEqual(strings.get("Delivered"), "Consegnato")
        self.assertEqual(strings.get("Queued"), "In coda")
        self.assertEqual(strings.get("Failed"), "Non riuscito")
        # the server's label, the widget's fallback, too
        labels = dict(
            self.italian["sms.conversation.message"]
            ._fields["state"]
            ._description_selection(self.italian)
        )
        self.assertEqual(labels["delivered"], "Consegnato")

    def shipped_texts(self):
        """{xml id: (record, field name)} of the survey's choices and, on a database with
        the demo data, the call-back rule's activity step."""
        texts = {xmlid: (self.env.ref(f"sms_journey.{xmlid}"), "value") for xmlid in SURVEY_CHOICES}
        activity = self.env.ref(f"sms_journey.{CALL_BACK_ACTIVITY}", raise_if_not_found=False)
        if activity:
            texts[CALL_BACK_ACTIVITY] = (activity, "activity_summary")
        return texts

    def test_survey_choices_and_rule_summary_in_the_export(self):
        """Odoo's .pot export sees a record's translatable fields only when the record has
        an xml id: the survey's choices and the rule's steps are records of the data files,
        not lines created inside another record."""
        self.assertTrue(self.env["survey.question.answer"]._fields["value"].translate)
        self.assertTrue(self.env["sms.keyword.rule.action"]._fields["activity_summary"].translate)
        survey = self.env.ref("sms_journey.survey_reactivation")
        choices = survey.question_ids.suggested_answer_ids
        self.assertEqual(
            choices, self.env["survey.question.answer"].union(*(
                record for record, _fname in self.shipped_texts().values()
                if record._name == "survey.question.answer"
            )),
            "every choice of the shipped survey has an xml id",
        )  # fmt: skip
        exported = {
            (res_id, name.split(",")[1]): source
            for module, ttype, name, res_id, source, _value, _comments in RecordsReader(
                self.env.cr, modules=["sms_journey"], lang="it_IT"
            )
            if module == "sms_journey" and ttype == "model"
        }
        for xmlid, (record, fname) in self.shipped_texts().items():
            self.assertEqual(exported.get((f"sms_journey.{xmlid}", fname)), record[fname], xmlid)

    def test_survey_choices_and_rule_summary_in_italian(self):
        """Filled by the translators: each text has its Italian entry in ``it.po``."""
        for xmlid, (record, fname) in self.shipped_texts().items():
            self.env.cr.execute(
                SQL(
                    "SELECT %s->>'it_IT' FROM %s WHERE id = %s",
                    SQL.identifier(fname), SQL.identifier(record._table), record.id,
                )
            )  # fmt: skip
            italian = self.env.cr.fetchone()[0]
            self.assertTrue(italian, f"{xmlid}: no Italian translation loaded from it.po")
            if record[fname] not in SAME_IN_ITALIAN:
                self.assertNotEqual(italian, record[fname], xmlid)
            self.assertEqual(record.with_env(self.italian)[fname], italian)


@tagged("post_install", "-at_install")
class TestChoicesBoundOnUpgrade(TransactionCase):
    """A database installed before 18.0.1.2.0 has the survey's choices without xml ids:
    the version's pre-migration binds them, and loading the data files afterwards creates
    no second set of choices."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.migration = load_migration("18.0.1.2.0")
        cls.survey = cls.env.ref("sms_journey.survey_reactivation")

    def choices(self):
        return self.survey.question_ids.suggested_answer_ids

    def unbind(self):
        """The choices as an older version left them: records without xml ids."""
        self.env["ir.model.data"].search(
            [("module", "=", "sms_journey"), ("model", "=", "survey.question.answer")]
        ).unlink()

    def upgrade(self):
        self.migration.migrate(self.env.cr, "18.0.1.1.0")
        self.env.invalidate_all()
        self.env.registry.clear_cache()  # the xml ids the migration inserted by SQL
        convert_file(
            self.env, "sms_journey", "data/sms_journey_programs_data.xml", {},
            mode="update", noupdate=True, kind="data",
        )  # fmt: skip
        self.env.invalidate_all()

    def test_old_choices_bound_to_their_xml_ids(self):
        before = {xmlid: self.env.ref(f"sms_journey.{xmlid}") for xmlid in SURVEY_CHOICES}
        self.unbind()
        self.upgrade()
        self.assertEqual(len(self.choices()), len(SURVEY_CHOICES), "no choice created twice")
        for xmlid, choice in before.items():
            self.assertEqual(self.env.ref(f"sms_journey.{xmlid}"), choice, xmlid)
        # bound as noupdate: the user's own wording survives the next upgrades
        data = self.env["ir.model.data"].search(
            [("module", "=", "sms_journey"), ("model", "=", "survey.question.answer")]
        )
        self.assertEqual(set(data.mapped("noupdate")), {True})

    def test_edited_choice_bound_by_its_position(self):
        prices = self.env.ref("sms_journey.survey_reactivation_q1_choice_2")
        elsewhere = self.env.ref("sms_journey.survey_reactivation_q1_choice_4")
        prices.value = "Too expensive"
        self.unbind()
        self.upgrade()
        self.assertEqual(len(self.choices()), len(SURVEY_CHOICES))
        self.assertEqual(self.env.ref("sms_journey.survey_reactivation_q1_choice_2"), prices)
        self.assertEqual(self.env.ref("sms_journey.survey_reactivation_q1_choice_4"), elsewhere)
        self.assertEqual(prices.value, "Too expensive")

    def test_bound_choices_left_alone(self):
        """A database already at this version: the migration binds nothing more."""
        before = self.env["ir.model.data"].search_count([("module", "=", "sms_journey")])
        self.upgrade()
        self.assertEqual(
            self.env["ir.model.data"].search_count([("module", "=", "sms_journey")]), before
        )
        self.assertEqual(len(self.choices()), len(SURVEY_CHOICES))
