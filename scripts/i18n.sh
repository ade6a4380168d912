#!/usr/bin/env bash
# Translations of sms_journey.
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

I18N_DIR="$REPO_DIR/sms_journey/i18n"
POT="$I18N_DIR/sms_journey.pot"
PO_TOOL="$REPO_DIR/scripts/i18n_po.py"
MODE="${1:-export}"

if [ "$MODE" = "--check" ]; then
    ensure_venv
    check_odoo_src
    # Odoo's own extractor of OWL template strings, for the check to find what the export finds
    exec "$VENV/bin/python" "$PO_TOOL" check --i18n-dir "$I18N_DIR" --odoo-src "$ODOO_SRC"
fi

merge() {
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
        mkdir -p "$I18N_DIR"
        log "fresh database $DB with sms_journey and its demo data"
        drop_db "$DB"
        # with demo: the export holds the translatable fields of the records that exist
        odoo_bin -d "$DB" -i sms_journey --http-port="$HTTP_PORT" \
            --stop-after-init --log-level=warn
        log "exporting $POT"
        odoo_bin -d "$DB" --i18n-export="$POT" --modules=sms_journey --http-port="$HTTP_PORT" \
            --stop-after-init --log-level=warn
        drop_db "$DB"
        merge
        ;;
    --merge)
        ensure_venv
        merge
        ;;
    *)
        echo "usage: bash scripts/i18n.sh [--merge|--check]" >&2
        exit 2
        ;;
esac
