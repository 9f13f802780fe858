#!/usr/bin/env bash
# Several hosts on one machine: the broker, two worker hosts and a web front, each in its own
# network namespace, joined by a bridge inside a private "switch" namespace (nothing is routed
# to or from the machine's own network). Over TCP + CURVE:
#   1. a token request succeeds;
#   2. cutting worker host 1's link while requests are in flight moves its jobs to worker host 2: every request
#      succeeds within its deadline, and the broker counts the jobs it gave to another worker;
#   3. restoring the link brings worker host 1 back: it registers again, and with worker host 2 cut in turn
#      (again under load) every request is served by worker host 1.
# Needs root and iproute2. Bounded: every wait has a deadline; everything is torn down on exit.
set -euo pipefail
cd "$(dirname "$0")/../.."

PREFIX="ph$$"
SUBNET="10.213.$((RANDOM % 200)).0"
NET="${SUBNET%.0}"
BROKER_IP="$NET.1"
WORK=$(mktemp -d)
HOSTS=(broker w1 w2 web)

log() { printf '[netns-demo] %s\n' "$*"; }

cleanup() {
  # Every process of the demo runs inside one of its namespaces: stop them all there, then the namespaces.
  for host in "${HOSTS[@]}"; do ip netns pids "$PREFIX-$host" 2>/dev/null | xargs -r kill -TERM 2>/dev/null || true; done
  sleep 1
  for host in "${HOSTS[@]}"; do ip netns pids "$PREFIX-$host" 2>/dev/null | xargs -r kill -9 2>/dev/null || true; done
  wait 2>/dev/null || true
  for host in "${HOSTS[@]}" sw; do ip netns del "$PREFIX-$host" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

in_host() { local host=$1; shift; ip netns exec "$PREFIX-$host" "$@"; }

# --- network: one bridge in the switch namespace, one veth per host -------------------------
ip netns add "$PREFIX-sw"
in_host sw ip link add br0 type bridge
in_host sw ip link set br0 up
in_host sw ip link set lo up
i=1
for host in "${HOSTS[@]}"; do
  ip netns add "$PREFIX-$host"
  in_host "$host" ip link set lo up
  ip link add "$PREFIX$i" type veth peer name "${PREFIX}p$i"
  ip link set "$PREFIX$i" netns "$PREFIX-$host"
  ip link set "${PREFIX}p$i" netns "$PREFIX-sw"
  in_host sw ip link set "${PREFIX}p$i" master br0 up
  in_host "$host" ip link set "$PREFIX$i" name eth0
  in_host "$host" ip addr add "$NET.$i/24" dev eth0
  in_host "$host" ip link set eth0 up
  i=$((i + 1))
done
log "hosts: broker=$NET.1 w1=$NET.2 w2=$NET.3 web=$NET.4"

# --- keys and shared settings -------------------------------------------------------------------
for role in broker w1 w2 web; do node broker/dist/cli.js keygen --out "$WORK/$role.key" > "$WORK/$role.pub"; done
export TOKENSERVER_BROKER__TRANSPORT=tcp
export TOKENSERVER_BROKER__RUN_DIR="$WORK/run"
export TOKENSERVER_BROKER__HEARTBEAT_INTERVAL_MS=200
export TOKENSERVER_WEB__JOB_TIMEOUT_MS=5000
DEADLINE_MS=5000 # every request of the demo must be answered within it
export TOKENSERVER_SECURITY__CURVE=true
export TOKENSERVER_SECURITY__KEY_FILE="$WORK/web.key" # each process below gets its own
export TOKENSERVER_SECURITY__BROKER_PUBLIC_KEY="$(cat "$WORK/broker.pub")"
export TOKENSERVER_SECURITY__ALLOWED_WORKER_KEYS="[\"$(cat "$WORK/w1.pub")\",\"$(cat "$WORK/w2.pub")\"]"
export TOKENSERVER_SECURITY__ALLOWED_CLIENT_KEYS="[\"$(cat "$WORK/web.pub")\"]"
export TOKENSERVER_TOKENS__MASTER_SECRET="netns-demo-master-secret-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')"
export TOKENSERVER_DATABASE__URL="sqlite:$WORK/tokenserver.db"
export TOKENSERVER_LOG__LEVEL=info
mkdir -p "$WORK/run" && chmod 700 "$WORK/run"
JWKS=$(node web/dist/cli/main.js dev oauth-jwks)
export TOKENSERVER_OAUTH__JWKS="$JWKS"

start() { # start HOST NAME KEYFILE FRONTEND BACKEND COMMAND...
  local host=$1 name=$2 key=$3 frontend=$4 backend=$5; shift 5
  in_host "$host" env TOKENSERVER_SECURITY__KEY_FILE="$key" \
    TOKENSERVER_BROKER__FRONTEND="$frontend" TOKENSERVER_BROKER__BACKEND="$backend" \
    "$@" > "$WORK/$name.log" 2>&1 &
}

wait_for() { # wait_for FILE PATTERN SECONDS [COUNT]
  local deadline=$((SECONDS + $3)) want=${4:-1}
  local count
  for (( ; ; )); do
    count=$(grep -c -- "$2" "$1" 2>/dev/null) || count=0
    [ "$count" -ge "$want" ] && break
    [ $SECONDS -lt $deadline ] || { log "timed out waiting for '$2' in $1"; tail -20 "$1"; exit 1; }
    sleep 0.2
  done
}

start broker broker "$WORK/broker.key" "0.0.0.0:5555" "0.0.0.0:5556" \
  env TOKENSERVER_BROKER__METRICS_PORT=9100 node broker/dist/cli.js
wait_for "$WORK/broker.log" 'broker listening' 10
start w1 w1 "$WORK/w1.key" "$BROKER_IP:5555" "$BROKER_IP:5556" node worker/dist/cli.js --processes 1
start w2 w2 "$WORK/w2.key" "$BROKER_IP:5555" "$BROKER_IP:5556" node worker/dist/cli.js --processes 1
wait_for "$WORK/broker.log" 'worker ready' 15 2
start web web "$WORK/web.key" "$BROKER_IP:5555" "$BROKER_IP:5556" env TOKENSERVER_WEB__HOST=127.0.0.1 node web/dist/web-main.js
wait_for "$WORK/web.log" 'listening' 15

token_requests() { # token_requests N: N sequential token requests from inside the web host; prints "ok/total"
  token_load "$1" 1 60 | cut -d' ' -f1
}

token_load() { # token_load N CONCURRENCY SECONDS: up to N token requests, CONCURRENCY at a time, none started after
  # SECONDS; prints "ok/sent slowest_ms"
  in_host web node -e '
    const [n, concurrency, seconds, deadlineMs, token] = process.argv.slice(1);
    const until = Date.now() + Number(seconds) * 1000;
    let sent = 0, ok = 0, slowest = 0;
    async function client() {
      while (sent < Number(n) && Date.now() < until) {
        sent++;
        const started = Date.now();
        const res = await fetch("http://127.0.0.1:8000/1.0/sync/1.5", {
          headers: { authorization: `Bearer ${token}`, "x-keyid": "1234-qqqqqqqqqqqqqqqqqqqqqg" },
          signal: AbortSignal.timeout(Number(deadlineMs)),
        }).catch(() => undefined);
        if (res && res.status === 200 && (await res.json()).id) ok++;
        slowest = Math.max(slowest, Date.now() - started);
      }
    }
    Promise.all(Array.from({ length: Number(concurrency) }, client)).then(() => console.log(`${ok}/${sent} ${slowest}`));
  ' "$1" "$2" "$3" "$DEADLINE_MS" "$TOKEN"
}

broker_retries() { # jobs the broker gave to another worker after theirs was lost, so far
  in_host broker node -e '
    fetch("http://127.0.0.1:9100/metrics").then((res) => res.text()).then((text) =>
      console.log(/^powerhose_broker_job_retries_total (\d+)/m.exec(text)?.[1] ?? "unknown"));'
}

cut_during_load() { # cut_during_load HOST: cuts HOST's link 1 s into 4 s of requests (16 at a time);
  # prints "ok/sent slowest_ms retried"
  local host=$1 before
  before=$(broker_retries)
  token_load 100000 16 4 > "$WORK/load-$host.out" &
  local load=$!
  sleep 1
  in_host "$host" ip link set eth0 down
  wait "$load"
  echo "$(cat "$WORK/load-$host.out") $(( $(broker_retries) - before ))"
}

all_ok() { [ "${1%/*}" = "${1#*/}" ] && [ "${1%/*}" -gt 0 ]; } # "ok/sent": every request succeeded

TOKEN=$(node web/dist/cli/main.js dev oauth-token --fxa-uid 0123456789abcdef0123456789abcdef)
result=$(token_requests 20)
log "1. token requests across the namespaces: $result"
[ "$result" = "20/20" ] || exit 1

read -r result slowest retried < <(cut_during_load w1)
log "2. cut worker host 1's link while requests were in flight: $result succeeded, slowest ${slowest} ms (deadline ${DEADLINE_MS} ms)"
log "   jobs moved to worker host 2 after worker host 1 was lost: $retried"
wait_for "$WORK/broker.log" 'worker silent too long' 10
all_ok "$result" && [ "$slowest" -lt "$DEADLINE_MS" ] && [ "$retried" -gt 0 ] || exit 1

W1_PID=$(grep '"msg":"worker started"' "$WORK/w1.log" | head -1 | sed 's/.*"pid":\([0-9]*\).*/\1/')
in_host w1 ip link set eth0 up
log "3. restored worker host 1's link"
wait_for "$WORK/broker.log" ":$W1_PID\",\"kinds\"" 30 2
result=$(token_requests 20)
log "   token requests with both worker hosts: $result"
[ "$result" = "20/20" ] || exit 1
read -r result slowest retried < <(cut_during_load w2)
log "   cut worker host 2's link in turn, under load: $result succeeded (worker host 1 alone after the cut), slowest ${slowest} ms, $retried jobs moved"
wait_for "$WORK/broker.log" 'worker silent too long' 10 2
all_ok "$result" && [ "$slowest" -lt "$DEADLINE_MS" ] || exit 1
log "OK: tokens flowed across hosts, in-flight jobs moved off a cut host, and the restored host served again"
