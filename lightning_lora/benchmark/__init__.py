"""The code benchmark: sandboxed execution, verdicts decided outside the sandbox, pass@k. No Lightning here.

``settings`` (the one settings schema), ``extract`` (code out of a reply), ``sandbox`` + ``cgroups`` (one contained
program run), ``candidate_driver`` (what runs inside the sandbox for function problems), ``checks`` +
``plaindata`` + ``function_verdicts`` (HumanEval-style verdicts decided in the trusted process), ``passk``
(unbiased estimator), ``scoring`` (samples -> results), ``runner`` (model -> samples -> results), ``run_results``
(problem sets by spec, the results files beside a checkpoint). Problems themselves are :mod:`lightning_lora.problems`.
"""
