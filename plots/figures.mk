# figures.mk: the README's figures, rebuilt through the pipeline by make (included by the Makefile).
#
# Every intermediate file is a real target under build/ (traces, placements,
# schedules, costs), named after its design point, so that `make -j2 figures`
# runs independent points in parallel and rebuilds only what an edit touches.
# A figure is plots/NAME.gp over plots/NAME*.tsv, drawn as SVG and PNG.

# C locale for every tool, awk and gnuplot: the same bytes everywhere
export LC_ALL = C.UTF-8

FIG_STEPS ?= 2
FIG_SEED  ?= 1
BUILD     ?= build
PAPER_MODELS := qwen3-30b-a3b olmoe-1b-7b-0924 deepseek-moe-16b-base
PLACE_ALGOS  := contiguous round-robin random balanced mozart ctswap
SEQS         := 128 256 512
VARIANTS     := baseline A B C
CHIPLET_GEOMS := c16g4 c32g4 c32g8 c64g4 c64g8 c64g16
BANDWIDTHS   := 64 128 256 512 1024

FIGURES := main seqmem breakdown energy pareto gantt gantt-bwd priors placement chiplets topology bandwidth newmodel
FIG_FILES := $(foreach f,$(FIGURES),plots/$(f).svg plots/$(f).png)

figures: $(FIG_FILES)
# one target per figure: make fig-main, make fig-seqmem, ...
$(addprefix fig-,$(FIGURES)): fig-%: plots/%.svg plots/%.png

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

# ---- the timing pipeline: placed traces, schedules, cost tables.
# Design point names: MODEL-sSEQ[-cCgG] (a trace and its chiplet geometry),
# then -VARIANT for schedules, then -WAFER for costs (hbm2, ssd, mesh, bwN).
# Baseline, A and B use the contiguous layout, C Mozart's clustering.
$(BUILD)/placed/%-contiguous.mzt: $(BUILD)/trace/%.mzt bin/mz-place
	@mkdir -p $(@D)
	bin/mz-place -a contiguous -u -o $@ $<
$(BUILD)/placed/%-mozart.mzt: $(BUILD)/trace/%.mzt bin/mz-place
	@mkdir -p $(@D)
	bin/mz-place -a mozart -u -o $@ $<
# other chiplet counts and groups (the trace is the 16-chiplet one's)
define geom_rule
$(BUILD)/placed/$(1)-s256-$(2)-$(3).mzt: $(BUILD)/trace/$(1)-s256.mzt bin/mz-place
	@mkdir -p $$(@D)
	bin/mz-place -a $(3) -c $(patsubst c%,%,$(firstword $(subst g, ,$(2)))) -g $(lastword $(subst g, ,$(2))) -u -o $$@ $$<
endef
$(foreach g,$(CHIPLET_GEOMS),$(foreach a,contiguous mozart,$(eval $(call geom_rule,qwen3-30b-a3b,$(g),$(a)))))

# schedules are made for the model's wafer (its SRAM decides the order and the prefetch depth);
# the stem is MODEL-sSEQ[-cCgG]: its model is what comes before "-s"
sched_model = $(firstword $(subst -s, ,$(1)))
define sched_rule
$(BUILD)/sched/%-$(1).mzs: $(BUILD)/placed/%-$(2).mzt bin/mz-sched models/calibrated.wafer
	@mkdir -p $$(@D)
	bin/mz-sched -V $(1) -w $$(call wafer_of,$$(call sched_model,$$*)) -u -o $$@ $$<
endef
$(eval $(call sched_rule,baseline,contiguous))
$(eval $(call sched_rule,A,contiguous))
$(eval $(call sched_rule,B,contiguous))
$(eval $(call sched_rule,C,mozart))

# the model's own wafer design, else Qwen3's (the largest); a DRAM bandwidth sweep sets the stacks' rate
wafer_of = $(if $(wildcard models/wafer-$(1).wafer),wafer-$(1),wafer-qwen3-30b-a3b)
wafer_args = $(if $(filter ssd,$(2)),-w ssd,$(if $(filter mesh,$(2)),-w mesh,$(if $(filter bw%,$(2)),-S memory.bandwidth_GBps=$(patsubst bw%,%,$(2)))))
geom_args = $(if $(1),-S topology.expert_chiplets=$(patsubst c%,%,$(firstword $(subst g, ,$(1)))) -S topology.switches=$(lastword $(subst g, ,$(1))))
# cost_rule MODEL SEQ GEOM(or empty) VARIANT WAFER
define cost_rule
$(BUILD)/cost/$(1)-s$(2)$(if $(3),-$(3))-$(4)-$(5).tsv: $(BUILD)/sched/$(1)-s$(2)$(if $(3),-$(3))-$(4).mzs bin/mz-cost \
    models/calibrated.wafer models/$(call wafer_of,$(1)).wafer $(if $(filter ssd mesh,$(5)),models/$(5).wafer)
	@mkdir -p $$(@D)
	bin/mz-cost -w $(call wafer_of,$(1)) $(call wafer_args,$(1),$(5)) $(call geom_args,$(3)) -b $$(@:.tsv=.breakdown) -o $$@ $$<
endef
cost_file = $(BUILD)/cost/$(1)-s$(2)$(if $(3),-$(3))-$(4)-$(5).tsv
COSTS_SEQMEM := $(foreach m,$(PAPER_MODELS),$(foreach s,$(SEQS),$(foreach w,hbm2 ssd,$(foreach v,$(VARIANTS),$(call cost_file,$(m),$(s),,$(v),$(w))))))
COSTS_MESH   := $(foreach m,$(PAPER_MODELS),$(foreach v,$(VARIANTS),$(call cost_file,$(m),256,,$(v),mesh)))
COSTS_GEOM   := $(foreach g,$(CHIPLET_GEOMS),$(foreach v,$(VARIANTS),$(call cost_file,qwen3-30b-a3b,256,$(g),$(v),hbm2)))
COSTS_BW     := $(foreach b,$(BANDWIDTHS),$(foreach v,$(VARIANTS),$(call cost_file,qwen3-30b-a3b,256,,$(v),bw$(b))))
COSTS_NEW    := $(foreach v,$(VARIANTS),$(call cost_file,deepseek-v3,256,,$(v),hbm2))
$(foreach m,$(PAPER_MODELS),$(foreach s,$(SEQS),$(foreach w,hbm2 ssd,$(foreach v,$(VARIANTS),$(eval $(call cost_rule,$(m),$(s),,$(v),$(w)))))))
$(foreach m,$(PAPER_MODELS),$(foreach v,$(VARIANTS),$(eval $(call cost_rule,$(m),256,,$(v),mesh))))
$(foreach g,$(CHIPLET_GEOMS),$(foreach v,$(VARIANTS),$(eval $(call cost_rule,qwen3-30b-a3b,256,$(g),$(v),hbm2))))
$(foreach b,$(BANDWIDTHS),$(foreach v,$(VARIANTS),$(eval $(call cost_rule,qwen3-30b-a3b,256,,$(v),bw$(b)))))
$(foreach v,$(VARIANTS),$(eval $(call cost_rule,deepseek-v3,256,,$(v),hbm2)))

# costs.tsv: one row per design point (KEYS... variant latency_s ct), then
# normalized and speedup against the Baseline of the same point
# summarise KEYS-HEADER, then lines "FILE KEY..." on stdin
summarise = awk -f plots/costs.awk

# ---- figure data
# design points -> one table: lines "COST-FILE KEY..." into costs.awk
COSTS_AWK = awk -v keys="$(1)" -f plots/costs.awk > $@.tmp && mv $@.tmp $@
plots/seqmem.tsv: $(COSTS_SEQMEM) plots/costs.awk
	@for m in $(PAPER_MODELS); do for s in $(SEQS); do for w in hbm2 ssd; do for v in $(VARIANTS); do \
	    printf '%s\t%s\t%s\t%s\n' $(BUILD)/cost/$$m-s$$s-$$v-$$w.tsv $$m $$s $$w; done; done; done; done | \
	    $(call COSTS_AWK,model	seq_len	memory)
plots/topology.tsv: $(COSTS_MESH) $(filter %-s256-baseline-hbm2.tsv %-s256-A-hbm2.tsv %-s256-B-hbm2.tsv %-s256-C-hbm2.tsv,$(COSTS_SEQMEM)) plots/costs.awk
	@for m in $(PAPER_MODELS); do for w in hbm2:tree mesh:mesh; do for v in $(VARIANTS); do \
	    printf '%s\t%s\t%s\n' $(BUILD)/cost/$$m-s256-$$v-$${w%:*}.tsv $$m $${w#*:}; done; done; done | \
	    $(call COSTS_AWK,model	topology)
plots/chiplets.tsv: $(COSTS_GEOM) plots/costs.awk
	@for g in $(CHIPLET_GEOMS); do for v in $(VARIANTS); do \
	    c=$${g#c}; printf '%s\t%s\t%s\n' $(BUILD)/cost/qwen3-30b-a3b-s256-$$g-$$v-hbm2.tsv $${c%g*} $${g#*g}; done; done | \
	    $(call COSTS_AWK,chiplets	groups)
plots/bandwidth.tsv: $(COSTS_BW) plots/costs.awk
	@for b in $(BANDWIDTHS); do for v in $(VARIANTS); do \
	    printf '%s\t%s\n' $(BUILD)/cost/qwen3-30b-a3b-s256-$$v-bw$$b.tsv $$b; done; done | \
	    $(call COSTS_AWK,bandwidth_GBps)
plots/newmodel.tsv: $(COSTS_NEW) plots/costs.awk
	@for v in $(VARIANTS); do printf '%s\t%s\n' $(BUILD)/cost/deepseek-v3-s256-$$v-hbm2.tsv deepseek-v3; done | \
	    $(call COSTS_AWK,model)
# main: sequence 256 on HBM2, beside the paper's Table 4 (models/paper.tsv)
plots/main.tsv: plots/seqmem.tsv models/paper.tsv
	@awk -F'\t' -v OFS='\t' '/^#/ {next} !(FILENAME in hdr) {hdr[FILENAME] = 1; for (i = 1; i <= NF; i++) c[FILENAME, $$i] = i; next} \
	    FILENAME ~ /paper/ {if ($$c[FILENAME, "memory"] == "hbm2" && $$c[FILENAME, "seq_len"] == 256) \
	        p[$$1, $$c[FILENAME, "variant"]] = $$c[FILENAME, "normalized"] OFS $$c[FILENAME, "ct"] OFS $$c[FILENAME, "speedup"] OFS $$c[FILENAME, "latency_s"]; next} \
	    !h {print "model", "variant", "latency_s", "normalized", "speedup", "ct", "paper_normalized", "paper_ct", "paper_speedup", "paper_latency_s"; h = 1} \
	    $$c[FILENAME, "seq_len"] == 256 && $$c[FILENAME, "memory"] == "hbm2" {k = $$1 SUBSEP $$c[FILENAME, "variant"]; \
	        print $$1, $$c[FILENAME, "variant"], $$c[FILENAME, "latency_s"], $$c[FILENAME, "normalized"], $$c[FILENAME, "speedup"], $$c[FILENAME, "ct"], (k in p ? p[k] : "NA\tNA\tNA\tNA")}' \
	    models/paper.tsv plots/seqmem.tsv > $@.tmp && mv $@.tmp $@
# breakdown: per model and variant, each category's exposed and total seconds
# per step (the mean over steps of mz-cost -b's "all" rows), and the running sum
# of exposed time in category order (the top of each stacked bar)
BREAKDOWNS := $(foreach m,$(PAPER_MODELS),$(foreach v,$(VARIANTS),$(BUILD)/cost/$(m)-s256-$(v)-hbm2.breakdown))
plots/breakdown.tsv: $(foreach m,$(PAPER_MODELS),$(foreach v,$(VARIANTS),$(call cost_file,$(m),256,,$(v),hbm2)))
	@printf 'model\tvariant\tcategory\texposed_s\ttotal_s\tstacked_s\n' > $@.tmp
	@for m in $(PAPER_MODELS); do for v in $(VARIANTS); do \
	    awk -F'\t' -v OFS='\t' -v m=$$m -v v=$$v '/^#/ || $$1 == "step" {next} \
	        $$2 == "all" && $$3 != "static" {if (!($$3 in e)) o[++n] = $$3; e[$$3] += $$5; t[$$3] += $$4; s[$$1] = 1} \
	        END {ns = length(s); for (i = 1; i <= n; i++) {c += e[o[i]] / ns; printf "%s\t%s\t%s\t%.4f\t%.4f\t%.4f\n", m, (v == "baseline" ? "Baseline" : "Mozart-" v), o[i], e[o[i]] / ns, t[o[i]] / ns, c}}' \
	        $(BUILD)/cost/$$m-s256-$$v-hbm2.breakdown; done; done >> $@.tmp
	@mv $@.tmp $@

# energy: per model and variant, each category's joules per step (mz-cost -b's
# energy_J of the "all" rows, static leakage included), and the running sum
plots/energy.tsv: $(foreach m,$(PAPER_MODELS),$(foreach v,$(VARIANTS),$(call cost_file,$(m),256,,$(v),hbm2)))
	@printf 'model\tvariant\tcategory\tenergy_J\tstacked_J\tdynamic_stacked_J\n' > $@.tmp
	@for m in $(PAPER_MODELS); do for v in $(VARIANTS); do \
	    awk -F'\t' -v OFS='\t' -v m=$$m -v v=$$v '/^#/ {next} $$1 == "step" {for (i = 1; i <= NF; i++) c[$$i] = i; next} \
	        $$2 == "all" {if (!($$3 in e)) o[++n] = $$3; e[$$3] += $$c["energy_J"]; s[$$1] = 1} \
	        END {if (!("energy_J" in c)) {print "energy.tsv: no energy_J column" > "/dev/stderr"; exit 1} \
	            ns = length(s); for (i = 1; i <= n; i++) {t += e[o[i]] / ns; if (o[i] != "static") d += e[o[i]] / ns; \
	            printf "%s\t%s\t%s\t%.3f\t%.3f\t%s\n", m, (v == "baseline" ? "Baseline" : "Mozart-" v), o[i], e[o[i]] / ns, t, (o[i] == "static" ? "NA" : sprintf("%.3f", d))}}' \
	        $(BUILD)/cost/$$m-s256-$$v-hbm2.breakdown || exit 1; done; done >> $@.tmp
	@mv $@.tmp $@
# pareto: Qwen3's design points (chiplets and groups, the mesh, DRAM bandwidth) as
# latency against area and power, with each variant's Pareto front
plots/pareto.tsv: $(COSTS_GEOM) $(COSTS_BW) $(filter qwen3-30b-a3b%,$(COSTS_MESH)) plots/pareto.awk
	@for v in $(VARIANTS); do \
	    printf '%s\t%s\n' $(BUILD)/cost/qwen3-30b-a3b-s256-$$v-mesh.tsv mesh; \
	    for g in $(CHIPLET_GEOMS); do printf '%s\t%s\n' $(BUILD)/cost/qwen3-30b-a3b-s256-$$g-$$v-hbm2.tsv $$g; done; \
	    for b in $(BANDWIDTHS); do printf '%s\t%s\n' $(BUILD)/cost/qwen3-30b-a3b-s256-$$v-bw$$b.tsv bw$$b; done; done | \
	    awk -f plots/pareto.awk > $@.tmp && mv $@.tmp $@

# placement: the all row of every report (no timing columns: reproducible)
plots/placement.tsv: $(foreach m,$(PLACE_MODELS),$(foreach a,$(PLACE_ALGOS),$(BUILD)/place/$(m)-$(a).tsv))
	@printf 'model\talgorithm\tct_dedup\tmax_group_share_dev\tmax_chiplet_load_over_mean\n' > $@.tmp
	@for m in $(PLACE_MODELS); do for a in $(PLACE_ALGOS); do \
	    awk -F'\t' -v m=$$m '/^#/ {next} !h {for (i = 1; i <= NF; i++) c[$$i] = i; h = 1; next} \
	        $$1 == "all" {print m "\t" $$c["algorithm"] "\t" $$c["ct_dedup"] "\t" $$c["max_group_share_dev"] "\t" $$c["max_chiplet_load_over_mean"]}' \
	        $(BUILD)/place/$$m-$$a.tsv; done; done >> $@.tmp
	@mv $@.tmp $@

# priors: OLMoE layer 7 (measured in the real data) with its Mozart placement
$(BUILD)/priors/olmoe.loads $(BUILD)/priors/olmoe.coact &: $(BUILD)/trace/olmoe-1b-7b-0924-s256.mzt bin/mz-stat
	@mkdir -p $(@D)
	bin/mz-stat --loads $(BUILD)/priors/olmoe.loads --coact $(BUILD)/priors/olmoe.coact -o /dev/null $<
$(BUILD)/priors/olmoe.placement: $(BUILD)/trace/olmoe-1b-7b-0924-s256.mzt bin/mz-place
	@mkdir -p $(@D)
	bin/mz-place -a mozart -W $@ -o /dev/null $<
plots/priors-freq.tsv plots/priors-coact.tsv plots/priors-mozart.tsv &: plots/priors.awk \
    $(BUILD)/priors/olmoe.loads $(BUILD)/priors/olmoe.coact $(BUILD)/priors/olmoe.placement
	awk -v layer=7 -v freq=plots/priors-freq.tsv -v coact=plots/priors-coact.tsv -v mozart=plots/priors-mozart.tsv \
	    -f plots/priors.awk $(BUILD)/priors/olmoe.loads $(BUILD)/priors/olmoe.coact $(BUILD)/priors/olmoe.placement

# ---- gantt: one Qwen3 MoE layer of one micro-batch (step 0), Baseline beside Mozart-C,
# from the timelines of the sequence-256 HBM2 schedules above
GANTT_LAYER ?= 24
$(BUILD)/gantt/baseline.json: $(BUILD)/sched/qwen3-30b-a3b-s256-baseline.mzs
$(BUILD)/gantt/c.json: $(BUILD)/sched/qwen3-30b-a3b-s256-C.mzs
$(BUILD)/gantt/baseline.json $(BUILD)/gantt/c.json: bin/mz-cost models/wafer-qwen3-30b-a3b.wafer models/calibrated.wafer
	@mkdir -p $(@D)
	bin/mz-cost -w wafer-qwen3-30b-a3b -T $@ --timeline-steps 0 -o /dev/null $(filter %.mzs,$^)
plots/gantt-baseline.tsv plots/gantt-c.tsv: plots/gantt-%.tsv: $(BUILD)/gantt/%.json plots/gantt.awk
	awk -v layer=$(GANTT_LAYER) -v dir=fwd -f plots/gantt.awk $< $< > $@.tmp && mv $@.tmp $@
plots/gantt-bwd-baseline.tsv plots/gantt-bwd-c.tsv: plots/gantt-bwd-%.tsv: $(BUILD)/gantt/%.json plots/gantt.awk
	awk -v layer=$(GANTT_LAYER) -v dir=bwd -f plots/gantt.awk $< $< > $@.tmp && mv $@.tmp $@

# ---- drawing
plots/priors.svg plots/priors.png: plots/priors-freq.tsv plots/priors-coact.tsv plots/priors-mozart.tsv
plots/placement.svg plots/placement.png: plots/placement.tsv
plots/main.svg plots/main.png: plots/main.tsv
plots/seqmem.svg plots/seqmem.png: plots/seqmem.tsv
plots/breakdown.svg plots/breakdown.png: plots/breakdown.tsv
plots/energy.svg plots/energy.png: plots/energy.tsv
plots/pareto.svg plots/pareto.png: plots/pareto.tsv
plots/chiplets.svg plots/chiplets.png: plots/chiplets.tsv
plots/topology.svg plots/topology.png: plots/topology.tsv
plots/bandwidth.svg plots/bandwidth.png: plots/bandwidth.tsv
plots/newmodel.svg plots/newmodel.png: plots/newmodel.tsv
plots/gantt.svg plots/gantt.png: plots/gantt-baseline.tsv plots/gantt-c.tsv
plots/gantt-bwd.svg plots/gantt-bwd.png: plots/gantt-bwd-baseline.tsv plots/gantt-bwd-c.tsv plots/gantt.gp

plots/%.svg: plots/%.gp plots/style.gp
	gnuplot -e "fmt='svg'; out='$@'" $<
plots/%.png: plots/%.gp plots/style.gp
	gnuplot -e "fmt='png'; out='$@'" $<

# every intermediate is kept: a second make does nothing
.SECONDARY:
.PHONY: figures $(addprefix fig-,$(FIGURES))

# ---- make validate: the paper's numbers beside the model's; fails outside tolerance
# then the area and energy model's predictions (issue 13): the three designs' area and power beside the
# paper's, and each variant's joules per step by phase (reported, never failing)
VALIDATE_COSTS := $(foreach m,$(PAPER_MODELS),$(foreach v,$(VARIANTS),$(call cost_file,$(m),256,,$(v),hbm2)))
$(BUILD)/area/%.area: bin/mz-cost models/wafer-%.wafer models/tech-28nm.wafer
	@mkdir -p $(@D)
	bin/mz-cost --area -w wafer-$* -o $@
validate: plots/seqmem.tsv models/paper.tsv plots/validate.awk models/paper-area-power.tsv plots/validate-power.awk \
    $(foreach m,$(PAPER_MODELS),$(BUILD)/area/$(m).area) $(VALIDATE_COSTS)
	@echo "The paper's numbers beside the model's ($(FIG_STEPS) steps, seed $(FIG_SEED)):"
	@awk -f plots/validate.awk models/paper.tsv plots/seqmem.tsv; st=$$?; \
	    awk -f plots/validate-power.awk models/paper-area-power.tsv $(foreach m,$(PAPER_MODELS),$(BUILD)/area/$(m).area) \
	        $(VALIDATE_COSTS) $(VALIDATE_COSTS:.tsv=.breakdown) || st=1; exit $$st
.PHONY: validate
