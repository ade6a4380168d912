#!/usr/bin/env bash
# Quick start 2: set everything up and run every test: ruff, plain pytest for the pure
# helpers, then sms_journey's Odoo tests together with Odoo's own sms, test_mail_sms and
# mass_mailing_sms suites on a fresh database with sms_journey installed.
# Ends with one line "N passed, N failed" and exits non-zero when anything failed.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
setup_all

DB="${SMS_JOURNEY_TEST_DB:-sms_journey_test}"
HTTP_PORT="${SMS_JOURNEY_TEST_PORT:-8169}"
# Extra --test-tags can narrow the Odoo run while developing, e.g. /sms_journey:TestConsent
TEST_TAGS="${SMS_JOURNEY_TEST_TAGS:-/sms_journey,/sms,/test_mail_sms,/mass_mailing_sms}"
LOG_DIR="$(mktemp -d)"
PASSED=0
FAILED=0

count() { PASSED=$((PASSED + $1)); FAILED=$((FAILED + $2)); }

# 1. lint
log "ruff check"
if (cd "$REPO_DIR" && ruff check .); then count 1 0; else count 0 1; fi

# 2. pure helpers, no database
log "pytest sms_journey/tools"
set +e
(cd "$REPO_DIR" && python -m pytest -q -p no:cacheprovider sms_journey/tools) | tee "$LOG_DIR/pytest.log"
rc=${PIPESTATUS[0]}
set -e
summary=$(tail -1 "$LOG_DIR/pytest.log")
p=$( (grep -Eo '[0-9]+ passed' <<<"$summary" || true) | awk '{s+=$1} END {print s+0}')
f=$( (grep -Eo '[0-9]+ (failed|errors?)' <<<"$summary" || true) | awk '{s+=$1} END {print s+0}')
# exit 5 is "no tests collected", not a failure
if [ "$rc" -ne 0 ] && [ "$rc" -ne 5 ] && [ "$f" -eq 0 ]; then f=1; fi
count "$p" "$f"

# 3. Odoo tests on a fresh database: install first, then run every suite with everything
#    loaded, so Odoo's own at_install tests run with sms_journey installed.
run_odoo_tests() {
    local name="$1"; shift
    local logf="$LOG_DIR/$name.log"
    set +e
    odoo_bin "$@" --http-port="$HTTP_PORT" --stop-after-init --log-level=info 2>&1 \
        | tee "$logf" | grep -E --line-buffered '(ERROR|FAIL|CRITICAL|Traceback|tests when loading)'
    local rc=${PIPESTATUS[0]}
    set -e
    local line; line=$(grep -Eo '[0-9]+ failed, [0-9]+ error\(s\) of [0-9]+ tests' "$logf" | tail -1 || true)
    if [ -n "$line" ]; then
        local nf ne nt
        read -r nf ne nt < <(echo "$line" | grep -Eo '[0-9]+' | paste -sd' ')
        count $((nt - nf - ne)) $((nf + ne))
        if [ "$rc" -ne 0 ] && [ $((nf + ne)) -eq 0 ]; then count 0 1; fi
    elif [ "$rc" -ne 0 ]; then
        log "$name: Odoo exited $rc without a test report (see $logf)"
        count 0 1
    fi
}

log "fresh database $DB"
drop_db "$DB"
log "installing sms_journey, test_mail_sms, mass_mailing_sms (no demo)"
run_odoo_tests install -d "$DB" -i sms_journey,test_mail_sms,mass_mailing_sms --without-demo=all
log "running Odoo tests: $TEST_TAGS"
run_odoo_tests suites -d "$DB" --test-tags "$TEST_TAGS"

# 4. the demo data installs cleanly (what quick start 1 does)
if [ "${SMS_JOURNEY_SKIP_DEMO_CHECK:-}" != "1" ]; then
    log "installing sms_journey with demo data on a fresh database"
    drop_db "${DB}_demo"
    run_odoo_tests demo -d "${DB}_demo" -i sms_journey
    if grep -q 'ERROR\|CRITICAL' "$LOG_DIR/demo.log"; then
        log "demo install logged errors (see $LOG_DIR/demo.log)"; count 0 1
    else
        count 1 0
    fi
    drop_db "${DB}_demo"
fi

log "logs in $LOG_DIR"
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
