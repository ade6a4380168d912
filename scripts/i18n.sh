#!/usr/bin/env bash
# Translations of sms_journey and of its bridges (back in stock: sms_journey_website_sale_stock;
# Odoo's Twilio: sms_journey_twilio, exported only where the Odoo tree or
# SMS_JOURNEY_EXTRA_ADDONS has sms_twilio): each module keeps its own
# <module>/i18n/<module>.pot, it.po, ro.po and es.po.
#
#   bash scripts/i18n.sh            export sms_journey/i18n/sms_journey.pot from a fresh database
#                                   with the module installed WITH its demo data (the demo
#                                   journeys, steps and templates are translated too), then
#                                   merge it into it.po, ro.po and es.po (created when missing)
#   bash scripts/i18n.sh --merge    only the merge (the .pot as committed)
#   bash scripts/i18n.sh --check    no database: fail listing every empty or fuzzy msgstr, every
#                                   msgid of the .pot missing from a .po, every msgstr whose
#                                   placeholders differ from its msgid's, and every way the .pot
#                                   is out of step with the sources: a string of the Python
#                                   code, the JS (_t) or the OWL templates, or a translatable
#                                   field of a data/demo record, missing from the .pot or
#                                   changed since (scripts/i18n_po.py)
#
# The database is SMS_JOURNEY_I18N_DB (default sms_journey_i18n), dropped and created again.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PO_TOOL="$REPO_DIR/scripts/i18n_po.py"
MODE="${1:-export}"
# the modules with translations: sms_journey, then the bridges whose i18n folder exists
TRANSLATED="sms_journey sms_journey_website_sale_stock sms_journey_twilio"

if [ "$MODE" = "--check" ]; then
    ensure_venv
    check_odoo_src
    status=0
    for module in $TRANSLATED; do
        [ -d "$REPO_DIR/$module/i18n" ] || continue
        # Odoo's own extractor of OWL template strings, for the check to find what the
        # export finds
        "$VENV/bin/python" "$PO_TOOL" check --i18n-dir "$REPO_DIR/$module/i18n" \
            --odoo-src "$ODOO_SRC" || status=1
    done
    exit "$status"
fi

merge_module() {
    local I18N_DIR="$REPO_DIR/$1/i18n" POT="$REPO_DIR/$1/i18n/$1.pot"
    "$VENV/bin/python" "$PO_TOOL" init --i18n-dir "$I18N_DIR"
    if command -v msgmerge >/dev/null 2>&1; then
        for po in "$I18N_DIR"/it.po "$I18N_DIR"/ro.po "$I18N_DIR"/es.po; do
            # fuzzy matching on: a changed msgid keeps its old translation flagged fuzzy,
            # for the translator to review (--check fails until they do)
            msgmerge --quiet --update --backup=none "$po" "$POT"
            log "merged $(basename "$po")"
        done
    else
        log "gettext's msgmerge is not installed: merging with polib (no fuzzy matching)"
        "$VENV/bin/python" "$PO_TOOL" merge --i18n-dir "$I18N_DIR"
    fi
}

case "$MODE" in
    export)
        setup_all
        DB="${SMS_JOURNEY_I18N_DB:-sms_journey_i18n}"
        HTTP_PORT="${SMS_JOURNEY_I18N_PORT:-8169}"
        INSTALLED="sms_journey sms_journey_website_sale_stock"
        # the Twilio bridge needs sms_twilio: without it its committed .pot is kept as it is
        if has_addon sms_twilio; then INSTALLED="$INSTALLED sms_journey_twilio"; fi
        log "fresh database $DB with $INSTALLED and their demo data"
        drop_db "$DB"
        # with demo: the export holds the translatable fields of the records that exist
        odoo_bin -d "$DB" -i "${INSTALLED// /,}" --http-port="$HTTP_PORT" \
            --stop-after-init --log-level=warn
        for module in $INSTALLED; do
            mkdir -p "$REPO_DIR/$module/i18n"
            log "exporting $module/i18n/$module.pot"
            odoo_bin -d "$DB" --i18n-export="$REPO_DIR/$module/i18n/$module.pot" \
                --modules="$module" --http-port="$HTTP_PORT" --stop-after-init --log-level=warn
            merge_module "$module"
        done
        drop_db "$DB"
        ;;
    --merge)
        ensure_venv
        for module in $TRANSLATED; do
            if [ -f "$REPO_DIR/$module/i18n/$module.pot" ]; then merge_module "$module"; fi
        done
        ;;
    *)
        echo "usage: bash scripts/i18n.sh [--merge|--check]" >&2
        exit 2
        ;;
esac
