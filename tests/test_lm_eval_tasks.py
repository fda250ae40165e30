"""lm-evaluation-harness: a local task over generated data, `evaluate` on base and tuned, `report`, the callback."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from lightning_lora.__main__ import main
from lightning_lora.errors import UserError
from lightning_lora.evaluation.lm_eval_tasks import HarnessSettings, flat_metrics, run_harness, write_task

REPO = Path(__file__).resolve().parents[1]


def test_missing_lm_eval_and_bad_settings_are_one_sentence(monkeypatch):
    monkeypatch.setitem(sys.modules, "lm_eval", None)
    with pytest.raises(UserError, match=r"lm-evaluation-harness is not installed: pip install 'lightning_lora\[lm-eval\]'"):
        run_harness(None, None, HarnessSettings(tasks=["x"]))
    with pytest.raises(UserError, match="tasks must name at least one task"):
        HarnessSettings(tasks="")
    assert HarnessSettings(tasks="a,b").tasks == ["a", "b"]


lm_eval = pytest.importorskip("lm_eval", reason="lm-eval is an optional extra: pip install 'lightning_lora[lm-eval]'")


def test_a_local_task_over_generated_jsonl_scores_as_the_log_likelihoods_say(tmp_path, tiny_qwen2, tokenizer):
    """lm-eval's accuracy on a local multiple-choice task equals the share of rows where the right choice has
    the higher log-likelihood, computed here by hand."""
    import torch
    from transformers import AutoModelForCausalLM

    rows = [{"question": f"say {w}", "choices": [w, w[::-1] + "x"], "label": 0} for w in ("apple", "stone", "river")]
    data = tmp_path / "echo.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    write_task(tmp_path / "tasks", "echo_choice", data)
    model = AutoModelForCausalLM.from_pretrained(tiny_qwen2)
    result = run_harness(model, tokenizer, HarnessSettings(tasks=["echo_choice"], include_path=str(tmp_path / "tasks")))
    scores = result["tasks"]["echo_choice"]
    assert scores["n"] == 3 and scores["acc"] in (0.0, 1 / 3, 2 / 3, 1.0)
    # By hand: lm-eval moves the context's trailing newline into the continuation ("\n" + " " + choice).
    picks = []
    for row in rows:
        lls = []
        for choice in row["choices"]:
            context = tokenizer(row["question"])["input_ids"]
            full = tokenizer(f"{row['question']}\n {choice}")["input_ids"]
            with torch.no_grad():
                logits = model(torch.tensor([full])).logits.log_softmax(-1)[0]
            lls.append(sum(logits[i - 1, full[i]].item() for i in range(len(context), len(full))))
        picks.append(int(lls.index(max(lls)) == row["label"]))
    assert scores["acc"] == pytest.approx(sum(picks) / len(picks))
    assert set(flat_metrics(result)) == {"lm_eval/echo_choice/acc", "lm_eval/echo_choice/acc_norm"}


def test_unknown_task_is_one_line(in_tmp, capsys, tiny_qwen2):
    assert main(["evaluate", "--model", str(tiny_qwen2), "--tasks", "no_such_task_xyz", "--include_path", str(in_tmp)]) == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("error: lm-eval task(s) no_such_task_xyz not found")


def test_callback_scores_every_checkpoint_then_evaluate_and_report_compare_base_and_tuned(in_tmp, capsys):
    cfg = str(REPO / "configs" / "quickstart.yaml")
    assert main(["fit", "--config", cfg, "--run_name", "lm", "--trainer.max_steps", "20", "--checkpoint.every_n_train_steps",
                 "10", "--trainer.enable_progress_bar", "false", "--trainer.callbacks.settings.max_problems=2",
                 "--trainer.callbacks.settings.max_new_tokens=8",
                 "--trainer.callbacks+=lightning_lora.callbacks.lm_eval_tasks.HarnessCallback",
                 "--trainer.callbacks.settings.tasks=[synthetic_code_choice]", "--trainer.callbacks.settings.limit=6",
                 "--checkpoint.monitor", "lm_eval/synthetic_code_choice/acc", "--checkpoint.mode", "max",
                 "--checkpoint.save_top_k", "1"]) == 0
    run = in_tmp / "checkpoints" / "lm"
    for step in (10, 20):
        saved = json.loads((run / f"step{step:06d}.lm_eval.json").read_text())
        assert saved["step"] == step and saved["tasks"]["synthetic_code_choice"]["n"] == 6
    scores = json.loads((run / "scores.json").read_text())
    accs = {e["step"]: e["metrics"]["lm_eval/synthetic_code_choice/acc"] for e in scores.values()}
    assert len(list(run.glob("step*.ckpt"))) == 1 and json.loads((run / "best.json").read_text())["score"] == max(accs.values())

    common = ["--tasks", "synthetic_code_choice", "--limit", "6"]
    assert main(["evaluate", "--config", cfg, *common, "--output_dir", "base"]) == 0
    assert main(["evaluate", "--ckpt_path", str(run / "best"), *common, "--output_dir", "tuned"]) == 0
    tuned = json.loads((in_tmp / "tuned" / "lm_eval.json").read_text())
    assert tuned["tasks"]["synthetic_code_choice"]["acc"] == max(accs.values())  # same weights, same documents
    # both exports score what the checkpoint scores, loaded by --model as generate and chat load them
    for kind, extra in (("adapter", []), ("merged", ["--merge"])):
        assert main(["export", "--ckpt_path", str(run / "best"), "--output", f"exported-{kind}", *extra]) == 0
        assert main(["evaluate", "--model", f"exported-{kind}", *common, "--output_dir", f"via-{kind}"]) == 0
        exported = json.loads((in_tmp / f"via-{kind}" / "lm_eval.json").read_text())["tasks"]["synthetic_code_choice"]
        assert exported == tuned["tasks"]["synthetic_code_choice"], kind
    capsys.readouterr()
    assert main(["report", "--base", "base", "--tuned", "tuned"]) == 0
    table = capsys.readouterr().out
    assert "| lm_eval/synthetic_code_choice/acc |" in table and "| lm_eval/synthetic_code_choice/acc_norm |" in table
    assert main(["evaluate", "--config", cfg, "--tasks", "synthetic_code_choice", "--limit", "3", "--output_dir", "b3"]) == 0
    assert main(["report", "--base", "b3", "--tuned", "tuned"]) == 2  # different --limit: refused
    assert "different settings" in capsys.readouterr().err
