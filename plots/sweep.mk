# sweep.mk: the README's design-space sweeps (issue 18), each plots/NAME.space through
# mz-sweep to plots/NAME.tsv (the whole table with its pareto flag) and plots/NAME.png
# and .svg (latency against area, the front labelled); included by the Makefile.
#   make sweeps          every sweep; make sweep-beyond: one of them
# The work directory is $(BUILD)/sweep/NAME: a rerun makes only what changed.

SWEEPS      := beyond
SWEEP_JOBS  ?= 2
SWEEP_LABEL := chiplets,groups,memory.bandwidth_GBps
SWEEP_FILES := $(foreach s,$(SWEEPS),plots/$(s).tsv plots/$(s).svg plots/$(s).png)

sweeps: $(SWEEP_FILES)
$(addprefix sweep-,$(SWEEPS)): sweep-%: plots/%.tsv plots/%.svg plots/%.png
.PHONY: sweeps $(addprefix sweep-,$(SWEEPS))

$(SWEEPS:%=plots/%.tsv): plots/%.tsv: plots/%.space bin/mz-sweep $(BINS)
	MZ_MODELS=$(CURDIR)/models bin/mz-sweep -k $(BUILD)/sweep/$* -j $(SWEEP_JOBS) $< > $@.tmp && mv -f $@.tmp $@
$(SWEEPS:%=plots/%.svg): plots/%.svg: plots/%.tsv bin/mz-sweep
	bin/mz-sweep --plot area_mm2 latency_s --label $(SWEEP_LABEL) -o $@ $<
$(SWEEPS:%=plots/%.png): plots/%.png: plots/%.tsv bin/mz-sweep
	bin/mz-sweep --plot area_mm2 latency_s --label $(SWEEP_LABEL) -o $@ $<
