"""What a code problem is and where problems come from, with no torch: ``sources`` (local jsonl, HumanEval,
LiveCodeBench) and ``synthetic`` (the quickstart's generated data: training rows and held-out problems).
"""
