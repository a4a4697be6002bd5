#!/usr/bin/env bash
# Brings up the NLB stand-ins on loopback and runs `edgewatch --once` against them: the same
# setup as the `nlb` test binary (cargo test --test nlb), by hand, with real processes.
#
#   Route 53  dnsmasq on 127.0.0.1:$DNS_PORT: myapp.example.test CNAME
#             k8s-dev-myapp-0123456789.elb.us-east-2.amazonaws.com (A 127.0.0.10)
#   NLB       haproxy: TLS on 127.0.0.10:$LB_PORT (and 127.0.0.11, "another load balancer")
#             with a test certificate, forwarding to the target from 127.0.0.30, PROXY v2 on
#   target    edgewatch echo on 127.0.0.20:$ECHO_PORT (--proxy-protocol optional)
#   prober    edgewatch --once, connecting from 127.0.0.2 (source_ip, client_ip.egress_ip)
#
# Usage: tests/nlb/run-standins.sh [FAULT...] [--json] [--keep]
#   faults: --proxy-off --other-cert --dns-other-lb --backend-down --near-expiry
#   --json  print the JSON report instead of text
#   --keep  leave the stand-ins up after the run (Ctrl-C stops them)
# Needs: haproxy, dnsmasq, openssl (Debian packages). Exit code: edgewatch's (0, 1 or 2).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${EDGEWATCH:-$root/target/debug/edgewatch}
haproxy=${HAPROXY:-$(command -v haproxy || echo /usr/sbin/haproxy)}
dnsmasq=${DNSMASQ:-$(command -v dnsmasq || echo /usr/sbin/dnsmasq)}
DNS_PORT=${DNS_PORT:-5353}
LB_PORT=${LB_PORT:-8443}
ECHO_PORT=${ECHO_PORT:-8080}
FRIENDLY=myapp.example.test
LB=k8s-dev-myapp-0123456789.elb.us-east-2.amazonaws.com
OTHER_LB=k8s-dev-other-9876543210.elb.us-east-2.amazonaws.com

proxy_off= other_cert= dns_other= backend_down= near_expiry= output=text keep=
for arg in "$@"; do
  case $arg in
    --proxy-off) proxy_off=1 ;;
    --other-cert) other_cert=1 ;;
    --dns-other-lb) dns_other=1 ;;
    --backend-down) backend_down=1 ;;
    --near-expiry) near_expiry=1 ;;
    --json) output=json ;;
    --keep) keep=1 ;;
    *) sed -n '2,19p' "$0" >&2; exit 2 ;;
  esac
done

for tool in "$haproxy" "$dnsmasq" openssl; do
  command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install haproxy dnsmasq openssl)" >&2; exit 2; }
done
if [ ! -x "$bin" ]; then (cd "$root" && cargo build --quiet); fi

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

# --- certificates: a CA the prober trusts, the expected leaf, maybe an impostor ------------------
days=90; [ -n "$near_expiry" ] && days=5
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
  -subj "/CN=edgewatch stand-in CA" -keyout "$work/ca.key" -out "$work/ca.pem" \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
leaf() { # name
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$FRIENDLY" \
    -keyout "$work/$1.key" -out "$work/$1.csr" 2>/dev/null
  printf 'subjectAltName=DNS:%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' \
    "$FRIENDLY" >"$work/$1.ext"
  openssl x509 -req -in "$work/$1.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" \
    -CAcreateserial -days "$days" -extfile "$work/$1.ext" -out "$work/$1.pem" 2>/dev/null
  cat "$work/$1.pem" "$work/ca.pem" "$work/$1.key" >"$work/$1.bundle"
}
leaf expected
served=expected
if [ -n "$other_cert" ]; then leaf impostor; served=impostor; fi
pin=$(openssl x509 -in "$work/expected.pem" -outform DER | sha256sum | cut -d' ' -f1)

# --- Route 53: dnsmasq ----------------------------------------------------------------------------
points_at=$LB; [ -n "$dns_other" ] && points_at=$OTHER_LB
"$dnsmasq" -k --conf-file=/dev/null --no-resolv --no-hosts --bind-interfaces \
  --listen-address=127.0.0.1 --port="$DNS_PORT" --user="$(id -un)" --pid-file="$work/dnsmasq.pid" \
  --host-record="$LB,127.0.0.10" --host-record="$OTHER_LB,127.0.0.11" \
  --cname="$FRIENDLY,$points_at" --log-facility="$work/dnsmasq.log" &
pids+=($!)

# --- the target: edgewatch echo -------------------------------------------------------------------
if [ -z "$backend_down" ]; then
  "$bin" echo --listen "127.0.0.20:$ECHO_PORT" --proxy-protocol optional \
    --identity dev/myapp-standin 2>"$work/echo.log" &
  pids+=($!)
fi

# --- the NLB: haproxy -----------------------------------------------------------------------------
send_proxy=" send-proxy-v2"; [ -n "$proxy_off" ] && send_proxy=""
cat >"$work/haproxy.cfg" <<EOF
global
  nbthread 1
defaults
  mode http
  timeout connect 2s
  timeout client 10s
  timeout server 10s
  retries 1
frontend nlb
  bind 127.0.0.10:$LB_PORT ssl crt $work/$served.bundle ssl-min-ver TLSv1.2 ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384
  bind 127.0.0.11:$LB_PORT ssl crt $work/$served.bundle ssl-min-ver TLSv1.2 ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384
  default_backend targets
backend targets
  http-reuse never
  server echo 127.0.0.20:$ECHO_PORT source 127.0.0.30$send_proxy
EOF
"$haproxy" -db -f "$work/haproxy.cfg" >"$work/haproxy.log" 2>&1 &
pids+=($!)

# --- the prober's config --------------------------------------------------------------------------
cat >"$work/edgewatch.yaml" <<EOF
resolver:
  nameservers: ["127.0.0.1:$DNS_PORT"]
  cache: false
source_ip: 127.0.0.2
client_ip:
  egress_ip: 127.0.0.2
tls:
  ca_file: $work/ca.pem
cert:
  min_days_left: 14
targets:
  - name: myapp
    host: $FRIENDLY
    port: $LB_PORT
    lb_hostname: $LB
    path: /healthz
    expected_cert:
      sha256: "$pin"
    client_ip: echo
    backend_identity: "dev/myapp-.*"
EOF

wait_port() { # host port
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "nothing listens on $1:$2; logs in $work" >&2; return 1
}
wait_port 127.0.0.10 "$LB_PORT"
wait_port 127.0.0.1 "$DNS_PORT"
[ -z "$backend_down" ] && wait_port 127.0.0.20 "$ECHO_PORT"

set +e
"$bin" --once --config "$work/edgewatch.yaml" --output "$output"
code=$?
set -e
echo "edgewatch exit code: $code" >&2
if [ -n "$keep" ]; then
  echo "stand-ins up; config: $work/edgewatch.yaml  (Ctrl-C to stop)" >&2
  echo "try: curl --cacert $work/ca.pem --resolve $FRIENDLY:$LB_PORT:127.0.0.10 https://$FRIENDLY:$LB_PORT/" >&2
  wait
fi
exit "$code"
