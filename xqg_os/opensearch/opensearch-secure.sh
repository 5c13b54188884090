# Secure mode of opensearch-local, sourced by it for `--secure` (or XQG_OS_SECURE=1).
#
# A separate node (its own port, default 9243, folder and pid) from a copy of the distribution
# with the official opensearch-security plugin of the node's version (Maven Central):
#   - TLS on HTTP and transport, with a CA, a node and an admin certificate made with openssl at
#     the first start and kept in $NODE/tls (the CA key never leaves it);
#   - basic auth against the plugin's internal users; the user `admin` (role all_access) gets the
#     password XQG_OS_ADMIN_PASSWORD, or, when that is unset, one generated into the 0600 file
#     $NODE/admin-password; every start sets it again (with the admin certificate), so changing
#     the variable changes the password;
#   - the health check runs over TLS, first with the admin certificate (before the admin user
#     exists), then with the admin's credentials.
# Other users and roles are the cluster's business: create them through the plugin's REST API
# (`_plugins/_security/api/...`) as admin.
#
# Environment (besides opensearch-local's):
#   XQG_OS_ADMIN_PASSWORD     the admin's password (default: generated, kept in a 0600 file)
#   XQG_OS_SECURITY_VERSION   the security plugin's version (default VERSION.0)

SECURITY_VERSION="${XQG_OS_SECURITY_VERSION:-${VERSION}.0}"
RUN_DIST="$CACHE/opensearch-$VERSION-secure"
NODE_SUFFIX="-secure"
NODE="$CACHE/node-$VERSION-$PORT$NODE_SUFFIX"
PIDFILE="$NODE/opensearch.pid"
URL="https://127.0.0.1:$PORT"
TLS="$NODE/tls"
PASSWORD_FILE="$NODE/admin-password"
ADMIN_USER="admin"
ADMIN_DN="CN=xqg-os admin,O=xqg-os"
NODE_DN="CN=xqg-os node,O=xqg-os"
# the admin certificate authenticates the health checks of wait_green and status
CURL_OPTS=(--cacert "$TLS/ca.pem" --cert "$TLS/admin.pem" --key "$TLS/admin-key.pem")

port_taken() {  # anything listening, TLS or not
  (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null
}

prepare() {
  command -v openssl >/dev/null || die "openssl not found; install it (apt-get install openssl)"
  [ -f "$RUN_DIST/.assembled" ] || assemble_secure
  [ -f "$TLS/admin.pem" ] || make_certificates
}

assemble_secure() {
  local tmp="$CACHE/.download-security-$SECURITY_VERSION"
  rm -rf "$tmp" "$RUN_DIST.partial"
  mkdir -p "$tmp"
  log "fetching opensearch-security $SECURITY_VERSION from Maven Central"
  mvn_get "org.opensearch.plugin:opensearch-security:$SECURITY_VERSION:zip" "$tmp"
  # hard links: the copy costs no space, and nothing writes into a distribution
  cp -al "$DIST" "$RUN_DIST.partial" 2>/dev/null || cp -a "$DIST" "$RUN_DIST.partial"
  rm -f "$RUN_DIST.partial/.assembled"
  local plugin="$RUN_DIST.partial/plugins/opensearch-security"
  unzip -q "$tmp/opensearch-security-$SECURITY_VERSION.zip" -d "$plugin"
  # where `opensearch-plugin install` puts a plugin's configuration
  mv "$plugin/config" "$RUN_DIST.partial/config/opensearch-security"
  chmod +x "$plugin"/tools/*.sh
  optional_extensions "$plugin/plugin-descriptor.properties" "$RUN_DIST.partial"
  date -u +%FT%TZ >"$RUN_DIST.partial/.assembled"
  mv "$RUN_DIST.partial" "$RUN_DIST"
  rm -rf "$tmp"
  log "assembled $RUN_DIST"
}

# libraries a module exports to the plugins that extend it, for modules the minimal
# distribution lacks: their jars go into the plugin's own folder instead
declare -A MODULE_LIBS=([rule-framework]="org.apache.commons:commons-collections4:4.4")

optional_extensions() {  # optional_extensions DESCRIPTOR DIST
  # 3.x's plugin extends the rule-framework module, which the minimal distribution lacks; the
  # plugin only offers it attributes for rule-based auto-tagging, so an absent one is optional,
  # but the plugin's privilege evaluation uses a library the module would have exported to it.
  local descriptor="$1" dist="$2" line entry name lib out=()
  line="$(sed -n 's/^extended\.plugins=//p' "$descriptor")"
  [ -n "$line" ] || return 0
  IFS=, read -ra entries <<<"$line"
  for entry in "${entries[@]}"; do
    name="${entry%%;*}"
    if [ "$entry" = "$name" ] && ! grep -qsx "name=$name" \
        "$dist"/modules/*/plugin-descriptor.properties "$dist"/plugins/*/plugin-descriptor.properties
    then
      log "the distribution has no $name module: the security plugin runs without it"
      entry="$name;optional=true"
      for lib in ${MODULE_LIBS[$name]:-}; do mvn_get "$lib" "$(dirname "$descriptor")"; done
    fi
    out+=("$entry")
  done
  sed -i "s/^extended\.plugins=.*/extended.plugins=$(IFS=,; echo "${out[*]}")/" "$descriptor"
}

sign() {  # sign NAME SUBJECT EXTENSIONS: NAME.pem and NAME-key.pem (PKCS#8), signed by the CA
  openssl req -new -newkey rsa:2048 -nodes -subj "$2" -keyout "$1-key.tmp" -out "$1.csr"
  openssl pkcs8 -topk8 -nocrypt -in "$1-key.tmp" -out "$1-key.pem"
  openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca-key.pem -CAcreateserial -sha256 \
    -days 3650 -out "$1.pem" -extfile <(printf '%b' "$3")
  rm -f "$1-key.tmp" "$1.csr"
}

make_certificates() {
  log "making a CA and node and admin certificates in $TLS"
  rm -rf "$TLS"
  mkdir -p "$TLS"
  chmod 700 "$TLS"
  ( cd "$TLS" && umask 077 \
    && openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 \
         -subj "/O=xqg-os/CN=xqg-os local CA $PORT" -keyout ca-key.pem -out ca.pem \
         -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    && sign node "/O=xqg-os/CN=xqg-os node" "subjectAltName=DNS:localhost,IP:127.0.0.1\n\
keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth" \
    && sign admin "/O=xqg-os/CN=xqg-os admin" "keyUsage=critical,digitalSignature\n\
extendedKeyUsage=clientAuth" \
    && chmod 644 ca.pem ) >"$NODE/openssl.log" 2>&1 \
    || { cat "$NODE/openssl.log" >&2; die "openssl could not make the certificates"; }
}

configure() {
  cp "$TLS/ca.pem" "$TLS/node.pem" "$TLS/node-key.pem" "$NODE/config/"
  local sec="$NODE/config/opensearch-security"
  cat >"$sec/config.yml" <<'EOF'
_meta: {type: "config", config_version: 2}
config:
  dynamic:
    http: {anonymous_auth_enabled: false}
    authc:
      basic_internal_auth_domain:
        description: "HTTP basic auth against the internal users"
        http_enabled: true
        transport_enabled: true
        order: 0
        http_authenticator: {type: basic, challenge: true}
        authentication_backend: {type: intern}
EOF
  # no users here (no password hash in a file): ready() creates the admin with the admin cert
  printf '_meta: {type: "internalusers", config_version: 2}\n' >"$sec/internal_users.yml"
  cat >"$sec/roles_mapping.yml" <<'EOF'
_meta: {type: "rolesmapping", config_version: 2}
all_access: {reserved: false, backend_roles: ["admin"], description: "admin is all_access"}
EOF
  cat >>"$NODE/config/opensearch.yml" <<EOF
plugins.security.ssl.transport.pemcert_filepath: node.pem
plugins.security.ssl.transport.pemkey_filepath: node-key.pem
plugins.security.ssl.transport.pemtrustedcas_filepath: ca.pem
plugins.security.ssl.transport.enforce_hostname_verification: false
plugins.security.ssl.http.enabled: true
plugins.security.ssl.http.pemcert_filepath: node.pem
plugins.security.ssl.http.pemkey_filepath: node-key.pem
plugins.security.ssl.http.pemtrustedcas_filepath: ca.pem
plugins.security.ssl.http.clientauth_mode: OPTIONAL
plugins.security.authcz.admin_dn: ["$ADMIN_DN"]
plugins.security.nodes_dn: ["$NODE_DN"]
plugins.security.allow_default_init_securityindex: true
plugins.security.restapi.roles_enabled: ["all_access"]
plugins.security.audit.type: noop
EOF
  chmod -R go-rwx "$NODE/config"  # the plugin warns about anything more open
  if [ -n "$RUN_USER" ]; then
    chown -R "$RUN_USER" "$NODE/config"
    # the CA key and the password stay with the user who started the node
    chown -R "$(id -u)" "$TLS"
    if [ -f "$PASSWORD_FILE" ]; then chown "$(id -u)" "$PASSWORD_FILE"; fi
  fi
}

admin_password() {  # XQG_OS_ADMIN_PASSWORD, else the saved one, else a new one saved (0600)
  if [ -n "${XQG_OS_ADMIN_PASSWORD:-}" ]; then printf '%s' "$XQG_OS_ADMIN_PASSWORD"; return; fi
  if [ ! -s "$PASSWORD_FILE" ]; then
    ( umask 077; head -c 24 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n' >"$PASSWORD_FILE" )
    log "generated the admin password into $PASSWORD_FILE (or set XQG_OS_ADMIN_PASSWORD)"
  fi
  cat "$PASSWORD_FILE"
}

json_string() {  # json_string TEXT: TEXT as a JSON string (quotes and backslashes escaped)
  local s="${1//\\/\\\\}"
  s="${s//\"/\\\"}"
  printf '"%s"' "$s"
}

ready() {
  local password code start=$SECONDS
  password="$(admin_password)"
  # the admin user with this start's password, once the security index is there and loaded
  # (the node is green a few seconds before: 500/503 until then); the body goes through stdin,
  # never argv
  while :; do
    code="$(printf '{"password": %s, "backend_roles": ["admin"], "description": "%s"}' \
        "$(json_string "$password")" "xqg-os local admin" \
      | curl -s --max-time 30 -o "$NODE/admin-user.json" -w '%{http_code}' "${CURL_OPTS[@]}" \
          -X PUT -H 'Content-Type: application/json' --data-binary @- \
          "$URL/_plugins/_security/api/internalusers/$ADMIN_USER")" || true
    [[ "$code" = 5* ]] && (( SECONDS - start < TIMEOUT )) || break
    sleep 1
  done
  if [ "$code" != 200 ] && [ "$code" != 201 ]; then
    log "the security plugin refused the admin password (HTTP $code): $(cat "$NODE/admin-user.json")"
    return 1
  fi
  if [ -n "${XQG_OS_ADMIN_PASSWORD:-}" ]; then rm -f "$PASSWORD_FILE"; fi  # now stale
  # the health check a client makes: TLS verified against the CA, basic auth
  local user_line="user = $(json_string "$ADMIN_USER:$password")"
  code="$(curl -s --max-time 40 -o "$NODE/health.json" -w '%{http_code}' --cacert "$TLS/ca.pem" \
    -K <(printf '%s\n' "$user_line") "$URL/_cluster/health?wait_for_status=green&timeout=30s")" \
    || true
  [ "$code" = 200 ] || {
    log "the health check as $ADMIN_USER answered HTTP $code: $(cat "$NODE/health.json")"
    return 1; }
  log "TLS with CA $TLS/ca.pem; user $ADMIN_USER; password from $(password_source)"
}

password_source() {
  if [ -n "${XQG_OS_ADMIN_PASSWORD:-}" ]; then echo XQG_OS_ADMIN_PASSWORD; else echo "$PASSWORD_FILE"; fi
}

env_lines() {  # for `eval "$(opensearch-local env --secure)"`: no secret is printed
  printf 'export XQG_OPENSEARCH_URL=%q\n' "$URL"
  printf 'export XQG_OPENSEARCH_USER=%q\n' "$ADMIN_USER"
  printf 'export XQG_OPENSEARCH_CA_CERTS=%q\n' "$TLS/ca.pem"
  if [ -n "${XQG_OS_ADMIN_PASSWORD:-}" ]; then
    # shellcheck disable=SC2016  # expanded by the shell that evaluates these lines
    printf 'export XQG_OPENSEARCH_PASSWORD="$XQG_OS_ADMIN_PASSWORD"\n'
  else
    [ -s "$PASSWORD_FILE" ] || die "no password file yet: start the node first (start --secure)"
    printf 'export XQG_OPENSEARCH_PASSWORD_FILE=%q\n' "$PASSWORD_FILE"
  fi
}
