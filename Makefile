# Makefile: build, test, benchmark and install mozart-tools (GNU make).
PREFIX  ?= /usr/local
DESTDIR ?=
BINDIR   = $(PREFIX)/bin
DATADIR  = $(PREFIX)/share/mozart-tools
MANDIR   = $(PREFIX)/share/man

CC      ?= cc
PKGS     = zlib gsl jansson
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -Wall -Wextra -D_DEFAULT_SOURCE $(shell pkg-config --cflags $(PKGS))
LDLIBS  += $(shell pkg-config --libs $(PKGS)) -lm
ifeq ($(asan),1)
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

# One C file per tool in bin/, one unit-test program per library concern in test/.
# Tools written as shell scripts over the others are listed in SCRIPTS.
CTOOLS  = $(notdir $(basename $(wildcard bin/mz-*.c)))
SCRIPTS = mz-speedup mz-validate mz-sweep
TOOLS   = $(CTOOLS) $(SCRIPTS)
BINS    = $(addprefix bin/,$(CTOOLS))
UNITS  = $(basename $(wildcard test/unit-*.c))
TESTPROGS = test/model-sweep
LIBSRC = $(wildcard lib/*.c)
LIBOBJ = $(LIBSRC:.c=.o)
LIB    = lib/libmz.a

all: $(BINS)

# Rebuild everything when the compiler flags change (for example asan=1).
.flags: FORCE
	@echo '$(CC) $(CFLAGS) $(CPPFLAGS) $(LDFLAGS) $(LDLIBS)' | cmp -s - $@ || \
	  echo '$(CC) $(CFLAGS) $(CPPFLAGS) $(LDFLAGS) $(LDLIBS)' > $@

lib/%.o: lib/%.c $(wildcard lib/*.h) .flags
	$(CC) $(CFLAGS) $(CPPFLAGS) -c -o $@ $<

# The data directory is compiled into lib/io.o alone (the catalogue lookup): another
# PREFIX rebuilds that object and relinks, instead of rebuilding the tree.
DATADEF = -DMZ_DATADIR='"$(DATADIR)/models"'
.datadir: FORCE
	@echo '$(DATADEF)' | cmp -s - $@ || echo '$(DATADEF)' > $@
lib/io.o: CPPFLAGS += $(DATADEF)
lib/io.o: .datadir

$(LIB): $(LIBOBJ)
	$(AR) rcs $@ $^

bin/%: bin/%.c $(LIB) $(wildcard lib/*.h) .flags
	$(CC) $(CFLAGS) $(CPPFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

test/unit-%: test/unit-%.c test/unit.h $(LIB) $(wildcard lib/*.h) .flags
	$(CC) $(CFLAGS) $(CPPFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

test/model-sweep: test/model-sweep.c $(LIB) $(wildcard lib/*.h) .flags
	$(CC) $(CFLAGS) $(CPPFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

# What make check builds: the tools, the unit tests, the test programs and the
# fuzz harnesses' replays (test/fuzz/fuzz.mk adds them). Without -j it builds them
# on every core, as test/run then runs the tests; with -j N (or -j) it builds as
# told. asan=1 and the other variables reach the sub-make through MAKEFLAGS.
NPROC := $(shell nproc 2>/dev/null || echo 1)
check test:
	@$(MAKE) --no-print-directory $(if $(filter -j%,$(MAKEFLAGS)),,-j$(NPROC)) check-build
	@test/run
check-build: all $(UNITS) $(TESTPROGS)
	@:

bench: all
	@test/bench

# The main job: Baseline and Mozart-A/B/C for the default model on its wafer.
demo: all
	bin/mz-speedup -m qwen3-30b-a3b

# Real routing statistics beside those of generated traces; fails outside tolerance.
calibrate: all
	@models/calibrate

# Refit the routing priors in models/ from the real data in traces/ (about 2 minutes).
priors: all
	models/fit-priors

# What the man pages' examples and mz-validate need beside the programs: the
# catalogue (with paper.tsv), the sample traces, validate.awk. The pages name
# the data directory as /usr/local/share/mozart-tools, rewritten to DATADIR.
MAN1 = $(addprefix bin/,$(addsuffix .1,$(TOOLS)))
MAN5 = lib/mzt.5 lib/mzs.5
MAN7 = lib/mz-model.7 lib/mozart-tools.7
install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(DATADIR)/models $(DESTDIR)$(DATADIR)/traces \
	    $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man7
	install -m 755 $(BINS) $(addprefix bin/,$(SCRIPTS)) $(DESTDIR)$(BINDIR)
	install -m 644 $(wildcard models/*.json models/*.prior models/*.wafer) models/paper.tsv $(DESTDIR)$(DATADIR)/models
	install -m 644 $(filter-out %~,$(wildcard traces/*)) $(DESTDIR)$(DATADIR)/traces
	install -m 644 plots/validate.awk $(DESTDIR)$(DATADIR)
	for f in $(MAN1) $(MAN5) $(MAN7); do \
	    s=$${f##*.}; sed 's|/usr/local/share/mozart-tools|$(DATADIR)|g' $$f > $(DESTDIR)$(MANDIR)/man$$s/$${f##*/}.tmp && \
	    chmod 644 $(DESTDIR)$(MANDIR)/man$$s/$${f##*/}.tmp && \
	    mv -f $(DESTDIR)$(MANDIR)/man$$s/$${f##*/}.tmp $(DESTDIR)$(MANDIR)/man$$s/$${f##*/} || exit 1; done

uninstall:
	rm -f $(addprefix $(DESTDIR)$(BINDIR)/,$(TOOLS))
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man1/,$(notdir $(MAN1))) $(addprefix $(DESTDIR)$(MANDIR)/man5/,$(notdir $(MAN5))) \
	    $(addprefix $(DESTDIR)$(MANDIR)/man7/,$(notdir $(MAN7)))
	rm -rf $(DESTDIR)$(DATADIR)

include plots/figures.mk
include plots/sweep.mk

clean:
	rm -f $(BINS) $(LIBOBJ) $(LIB) $(UNITS) $(TESTPROGS) .flags .datadir
	rm -rf $(BUILD)

# Refit the wafer's timing constants to the paper's Table 4 (about 4 minutes).
fit-wafer: all
	models/fit-wafer

.PHONY: all check check-build test bench demo calibrate priors fit-wafer install uninstall clean FORCE
include test/fuzz/fuzz.mk
