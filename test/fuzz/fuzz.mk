# fuzz.mk: libFuzzer harnesses (make fuzz) and their regression replay in make check (included by the Makefile).
#
#   make fuzz                      build every harness with clang and run each for FUZZ_SECONDS
#   make fuzz FUZZ=trace           one harness (FUZZ=stream: trace and sched); a list works too
#   make fuzz-build                build only (build/fuzz/fuzz-NAME)
#
# Each harness test/fuzz/fuzz-NAME.c is linked with the library compiled by
# clang under -fsanitize=fuzzer-no-link,address,undefined into build/fuzz/lib/
# (the gcc objects in lib/ are left alone). Its corpus is build/fuzz/corpus/NAME,
# seeded from test/fuzz/seeds/NAME; crashes go to build/fuzz/crashes/NAME-*,
# and any crash fails the target. make check replays every seed and every
# file of test/fuzz/regress/NAME through test/fuzz/replay-NAME, built by $(CC)
# with the same flags as everything else (so asan=1 replays under ASan too).

FUZZ_NAMES   := $(patsubst test/fuzz/fuzz-%.c,%,$(wildcard test/fuzz/fuzz-*.c))
FUZZ         ?= $(FUZZ_NAMES)
FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang
FUZZ_SAN     ?= address,undefined
FUZZ_CFLAGS  ?= -O1 -g -fno-omit-frame-pointer
FUZZ_OPTS    ?=
FUZZ_DIR      = $(or $(BUILD),build)/fuzz
# longest input per harness, in bytes (libFuzzer -max_len)
FUZZ_MAXLEN_trace     = 65536
FUZZ_MAXLEN_sched     = 65536
FUZZ_MAXLEN_import    = 16384
FUZZ_MAXLEN_model     = 8192
FUZZ_MAXLEN_prior     = 16384
FUZZ_MAXLEN_wafer     = 8192
FUZZ_MAXLEN_placement = 16384
FUZZ_MAXLEN_loads     = 16384
FUZZ_MAXLEN_include   = 4096
FUZZ_MAXLEN_speedup   = 512

FUZZ_RUN  := $(sort $(patsubst stream,trace sched,$(FUZZ)))
FUZZ_LIBO := $(patsubst lib/%.c,$(FUZZ_DIR)/lib/%.o,$(LIBSRC))
FUZZ_BINS := $(addprefix $(FUZZ_DIR)/fuzz-,$(FUZZ_NAMES))
FUZZ_ALLCFLAGS = $(FUZZ_CFLAGS) -std=c11 -Wall -Wextra -D_DEFAULT_SOURCE $(shell pkg-config --cflags $(PKGS)) \
                 $(CPPFLAGS) -fno-sanitize-recover=undefined
# where the harnesses find the catalogue and (speedup) the programs they run
FUZZ_DEFS      = -DMZ_FUZZ_MODELS='"$(CURDIR)/models"' -DMZ_FUZZ_SEEDS='"$(CURDIR)/test/fuzz/seeds"'
FUZZ_TOOLS     = $(FUZZ_DIR)/tools
FUZZ_TOOLO    := $(patsubst lib/%.c,$(FUZZ_TOOLS)/lib/%.o,$(LIBSRC))
REPLAYS   := $(addprefix test/fuzz/replay-,$(FUZZ_NAMES))

# rebuild when the compiler or its flags change
$(FUZZ_DIR)/.flags: FORCE
	@command -v $(FUZZ_CC) > /dev/null || { echo "make fuzz needs $(FUZZ_CC) with libFuzzer" \
	    "(Debian 12: apt-get install clang libclang-rt-14-dev)" >&2; exit 2; }
	@mkdir -p $(@D)
	@echo '$(FUZZ_CC) $(FUZZ_ALLCFLAGS) $(FUZZ_SAN) $(LDLIBS)' | cmp -s - $@ || \
	  echo '$(FUZZ_CC) $(FUZZ_ALLCFLAGS) $(FUZZ_SAN) $(LDLIBS)' > $@

$(FUZZ_DIR)/lib/%.o: lib/%.c $(wildcard lib/*.h) $(FUZZ_DIR)/.flags
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_ALLCFLAGS) -fsanitize=fuzzer-no-link,$(FUZZ_SAN) -c -o $@ $<

$(FUZZ_DIR)/fuzz-%: test/fuzz/fuzz-%.c test/fuzz/fuzz.h $(FUZZ_LIBO) $(FUZZ_DIR)/.flags
	$(FUZZ_CC) $(FUZZ_ALLCFLAGS) $(FUZZ_DEFS) -fsanitize=fuzzer,$(FUZZ_SAN) -o $@ $< $(FUZZ_LIBO) $(LDLIBS)

# fuzz-speedup runs mz-speedup and the tools as processes: built with the
# sanitizers (no coverage) into $(FUZZ_TOOLS), the script beside them
$(FUZZ_TOOLS)/lib/%.o: lib/%.c $(wildcard lib/*.h) $(FUZZ_DIR)/.flags
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_ALLCFLAGS) -fsanitize=$(FUZZ_SAN) -c -o $@ $<
$(FUZZ_TOOLS)/mz-%: bin/mz-%.c $(FUZZ_TOOLO)
	$(FUZZ_CC) $(FUZZ_ALLCFLAGS) -fsanitize=$(FUZZ_SAN) -o $@ $< $(FUZZ_TOOLO) $(LDLIBS)
$(addprefix $(FUZZ_TOOLS)/,$(SCRIPTS)): $(FUZZ_TOOLS)/%: bin/%
	@mkdir -p $(@D)
	cp $< $@
$(FUZZ_DIR)/fuzz-speedup: FUZZ_DEFS += -DMZ_FUZZ_BIN='"$(abspath $(FUZZ_TOOLS))"'
$(FUZZ_DIR)/fuzz-speedup: $(addprefix $(FUZZ_TOOLS)/,$(TOOLS))

fuzz-build: $(FUZZ_BINS)

# Run each harness in turn (one fuzzer process at a time); any crash fails.
fuzz: $(addprefix $(FUZZ_DIR)/fuzz-,$(FUZZ_RUN))
	@fail=0; $(foreach n,$(FUZZ_RUN),test/fuzz/run $(n) $(FUZZ_SECONDS) $(or $(FUZZ_MAXLEN_$(n)),16384) \
	    $(FUZZ_DIR) $(FUZZ_OPTS) || fail=1;) exit $$fail

# Regression replay (gcc, no libFuzzer): built by make check (check-build), run by test/fuzz.bats.
test/fuzz/replay-%: test/fuzz/replay.c test/fuzz/fuzz-%.c test/fuzz/fuzz.h $(LIB) $(wildcard lib/*.h) .flags
	$(CC) $(CFLAGS) $(CPPFLAGS) $(FUZZ_DEFS) -DMZ_FUZZ_BIN='"$(CURDIR)/bin"' $(LDFLAGS) -o $@ test/fuzz/replay.c \
	    test/fuzz/fuzz-$*.c $(LIB) $(LDLIBS)

check-build: $(REPLAYS)

clean: clean-fuzz
clean-fuzz:
	rm -f $(REPLAYS)
	rm -rf $(FUZZ_DIR)

.PHONY: fuzz fuzz-build clean-fuzz
