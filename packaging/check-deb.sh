#!/usr/bin/env bash
# Installs the Debian package into a clean Debian root and checks that it is a working
# server install. Needs root, debootstrap and network access to a Debian mirror; takes
# 5–15 minutes (most of it the release build and the bootstrap). Not part of CI.
#
#   packaging/check-deb.sh [--deb path/to/keiyaku_*.deb] [--keep]
#
# Steps and checks (each prints "ok: …" or fails the script):
#   1. builds the package with `cargo deb` (installs cargo-deb when missing), unless --deb;
#   2. bootstraps a minimal Debian root (debootstrap --variant=minbase, $SUITE, default
#      bookworm) in a temp dir: only what Debian calls required, so a dependency the package
#      forgets to declare makes the install fail;
#   3. `apt-get install ./keiyaku_*.deb` inside it: dependencies resolve, postinst succeeds;
#   4. the system user and group `keiyaku` exist (nologin shell), /usr/bin/keiyaku runs,
#      /etc/keiyaku/config.toml is installed root:keiyaku 0640 and registered as a conffile,
#      /var/lib/keiyaku is keiyaku-owned 0700, the unit /lib/systemd/system/keiyaku.service
#      is installed and enabled (multi-user.target.wants), and `systemd-analyze verify`
#      accepts it when systemd is in the root;
#   5. the service starts, in the first of these this machine can do:
#      a. a virtual machine (qemu, software emulation; CHECK_DEB_KVM=1 for KVM): the root gets Debian's
#         kernel and becomes the VM's disk; it boots with systemd and the package's untouched
#         config, so the enabled unit starts at boot with all its sandboxing. A check unit
#         inside the VM then reports: the service is active and enabled, runs as keiyaku with
#         NoNewPrivs and a seccomp filter, sees /usr and /etc read-only and /var/lib/keiyaku
#         writable (ProtectSystem=strict, ReadWritePaths), printed the operator password to
#         the journal; `keiyaku backup` as user keiyaku takes a backup through the running
#         server's control socket, which restores and passes `keiyaku verify`; the service
#         stops cleanly on `systemctl restart` and comes back; `systemd-analyze security`
#         gives the unit's exposure. /healthz is asked from this machine through a forwarded
#         port, the certificate checked against the CA keiyaku made;
#      b. a systemd-nspawn container booted from the root (`systemctl is-active`);
#      c. the unit's ExecStart, as the keiyaku user, in a chroot of the root (no sandboxing);
#      in b and c /healthz answers {"status":"ok"} over HTTPS (trusting the CA keiyaku made
#      in /var/lib/keiyaku/tls) and the keiyaku process runs as user keiyaku.
#   CHECK_DEB_VM=0 skips a, CHECK_DEB_NO_NSPAWN=1 skips b.
# --keep leaves the root in place (its path is printed) for a look around.
set -euo pipefail
cd "$(dirname "$0")/.."

SUITE="${SUITE:-bookworm}"
MIRROR="${MIRROR:-http://deb.debian.org/debian}"
DEB=""
KEEP=0
while [ $# -gt 0 ]; do
  case "$1" in
    --deb) DEB="$2"; shift 2 ;;
    --keep) KEEP=1; shift ;;
    *) echo "usage: $0 [--deb FILE] [--keep]" >&2; exit 64 ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "run as root (debootstrap, chroot)" >&2; exit 1; }

ok() { echo "ok: $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

# 1. The package.
if [ -z "$DEB" ]; then
  command -v cargo-deb >/dev/null 2>&1 || cargo install --locked cargo-deb
  echo "== cargo deb"
  DEB=$(cargo deb 2>&1 | tee /dev/stderr | grep -E '\.deb$' | tail -1)
fi
[ -f "$DEB" ] || fail "no package at '$DEB'"
DEB=$(realpath "$DEB")
ok "package $DEB ($(du -h "$DEB" | cut -f1))"
dpkg-deb --info "$DEB" | sed -n '/Package:/,$p'

# 2. A clean root.
command -v debootstrap >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq debootstrap >/dev/null; }
ROOT=$(mktemp -d /var/tmp/keiyaku-deb-root.XXXXXX)
chmod 755 "$ROOT" # it becomes "/", which every user must be able to traverse
MOUNTS=()
NSPAWN_PID=""
QEMU_PID=""
cleanup() {
  if [ -n "$QEMU_PID" ]; then kill "$QEMU_PID" 2>/dev/null || true; wait "$QEMU_PID" 2>/dev/null || true; fi
  if [ -n "$NSPAWN_PID" ]; then kill "$NSPAWN_PID" 2>/dev/null || true; wait "$NSPAWN_PID" 2>/dev/null || true; fi
  if [ -n "${SERVER_PID:-}" ]; then
    # runuser's child is keiyaku; SIGTERM to the server as systemd would send it.
    pkill -TERM -P "$SERVER_PID" 2>/dev/null || true
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do umount -l "${MOUNTS[$i]}" 2>/dev/null || true; done
  rm -f "$ROOT.debootstrap.log" "$ROOT.nspawn.log" "$ROOT.img" "$ROOT.vmlinuz" "$ROOT.initrd" "$ROOT.console.log" "$ROOT.probe.log"
  if [ "$KEEP" = 1 ]; then echo "root kept at $ROOT"; else rm -rf --one-file-system "$ROOT"; fi
}
trap cleanup EXIT
echo "== debootstrap --variant=minbase $SUITE into $ROOT"
debootstrap --variant=minbase "$SUITE" "$ROOT" "$MIRROR" >"$ROOT.debootstrap.log" 2>&1 ||
  { tail -20 "$ROOT.debootstrap.log" >&2; fail "debootstrap"; }
ok "minimal $SUITE root"

in_root() { chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive "$@"; }
mount_in_root() {
  mount "$@"
  MOUNTS+=("${*: -1}")
}
mount_in_root -t proc proc "$ROOT/proc"
mount_in_root --bind /dev "$ROOT/dev"
mount_in_root --bind /dev/pts "$ROOT/dev/pts"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"

# 3. Install, as an administrator would.
cp "$DEB" "$ROOT/tmp/"
echo "== apt-get install ./$(basename "$DEB")"
in_root apt-get update -qq
in_root apt-get install -y -q "/tmp/$(basename "$DEB")" >"$ROOT/tmp/install.log" 2>&1 ||
  { tail -30 "$ROOT/tmp/install.log" >&2; fail "the package does not install into a clean $SUITE root"; }
ok "installed (apt resolved: $(grep -oE '^Setting up [^ ]+' "$ROOT/tmp/install.log" | cut -d' ' -f3 | tr '\n' ' '))"

# 4. What the package put in place.
in_root getent passwd keiyaku >/dev/null || fail "no user keiyaku"
in_root getent group keiyaku >/dev/null || fail "no group keiyaku"
shell=$(in_root getent passwd keiyaku | cut -d: -f7)
case "$shell" in */nologin|/bin/false) ;; *) fail "user keiyaku has a login shell: $shell" ;; esac
ok "system user and group keiyaku ($(in_root id keiyaku), shell $shell)"
in_root /usr/bin/keiyaku --version >/dev/null || fail "/usr/bin/keiyaku does not run"
ok "/usr/bin/keiyaku runs: $(in_root /usr/bin/keiyaku --version)"
[ -f "$ROOT/etc/keiyaku/config.toml" ] || fail "/etc/keiyaku/config.toml missing"
perm=$(in_root stat -c '%a %U:%G' /etc/keiyaku/config.toml)
[ "$perm" = "640 root:keiyaku" ] || fail "/etc/keiyaku/config.toml is $perm, want 640 root:keiyaku"
grep -qx /etc/keiyaku/config.toml "$ROOT/var/lib/dpkg/info/keiyaku.conffiles" || fail "config.toml is not a conffile"
ok "/etc/keiyaku/config.toml ($perm, conffile)"
perm=$(in_root stat -c '%a %U:%G' /var/lib/keiyaku)
[ "$perm" = "700 keiyaku:keiyaku" ] || fail "/var/lib/keiyaku is $perm, want 700 keiyaku:keiyaku"
ok "/var/lib/keiyaku ($perm)"
UNIT=""
for u in lib/systemd/system/keiyaku.service usr/lib/systemd/system/keiyaku.service; do
  [ -f "$ROOT/$u" ] && UNIT="/$u"
done
[ -n "$UNIT" ] || fail "unit file keiyaku.service not installed"
[ -L "$ROOT/etc/systemd/system/multi-user.target.wants/keiyaku.service" ] || fail "keiyaku.service is not enabled"
ok "unit $UNIT, enabled"
# systemd itself (not in a minimal root, and not a dependency: containers run keiyaku without
# it) for systemd-analyze and the boot below.
in_root apt-get install -y -q systemd systemd-sysv >/dev/null 2>&1 || fail "installing systemd into the root"
in_root systemd-analyze verify "$UNIT" || fail "systemd-analyze verify $UNIT"
ok "systemd-analyze verify $UNIT"

# 5. The service starts. The listen address is moved to a free loopback port (the root shares
# this machine's network) through a drop-in, as an administrator would with systemctl edit.
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$ROOT/etc/systemd/system/keiyaku.service.d"
printf '[Service]\nEnvironment=KEIYAKU_SERVER__LISTEN=127.0.0.1:%s\n' "$PORT" >"$ROOT/etc/systemd/system/keiyaku.service.d/check.conf"
# Waits (up to 60 s) for /healthz over HTTPS, trusting the local CA keiyaku made;
# gives up early when the process $1 ends.
healthy() {
  local cert="$ROOT/var/lib/keiyaku/tls/ca.pem"
  for _ in $(seq 1 300); do
    if [ -f "$cert" ] && curl -sf --cacert "$cert" "https://localhost:$PORT/healthz" 2>/dev/null | grep -q '"status":"ok"'; then
      return 0
    fi
    kill -0 "$1" 2>/dev/null || return 1
    sleep 0.2
  done
  return 1
}
runs_as_keiyaku() {
  local pid uid
  pid=$(pgrep -f "^/usr/bin/keiyaku serve --config /etc/keiyaku/config.toml" | head -1)
  uid=$(chroot "$ROOT" id -u keiyaku)
  [ -n "$pid" ] && [ "$(ps -o uid= -p "$pid" | tr -d ' ')" = "$uid" ]
}

started=""
vm_wanted() {
  [ "${CHECK_DEB_VM:-}" = 0 ] && return 1
  [ "${CHECK_DEB_VM:-}" = 1 ] && return 0
  command -v qemu-system-x86_64 >/dev/null 2>&1 && return 0
  apt-get install -y -qq qemu-system-x86 >/dev/null 2>&1
}
if vm_wanted && [ "$(uname -m)" = x86_64 ]; then
  echo "== virtual machine: the root with Debian's kernel, booted by qemu"
  command -v qemu-system-x86_64 >/dev/null 2>&1 || apt-get install -y -qq qemu-system-x86 >/dev/null
  rm -rf "$ROOT/etc/systemd/system/keiyaku.service.d" # the VM uses the package's config as is
  in_root apt-get install -y -q linux-image-amd64 >"$ROOT/tmp/kernel.log" 2>&1 ||
    { tail -20 "$ROOT/tmp/kernel.log" >&2; fail "installing a kernel into the root"; }
  echo /dev/vda / ext4 rw 0 1 >"$ROOT/etc/fstab"
  echo keiyaku-check >"$ROOT/etc/hostname"
  mkdir -p "$ROOT/etc/systemd/network"
  printf '[Match]\nName=en*\n\n[Network]\nDHCP=yes\n' >"$ROOT/etc/systemd/network/10-dhcp.network"
  in_root systemctl enable systemd-networkd >/dev/null 2>&1 || fail "enabling systemd-networkd"
  # The check unit: runs once keiyaku.service is up and writes its findings to the second
  # serial port, one "name=value" a line, then "probe: end".
  cat >"$ROOT/usr/local/sbin/keiyaku-check" <<'PROBE'
#!/bin/bash
exec >/dev/ttyS1 2>&1
echo "probe: start"
for _ in $(seq 1 300); do
  systemctl is-active -q keiyaku && [ -S /var/lib/keiyaku/control.sock ] && break
  sleep 1
done
echo "active=$(systemctl is-active keiyaku)"
echo "enabled=$(systemctl is-enabled keiyaku)"
pid=$(systemctl show -p MainPID --value keiyaku)
echo "uid_is_keiyaku=$([ "$(awk '/^Uid:/ {print $2}' "/proc/$pid/status")" = "$(id -u keiyaku)" ] && echo yes || echo no)"
echo "no_new_privs=$(awk '/^NoNewPrivs:/ {print $2}' "/proc/$pid/status")"
echo "seccomp=$(awk '/^Seccomp:/ {print $2}' "/proc/$pid/status")"
echo "usr_read_only=$(nsenter -t "$pid" -m touch /usr/keiyaku-probe 2>/dev/null && echo no || echo yes)"
echo "etc_read_only=$(nsenter -t "$pid" -m touch /etc/keiyaku-probe 2>/dev/null && echo no || echo yes)"
echo "state_writable=$(nsenter -t "$pid" -m touch /var/lib/keiyaku/probe 2>/dev/null && echo yes || echo no)"
rm -f /var/lib/keiyaku/probe
echo "operator_password_in_journal=$(journalctl -b -u keiyaku --no-pager | grep -q 'operator account created' && echo yes || echo no)"
if runuser -u keiyaku -- /usr/bin/keiyaku backup --config /etc/keiyaku/config.toml --to /var/lib/keiyaku/check-backup.tar >/tmp/backup.log 2>&1 &&
  /usr/bin/keiyaku restore --from /var/lib/keiyaku/check-backup.tar --data /root/restored >>/tmp/backup.log 2>&1 &&
  /usr/bin/keiyaku verify --data /root/restored >>/tmp/backup.log 2>&1; then
  echo "backup_restore_verify=ok"
else
  echo "backup_restore_verify=failed"
  sed 's/^/  backup: /' /tmp/backup.log
fi
rm -rf /var/lib/keiyaku/check-backup.tar /root/restored
systemctl restart keiyaku
echo "stopped_cleanly=$([ "$(journalctl -b -u keiyaku -o cat --no-pager | grep -c 'Deactivated successfully')" -ge 1 ] && echo yes || echo no)"
for _ in $(seq 1 300); do systemctl is-active -q keiyaku && [ -S /var/lib/keiyaku/control.sock ] && break; sleep 1; done
echo "active_after_restart=$(systemctl is-active keiyaku)"
echo "exposure=$(systemd-analyze security keiyaku.service --no-pager 2>/dev/null | sed -n 's/.*Overall exposure level for keiyaku.service: //p')"
journalctl -b -u keiyaku --no-pager | tail -15 | sed 's/^/  journal: /'
echo "probe: end"
PROBE
  chmod 755 "$ROOT/usr/local/sbin/keiyaku-check"
  cat >"$ROOT/etc/systemd/system/keiyaku-check.service" <<'UNIT'
[Unit]
Description=check of the installed keiyaku service (packaging/check-deb.sh)
After=keiyaku.service
Wants=keiyaku.service

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/keiyaku-check

[Install]
WantedBy=multi-user.target
UNIT
  in_root systemctl enable keiyaku-check >/dev/null 2>&1 || fail "enabling the check unit"
  kernel=$(ls "$ROOT"/boot/vmlinuz-* | tail -1)
  initrd=$(ls "$ROOT"/boot/initrd.img-* | tail -1)
  cp "$kernel" "$ROOT.vmlinuz" && cp "$initrd" "$ROOT.initrd"
  for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do umount -l "${MOUNTS[$i]}" 2>/dev/null || true; done
  MOUNTS=()
  rm -f "$ROOT/etc/resolv.conf"
  truncate -s 3G "$ROOT.img"
  mkfs.ext4 -q -F -L root -d "$ROOT" "$ROOT.img" || fail "making the VM's disk from the root"
  # Software emulation by default: on nested-virtualization hosts /dev/kvm can be present yet
  # boot nothing. CHECK_DEB_KVM=1 uses KVM where it works.
  accel=(-accel tcg)
  [ "${CHECK_DEB_KVM:-}" = 1 ] && accel=(-accel kvm -cpu host)
  qemu-system-x86_64 "${accel[@]}" -m 1024 -smp 2 -display none -no-reboot -monitor none \
    -serial "file:$ROOT.console.log" -serial "file:$ROOT.probe.log" \
    -kernel "$ROOT.vmlinuz" -initrd "$ROOT.initrd" -append "root=/dev/vda rw console=ttyS0" \
    -drive "file=$ROOT.img,format=raw,if=virtio" \
    -netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$PORT-:8443" -device virtio-net-pci,netdev=n0 &
  QEMU_PID=$!
  # From this machine: /healthz through the forwarded port, checked against the VM's CA.
  vm_ca=$(mktemp)
  answered=""
  for _ in $(seq 1 600); do
    kill -0 "$QEMU_PID" 2>/dev/null || break
    if curl -sfk --max-time 5 "https://localhost:$PORT/tls/ca.pem" -o "$vm_ca" 2>/dev/null &&
      answered=$(curl -sf --max-time 5 --cacert "$vm_ca" "https://localhost:$PORT/healthz"); then
      break
    fi
    sleep 1
  done
  rm -f "$vm_ca"
  for _ in $(seq 1 900); do
    grep -q "probe: end" "$ROOT.probe.log" 2>/dev/null && break
    kill -0 "$QEMU_PID" 2>/dev/null || break
    sleep 1
  done
  kill "$QEMU_PID" 2>/dev/null || true
  wait "$QEMU_PID" 2>/dev/null || true
  QEMU_PID=""
  sed 's/^/   vm: /' "$ROOT.probe.log" 2>/dev/null | tr -d '\r'
  grep -q "probe: end" "$ROOT.probe.log" 2>/dev/null ||
    { tail -40 "$ROOT.console.log" >&2; fail "the VM did not boot to the check unit"; }
  echo "$answered" | grep -q '"status":"ok"' || fail "/healthz did not answer over HTTPS from the VM"
  probe() { tr -d '\r' <"$ROOT.probe.log" | sed -n "s/^$1=//p" | head -1; }
  expect() { [ "$(probe "$1")" = "$2" ] || fail "in the VM: $1 is '$(probe "$1")', want '$2'"; }
  expect active active
  expect enabled enabled
  expect uid_is_keiyaku yes
  expect no_new_privs 1
  expect seccomp 2
  expect usr_read_only yes
  expect etc_read_only yes
  expect state_writable yes
  expect operator_password_in_journal yes
  expect backup_restore_verify ok
  expect stopped_cleanly yes
  expect active_after_restart active
  started="in a VM under systemd (${accel[1]}): enabled unit started at boot with its sandboxing, exposure $(probe exposure)"
  ok "service started — $started"
  ok "https://localhost:$PORT/healthz (forwarded to the VM) answers $answered"
  echo "PASS: $(basename "$DEB") installs and serves on a clean $SUITE machine"
  exit 0
fi
if command -v systemd-nspawn >/dev/null 2>&1 && [ "${CHECK_DEB_NO_NSPAWN:-}" != 1 ]; then
  # The package enables the unit, so booting the root starts keiyaku, as a reboot would.
  echo "== trying systemd: boot the root with systemd-nspawn"
  for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do umount -l "${MOUNTS[$i]}" 2>/dev/null || true; done
  MOUNTS=()
  systemd-nspawn -q --register=no -D "$ROOT" --boot >"$ROOT.nspawn.log" 2>&1 &
  NSPAWN_PID=$!
  if healthy "$NSPAWN_PID"; then
    leader=$(pgrep -P "$NSPAWN_PID" | head -1)
    state=$(nsenter -t "$leader" -m -p systemctl is-active keiyaku 2>/dev/null || true)
    [ "$state" = active ] || fail "keiyaku.service is '$state' under systemd"
    runs_as_keiyaku || fail "keiyaku does not run as user keiyaku"
    nsenter -t "$leader" -m -p journalctl -u keiyaku --no-pager 2>/dev/null | grep -q "operator account created" ||
      fail "no operator password in the journal of the first start"
    started="under systemd (systemd-nspawn --boot): enabled unit started at boot, is-active, running as keiyaku"
  else
    echo "   systemd-nspawn cannot boot a container here: $(tail -3 "$ROOT.nspawn.log" 2>/dev/null | tr '\n' ' ')"
    echo "   falling back to a chroot"
    kill "$NSPAWN_PID" 2>/dev/null || true
    wait "$NSPAWN_PID" 2>/dev/null || true
    NSPAWN_PID=""
    mount_in_root -t proc proc "$ROOT/proc"
    mount_in_root --bind /dev "$ROOT/dev"
  fi
fi
if [ -z "$started" ]; then
  # The unit's User, Group, Environment and ExecStart, in a chroot (no sandboxing options).
  exec_start=$(sed -n 's/^ExecStart=//p' "$ROOT$UNIT")
  env_line=$(sed -n 's/^Environment=//p' "$ROOT$UNIT" | tr '\n' ' ')
  echo "== chroot: runuser -u keiyaku -- $exec_start"
  # shellcheck disable=SC2086
  chroot "$ROOT" /usr/bin/env -i PATH=/usr/bin:/bin $env_line KEIYAKU_SERVER__LISTEN="127.0.0.1:$PORT" \
    /usr/sbin/runuser -u keiyaku -- $exec_start >"$ROOT/tmp/serve.log" 2>&1 &
  SERVER_PID=$!
  healthy "$SERVER_PID" || { tail -20 "$ROOT/tmp/serve.log" >&2; fail "/healthz did not answer over HTTPS"; }
  runs_as_keiyaku || fail "keiyaku does not run as user keiyaku"
  [ "$(in_root stat -c %U /var/lib/keiyaku/keiyaku.redb)" = keiyaku ] || fail "the database is not keiyaku's"
  grep -q "operator account created" "$ROOT/tmp/serve.log" || fail "no operator password printed on first start"
  started="chroot: the unit's ExecStart as user keiyaku (systemd sandboxing not exercised)"
fi
ok "service started — $started"
ok "https://localhost:$PORT/healthz answers $(curl -s --cacert "$ROOT/var/lib/keiyaku/tls/ca.pem" "https://localhost:$PORT/healthz")"
echo "PASS: $(basename "$DEB") installs and serves on a clean $SUITE root"
