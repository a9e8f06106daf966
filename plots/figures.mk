# figures.mk: the README's figures, rebuilt through the pipeline by make (included by the Makefile).
#
# Every intermediate file is a real target under build/ (traces, placements,
# schedules, costs), named after its design point, so that `make -j2 figures`
# runs independent points in parallel and rebuilds only what an edit touches.
# A figure is plots/NAME.gp over plots/NAME*.tsv, drawn as SVG and PNG.

FIG_STEPS ?= 2
FIG_SEED  ?= 1
BUILD     ?= build
PAPER_MODELS := qwen3-30b-a3b olmoe-1b-7b-0924 deepseek-moe-16b-base
PLACE_ALGOS  := contiguous round-robin random balanced mozart ctswap

FIGURES := priors placement
FIG_FILES := $(foreach f,$(FIGURES),plots/$(f).svg plots/$(f).png)

figures: $(FIG_FILES)

# ---- traces: $(BUILD)/trace/MODEL-sSEQ.mzt
define trace_rule
$(BUILD)/trace/$(1)-s$(2).mzt: bin/mz-trace models/$(1).json models/$(1).prior
	@mkdir -p $$(@D)
	bin/mz-trace -m $(1) -n $(FIG_STEPS) -L $(2) -s $(FIG_SEED) -o $$@
endef
$(foreach m,$(PAPER_MODELS) deepseek-v3 mixtral-8x7b,$(foreach s,128 256 512,$(eval $(call trace_rule,$(m),$(s)))))

# the real Qwen1.5-MoE layer-0 sample stands in for a generated trace
$(BUILD)/trace/qwen1.5-real-s256.mzt: traces/qwen1.5-layer0.txt bin/mz-view
	@mkdir -p $(@D)
	bin/mz-view -b -o $@ $<

# ---- placement reports: $(BUILD)/place/MODEL-ALGO.tsv (16 chiplets, 4 groups;
# the real Qwen1.5 sample, 60 experts, on 15 chiplets of 4 in 5 groups)
place_geometry = $(if $(findstring qwen1.5,$(1)),-c 15 -g 5,-c 16 -g 4)
define place_rule
$(BUILD)/place/$(1)-$(2).tsv: $(BUILD)/trace/$(1)-s256.mzt bin/mz-place
	@mkdir -p $$(@D)
	bin/mz-place -a $(2) $(call place_geometry,$(1)) -s $(FIG_SEED) -r $$@ -o /dev/null $$<
endef
PLACE_MODELS := $(PAPER_MODELS) qwen1.5-real deepseek-v3
$(foreach m,$(PLACE_MODELS),$(foreach a,$(PLACE_ALGOS),$(eval $(call place_rule,$(m),$(a)))))

# ---- figure data
# placement: the all row of every report (no timing columns: reproducible)
plots/placement.tsv: $(foreach m,$(PLACE_MODELS),$(foreach a,$(PLACE_ALGOS),$(BUILD)/place/$(m)-$(a).tsv))
	@printf 'model\talgorithm\tct_dedup\tmax_group_share_dev\tmax_chiplet_load_over_mean\n' > $@.tmp
	@for m in $(PLACE_MODELS); do for a in $(PLACE_ALGOS); do \
	    awk -F'\t' -v m=$$m '/^#/ {next} !h {for (i = 1; i <= NF; i++) c[$$i] = i; h = 1; next} \
	        $$1 == "all" {print m "\t" $$c["algorithm"] "\t" $$c["ct_dedup"] "\t" $$c["max_group_share_dev"] "\t" $$c["max_chiplet_load_over_mean"]}' \
	        $(BUILD)/place/$$m-$$a.tsv; done; done >> $@.tmp
	@mv $@.tmp $@

# priors: OLMoE layer 7 (measured in the real data) with its Mozart placement
$(BUILD)/priors/olmoe.loads $(BUILD)/priors/olmoe.coact: $(BUILD)/trace/olmoe-1b-7b-0924-s256.mzt bin/mz-stat
	@mkdir -p $(@D)
	bin/mz-stat --loads $(BUILD)/priors/olmoe.loads --coact $(BUILD)/priors/olmoe.coact -o /dev/null $<
$(BUILD)/priors/olmoe.placement: $(BUILD)/trace/olmoe-1b-7b-0924-s256.mzt bin/mz-place
	@mkdir -p $(@D)
	bin/mz-place -a mozart -W $@ -o /dev/null $<
plots/priors-freq.tsv plots/priors-coact.tsv plots/priors-mozart.tsv: plots/priors.awk \
    $(BUILD)/priors/olmoe.loads $(BUILD)/priors/olmoe.coact $(BUILD)/priors/olmoe.placement
	awk -v layer=7 -v freq=plots/priors-freq.tsv -v coact=plots/priors-coact.tsv -v mozart=plots/priors-mozart.tsv \
	    -f plots/priors.awk $(BUILD)/priors/olmoe.loads $(BUILD)/priors/olmoe.coact $(BUILD)/priors/olmoe.placement

# ---- drawing
plots/priors.svg plots/priors.png: plots/priors-freq.tsv plots/priors-coact.tsv plots/priors-mozart.tsv
plots/placement.svg plots/placement.png: plots/placement.tsv

plots/%.svg: plots/%.gp plots/style.gp
	gnuplot -e "fmt='svg'; out='$@'" $<
plots/%.png: plots/%.gp plots/style.gp
	gnuplot -e "fmt='png'; out='$@'" $<

.PHONY: figures
