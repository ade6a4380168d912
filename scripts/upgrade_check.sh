#!/usr/bin/env bash
# Upgrade from the previous release: install the last release of sms_journey (a git tag
# 18.0.*, else the commit scripts/releases.txt names for it) with demo data into a fresh
# database, give it traffic (every cron of ours twice: journeys enrol and send, the outbox
# sends, replies are processed), snapshot it, upgrade to this working tree with
# -u sms_journey, snapshot again and compare: no model loses rows, every contact keeps its
# consent state, every participant keeps its state and next step.
# Exits 0 when nothing was lost. Database: SMS_JOURNEY_UPGRADE_DB (default sms_journey_upgrade).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
setup_all

DB="${SMS_JOURNEY_UPGRADE_DB:-sms_journey_upgrade}"
HTTP_PORT="${SMS_JOURNEY_TEST_PORT:-8169}"
current=$(python3 -c "import ast;print(ast.literal_eval(open('$REPO_DIR/sms_journey/__manifest__.py').read())['version'])")
previous_ref() {
    # the newest release tag older than the working tree's version, else the releases file
    local tag
    tag=$(git -C "$REPO_DIR" tag --list '18.0.*' --sort=-version:refname \
        | grep -vxF "$current" | head -n 1 || true)
    if [ -n "$tag" ]; then echo "$tag"; return; fi
    grep -v '^#' "$REPO_DIR/scripts/releases.txt" | awk -v cur="$current" '$1 != cur {ref=$2} END {print ref}'
}
PREV=$(previous_ref)
if [ -z "$PREV" ] || ! git -C "$REPO_DIR" cat-file -e "$PREV^{commit}" 2>/dev/null; then
    log "no previous release found (tag 18.0.* or scripts/releases.txt): cannot test the upgrade"
    exit 1
fi
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
git -C "$REPO_DIR" archive "$PREV" sms_journey | tar -x -C "$WORK"
prev_version=$(python3 -c "import ast;print(ast.literal_eval(open('$WORK/sms_journey/__manifest__.py').read())['version'])")
log "upgrade check: $prev_version ($PREV) -> $current (working tree)"

# a copy of test.sh's database of Odoo's modules with their demo data
# (SMS_JOURNEY_DEPS_DEMO_DB), else a fresh one
start_db "$DB" "${SMS_JOURNEY_DEPS_DEMO_DB:-}"
log "installing $prev_version with demo data"
if ! "$VENV/bin/python" "$ODOO_SRC/odoo-bin" --addons-path="$ODOO_SRC/odoo/addons,$WORK" -d "$DB" \
    -i sms_journey --http-port="$HTTP_PORT" --stop-after-init --log-level=warn > "$WORK/install.log" 2>&1; then
    tail -n 30 "$WORK/install.log" >&2; exit 1
fi
run_snapshot() {
    (cd "$REPO_DIR/scripts" && "$VENV/bin/python" upgrade_snapshot.py "$@")
}
log "traffic on $prev_version"
run_snapshot traffic --db "$DB" --addons-path "$ODOO_SRC/odoo/addons,$WORK" --http-port "$HTTP_PORT"
run_snapshot snapshot --db "$DB" --addons-path "$ODOO_SRC/odoo/addons,$WORK" --http-port "$HTTP_PORT" \
    --out "$WORK/before.json"
log "upgrading to $current"
if ! odoo_bin -d "$DB" -u sms_journey --http-port="$HTTP_PORT" --stop-after-init --log-level=warn \
    > "$WORK/upgrade.log" 2>&1 || grep -q 'ERROR\|CRITICAL' "$WORK/upgrade.log"; then
    log "the upgrade failed:"; grep -E 'ERROR|CRITICAL|Error' -A5 "$WORK/upgrade.log" | head -n 40 >&2
    exit 1
fi
run_snapshot snapshot --db "$DB" --addons-path "$ADDONS_PATH" --http-port "$HTTP_PORT" --out "$WORK/after.json"
set +e
run_snapshot compare "$WORK/before.json" "$WORK/after.json"
rc=$?
set -e
[ "${SMS_JOURNEY_UPGRADE_KEEP:-}" = "1" ] || drop_db "$DB"
exit "$rc"
