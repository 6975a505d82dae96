#!/bin/sh
# Bumblebee's install script, May 2011: meant to remove
# /usr/lib/nvidia-current/xorg/xorg, it ran
#     rm -rf /usr /lib/nvidia-current/xorg/xorg
# (one stray space), deleting /usr as root.
#
# Here the system root is a variable naming a planted tree: the command is
# aimed at $ROOT/usr, never at /usr.
set -u
for v in "${EXPOSED_ROOT:?}" "${HIDDEN_ROOT:?}"; do
    case "$v" in
        *wport-incident-victims*) ;;
        *) echo "install.sh: refusing to aim at $v: not a planted victim tree" >&2; exit 99 ;;
    esac
done

status=0
for ROOT in "$EXPOSED_ROOT" "$HIDDEN_ROOT"; do
    rm -rf "${ROOT:?}/usr" "${ROOT:?}/lib/nvidia-current/xorg/xorg" || status=$?
done
echo "install.sh: rm exited with status $status" >&2
ls -d "$EXPOSED_ROOT/usr" "$HIDDEN_ROOT/usr" >&2 || true
exit $status
