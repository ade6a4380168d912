#!/usr/bin/env bash
# The back-in-stock bridge (sms_journey_website_sale_stock, auto-installed with sms_journey
# and website_sale_stock) on its own database: website_sale_stock brings Odoo's stock, whose
# deliveries would change what sms_journey's own suites do on confirmed orders, so the
# bridge is not installed in the main test database. Installs both modules (no demo), runs
# the bridge's tests and the behaviour triggers' tests with stock installed.
# Exits 0 when both installed and every test passed; the last line is Odoo's test summary.
# Database: SMS_JOURNEY_STOCK_DB (default sms_journey_stock).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
setup_all

DB="${SMS_JOURNEY_STOCK_DB:-sms_journey_stock}"
HTTP_PORT="${SMS_JOURNEY_TEST_PORT:-8169}"
LOG="$(mktemp)"
trap 'rm -f "$LOG"' EXIT

start_db "$DB" "${SMS_JOURNEY_DEPS_DB:-}"  # a copy of test.sh's database of Odoo's modules
log "installing sms_journey, website_sale_stock and the back-in-stock bridge, with its tests"
set +e
odoo_bin -d "$DB" -i sms_journey,website_sale_stock,sms_journey_website_sale_stock \
    --without-demo=all --http-port="$HTTP_PORT" --stop-after-init \
    --test-tags /sms_journey_website_sale_stock,/sms_journey:TestJourneyBehaviour \
    --log-level=test > "$LOG" 2>&1
rc=$?
set -e
state=$(psql -d "$DB" -tAc "SELECT state FROM ir_module_module WHERE name='sms_journey_website_sale_stock'")
drop_db "$DB"
summary=$(grep -E '[0-9]+ failed, [0-9]+ error\(s\) of [0-9]+ tests' "$LOG" | tail -n 1 || true)
if [ "$rc" -ne 0 ] || [ "$state" != "installed" ] || [ -z "$summary" ] \
    || grep -q 'ERROR\|CRITICAL' "$LOG" || ! grep -q ' 0 failed, 0 error(s)' <<<"$summary"; then
    log "the back-in-stock bridge failed (exit $rc, module state '$state'):"
    grep -E 'ERROR|CRITICAL|FAIL' "$LOG" | head -n 20 >&2
    tail -n 20 "$LOG" >&2
    exit 1
fi
echo "back-in-stock bridge: ${summary#*odoo.tests.result: }"
