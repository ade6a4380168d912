#!/usr/bin/env bash
# Installed the way OCA addons are: build the wheel odoo-addon-sms_journey with whool (the
# OCA build backend, sms_journey/pyproject.toml), install it into a fresh virtualenv that
# has only the pinned requirements (Odoo's, ours, the test tools), and install the addon
# from that wheel on a fresh database, or on a copy of SMS_JOURNEY_DEPS_DB (Odoo's modules
# only, as a merchant's database has them) (the addons path names Odoo's addons only, not this
# repository) with its install tests.
# Exits 0 when the module installed from the wheel and its tests passed.
# Database: SMS_JOURNEY_WHEEL_DB (default sms_journey_wheel).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
setup_all

DB="${SMS_JOURNEY_WHEEL_DB:-sms_journey_wheel}"
HTTP_PORT="${SMS_JOURNEY_TEST_PORT:-8169}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

log "building the wheel with whool"
# pip builds it in an isolated environment with the backend sms_journey/pyproject.toml names
"$VENV/bin/pip" wheel -q --no-deps -w "$WORK/dist" "$REPO_DIR/sms_journey" 2> "$WORK/build.log" \
    || { grep -v "is ignored: it is neither" "$WORK/build.log" >&2; exit 1; }
WHEEL=$(ls "$WORK"/dist/odoo_addon_sms_journey-*.whl)
log "built $(basename "$WHEEL")"

log "a fresh virtualenv with Odoo's requirements, then the wheel"
"$PYTHON" -m venv "$WORK/venv"
# Odoo's runtime pins, ours and the test tools (the install tests load every test module
# of the addon, and some use hypothesis)
"$WORK/venv/bin/pip" install -q -r "$REPO_DIR/requirements.txt" 2> "$WORK/pip.log" \
    || { grep -v "is ignored: it is neither" "$WORK/pip.log" >&2; exit 1; }
# --no-deps: the wheel requires the distribution "odoo", which Odoo's source tree is not
"$WORK/venv/bin/pip" install -q --no-deps "$WHEEL" 2>> "$WORK/pip.log" \
    || { grep -v "is ignored: it is neither" "$WORK/pip.log" >&2; exit 1; }

# a copy of test.sh's database of Odoo's modules (SMS_JOURNEY_DEPS_DB), else a fresh one
start_db "$DB" "${SMS_JOURNEY_DEPS_DB:-}"
log "installing sms_journey from the wheel, with its install tests"
cd "$WORK"  # nothing of the repository on the path
set +e
"$WORK/venv/bin/python" "$ODOO_SRC/odoo-bin" --addons-path="$ODOO_SRC/odoo/addons" -d "$DB" \
    -i sms_journey --without-demo=all --http-port="$HTTP_PORT" --stop-after-init \
    --test-tags /sms_journey:TestInstall --log-level=test > "$WORK/install.log" 2>&1
rc=$?
set -e
where=$(grep -Eo "[^ ]*site-packages/odoo/addons/sms_journey" "$WORK/install.log" | head -n 1 || true)
site=$("$WORK/venv/bin/python" -c "import sysconfig;print(sysconfig.get_paths()['purelib'])")
module_path=$(psql -d "$DB" -tAc "SELECT state FROM ir_module_module WHERE name='sms_journey'")
drop_db "$DB"
grep -E '[0-9]+ failed, [0-9]+ error\(s\) of [0-9]+ tests' "$WORK/install.log" | tail -n 1 || true
if [ "$rc" -ne 0 ] || [ "$module_path" != "installed" ] || grep -q 'ERROR\|CRITICAL' "$WORK/install.log"; then
    log "install from the wheel failed (exit $rc, module state '$module_path'):"
    grep -E 'ERROR|CRITICAL|FAIL' "$WORK/install.log" | head -n 10 >&2
    tail -n 30 "$WORK/install.log" >&2
    exit 1
fi
# the module must have come from the wheel's site-packages, not from a source folder
if ! "$WORK/venv/bin/python" - "$site" <<'PY'
import os, sys
sys.path.insert(0, os.environ.get("ODOO_SRC", "/opt/odoo18"))
import odoo
from odoo.tools import config
config.parse_config([f"--addons-path={os.environ.get('ODOO_SRC', '/opt/odoo18')}/odoo/addons"])
from odoo.modules.module import get_module_path
path = get_module_path("sms_journey")
print(f"sms_journey found at {path}")
sys.exit(0 if path and path.startswith(sys.argv[1]) else 1)
PY
then
    log "sms_journey was not loaded from the wheel"; exit 1
fi
log "installed from the wheel${where:+ ($where)}"
