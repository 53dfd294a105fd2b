# Sourced by the bench's callgrind scripts (sealer_instructions.sh,
# record_instructions.sh): a throwaway cluster whose server runs under
# callgrind, and the reading of one process's counts.  Needs $top; runs the
# server as postgres when root.

as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
bindir=$(pg_config --bindir)

# callgrind_start DIR PORT [SETTING ...]: a cluster in DIR/cl with authlog
# created, its server under callgrind writing DIR/cg.<pid> per process
callgrind_start() {
	local d=$1 port=$2
	shift 2
	chown postgres "$d" 2>/dev/null || true
	(cd "$top" && as_postgres bash test/cluster.sh start "$d/cl" "$port" "$@" >/dev/null)
	as_postgres "$bindir/pg_ctl" -D "$d/cl/data" -m fast -w stop >/dev/null
	as_postgres bash -c "valgrind --tool=callgrind --trace-children=yes --callgrind-out-file=$d/cg.%p \
		$bindir/postgres -D $d/cl/data >$d/server.log 2>&1 &"
	for _ in $(seq 1 300); do
		as_postgres psql -X -h "$d/cl" -p "$port" -c 'SELECT 1' postgres >/dev/null 2>&1 && return 0
		sleep 1
	done
	echo "callgrind.sh: the server did not start under callgrind" >&2
	return 1
}

# callgrind_begin [SETTING ...]: a new directory $cg_dir and free port
# $cg_port, a cluster there under callgrind (callgrind_start) with authlog
# created; cg_q runs psql against it
callgrind_begin() {
	cg_dir=$(mktemp -d /tmp/authlog-callgrind.XXXXXX)
	cg_port=$(. "$top/test/lib.sh"; lib_free_port)
	callgrind_start "$cg_dir" "$cg_port" "$@"
	cg_q -c 'CREATE EXTENSION authlog' >/dev/null
}

cg_q() { as_postgres psql -X -q -At -v ON_ERROR_STOP=1 -h "$cg_dir/cl" -p "$cg_port" postgres "$@"; }

# callgrind_install DIR: build and install the tree in DIR (PGXS reads
# PROFILE as compiler flags: the scripts' profile switch is not one)
callgrind_install() {
	(cd "$1" && env -u PROFILE make -s >/dev/null && env -u PROFILE make -s install >/dev/null)
}

# callgrind_on_baseline REV CMD...: CMD's output with REV's build installed
# (from a worktree, removed after), then this tree ($top) installed again
callgrind_on_baseline() {
	local rev=$1 worktree out rc=0
	shift
	worktree=$(mktemp -d /tmp/authlog-baseline.XXXXXX)
	git -C "$top" worktree add -q --detach "$worktree" "$rev"
	callgrind_install "$worktree" && out=$("$@") || rc=$?
	git -C "$top" worktree remove --force "$worktree"
	callgrind_install "$top"
	[ "$rc" = 0 ] && echo "$out"
}

callgrind_stop() {
	as_postgres "$bindir/pg_ctl" -D "$1/cl/data" -m fast -w -t 600 stop >/dev/null
}

# callgrind_totals FILE: a forked process's own count ("totals"; its
# "summary" line is its parent's at the fork)
callgrind_totals() {
	awk '/^totals:/ { s += $2 } END { print s }' "$1"
}

# callgrind_profile FILE EXCLUSIVE INCLUSIVE: the costliest functions of
# one process, that many by exclusive then by inclusive instructions
callgrind_profile() {
	local file=$1 own=$1.own
	sed "s/^summary:.*/summary: $(callgrind_totals "$file")/" "$file" >"$own"
	echo "== exclusive"
	callgrind_annotate --threshold=99 "$own" 2>/dev/null | sed -n '/file:function/,$p' | sed -n "3,$(( $2 + 2 ))p"
	echo "== inclusive"
	callgrind_annotate --inclusive=yes --threshold=99 "$own" 2>/dev/null | sed -n '/file:function/,$p' |
		sed -n '3,$p' | grep -v 'below main\|libc-start\|ld-linux' | sed -n "1,${3}p"
}
