# Shared setup for the quick-start commands: sourced, not run.
# Every step is idempotent: running it again reuses what exists.
set -euo pipefail

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ODOO_SRC="${ODOO_SRC:-/opt/odoo18}"
PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
# The venv is keyed by the requirements file so that a changed pin gets a new one
# and fresh clones of the same commit reuse the one already built.
REQ_HASH="$(sha1sum "$REPO_DIR/requirements.txt" | cut -c1-12)"
VENV="${SMS_JOURNEY_VENV:-$HOME/.cache/sms_journey/venv-$REQ_HASH}"
# SMS_JOURNEY_EXTRA_ADDONS: more addons directories (comma-separated), between Odoo's and
# ours, e.g. one holding sms_twilio for a tree older than the 18.0 builds that ship it.
ADDONS_PATH="$ODOO_SRC/odoo/addons${SMS_JOURNEY_EXTRA_ADDONS:+,$SMS_JOURNEY_EXTRA_ADDONS},$REPO_DIR"

log() { printf '\033[1m[sms_journey]\033[0m %s\n' "$*" >&2; }

check_odoo_src() {
    if [ ! -f "$ODOO_SRC/odoo-bin" ] || [ ! -d "$ODOO_SRC/odoo/addons/sms" ]; then
        cat >&2 <<MSG
[sms_journey] No Odoo 18 source tree at ODOO_SRC=$ODOO_SRC.
  We need odoo-bin and odoo/addons (Odoo 18.0 Community) there. Get it from
  Odoo's official 18.0 branch (git clone -b 18.0 --depth 1 https://github.com/odoo/odoo)
  or the 18.0 nightly source package, and unpack it so that \$ODOO_SRC/odoo-bin exists,
  or point ODOO_SRC at an existing tree. Odoo's code is never copied into this repo.
MSG
        exit 2
    fi
}

ensure_venv() {
    if [ ! -x "$VENV/bin/python" ] || [ ! -f "$VENV/.installed" ]; then
        log "creating virtualenv $VENV"
        mkdir -p "$(dirname "$VENV")"
        "$PYTHON" -m venv "$VENV"
        # pip's notes about this machine's local package mirrors are noise: keep them in a log.
        if ! "$VENV/bin/pip" install -q -r "$REPO_DIR/requirements.txt" 2>"$VENV/pip.log"; then
            grep -v "is ignored: it is neither" "$VENV/pip.log" >&2
            exit 1
        fi
        touch "$VENV/.installed"
    fi
    export PATH="$VENV/bin:$PATH"
}

ensure_postgres() {
    if ! pg_lsclusters -h 2>/dev/null | awk '$1=="15" && $2=="main" && $4=="online"' | grep -q .; then
        log "starting PostgreSQL 15"
        pg_ctlcluster --skip-systemctl-redirect 15 main start
    fi
    local me; me="$(id -un)"
    if [ "$me" = "postgres" ]; then
        echo "[sms_journey] Odoo refuses to run as the postgres role: run as another user." >&2
        exit 2
    fi
    if ! su postgres -c "psql -tAc \"SELECT 1 FROM pg_roles WHERE rolname='$me'\"" 2>/dev/null | grep -q 1; then
        log "creating PostgreSQL role $me"
        su postgres -c "createuser -s $me"
    fi
}

ensure_chromium() {
    # Browser tours (HttpCase.start_tour) need Debian's chromium; Odoo skips them without it.
    command -v chromium >/dev/null 2>&1 && return 0
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
        log "installing chromium for the browser tours"
        if apt-get update -qq >/dev/null 2>&1 \
            && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1; then
            return 0
        fi
    fi
    log "chromium is not installed: browser tours will be skipped (apt-get install chromium)"
}

db_exists() {
    psql -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname='$1'" | grep -q 1
}

# The auth token of the demo sandbox gateway of database $1 (random, made at its creation):
# the sandbox provider is started with it, so that it signs what Odoo verifies.
sandbox_token() {
    psql -d "$1" -tAc "SELECT g.auth_token FROM sms_gateway g JOIN ir_model_data d
        ON d.model = 'sms.gateway' AND d.res_id = g.id
        WHERE d.module = 'sms_journey' AND d.name = 'sms_gateway_sandbox_demo'"
}

drop_db() {
    if db_exists "$1"; then dropdb --force "$1"; fi
}

# Whether module $1 is in a directory of the addons path (e.g. sms_twilio, which current
# 18.0 builds ship and older trees lack: sms_journey_twilio needs it).
has_addon() {
    local dir dirs
    IFS=',' read -ra dirs <<<"$ADDONS_PATH"
    for dir in "${dirs[@]}"; do
        [ -f "$dir/$1/__manifest__.py" ] && return 0
    done
    return 1
}

odoo_bin() {
    "$VENV/bin/python" "$ODOO_SRC/odoo-bin" --addons-path="$ADDONS_PATH" "$@"
}

setup_all() {
    check_odoo_src
    ensure_venv
    ensure_postgres
}

# Odoo's modules sms_journey depends on, from its manifest (comma-separated)
sms_journey_depends() {
    python3 -c "import ast,sys;print(','.join(ast.literal_eval(open(sys.argv[1]).read())['depends']))" \
        "$REPO_DIR/sms_journey/__manifest__.py"
}

# Copy database $1 into $2 (dropped first), with its filestore: Odoo keeps attachments such
# as the website's images there, and a copy without them reads missing files. Hard links:
# Odoo never rewrites a filestore file in place (names are content hashes).
copy_db() {
    local store="$HOME/.local/share/Odoo/filestore"
    drop_db "$2"
    createdb -T "$1" "$2"
    rm -rf "${store:?}/$2"
    if [ -d "$store/$1" ]; then mkdir -p "$store" && cp -al "$store/$1" "$store/$2"; fi
}

# The database a check installs sms_journey into: a copy of template $2 when given and
# present (Odoo's modules already installed, as in a merchant's database; test.sh builds
# it once for all its checks), else nothing, and odoo-bin -i creates it from scratch.
start_db() {
    drop_db "$1"
    if [ -n "${2:-}" ] && db_exists "$2"; then copy_db "$2" "$1"; fi
}
