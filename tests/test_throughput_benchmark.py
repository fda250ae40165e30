"""benchmarks/throughput.py's bookkeeping: rows, the ratios the goals are stated in, the quick options."""

import importlib.util
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def throughput():
    spec = importlib.util.spec_from_file_location("throughput_benchmark", REPO / "benchmarks" / "throughput.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(config, model, precision, seconds, eval_loss=8.0):
    return {"config": config, "model": model, "precision": precision, "seconds": seconds, "cpu_seconds": seconds * 2,
            "target_tokens": 1000, "batch_tokens": 2000, "peak_rss_mb": 100.0, "peak_rss_train_mb": 80.0,
            "eval_loss": eval_loss, "train_loss_last5": 8.5}


def test_rows_and_ratios_compare_within_model_and_precision_and_bf16_against_fp32(throughput, capsys):
    results = {}
    for config, model, precision, seconds in [("hf-dynamic", "small", "fp32", 4.0), ("lightning_lora", "small", "fp32", 2.0),
                                              ("hf-dynamic", "small", "bf16", 3.0), ("lightning_lora", "small", "bf16", 1.0)]:
        results[throughput.row_name(config, model, precision)] = [_run(config, model, precision, s)
                                                                  for s in (seconds, seconds * 2, seconds / 2)]
    rows = throughput.summarize(results, {"small": 1e12}, {"fp32": 1e11, "bf16": 1e12})
    ours = rows["lightning_lora bf16 [small]"]
    assert ours["target_tokens_per_s"] == {"median": 1000.0, "min": 500.0, "max": 2000.0}
    assert ours["mfu"] == pytest.approx(1.0) and ours["mfu_vs_fp32_peak"] == pytest.approx(10.0)
    assert (ours["peak_rss_mb"], ours["peak_rss_train_mb"]) == (100.0, 80.0)
    ratios = {(r["row"], r["vs"]): r["tokens_per_s"] for r in throughput.compare(rows)}
    assert ratios == {("lightning_lora fp32 [small]", "hf-dynamic fp32 [small]"): pytest.approx(2.0),
                      ("lightning_lora bf16 [small]", "hf-dynamic bf16 [small]"): pytest.approx(3.0),
                      ("lightning_lora bf16 [small]", "lightning_lora fp32 [small]"): pytest.approx(2.0)}
    throughput.table(rows, throughput.compare(rows))
    assert "| lightning_lora bf16 [small] | hf-dynamic bf16 [small] | 3.00x |" in capsys.readouterr().out


def test_quick_shortens_the_run_and_bad_counts_are_one_error_line(throughput, capsys):
    args = throughput.parse_args(["--quick"])
    assert (args.samples, args.smollm2_samples, args.repeats) == (16, 8, 1)
    with pytest.raises(SystemExit):
        throughput.parse_args(["--repeats", "0"])
    assert "--repeats must be at least 1" in capsys.readouterr().err


def test_the_real_qwen_is_off_by_default_and_its_options_parse_without_loading_it(throughput, capsys):
    args = throughput.parse_args([])
    assert args.qwen_configs == [] and args.qwen_precisions == ["bf16"]
    assert (args.qwen_samples, args.qwen_batch_size, args.qwen_max_length) == (16, 4, 512)
    args = throughput.parse_args(["--configs", "--smollm2_configs", "--qwen_configs", *throughput.QWEN_CONFIGS,
                                  "--qwen_samples", "4", "--qwen_batch_size", "2", "--qwen_precisions", "fp32", "bf16"])
    assert (args.configs, args.smollm2_configs, args.qwen_configs) == ([], [], ["hf-dynamic", "lightning_lora"])
    assert (args.qwen_samples, args.qwen_batch_size, args.qwen_precisions) == (4, 2, ["fp32", "bf16"])
    assert throughput.parse_args(["--quick"]).qwen_samples == 4
    for bad, message in ((["--qwen_batch_size", "0"], "--qwen_batch_size must be at least 1"),
                         (["--qwen_max_length", "64"], "--qwen_max_length must be at least 128")):
        with pytest.raises(SystemExit):
            throughput.parse_args(bad)
        assert message in capsys.readouterr().err


def test_an_unfetched_real_qwen_stops_with_one_line_saying_how_to_fetch_it(throughput, tmp_path, monkeypatch):
    monkeypatch.setenv("LIGHTNING_LORA_CACHE", str(tmp_path))
    with pytest.raises(SystemExit) as stop:
        throughput.main(["--configs", "--smollm2_configs", "--qwen_configs", "lightning_lora",
                         "--workdir", str(tmp_path / "work")])
    assert "`python -m lightning_lora models fetch qwen2.5-coder-0.5b-instruct`" in str(stop.value)
    assert "\n" not in str(stop.value) and not (tmp_path / "work").exists()
