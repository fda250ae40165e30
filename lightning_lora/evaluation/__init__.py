"""Scorers other than the code benchmark, with no Lightning: ``metrics`` (classification, SQuAD v2, BLEU /
ROUGE-L / METEOR) and ``lm_eval_tasks`` (lm-evaluation-harness tasks on a model object).
"""
