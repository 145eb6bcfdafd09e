#!/usr/bin/env bash
# The layers above the store are closed to the database drivers: no file
# under server/rpc, server/service, server/jobs or server/http includes
# libpq or hiredis, or calls them. SQL belongs to store_pg.c and report.c,
# Redis commands to store_redis.c (and store_async.c for the event loops),
# each behind typed functions; a module above asks them. The compiler
# cannot refuse this (store_pg.h still shows libpq to its users), so this
# check does: it fails on any such line outside the files listed below.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 2

# Files whose SQL or Redis commands are still being moved into the store:
# none are left. A file that must go on this list while it is being moved
# comes off it once it is clean (the check says so); add nothing to it
# for good.
allow=()

# Including either driver, any libpq call or result, pgstore_exec (which
# hands back a PGresult), and hiredis's blocking calls or raw context.
pattern='#[[:space:]]*include[[:space:]]*<(libpq-fe\.h|hiredis/)'
pattern+='|\bPQ[a-zA-Z]+[[:space:]]*\(|\bPGresult\b|\bpgstore_exec[[:space:]]*\('
pattern+='|\bredis(Command|AppendCommand|GetReply)[a-zA-Z]*[[:space:]]*\(|\bredisContext\b|\brstore_ctx[[:space:]]*\('

fail=0
while IFS= read -r f; do
    allowed=0
    for a in ${allow[@]+"${allow[@]}"}; do [ "$f" = "$a" ] && allowed=1; done
    hits=$(grep -nE "$pattern" "$f")
    if [ -n "$hits" ] && [ $allowed = 0 ]; then
        echo "$f reaches past the store:"
        echo "$hits" | sed 's/^/    /'
        fail=1
    elif [ -z "$hits" ] && [ $allowed = 1 ]; then
        echo "note: $f is clean now; take it off the list in tests/layers/closed.sh"
    fi
done < <(find server/rpc server/service server/jobs server/http -name '*.[ch]' | sort)

if [ $fail = 1 ]; then
    echo "Move the statement or command into server/store (store_pg.h, store_redis.h) behind a typed function."
    exit 1
fi
echo "the layers above the store use no SQL and no hiredis of their own"
