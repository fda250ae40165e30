"""Code benchmark: problem sets, sandboxed execution, pass@k, generation. No Lightning in here.

Modules: ``settings`` (the one settings schema), ``problems`` (jsonl / LiveCodeBench / HumanEval loaders),
``extract`` (code out of a reply), ``sandbox`` + ``cgroups`` (one contained program run), ``passk``
(unbiased estimator), ``scoring`` (samples -> results dict), ``runner`` (model -> samples -> results),
``run_files`` (problem sets by spec, results and ``best`` beside a checkpoint).
"""
