from odoo import fields, models

from odoo.addons.sms_journey.tools import keywords as kw


class SmsKeywordRuleAction(models.Model):
    """The *Back in stock: record the request* action of a keyword rule (the data rule
    ``NOTIFY <code>``, with its Italian, Romanian and Spanish synonyms): the code after
    the keyword is a product's internal reference (any case); the sender, found by the
    number or created as the website does, asks to be texted when it is back, with
    the inbound SMS as proof. The courtesy answer (found, unknown code, already in
    stock) goes out through the one sender, as every answer of the pipeline."""

    _inherit = "sms.keyword.rule.action"

    type = fields.Selection(
        selection_add=[("back_in_stock", "Back in stock: record the request")],
        ondelete={"back_in_stock": "cascade"},
    )

    def _runners(self):
        return dict(super()._runners(), back_in_stock=self._run_back_in_stock)

    def _run_back_in_stock(self, interaction, batch):
        Request = self.env["sms.back.in.stock.request"]
        company = interaction.company_id or interaction.gateway_id.company_id or self.env.company
        product = self.env["product.product"]
        for code in self._codes_after_keyword(interaction):
            product = Request._product_of_code(code, company)
            if product:
                break
        if not product:
            code = next(iter(self._codes_after_keyword(interaction)), "")
            interaction._reply(batch, self._back_in_stock_unknown(code))
            return
        name = product.with_context(lang=self.env.lang).display_name
        if not Request._is_sold_out(product, company):
            # the shop's page only for a product the shop shows (a link to an unpublished
            # product would answer 404)
            if product.sudo().website_published:
                url = product.get_base_url() + product.website_url
                answer = self.env._("%(product)s is in stock: %(url)s", product=name, url=url)
            else:
                answer = self.env._("%(product)s is in stock.", product=name)
            interaction._reply(batch, answer)
            return
        partner = interaction.partner_id or Request._partner_for_number(interaction.number, company)
        Request._record(
            partner,
            product,
            company,
            "keyword",
            interaction._consent_proof(),
            number=interaction.number,
            interaction=interaction,
        )
        interaction._reply(
            batch,
            self.env._("We will text you when %(product)s is back in stock.", product=name),
        )

    def _back_in_stock_unknown(self, code):
        if not code:
            return self.env._("Send NOTIFY followed by the product code, e.g. NOTIFY AB123.")
        return self.env._(
            "We found no product with the code %(code)s. Check it and send NOTIFY "
            "followed by the code again.",
            code=code[:20],
        )

    def _codes_after_keyword(self, interaction):
        """What may be the code in the reply: the text after the matched keyword, cut
        after its spaces or after its words ("ANUNȚĂ-MĂ" is one token, two words)."""
        body = (interaction.body or "").strip()
        keyword = interaction.matched_keyword or ""
        codes = []
        for size in (len(keyword.split()), len(kw.words(keyword))):
            parts = body.split(None, size)
            if size and len(parts) > size:
                code = parts[size].split()[0]
                if code not in codes:
                    codes.append(code)
        return codes
