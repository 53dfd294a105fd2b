# test/lib.sh: what the drivers of make test, make demo and make bench share.
# Sourced, never run.
#
#   lib_free_port                  a TCP port in 20000-39999 that nothing on
#                                  127.0.0.1 listens on
#   lib_rerun_as_postgres PREFIX SCRIPT ARGS...
#                                  as root: copy the tree to a new directory
#                                  /tmp/PREFIX.XXXXXX that postgres owns and
#                                  run SCRIPT (a path in the tree) there as
#                                  postgres; sets LIB_WORK to the copy and
#                                  LIB_RC to the script's exit status
#   lib_pgbench_tps                pgbench's output on stdin, its tps out
#
# PostgreSQL refuses to run as root, so as root every cluster runs as the
# postgres user, on a copy of the tree it owns.

lib_free_port() {
	local port tries
	for tries in $(seq 1 100); do
		port=$(( 20000 + RANDOM % 20000 ))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$port"
			return 0
		fi
	done
	echo "lib.sh: no free port found in 100 tries" >&2
	return 1
}

lib_rerun_as_postgres() {
	local prefix=$1 script=$2
	shift 2
	LIB_WORK=$(mktemp -d "/tmp/$prefix.XXXXXX")
	tar -C "$top" --exclude=.git -cf - . | tar -C "$LIB_WORK" -xf -
	chown -R postgres: "$LIB_WORK"
	set +e
	runuser -u postgres -- env ${LIB_ENV:-} bash "$LIB_WORK/$script" "$@"
	LIB_RC=$?
	set -e
}

lib_pgbench_tps() {
	sed -n 's/^tps = \([0-9.]*\) (without initial connection time)$/\1/p'
}
