#!/bin/sh
# steam.sh, January 2015 (valvesoftware/steam-for-linux#3671): the script
# found its own directory with
#     STEAMROOT="$(cd "${0%/*}" && echo $PWD)"
# which is empty once the Steam directory has been moved, and then reset
# the installation with
#     rm -rf "$STEAMROOT/"*
# i.e. rm -rf /*, as the user, deleting everything the user could write.
#
# Here the empty variable stands in front of a planted home directory
# (VICTIM_HOME, from the Portfile), never in front of /*.
set -u
for v in "${EXPOSED_HOME:?}" "${HIDDEN_HOME:?}"; do
    case "$v" in
        *wport-incident-victims*) ;;
        *) echo "steam.sh: refusing to aim at $v: not a planted victim tree" >&2; exit 99 ;;
    esac
done

# The directory was moved: cd fails, STEAMROOT is empty.
STEAMROOT="$(cd "${0%/*}/moved-steam-dir" 2>/dev/null && echo $PWD)"
echo "steam.sh: STEAMROOT='$STEAMROOT'"

status=0
for VICTIM_HOME in "$EXPOSED_HOME" "$HIDDEN_HOME"; do
    rm -rf "$STEAMROOT$VICTIM_HOME/"* || status=$?
done
echo "steam.sh: rm exited with status $status" >&2
# What the build could see of the homes it just tried to wipe.
ls -d "$EXPOSED_HOME" "$HIDDEN_HOME" >&2 || true
exit $status
