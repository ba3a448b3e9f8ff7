#!/usr/bin/env bash
# Installs the system packages webex-provisioner needs on Debian/Ubuntu, if any are missing:
# slapd and ldap-utils (the tests' and demo's real directory), and what building python-ldap takes.
# samba, samba-ad-dc and samba-ad-provision: the Active Directory DC of the AD tests (tests/ad);
# 389-ds-base: the 389 Directory Server of the 389ds preset tests.
set -euo pipefail
python=${PYTHON:-python3}
packages=(slapd ldap-utils libldap2-dev libsasl2-dev)
packages+=(samba samba-ad-dc samba-ad-provision 389-ds-base)
command -v gcc >/dev/null 2>&1 || packages+=(gcc)
if ! "$python" -c 'import venv, ensurepip' >/dev/null 2>&1; then
  packages+=(python3-venv)
fi
if ! "$python" -c 'import os, sysconfig; raise SystemExit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' 2>/dev/null; then
  packages+=(python3-dev)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing system packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
