#!/usr/bin/env bash
# Quick start 1: set everything up and run Odoo with sms_journey, its demo data and the
# sandbox gateway on http://localhost:8069 (login admin / admin).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
setup_all

DB="${SMS_JOURNEY_DB:-sms_journey}"
HTTP_PORT="${HTTP_PORT:-8069}"
SANDBOX_PORT="${SMS_JOURNEY_SANDBOX_PORT:-8070}"

if db_exists "$DB"; then
    log "updating sms_journey in database $DB"
    odoo_bin -d "$DB" -u sms_journey --stop-after-init --http-port="$HTTP_PORT"
else
    log "creating database $DB with sms_journey and demo data (about 2 minutes)"
    odoo_bin -d "$DB" -i sms_journey --stop-after-init --http-port="$HTTP_PORT"
fi

# The sandbox provider: a loopback server speaking the same API as the Twilio gateway.
# It signs with the demo sandbox gateway's own token (random, made with the demo data).
log "starting the sandbox SMS provider on 127.0.0.1:$SANDBOX_PORT"
SANDBOX_TOKEN="$(sandbox_token "$DB")"
"$VENV/bin/python" "$REPO_DIR/sms_journey/tools/gateways/sandbox_server.py" \
    --port "$SANDBOX_PORT" ${SANDBOX_TOKEN:+--auth-token "$SANDBOX_TOKEN"} &
SANDBOX_PID=$!
trap 'kill $SANDBOX_PID 2>/dev/null || true' EXIT

log "Odoo on http://localhost:$HTTP_PORT (admin / admin), database $DB"
odoo_bin -d "$DB" --db-filter="^$DB\$" --http-port="$HTTP_PORT" "$@"
