# Sourced by opensearch-local for --nodes N: a real N-node OpenSearch cluster on loopback.
#
# Node I serves HTTP on PORT+I and transport on TRANSPORT_PORT+I, runs from its own folder
# $CACHE/cluster-VERSION-PORT/node-I (config, data, logs, pid file), and is named
# xqg-os-PORT-nI. The nodes find each other through discovery.seed_hosts and elect the first
# cluster manager among cluster.initial_cluster_manager_nodes, as a real cluster does; every node
# holds data and may become cluster manager. Each cluster has a name of its own
# (xqg-os-local-PORT), so two local clusters never join each other.
#
# start starts the nodes that are not running (also one that was killed: its data folder is
# kept) and waits until the cluster is green with all N nodes; stop [--node I] stops all nodes
# or one; status lists every node with its pid and the cluster's health; reset removes the
# cluster's folders.
# shellcheck shell=bash

BASE_PORT="$PORT"
BASE_TPORT="$TPORT"
CLUSTER_DIR="$CACHE/cluster-$VERSION-$BASE_PORT"
CLUSTER_NAME="xqg-os-local-$BASE_PORT"

if [ -n "$ONLY_NODE" ]; then
  case "$ONLY_NODE" in *[!0-9]*) die "--node takes a node number, not '$ONLY_NODE'" ;; esac
  [ "$ONLY_NODE" -lt "$NODES" ] || die "--node $ONLY_NODE: the cluster has nodes 0 to $((NODES - 1)) (pass --nodes N)"
fi

node_env() {  # point PORT, TPORT, NODE, PIDFILE, URL and NODE_NAME at node $1
  PORT=$((BASE_PORT + $1))
  TPORT=$((BASE_TPORT + $1))
  NODE="$CLUSTER_DIR/node-$1"
  PIDFILE="$NODE/opensearch.pid"
  URL="http://127.0.0.1:$PORT"
  NODE_NAME="xqg-os-$BASE_PORT-n$1"
}

is_running() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

targets() {  # the nodes an action applies to
  if [ -n "$ONLY_NODE" ]; then echo "$ONLY_NODE"; else seq 0 $((NODES - 1)); fi
}

discovery() {
  local i hosts="" names=""
  for i in $(seq 0 $((NODES - 1))); do
    hosts+="${hosts:+, }\"127.0.0.1:$((BASE_TPORT + i))\""
    names+="${names:+, }\"xqg-os-$BASE_PORT-n$i\""
  done
  echo "discovery.seed_hosts: [$hosts]"
  echo "cluster.initial_cluster_manager_nodes: [$names]"
  # the nodes share one disk: its watermarks would keep replicas from being allocated
  echo "cluster.routing.allocation.disk.threshold_enabled: false"
}

first_alive() {  # point the node variables at the first running node; false when none runs
  local i
  for i in $(seq 0 $((NODES - 1))); do
    node_env "$i"
    if is_running; then return 0; fi
  done
  return 1
}

wait_cluster() {  # green with all NODES nodes, asked of any running node
  local start=$SECONDS health i
  while (( SECONDS - start < TIMEOUT )); do
    for i in $(targets); do
      node_env "$i"
      # no pid file yet: still starting (a loaded machine takes a while per JVM)
      if [ -s "$PIDFILE" ] && ! is_running; then
        log "node $i exited during start; last log lines:"
        tail -n 30 "$NODE/logs/$CLUSTER_NAME.log" >&2 2>/dev/null || true
        return 1
      fi
    done
    first_alive || return 1
    health="$(curl -s --max-time 3 "$URL/_cluster/health?wait_for_status=green&wait_for_nodes=$NODES&timeout=2s")" || true
    if [[ "$health" == *'"status":"green"'* && "$health" == *"\"number_of_nodes\":$NODES,"* ]]; then
      return 0
    fi
    sleep 1
  done
  log "the cluster did not turn green with $NODES nodes within ${TIMEOUT}s; see $CLUSTER_DIR/node-*/logs"
  return 1
}

start() {
  local t0=$SECONDS i
  fetch
  prepare
  ensure_user
  for i in $(targets); do
    node_env "$i"
    if is_running; then continue; fi
    port_taken && die "port $PORT (node $i) is taken by another process; set XQG_OS_PORT"
    write_config  # the node's data folder is kept: a restarted node rejoins with its shards
    log "starting node $i of $NODES (OpenSearch $VERSION) at $URL"
    launch
  done
  wait_cluster || exit 1
  node_env 0
  log "$NODES nodes green after $((SECONDS - t0))s (cluster $CLUSTER_NAME)"
  echo "$URL"
}

stop() {
  local i pid
  for i in $(targets); do
    node_env "$i"
    if ! is_running; then log "node $i not running (port $PORT)"; rm -f "$PIDFILE"; continue; fi
    pid="$(cat "$PIDFILE")"
    kill "$pid"
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid"; fi
    rm -f "$PIDFILE"
    log "stopped node $i (pid $pid)"
  done
}

status() {
  local i up=0
  for i in $(seq 0 $((NODES - 1))); do
    node_env "$i"
    if is_running; then
      echo "node $i running at $URL (pid $(cat "$PIDFILE"))"
      up=$((up + 1))
    else
      echo "node $i not running (port $PORT)"
    fi
  done
  first_alive || return 3
  curl -s --max-time 5 "$URL/_cluster/health" || true
  echo
}

reset() {
  ONLY_NODE=""
  stop
  rm -rf "$CLUSTER_DIR"
  log "removed $CLUSTER_DIR"
}

node_env "${ONLY_NODE:-0}"
