#!/usr/bin/env bats
# model-families.bats: every MoE config family of test/data/ is read as its config says (the @MD line), runs the main job, and a dense or unknown layout is refused.

load helper

DATA="$TOP/test/data"

# The @MD line mz-trace writes for config FILE.
md_of() {
    mz-trace -m "$1" -n 1 -b 1 -L 2 -t | grep '^@MD'
}

@test "families: each config gives the @MD line of test/data/families.md (MZ_REGEN=1 rewrites it)" {
    out=families.md
    for f in "$DATA"/*.json; do
        case $(basename "$f") in llama-3.1-8b.json | gpt2.json) continue ;; esac
        md_of "$f" >> $out
    done
    if [ -n "$MZ_REGEN" ]; then cp $out "$DATA/families.md"; fi
    run diff "$DATA/families.md" $out
    assert_success
}

@test "families: Llama-4 keeps its shared expert nested or flattened, and its dense blocks" {
    run md_of "$DATA/llama-4-scout-17b-16e-instruct.json"
    assert_output --partial "experts:16	shared:1	topk:1"
    run md_of "$DATA/llama-4-scout-text-flat.json"
    assert_output --partial "experts:16	shared:1	topk:1"
    run md_of "$DATA/llama-4-maverick-17b-128e-instruct.json"
    assert_output --partial "moe:1,3,5,"
    assert_output --partial "dense_ffn:16384"
}

@test "families: quantization_config gives the bytes per weight (FP8, GPTQ, AWQ, MXFP4; FP16 without one)" {
    run md_of "$DATA/kimi-k2-instruct.json"
    assert_output --partial "quant:fp8	weight_bytes:1	other_weight_bytes:1	act_bytes:1"
    run md_of deepseek-v3
    assert_output --partial "quant:fp8	weight_bytes:1"
    run md_of "$DATA/qwen1.5-moe-a2.7b-chat-gptq-int4.json"
    assert_output --partial "quant:gptq	weight_bytes:0.5	other_weight_bytes:0.5	act_bytes:2"
    run md_of "$DATA/mixtral-8x7b-instruct-v0.1-awq.json"
    assert_output --partial "quant:awq	weight_bytes:0.5"
    run md_of "$DATA/gpt-oss-20b.json"
    assert_output --partial "quant:mxfp4	weight_bytes:0.53125	other_weight_bytes:2	act_bytes:2"
    run md_of qwen3-30b-a3b
    refute_output --partial "weight_bytes"
}

@test "families: gpt-oss's sliding-window layers, from layer_types" {
    run md_of "$DATA/gpt-oss-20b.json"
    assert_output --partial "sliding:0,2,4,6,8,10,12,14,16,18,20,22	window:128"
}

@test "families: a dense model and an unknown layout are refused, naming the family and the field" {
    run mz-trace -m "$DATA/llama-3.1-8b.json" -n 1
    assert_failure 1
    assert_output --partial "llama-3.1-8b.json: missing field 'num_experts' or 'n_routed_experts' or 'num_local_experts' (family llama, LlamaForCausalLM): a dense model?"
    run mz-trace -m "$DATA/gpt2.json" -n 1
    assert_failure 1
    assert_output --partial "gpt2.json: missing field 'num_hidden_layers' (family gpt2, GPT2LMHeadModel)"
    # a nested config names the nested field (a file in the current directory is ./FILE: a name
    # without '/' is a catalogue name)
    sed 's/"num_local_experts": 16,//' "$DATA/llama-4-scout-17b-16e-instruct.json" > scout.json
    run mz-trace -m ./scout.json -n 1
    assert_failure 1
    assert_output --partial "missing field 'text_config.num_experts' or 'text_config.n_routed_experts' or 'text_config.num_local_experts' (family llama4_text, Llama4ForConditionalGeneration)"
    run mz-trace -m scout.json -n 1
    assert_failure 1
    assert_output --partial "scout.json: not found in the catalogue"
    assert_output --partial "write ./scout.json"
    sed 's/"quant_method": "mxfp4"/"quant_method": "hqq"/' "$DATA/gpt-oss-20b.json" > oss.json
    run mz-trace -m ./oss.json -n 1
    assert_failure 1
    assert_output --partial "quantization_config: unknown quant_method 'hqq'"
}

@test "families: mz-speedup -m FILE runs the main job for every family" {
    for f in "$DATA"/*.json; do
        case $(basename "$f") in llama-3.1-8b.json | gpt2.json) continue ;; esac
        c=16
        case $(basename "$f") in mixtral-*) c=8 ;; esac
        run mz-speedup -m "$f" -n 1 -b 4 -L 64 -c $c
        [ "$status" -eq 0 ] || { echo "$f: $output"; return 1; }
        [ "$(echo "$output" | grep -c 'Mozart-C')" -eq 1 ] || { echo "$f: $output"; return 1; }
    done
}
