#!/usr/bin/env bats
# install.bats: an installed copy (make install) works outside the tree: every man page's examples and mz-validate run from a fresh directory.
load helper
bats_require_minimum_version 1.5.0

# One install per file, under a prefix of its own, from a copy of the tree (the
# data directory is compiled in: the tree's own build is left alone). The copy
# keeps the tree's objects and their times (cp -p), so that make rebuilds what
# the prefix changes (lib/io.o, the one object the data directory is compiled
# into) and relinks; the second test checks that the installed programs find
# the catalogue in the new data directory.
setup_file() {
    export INST="$BATS_FILE_TMPDIR/usr"
    local src="$BATS_FILE_TMPDIR/src"
    mkdir "$src"
    cp -Rp "$TOP/Makefile" "$TOP/bin" "$TOP/lib" "$TOP/models" "$TOP/plots" "$TOP/traces" "$TOP/test" "$src"
    [ ! -e "$TOP/.flags" ] || cp -p "$TOP/.flags" "$src"
    make -C "$src" -j2 install PREFIX="$INST" > "$BATS_FILE_TMPDIR/make.log" 2>&1 ||
        { tail -n 20 "$BATS_FILE_TMPDIR/make.log" >&2; return 1; }
    rm -rf "$src"
}

# Run "$@" as a user of the installed copy: its bin first on PATH (no tree
# programs), its man pages on MANPATH, no $MZ_MODELS.
installed() {
    env -u MZ_MODELS PATH="$INST/bin:/usr/bin:/bin" MANPATH="$INST/share/man" "$@"
}

@test "make install: the programs, pages, catalogue, samples and validate.awk; pages name the installed data directory" {
    for t in mz-trace mz-place mz-sched mz-cost mz-view mz-stat mz-fit mz-import mz-speedup mz-validate; do
        [ -x "$INST/bin/$t" ] || { echo "missing bin/$t"; return 1; }
        [ -s "$INST/share/man/man1/$t.1" ] || { echo "missing man1/$t.1"; return 1; }
    done
    for f in models/paper.tsv models/qwen3-30b-a3b.json models/calibrated.wafer validate.awk \
        traces/README traces/qwen1.5-layer0.txt traces/mixtral-style.routes.jsonl; do
        [ -s "$INST/share/mozart-tools/$f" ] || { echo "missing share/mozart-tools/$f"; return 1; }
    done
    [ -s "$INST/share/man/man5/mzt.5" ] && [ -s "$INST/share/man/man7/mz-model.7" ]
    # the toolkit's page, with its table of option letters, as man finds it
    [ "$(installed man -w 7 mozart-tools)" = "$INST/share/man/man7/mozart-tools.7" ]
    grep -q "^-s	--seed	" "$INST/share/man/man7/mozart-tools.7"
    run -0 grep -l '^ln -s .*/traces \.$' "$INST"/share/man/man1/*.1
    [ "${#lines[@]}" -ge 3 ]
    run -0 grep -h '^ln -s .*/traces \.$' "$INST"/share/man/man1/*.1
    [ "$(printf '%s\n' "$output" | sort -u)" = "ln -s $INST/share/mozart-tools/traces ." ]
    ! grep -l /usr/local/share/mozart-tools "$INST"/share/man/man*/*
}

@test "an installed copy finds its catalogue without MZ_MODELS (the compiled-in data directory)" {
    run -0 --separate-stderr installed mz-trace -m olmoe-1b-7b-0924 -b 1 -L 4 -l 0 -t
    [[ "$output" == *"$INST/share/mozart-tools/models/olmoe-1b-7b-0924.json"* ]]
    run -0 --separate-stderr installed mz-speedup -m olmoe-1b-7b-0924 -n 1 -b 4 -L 32
    assert_line --index 0 --regexp "	wafer:$INST/share/mozart-tools/models/wafer-olmoe-1b-7b-0924.wafer,.*	wafer_from:model\$"
}

@test "from a fresh directory, every installed man page's examples run" {
    local n=0
    for page in "$INST"/share/man/man1/*.1; do
        t=$(basename "$page" .1)
        # the page as man finds it on MANPATH
        [ "$(installed man -w "$t")" = "$page" ]
        mkdir "run-$t"
        cd "run-$t"
        # the link to the installed samples the page asks for, if it does
        link=$(sed -n 's/^\(ln -s .*\/traces \.\)$/\1/p' "$page" | head -n 1)
        [ -z "$link" ] || installed sh -c "$link"
        while IFS= read -r cmd; do
            n=$((n + 1))
            run --separate-stderr installed bash -c "$cmd"
            [ "$status" -eq 0 ] || { echo "$t: example failed ($status): $cmd"; echo "$output"; echo "$stderr"; return 1; }
        done < <(sed -n '/^\.SH EXAMPLES/,/^\.SH /p' "$page" | sed -n 's/^\\\$ //p; s/^\$ //p')
        cd ..
    done
    [ "$n" -ge 60 ]
    # mz-validate's example: the paper's numbers beside the model's, as make validate prints them
    # from the figures' table (plots/seqmem.tsv, made by the same pipeline)
    { echo "The paper's numbers beside the model's (2 steps, seed 1):"
      awk -f "$TOP/plots/validate.awk" "$TOP/models/paper.tsv" "$TOP/plots/seqmem.tsv" || true; } > want.txt
    diff want.txt run-mz-validate/validate.txt
    [ -s run-mz-speedup/ds/C.cost ] && [ -s run-mz-fit/olmoe.prior ] && [ -s run-mz-import/mixtral.mzt ]
}
