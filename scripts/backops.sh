#!/usr/bin/env bash
# BackOps Procurement development helper: set-up, demo server, tests, benchmarks, lint.
#
#   scripts/backops.sh setup    install what is missing (system packages, Odoo, venv)
#   scripts/backops.sh run      set up, create or reuse the demo database, start Odoo
#   scripts/backops.sh test     set up, fresh test database, pytest-odoo then the browser tours, drop it
#   scripts/backops.sh bench    set up, run every benchmark under bench/
#   scripts/backops.sh test-odoo  Odoo's own purchase/sale suites with the addon installed
#   scripts/backops.sh screenshots  fresh demo database, Odoo on a spare port, docs/*.png
#   scripts/backops.sh lint     ruff, pylint-odoo, prettier, the .pot is current, the wheel installs
#   scripts/backops.sh format   rewrite the files as lint wants them (ruff --fix, ruff format, prettier)
#   scripts/backops.sh pot      export i18n/backops_procurement.pot with Odoo's exporter
#   scripts/backops.sh lifecycle  set up, uninstall and upgrade checks on scratch databases (scripts/lifecycle.py)
#   scripts/backops.sh odoo ... run odoo-bin with the project's configuration
#
# Environment:
#   ODOO_SRC        Odoo 18.0 source tree (default: $XDG_DATA_HOME/backops-procurement/odoo-18.0,
#                   downloaded from the official nightly build when missing)
#   ODOO_URL        where to download Odoo 18.0 from
#   BACKOPS_VENV    virtualenv to use (default: .venv in the repository)
#   PYTHON          interpreter used to create the virtualenv (3.10 to 3.12)
#   BACKOPS_DEMO_DB / BACKOPS_TEST_DB / BACKOPS_BENCH_DB / BACKOPS_LINT_DB   database names
#   BACKOPS_LIFECYCLE_UNINSTALL_DB / BACKOPS_LIFECYCLE_UPGRADE_DB   scratch databases of `lifecycle`
#   BACKOPS_PREVIOUS_REF   git commit or tag of the previous version `lifecycle` upgrades from
#   BACKOPS_HTTP_PORT   port of `run` (default 8069); `test` runs the tours on it + 200
#   BACKOPS_TOUR_TAGS   which tours `test` runs (default backops_tour/backops_procurement)
#   BACKOPS_SCREENSHOT_DB / BACKOPS_SCREENSHOT_PORT   database and port of `screenshots`
#                   (default backops_screenshots, BACKOPS_HTTP_PORT + 300)
#   CHROMIUM        the browser `screenshots` drives (default: the tours' one, from PATH)
#   PGHOST, PGPORT, PGUSER, PGPASSWORD   where PostgreSQL is (libpq defaults otherwise)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ADDON=backops_procurement
DATA_HOME=${XDG_DATA_HOME:-$HOME/.local/share}
ODOO_SRC=${ODOO_SRC:-$DATA_HOME/backops-procurement/odoo-18.0}
ODOO_URL=${ODOO_URL:-https://nightly.odoo.com/18.0/nightly/src/odoo_18.0.latest.tar.gz}
VENV=${BACKOPS_VENV:-$ROOT/.venv}
PYTHON=${PYTHON:-python3}
STATE=$ROOT/.backops
CONF=$STATE/odoo.conf
DEMO_DB=${BACKOPS_DEMO_DB:-backops_demo}
TEST_DB=${BACKOPS_TEST_DB:-backops_test}
BENCH_DB=${BACKOPS_BENCH_DB:-backops_bench}
# scratch databases of `lint` and `pot` (the .pot export, the wheel install): suffixed
LINT_DB=${BACKOPS_LINT_DB:-backops_lint}
POT=$ADDON/i18n/$ADDON.pot
HTTP_PORT=${BACKOPS_HTTP_PORT:-8069}
# the HttpCase tests of tests/test_tours.py (Odoo's --test-tags syntax)
TOUR_TAGS=${BACKOPS_TOUR_TAGS:-backops_tour/$ADDON}
SHOT_DB=${BACKOPS_SCREENSHOT_DB:-backops_screenshots}
SHOT_PORT=${BACKOPS_SCREENSHOT_PORT:-$((HTTP_PORT + 300))}
# Playwright needs greenlet >= 3.1, Odoo 18.0 pins greenlet 2.0.2 (gevent): its own venv
SHOT_VENV=$STATE/screenshots-venv

# Debian packages the set-up needs: headers to build psycopg2 and python-ldap,
# the PostgreSQL client, wkhtmltopdf for PDF reports, a compiler, and Chromium,
# which Odoo drives headless for the browser tours of `test`.
DEB_PACKAGES=(build-essential libpq-dev libldap2-dev libsasl2-dev postgresql-client wkhtmltopdf curl chromium)
# what `lint` needs on top: Node.js for prettier (package.json), when there is no npm
LINT_DEB_PACKAGES=(nodejs npm)
# Odoo's test helpers look for these browsers in PATH (odoo/tests/common.py)
BROWSERS=(google-chrome chromium chromium-browser google-chrome-stable)
# and `screenshots` needs pdftoppm for the RFQ PDF
SHOT_DEB_PACKAGES=(poppler-utils)

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# --------------------------------------------------------------------------
# System packages
# --------------------------------------------------------------------------
is_debian() { [ -r /etc/debian_version ] && command -v dpkg-query >/dev/null; }

deb_packages() {
    # install the Debian packages named that are missing
    local missing=() pkg
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' \
            || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -eq 0 ]; then
        say "Installing system packages: ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
        die "missing system packages; run: sudo apt-get install -y ${missing[*]}"
    fi
}

system_packages() {
    if is_debian; then
        deb_packages "${DEB_PACKAGES[@]}"
    else
        local missing=()
        command -v pg_config >/dev/null || missing+=("PostgreSQL client and headers (pg_config)")
        command -v wkhtmltopdf >/dev/null || missing+=("wkhtmltopdf")
        command -v cc >/dev/null || missing+=("a C compiler")
        [ -e /usr/include/ldap.h ] || [ -e /usr/local/include/ldap.h ] || missing+=("OpenLDAP headers (ldap.h)")
        [ -e /usr/include/sasl/sasl.h ] || [ -e /usr/local/include/sasl/sasl.h ] || missing+=("Cyrus SASL headers (sasl/sasl.h)")
        has_browser || missing+=("Chromium or Google Chrome (the browser tours)")
        [ ${#missing[@]} -eq 0 ] || die "install these first: ${missing[*]}
  (Fedora: sudo dnf install -y gcc postgresql-devel openldap-devel cyrus-sasl-devel wkhtmltopdf chromium;
   macOS: brew install postgresql openldap cyrus-sasl wkhtmltopdf && brew install --cask google-chrome)"
    fi
}

has_browser() { [ -n "$(browser_path)" ]; }

# the browser Odoo's tours use (the first of BROWSERS in PATH, or the macOS app)
browser_path() {
    local bin app
    for bin in "${BROWSERS[@]}"; do
        command -v "$bin" && return 0
    done
    for app in "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome" \
               "/Applications/Chromium.app/Contents/MacOS/Chromium"; do
        [ -x "$app" ] && { echo "$app"; return 0; }
    done
    return 0
}

# --------------------------------------------------------------------------
# Odoo 18.0 source
# --------------------------------------------------------------------------
odoo_source() {
    if [ -f "$ODOO_SRC/odoo/release.py" ]; then
        grep -q "^version_info = (18, 0," "$ODOO_SRC/odoo/release.py" \
            || die "$ODOO_SRC is not an Odoo 18.0 source tree (set ODOO_SRC)"
        return 0
    fi
    [ -e "$ODOO_SRC" ] && [ -n "$(ls -A "$ODOO_SRC" 2>/dev/null)" ] \
        && die "$ODOO_SRC exists but holds no Odoo source; empty it or set ODOO_SRC"
    say "Downloading Odoo 18.0 into $ODOO_SRC"
    mkdir -p "$ODOO_SRC"
    local tmp
    tmp=$(mktemp -d)
    # shellcheck disable=SC2064
    trap "rm -rf '$tmp'" RETURN
    curl -fSL --retry 3 -o "$tmp/odoo.tar.gz" "$ODOO_URL" \
        || { rmdir "$ODOO_SRC" 2>/dev/null || true; die "could not download $ODOO_URL; download Odoo 18.0 yourself and set ODOO_SRC"; }
    tar -xzf "$tmp/odoo.tar.gz" -C "$ODOO_SRC" --strip-components=1
    [ -f "$ODOO_SRC/odoo/release.py" ] || die "the archive from $ODOO_URL holds no Odoo source"
}

# --------------------------------------------------------------------------
# Virtualenv with Odoo and its requirements
# --------------------------------------------------------------------------
python_env() {
    if [ ! -x "$VENV/bin/python" ]; then
        command -v "$PYTHON" >/dev/null || die "$PYTHON not found; set PYTHON to a Python 3.10-3.12 interpreter"
        "$PYTHON" -c 'import sys; sys.exit(not ((3, 10) <= sys.version_info[:2] <= (3, 12)))' \
            || die "Odoo 18.0 needs Python 3.10 to 3.12; set PYTHON to one"
        say "Creating virtualenv $VENV"
        "$PYTHON" -m venv "$VENV"
    fi
    local stamp want
    # not requirements/screenshots.txt: that one has a venv of its own (screenshot_tools)
    want=$(cat "$ODOO_SRC/requirements.txt" "$ROOT/requirements/build-constraints.txt" \
        "$ROOT/requirements/constraints.txt" "$ROOT/requirements/dev.txt" | sha256sum | cut -c1-16)
    stamp=$VENV/.backops-$want
    if [ -f "$stamp" ] && "$VENV/bin/python" -c 'import odoo, pytest_odoo' 2>/dev/null; then
        return 0
    fi
    local pip=("$VENV/bin/python" -m pip --disable-pip-version-check)
    say "Installing Odoo 18.0 and its requirements into $VENV"
    # --build-constraint needs pip >= 25.3
    "${pip[@]}" install -q --upgrade 'pip>=25.3' wheel
    "${pip[@]}" install -q --build-constraint "$ROOT/requirements/build-constraints.txt" \
        -c "$ROOT/requirements/constraints.txt" -r "$ODOO_SRC/requirements.txt"
    # compat mode: a plain path entry, so that `import odoo` keeps working next to
    # editable addons and Odoo's namespace packages (odoo.addons.*)
    "${pip[@]}" install -q --no-deps --config-settings editable_mode=compat -e "$ODOO_SRC"
    "${pip[@]}" install -q -c "$ROOT/requirements/constraints.txt" -r "$ROOT/requirements/dev.txt"
    rm -f "$VENV"/.backops-*
    touch "$stamp"
}

# --------------------------------------------------------------------------
# Screenshots: the system's Chromium, pdftoppm, Playwright in a venv of its own
# --------------------------------------------------------------------------
screenshot_tools() {
    is_debian && deb_packages "${SHOT_DEB_PACKAGES[@]}"
    CHROMIUM=${CHROMIUM:-$(browser_path)}
    [ -n "$CHROMIUM" ] && [ -x "$CHROMIUM" ] || die "no Chromium or Chrome found; install one or set CHROMIUM"
    command -v pdftoppm >/dev/null || die "pdftoppm not found; install poppler (poppler-utils)"
    local want stamp
    want=$(sha256sum < "$ROOT/requirements/screenshots.txt" | cut -c1-16)
    stamp=$SHOT_VENV/.backops-$want
    [ -f "$stamp" ] && return 0
    if [ ! -x "$SHOT_VENV/bin/python" ]; then
        say "Creating virtualenv $SHOT_VENV"
        "$PYTHON" -m venv "$SHOT_VENV"
    fi
    say "Installing Playwright into $SHOT_VENV (it drives $CHROMIUM; no browser is downloaded)"
    "$SHOT_VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$ROOT/requirements/screenshots.txt"
    rm -f "$SHOT_VENV"/.backops-*
    touch "$stamp"
}

# --------------------------------------------------------------------------
# Odoo configuration and database helpers
# --------------------------------------------------------------------------
write_config() {
    mkdir -p "$STATE"
    cat > "$CONF" <<EOF
; generated by scripts/backops.sh; edit the script, not this file
[options]
addons_path = $ODOO_SRC/odoo/addons,$ROOT
data_dir = $STATE/data
db_host = ${PGHOST:-False}
db_port = ${PGPORT:-False}
db_user = ${PGUSER:-False}
db_password = ${PGPASSWORD:-False}
http_interface = 127.0.0.1
http_port = $HTTP_PORT
gevent_port = $((HTTP_PORT + 3))
list_db = False
max_cron_threads = 1
EOF
}

pg() { "$VENV/bin/python" "$ROOT/scripts/pgtool.py" "$@"; }

drop_db() {
    pg drop "$1"
    rm -rf "$STATE/data/filestore/$1"
}

check_database() {
    pg ping || exit 1
}

odoo_bin() {
    local command=()
    case "${1:-}" in shell|populate|neutralize|obfuscate) command=("$1"); shift ;; esac
    "$VENV/bin/python" "$ODOO_SRC/odoo-bin" "${command[@]}" -c "$CONF" "$@"
}

setup() {
    system_packages
    odoo_source
    python_env
    write_config
    check_database
}

# --------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------
cmd_run() {
    setup
    if pg has-module "$DEMO_DB" "$ADDON"; then
        say "Updating $ADDON in existing database $DEMO_DB"
        odoo_bin -d "$DEMO_DB" -u "$ADDON" --stop-after-init --log-level=warn
    else
        pg exists "$DEMO_DB" && die "database $DEMO_DB exists without $ADDON; drop it or set BACKOPS_DEMO_DB"
        say "Creating database $DEMO_DB with $ADDON and its demo data (a minute or two)"
        odoo_bin -d "$DEMO_DB" -i "$ADDON" --stop-after-init --log-level=warn
    fi
    say "BackOps Procurement: http://127.0.0.1:$HTTP_PORT/odoo"
    say "Logins (user/password): admin/admin, approver/approver (production manager), buyer/buyer"
    exec "$VENV/bin/python" "$ODOO_SRC/odoo-bin" -c "$CONF" -d "$DEMO_DB" --db-filter="^$DEMO_DB\$"
}

# the number before WORD in the text ("3 passed, 1 error" → 1 for error), 0 if none
count_of() {
    awk -v word="$1" '{ for (i = 1; i < NF; i++) if ($(i + 1) ~ "^" word "s?,?$") n = $i } END { print n + 0 }' <<<"$2"
}

# "pytest: N passed, N failed, N skipped", from pytest's own closing line
pytest_summary() {
    local line
    line=$(sed 's/\x1b\[[0-9;]*m//g' "$1" | grep -E "^=* ?[0-9]+ [a-z]+.* in [0-9.]+s" | tail -n 1 || true)
    echo "pytest: $(count_of passed "$line") passed," \
        "$(( $(count_of failed "$line") + $(count_of error "$line") )) failed, $(count_of skipped "$line") skipped"
}

# "tours: N passed, N failed, N skipped", from Odoo's test result line; fails unless
# every tour ran and passed (one that was skipped, for want of a browser, proves nothing)
tours_summary() {
    local line failed errors total skipped
    line=$(grep -oE "[0-9]+ failed, [0-9]+ error\(s\) of [0-9]+ tests" "$1" | tail -n 1 || true)
    if [ -z "$line" ]; then
        echo "tours: did not run (see $1)"
        return 1
    fi
    read -r failed errors total <<<"$(grep -oE "[0-9]+" <<<"$line" | xargs)"
    skipped=$(grep -cE ": skipped " "$1" || true)
    echo "tours: $(( total - failed - errors - skipped )) passed, $(( failed + errors )) failed, $skipped skipped"
    if [ "$skipped" -gt 0 ] || [ "$total" -eq 0 ]; then
        echo "error: tours were skipped or none ran: they need Chromium (or Chrome) and websocket-client" >&2
        return 1
    fi
    [ $(( failed + errors )) -eq 0 ]
}

cmd_screenshots() {
    # the README's screenshots, from a fresh demo database: the script changes what
    # it walks through (RFQs, an approval, a fill), so never the `run` database
    setup
    screenshot_tools
    drop_db "$SHOT_DB"
    say "Creating database $SHOT_DB with $ADDON and its demo data (a minute or two)"
    odoo_bin -d "$SHOT_DB" -i "$ADDON" --stop-after-init --log-level=warn
    say "Starting Odoo on 127.0.0.1:$SHOT_PORT (log: $STATE/screenshots-odoo.log)"
    "$VENV/bin/python" "$ODOO_SRC/odoo-bin" -c "$CONF" -d "$SHOT_DB" --db-filter="^$SHOT_DB\$" \
        --http-port="$SHOT_PORT" --gevent-port=$((SHOT_PORT + 3)) --max-cron-threads=0 \
        --log-level=warn --logfile="$STATE/screenshots-odoo.log" &
    local pid=$!
    # shellcheck disable=SC2064
    trap "kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; drop_db '$SHOT_DB' || true" EXIT
    say "Taking screenshots into docs/"
    "$SHOT_VENV/bin/python" "$ROOT/scripts/screenshots.py" --url "http://127.0.0.1:$SHOT_PORT" \
        --out "$ROOT/docs" --chromium "$CHROMIUM" "$@"
}

cmd_test() {
    setup
    say "Creating fresh test database $TEST_DB"
    drop_db "$TEST_DB"
    trap 'drop_db "$TEST_DB" || true' EXIT
    odoo_bin -d "$TEST_DB" -i "$ADDON" --without-demo=all --stop-after-init --log-level=warn
    cd "$ROOT"
    say "Running the test suite (pytest-odoo)"
    local pytest_status=0 tours_status=0 color=()
    [ -t 1 ] && color=(--color=yes)   # its output goes through tee
    "$VENV/bin/python" -m pytest "${color[@]}" --odoo-config="$CONF" --odoo-database="$TEST_DB" "$@" "$ADDON/tests" \
        | tee "$STATE/pytest.log" || pytest_status=$?
    # pytest-odoo starts no HTTP server: the HttpCase tours (left out by conftest.py)
    # run in Odoo's own runner, on the same database, whatever pytest's outcome
    say "Running the browser tours (headless Chromium)"
    odoo_bin -d "$TEST_DB" --test-enable --test-tags "$TOUR_TAGS" --stop-after-init --log-level=info \
        --http-port=$((HTTP_PORT + 200)) --gevent-port=$((HTTP_PORT + 203)) > "$STATE/tours.log" 2>&1 \
        || tours_status=$?
    grep -E "odoo\.tests\.result|: skipped |(ERROR|CRITICAL) " "$STATE/tours.log" || true
    say "Full log of the tours: $STATE/tours.log"

    # one closing line per part
    pytest_summary "$STATE/pytest.log"
    tours_summary "$STATE/tours.log" || tours_status=1
    [ "$pytest_status" -eq 0 ] && [ "$tours_status" -eq 0 ]
}

cmd_test_odoo() {
    # Odoo's own suites of the flows the addon extends, with the addon installed
    setup
    local db=${BACKOPS_ODOO_TEST_DB:-backops_odoo_suites}
    local tags=${ODOO_TEST_TAGS:-/purchase,/purchase_stock,/sale_purchase,/sale_purchase_stock,/sale_stock}
    drop_db "$db"
    trap 'drop_db "'"$db"'" || true' EXIT
    say "Running Odoo's suites $tags with $ADDON installed (several minutes)"
    odoo_bin -d "$db" -i "sale_purchase_stock,purchase_requisition_stock,$ADDON" \
        --test-enable --test-tags "$tags" --stop-after-init --log-level=test \
        --http-port=$((HTTP_PORT + 100)) --gevent-port=$((HTTP_PORT + 103)) "$@" 2>&1 \
        | tee "$STATE/odoo-suites.log" | grep -E "odoo\.tests\.(stats|result)|(ERROR|CRITICAL) " || true
    grep -qE "odoo\.tests\.result: 0 failed, 0 error\(s\)" "$STATE/odoo-suites.log"
}

cmd_bench() {
    setup
    cd "$ROOT"
    local script status=0
    for script in bench/*.py; do
        [ "$(basename "$script")" = harness.py ] && continue   # shared plumbing, not a benchmark
        say "Benchmark $script"
        drop_db "$BENCH_DB"
        odoo_bin -d "$BENCH_DB" -i "$ADDON" --without-demo=all --stop-after-init --log-level=warn
        "$VENV/bin/python" "$script" -c "$CONF" -d "$BENCH_DB" "$@" || status=1
    done
    drop_db "$BENCH_DB"
    return $status
}

# --------------------------------------------------------------------------
# Lint and packaging
# --------------------------------------------------------------------------
# the pinned linters (requirements/lint.txt) into the virtualenv and prettier
# (package-lock.json) into node_modules, each again only when its file changed
lint_tools() {
    local want stamp
    want=$(sha256sum "$ROOT/requirements/lint.txt" | cut -c1-16)
    stamp=$VENV/.lint-$want
    if [ ! -f "$stamp" ] || [ ! -x "$VENV/bin/ruff" ] || [ ! -x "$VENV/bin/pylint" ]; then
        say "Installing the linters (requirements/lint.txt) into $VENV"
        "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$ROOT/requirements/lint.txt"
        rm -f "$VENV"/.lint-*
        touch "$stamp"
    fi
    command -v npm >/dev/null || { is_debian && deb_packages "${LINT_DEB_PACKAGES[@]}"; }
    command -v npm >/dev/null || die "npm not found: install Node.js 18 or later (prettier runs on it)"
    want=$(sha256sum "$ROOT/package-lock.json" | cut -c1-16)
    stamp=$ROOT/node_modules/.backops-$want
    if [ ! -f "$stamp" ]; then
        say "Installing prettier (package-lock.json) into node_modules"
        (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error)
        touch "$stamp"
    fi
}

prettier() { (cd "$ROOT" && node_modules/.bin/prettier "$@"); }

# a scratch database with the addon installed without demo data, then the .pot
# exported from it with Odoo's own exporter (no --language: a template)
export_pot() {
    local out=$1 db=${LINT_DB}_pot
    drop_db "$db"
    odoo_bin -d "$db" -i "$ADDON" --without-demo=all --stop-after-init --log-level=warn || return 1
    odoo_bin -d "$db" --i18n-export="$out" --modules="$ADDON" --stop-after-init --log-level=warn || return 1
    drop_db "$db"
}

# the .pot without the header lines that change with the export's date and Odoo's build
pot_body() { grep -vE '^"(POT-Creation-Date|PO-Revision-Date|Project-Id-Version): ' "$1"; }

# `pip wheel ./backops_procurement` (whool), the wheel installed into a throwaway
# virtualenv that sees Odoo and its requirements through a .pth file (Odoo itself is
# not reinstalled), then the addon installed from it on a scratch database with only
# Odoo's own addons on the addons path: found through the wheel's odoo/addons
check_wheel() {
    local tmp=$1 db=${LINT_DB}_wheel site venv_site wheel found
    mkdir -p "$tmp/dist"
    "$VENV/bin/python" -m pip wheel -q --disable-pip-version-check --no-deps \
        --build-constraint "$ROOT/requirements/wheel-build-constraints.txt" -w "$tmp/dist" "$ROOT/$ADDON" \
        || { echo "error: pip wheel ./$ADDON failed" >&2; return 1; }
    wheel=$(ls "$tmp"/dist/odoo_addon_"$ADDON"-*.whl)
    "$VENV/bin/python" -m venv "$tmp/venv" || return 1
    site=$("$tmp/venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
    venv_site=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
    echo "import site; site.addsitedir('$venv_site')" > "$site/zz_backops_project_venv.pth"
    "$tmp/venv/bin/python" -m pip install -q --disable-pip-version-check --no-deps "$wheel" || return 1
    found=$("$tmp/venv/bin/python" - "$ODOO_SRC/odoo/addons" "$ADDON" <<'EOF'
import sys
import odoo
from odoo.modules.module import get_module_path
odoo.tools.config.parse_config(["--addons-path", sys.argv[1]])
print(get_module_path(sys.argv[2], display_warning=False) or "")
EOF
)
    case "$found" in
        "$site"/odoo/addons/"$ADDON") ;;
        *) echo "error: Odoo does not find $ADDON in the wheel's install (${found:-not found})" >&2; return 1 ;;
    esac
    drop_db "$db"
    "$tmp/venv/bin/python" "$ODOO_SRC/odoo-bin" -c "$CONF" --addons-path="$ODOO_SRC/odoo/addons" \
        --data-dir="$tmp/data" -d "$db" -i "$ADDON" --without-demo=all --stop-after-init --log-level=warn \
        || { drop_db "$db"; echo "error: installing $ADDON from $(basename "$wheel") failed" >&2; return 1; }
    pg has-module "$db" "$ADDON" \
        || { drop_db "$db"; echo "error: $ADDON is not installed after -i from the wheel" >&2; return 1; }
    drop_db "$db"
    echo "$(basename "$wheel") installs $ADDON from $site"
}

cmd_lint() {
    setup
    lint_tools
    cd "$ROOT"
    local tmp started=$SECONDS results=() status=0 out n
    tmp=$(mktemp -d)
    # shellcheck disable=SC2064
    trap "drop_db '${LINT_DB}_pot' || true; drop_db '${LINT_DB}_wheel' || true; rm -rf '$tmp'" EXIT
    # each part: its output, then one closing line in the summary
    result() { results+=("$1"); [ "$2" -eq 0 ] || status=1; }

    say "ruff check"
    out=0; "$VENV/bin/ruff" check --output-format=concise . || out=$?
    result "ruff check: $([ $out -eq 0 ] && echo ok || echo "failed (scripts/backops.sh format fixes some)")" $out

    say "ruff format --check"
    out=0; "$VENV/bin/ruff" format --check . || out=$?
    result "ruff format: $([ $out -eq 0 ] && echo ok || echo "failed (run scripts/backops.sh format)")" $out

    say "pylint-odoo (.pylintrc, Odoo 18.0)"
    out=0; "$VENV/bin/pylint" --rcfile=.pylintrc --valid-odoo-versions=18.0 --output-format=text "$ADDON" \
        > "$tmp/pylint.log" 2>&1 || out=$?
    cat "$tmp/pylint.log"
    n=$(grep -cE '^[^ ]+:[0-9]+: \[' "$tmp/pylint.log" || true)
    result "pylint: $([ $out -eq 0 ] && echo ok || echo "failed ($n messages)")" $out

    say "prettier --check (XML)"
    out=0; prettier --check "$ADDON/**/*.xml" || out=$?
    result "prettier: $([ $out -eq 0 ] && echo ok || echo "failed (run scripts/backops.sh format)")" $out

    say "$POT is current (exported again on a scratch database)"
    out=0
    if [ ! -f "$POT" ]; then
        echo "error: $POT is missing: run make pot" >&2; out=1
    elif export_pot "$tmp/$ADDON.pot"; then
        diff -u --label "$POT (committed)" --label "$POT (exported now)" \
            <(pot_body "$POT") <(pot_body "$tmp/$ADDON.pot") || out=$?
    else
        out=1
    fi
    result "pot: $([ $out -eq 0 ] && echo ok || echo "failed ($POT is not what Odoo exports: run make pot)")" $out

    say "wheel: pip wheel ./$ADDON, installed into a fresh virtualenv, the addon installed from it"
    out=0; check_wheel "$tmp/wheel" || out=$?
    n=$(cd "$tmp/wheel/dist" 2>/dev/null && ls -- *.whl 2>/dev/null || true)
    result "wheel: $([ $out -eq 0 ] && echo "ok ($n)" || echo failed)" $out

    say "Lint done in $((SECONDS - started))s"
    printf '%s\n' "${results[@]}"
    return $status
}

# rewrite the files as `lint` wants them; what is left is fixed by hand
cmd_format() {
    lint_tools
    cd "$ROOT"
    "$VENV/bin/ruff" check --fix --exit-zero --quiet .
    "$VENV/bin/ruff" format .
    prettier --write --log-level=warn "$ADDON/**/*.xml"
}

cmd_pot() {
    setup
    cd "$ROOT"
    mkdir -p "$(dirname "$POT")"
    trap 'drop_db "'"${LINT_DB}_pot"'" || true' EXIT
    say "Exporting $POT (scratch database ${LINT_DB}_pot, without demo data)"
    export_pot "$ROOT/$POT"
    say "Wrote $POT"
}

cmd_lifecycle() {
    # uninstall the addon and upgrade the previous version, each on a scratch
    # database that scripts/lifecycle.py drops first and at the end
    setup
    say "Lifecycle: uninstall, and upgrade from ${BACKOPS_PREVIOUS_REF:-the previous version} (a few minutes)"
    "$VENV/bin/python" "$ROOT/scripts/lifecycle.py" -c "$CONF" --odoo-bin "$ODOO_SRC/odoo-bin" "$@"
}

case "${1:-}" in
    setup) setup ;;
    run) shift; cmd_run "$@" ;;
    test) shift; cmd_test "$@" ;;
    bench) shift; cmd_bench "$@" ;;
    test-odoo) shift; cmd_test_odoo "$@" ;;
    screenshots) shift; cmd_screenshots "$@" ;;
    lint) cmd_lint ;;
    format) cmd_format ;;
    pot) cmd_pot ;;
    lifecycle) shift; cmd_lifecycle "$@" ;;
    odoo) shift; setup >/dev/null; odoo_bin "$@" ;;
    *) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
