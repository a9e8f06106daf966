# gantt.mk: the schedule Gantt chart of one Qwen3 MoE layer, Baseline beside Mozart-C (to merge into figures.mk).
#
# Step 0 of the figures' Qwen3 trace (sequence 256), placed contiguously (Baseline) and by Mozart (C), scheduled,
# costed on the HBM2 wafer with a timeline of that step; plots/gantt.awk cuts layer $(GANTT_LAYER) (micro-batch 0)
# out of each timeline, forward (plots/gantt.*) and backward (plots/gantt-bwd.*).
# Add gantt gantt-bwd to FIGURES.

GANTT_LAYER ?= 24
GANTT_WAFER := wafer-qwen3-30b-a3b

$(BUILD)/gantt/qwen3-contiguous.mzt: $(BUILD)/trace/qwen3-30b-a3b-s256.mzt bin/mz-place
	@mkdir -p $(@D)
	bin/mz-place -a contiguous -s $(FIG_SEED) -o $@ $<
$(BUILD)/gantt/qwen3-mozart.mzt: $(BUILD)/trace/qwen3-30b-a3b-s256.mzt bin/mz-place
	@mkdir -p $(@D)
	bin/mz-place -a mozart -s $(FIG_SEED) -o $@ $<
$(BUILD)/gantt/baseline.mzs: $(BUILD)/gantt/qwen3-contiguous.mzt bin/mz-sched
	bin/mz-sched -V baseline -o $@ $<
$(BUILD)/gantt/c.mzs: $(BUILD)/gantt/qwen3-mozart.mzt bin/mz-sched
	bin/mz-sched -V C -o $@ $<
$(BUILD)/gantt/%.json: $(BUILD)/gantt/%.mzs bin/mz-cost models/$(GANTT_WAFER).wafer models/calibrated.wafer
	bin/mz-cost -w $(GANTT_WAFER) -T $@ --timeline-steps 0 -o /dev/null $<

# figure data: forward and backward of the layer
plots/gantt-baseline.tsv plots/gantt-c.tsv: plots/gantt-%.tsv: $(BUILD)/gantt/%.json plots/gantt.awk
	LC_ALL=C awk -v layer=$(GANTT_LAYER) -v dir=fwd -f plots/gantt.awk $< $< > $@.tmp && mv $@.tmp $@
plots/gantt-bwd-baseline.tsv plots/gantt-bwd-c.tsv: plots/gantt-bwd-%.tsv: $(BUILD)/gantt/%.json plots/gantt.awk
	LC_ALL=C awk -v layer=$(GANTT_LAYER) -v dir=bwd -f plots/gantt.awk $< $< > $@.tmp && mv $@.tmp $@

plots/gantt.svg plots/gantt.png: plots/gantt-baseline.tsv plots/gantt-c.tsv
plots/gantt-bwd.svg plots/gantt-bwd.png: plots/gantt-bwd-baseline.tsv plots/gantt-bwd-c.tsv plots/gantt.gp
