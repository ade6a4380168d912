#!/usr/bin/env bash
# Regenerate the README's pictures (sms_journey/static/description/screenshot_*.png):
# a fresh database with the demo data, the sandbox provider, Odoo, then
# scripts/screenshots.py plays the five-minute story of the README over JSON-RPC and
# photographs it in headless Chromium.
#
#   scripts/screenshots.sh                  the README's pictures
#   scripts/screenshots.sh --conversation   the contact's conversation instead (live ticks,
#                                           the reply box at 1,601 characters, in Italian)
#                                           in docs/screenshots/ (see its README.md)
#
# Knobs: SMS_JOURNEY_SCREENSHOT_DB (default sms_journey_screenshots, dropped and created
# again), SMS_JOURNEY_SCREENSHOT_REUSE=1 (below), SMS_JOURNEY_SCREENSHOT_PORT (8079), SMS_JOURNEY_SCREENSHOT_SANDBOX_PORT (8078),
# SMS_JOURNEY_SCREENSHOT_DIR (sms_journey/static/description; docs/screenshots with
# --conversation).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
MODE=()
DEFAULT_OUT="$REPO_DIR/sms_journey/static/description"
case "${1:-}" in
    "") ;;
    --conversation) MODE=(--conversation); DEFAULT_OUT="$REPO_DIR/docs/screenshots" ;;
    *) echo "usage: scripts/screenshots.sh [--conversation]" >&2; exit 2 ;;
esac
setup_all
ensure_chromium

DB="${SMS_JOURNEY_SCREENSHOT_DB:-sms_journey_screenshots}"
PORT="${SMS_JOURNEY_SCREENSHOT_PORT:-8079}"
SANDBOX_PORT="${SMS_JOURNEY_SCREENSHOT_SANDBOX_PORT:-8078}"
OUT="${SMS_JOURNEY_SCREENSHOT_DIR:-$DEFAULT_OUT}"
WORK="$(mktemp -d)"

PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

# The demo is installed in "$DB"_fresh, then copied (with its filestore) to "$DB", where
# the story runs: SMS_JOURNEY_SCREENSHOT_REUSE=1 keeps an existing "$DB"_fresh, to take
# the pictures again without installing again.
FILESTORE="${XDG_DATA_HOME:-$HOME/.local/share}/Odoo/filestore"
if [ "${SMS_JOURNEY_SCREENSHOT_REUSE:-0}" != 1 ] || ! db_exists "${DB}_fresh"; then
    log "creating database ${DB}_fresh with sms_journey and its demo data (a few minutes)"
    drop_db "${DB}_fresh"
    odoo_bin -d "${DB}_fresh" -i sms_journey --stop-after-init --http-port="$PORT" \
        >"$WORK/install.log" 2>&1 || { tail -50 "$WORK/install.log" >&2; exit 1; }
fi
drop_db "$DB"
createdb -T "${DB}_fresh" "$DB"
rm -rf "${FILESTORE:?}/$DB"
if [ -d "$FILESTORE/${DB}_fresh" ]; then cp -r "$FILESTORE/${DB}_fresh" "$FILESTORE/$DB"; fi

log "starting the sandbox provider on 127.0.0.1:$SANDBOX_PORT"
# (with the demo sandbox gateway's own token, random, made with the demo data)
"$VENV/bin/python" "$REPO_DIR/sms_journey/tools/gateways/sandbox_server.py" \
    --port "$SANDBOX_PORT" --auth-token "$(sandbox_token "$DB")" --report-delay 0.5 \
    >"$WORK/sandbox.log" 2>&1 &
PIDS+=($!)

# no cron thread: the story runs each cron itself, so the pictures are the same every time
log "starting Odoo on 127.0.0.1:$PORT"
# (odoo-bin itself in the background, not the odoo_bin function's subshell: its PID is
# the one to stop)
"$VENV/bin/python" "$ODOO_SRC/odoo-bin" --addons-path="$ADDONS_PATH" -d "$DB" \
    --db-filter="^$DB\$" --http-port="$PORT" --max-cron-threads=0 >"$WORK/odoo.log" 2>&1 &
PIDS+=($!)

"$VENV/bin/python" "$REPO_DIR/scripts/screenshots.py" \
    --url "http://127.0.0.1:$PORT" --db "$DB" --sandbox-url "http://127.0.0.1:$SANDBOX_PORT" \
    --out "$OUT" "${MODE[@]}" || { tail -40 "$WORK/odoo.log" >&2; exit 1; }
log "pictures written to $OUT"
