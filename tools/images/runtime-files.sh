#!/usr/bin/env bash
# runtime-files.sh <debian-tree> <dest> <package...>: a distroless-style tree in <dest>
# holding only the files those packages installed into <debian-tree>, plus what
# distroless adds: the CA bundle, root/nobody/nonroot (65532) accounts, /tmp, and
# /var/lib/dpkg/status.d entries so SBOM scanners see the packages. No shell, no
# package manager. Needs root (chroot, ownership).
set -euo pipefail
tree=$1 dest=$2
shift 2
rm -rf "$dest" && mkdir -p "$dest"
# Debian 12's merged /usr: /bin, /lib, /lib64, /sbin are links into /usr.
for d in bin lib lib64 sbin; do if [ -L "$tree/$d" ]; then cp -P "$tree/$d" "$dest/$d"; fi; done

# Each package's files and links (not directories), their directory resolved through those links.
chroot "$tree" dpkg-query -L "$@" | grep '^/' | chroot "$tree" sh -c '
  while read -r p; do
    if [ -d "$p" ] && [ ! -L "$p" ]; then continue; fi
    if [ -e "$p" ] || [ -L "$p" ]; then echo "$(realpath "$(dirname "$p")")/$(basename "$p")"; fi
  done' | sed 's|^/*||' | sort -u >"$dest.files"
tar -C "$tree" --numeric-owner --no-recursion -c -T "$dest.files" | tar -C "$dest" -x --keep-directory-symlink
rm "$dest.files"

install -D -m 0644 "$tree/etc/ssl/certs/ca-certificates.crt" "$dest/etc/ssl/certs/ca-certificates.crt"
mkdir -p "$dest/var/lib/dpkg/status.d"
chroot "$tree" dpkg-query -s ca-certificates >"$dest/var/lib/dpkg/status.d/ca-certificates" # only its bundle is kept
for pkg in "$@"; do
  chroot "$tree" dpkg-query -s "$pkg" >"$dest/var/lib/dpkg/status.d/$pkg"
  for sums in "$tree/var/lib/dpkg/info/$pkg".md5sums "$tree/var/lib/dpkg/info/$pkg":*.md5sums; do
    if [ -f "$sums" ]; then cp "$sums" "$dest/var/lib/dpkg/status.d/$pkg.md5sums"; fi
  done
done

cat >"$dest/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
PASSWD
printf '%s\n' root:x:0: tty:x:5: staff:x:50: nonroot:x:65532: nobody:x:65534: >"$dest/etc/group"
printf 'hosts: files dns\n' >"$dest/etc/nsswitch.conf"
install -d -m 0700 "$dest/root"
install -d -m 0700 -o 65532 -g 65532 "$dest/home/nonroot"
install -d -m 1777 "$dest/tmp"
