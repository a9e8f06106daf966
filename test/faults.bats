#!/usr/bin/env bats
# faults.bats: every tool under pipe and disk faults: a reader that closes its
# pipe early (| head), a full disk (/dev/full), and a run killed in the middle
# (output goes to a temporary name and is renamed into place only when whole).
load helper
bats_require_minimum_version 1.5.0

M=olmoe-1b-7b-0924
W=wafer-olmoe-1b-7b-0924

# Inputs every test reads, made once: a trace, the placed trace, its schedule,
# a route log (JSONL) and a loads table.
setup_file() {
    cd "$BATS_FILE_TMPDIR" || return 1
    mz-trace -m $M -n 2 -b 4 -L 32 -o t.mzt
    mz-view -b -u -o t.u t.mzt
    mz-place -o p.mzt t.mzt
    mz-sched -V C -M 2 -o s.mzs p.mzt
    zcat "$TOP/traces/qwen1.5-moe-a2.7b-chat.layer0.routes.jsonl.gz" | sed -n "1p; 8194,9397p" > r.jsonl
    mz-stat --loads loads.tsv -o /dev/null t.mzt
}

F() { echo "$BATS_FILE_TMPDIR/$1"; }

# Each tool with arguments that make it write much more than a pipe holds.
writers() {
    cat <<EOF
mz-trace -m $M -n 2 -b 4 -L 32 -t
mz-trace -m $M -n 2 -b 4 -L 32 -u
mz-trace -m $M -n 2 -b 4 -L 32
mz-view -t $(F t.mzt)
mz-view -b -u $(F t.mzt)
mz-stat --coact - -o /dev/null $(F t.mzt)
mz-stat --loads - -o /dev/null $(F t.mzt)
mz-place -t $(F t.mzt)
mz-place -W - -o /dev/null $(F t.mzt)
mz-sched -V C -M 2 -t $(F p.mzt)
mz-sched -V baseline -M 2 -u $(F p.mzt)
mz-cost -w $W -b - -o /dev/null $(F s.mzs)
mz-import -m qwen1.5-moe-a2.7b -q -d all -t $(F r.jsonl)
mz-fit -m $M -r $(F t.mzt) -i 2 -k 2000
mz-view -t $(F s.mzs)
EOF
}

@test "faults: every writer ends quietly when the reader closes the pipe early" {
    local n=0
    while read -r cmd; do
        run bash -c "$cmd 2> err | head -c 100 > /dev/null; echo \${PIPESTATUS[0]}; cat err"
        # 141 = killed by SIGPIPE (128 + 13), the Unix way to end; 0 if it had finished
        if ! [[ "${lines[0]}" == 141 || "${lines[0]}" == 0 ]] || [ ${#lines[@]} -ne 1 ]; then
            echo "not quiet: $cmd: status ${lines[0]}, stderr: ${lines[*]:1}"
            return 1
        fi
        n=$((n + 1))
    done < <(writers)
    [ $n -eq 15 ]
}

# Each tool and output option: the command with OUT where the output goes.
outputs() {
    cat <<EOF
mz-trace -m $M -n 2 -b 4 -L 32 -o OUT
mz-trace -m $M -n 2 -b 4 -L 32 -t -o OUT
mz-view -t -o OUT $(F t.mzt)
mz-view -b -o OUT $(F t.mzt)
mz-view -c -o OUT $(F t.mzt)
mz-view -o OUT $(F t.mzt)
mz-stat -o OUT $(F t.mzt)
mz-stat --loads OUT -o /dev/null $(F t.mzt)
mz-stat --coact OUT -o /dev/null $(F t.mzt)
mz-place -o OUT $(F t.mzt)
mz-place -r OUT -o /dev/null $(F t.mzt)
mz-place -W OUT -o /dev/null $(F t.mzt)
mz-sched -V C -M 2 -o OUT $(F p.mzt)
mz-sched -V C -M 2 -t -o OUT $(F p.mzt)
mz-cost -w $W -o OUT $(F s.mzs)
mz-cost -w $W -b OUT -o /dev/null $(F s.mzs)
mz-cost -w $W -r OUT -o /dev/null $(F s.mzs)
mz-cost -w $W -T OUT -o /dev/null $(F s.mzs)
mz-import -m qwen1.5-moe-a2.7b -q -d all -o OUT $(F r.jsonl)
mz-fit -m $M -r $(F t.mzt) -i 2 -k 2000 -o OUT
mz-fit -m $M -r $(F t.mzt) -i 2 -k 2000 -R OUT -o /dev/null
EOF
}

@test "faults: a full disk is exit 1 naming the output, for every tool and output option" {
    local n=0 cmd
    while read -r cmd; do
        run --separate-stderr ${cmd//OUT//dev/full}
        if [ "$status" -ne 1 ] || [[ "$stderr" != *"/dev/full"*"No space left on device"* ]]; then
            echo "${cmd//OUT//dev/full}: status $status, stderr: $stderr"
            return 1
        fi
        n=$((n + 1))
    done < <(outputs)
    [ $n -eq 21 ]
}

@test "faults: a full disk on standard output is exit 1, for every tool" {
    local n=0 cmd
    while read -r cmd; do
        [[ "$cmd" == *"-o OUT"* ]] || continue
        cmd=${cmd//-o OUT/}
        run --separate-stderr bash -c "$cmd > /dev/full"
        if [ "$status" -ne 1 ] || [[ "$stderr" != *"No space left on device"* ]]; then
            echo "$cmd > /dev/full: status $status, stderr: $stderr"
            return 1
        fi
        n=$((n + 1))
    done < <(outputs)
    [ $n -eq 13 ]
}

@test "faults: every output option writes a whole file under its name and nothing beside it" {
    local n=0 cmd
    while read -r cmd; do
        rm -rf d && mkdir d
        run --separate-stderr ${cmd//OUT/d/out}
        if [ "$status" -ne 0 ] || [ "$(ls -A d)" != out ] || ! [ -s d/out ]; then
            echo "${cmd//OUT/d/out}: status $status, files: $(ls -A d), stderr: $stderr"
            return 1
        fi
        n=$((n + 1))
    done < <(outputs)
    [ $n -eq 21 ]
}

# Start "$@" reading the FIFO in.fifo in the background, feed it the first
# BYTES bytes of FILE and keep it waiting for more; sets PID.
start_starved() {
    local file=$1 bytes=$2
    shift 2
    rm -f in.fifo && mkfifo in.fifo
    # default dispositions: under nohup HUP arrives ignored, and the tools keep it so
    env --default-signal=HUP,INT,TERM "$@" in.fifo 2> err &
    PID=$!
    exec 7> in.fifo
    head -c "$bytes" "$file" >&7
}

# Wait (at most 10 s) until process PID is blocked reading the fifo FIFO: it has
# consumed all that was written and waits for more. Fails if it never gets there.
wait_starved() {
    local pid=$1 fifo=$2 i fd sc wchan
    fifo=$(readlink -f "$fifo")
    for i in $(seq 200); do
        [ -d /proc/$pid ] || { echo "process $pid ended before it was starved" >&2; return 1; }
        # the call it is blocked in: its first argument is the descriptor
        read -r sc fd _ < /proc/$pid/syscall 2> /dev/null || sc=
        if [ -n "$sc" ] && [ "$sc" != running ] && [[ "$fd" == 0x* ]] &&
            [ "$(readlink -f /proc/$pid/fd/$((fd)) 2> /dev/null)" = "$fifo" ] &&
            [ "$(awk '{ print $3 }' /proc/$pid/stat 2> /dev/null)" = S ]; then
            return 0
        fi
        # no syscall file (no ptrace access): the kernel's wait channel
        if [ -z "$sc" ]; then
            wchan=$(cat /proc/$pid/wchan 2> /dev/null)
            [[ "$wchan" == *pipe_read* || "$wchan" == pipe_wait ]] && return 0
        fi
        sleep 0.05
    done
    echo "process $pid was not waiting on $fifo after 10 s" >&2
    return 1
}

@test "faults: a run killed mid-stream (TERM, HUP) leaves the old file whole and no temporary" {
    local sig cmd n=0
    for sig in TERM HUP; do
        while read -r cmd; do
            rm -rf d && mkdir d && echo old > d/out
            # most of the input arrives, the rest never does: the tool is mid-run
            local input=$(F t.u)
            [[ "$cmd" == mz-cost* ]] && input=$(F s.mzs)
            [[ "$cmd" == mz-sched* ]] && input=$(F p.mzt)
            [[ "$cmd" == mz-import* ]] && input=$(F r.jsonl)
            start_starved "$input" $(($(file_size "$input") * 3 / 4)) ${cmd//OUT/d/out}
            wait_starved $PID in.fifo || { echo "$sig: $cmd: not starved"; cat err; return 1; }
            kill -$sig $PID
            exec 7>&-
            status=0
            wait $PID || status=$?
            local want=$((128 + $(kill -l $sig)))
            if [ "$status" -ne $want ] || [ "$(ls -A d)" != out ] || [ "$(cat d/out)" != old ]; then
                echo "$sig: $cmd: status $status (want $want), files: $(ls -A d), out: $(head -c 20 d/out)"
                return 1
            fi
            n=$((n + 1))
        done <<EOF
mz-view -b -o OUT
mz-view -t -o OUT
mz-stat --loads OUT -o OUT
mz-place -o OUT
mz-sched -V C -M 2 -o OUT
mz-cost -w $W -o OUT
mz-import -m qwen1.5-moe-a2.7b -q -d all -o OUT
EOF
    done
    [ $n -eq 14 ]
}

@test "faults: a killed generator leaves no file; while it runs the output has a temporary name" {
    rm -rf d && mkdir d
    mz-trace -m qwen3-30b-a3b -n 50 -o d/t.mzt &
    local pid=$!
    local i
    # ready when its temporary exists (at most 10 s)
    for i in $(seq 200); do
        [ -n "$(ls -A d)" ] && break
        sleep 0.05
    done
    run ls -A d
    assert_output --regexp '^t\.mzt\.tmp\.[A-Za-z0-9]{6}$'
    kill -TERM $pid
    status=0
    wait $pid || status=$?
    [ "$status" -eq 143 ]
    [ -z "$(ls -A d)" ]
}

@test "faults: a tool that fails after opening its output removes the temporary (exit 1)" {
    rm -rf d && mkdir d
    head -c $(($(file_size "$(F t.u)") - 7)) "$(F t.u)" > cut.u
    for cmd in "mz-view -t -o d/out cut.u" "mz-place -o d/out cut.u" "mz-stat -o d/out cut.u"; do
        run --separate-stderr $cmd
        [ "$status" -eq 1 ]
        [[ "$stderr" == *"cut.u: truncated"* ]]
        [ -z "$(ls -A d)" ]
    done
}
