"""Where weights come from, with no Lightning: ``loading`` (a hub id, a folder, a ``.gguf`` file, ``tiny:<arch>``,
``real:<name>``), ``registry`` (the fetchable real models), ``fetch`` (fetching and converting them), ``tiny``
(random-init models for tests and the quickstart), ``methods`` (LoRA / DoRA / IA3 / full / BitFit / any PEFT
config applied to a model, and parameter counts), ``gguf_writer`` and ``gguf_tokenizer`` (a causal LM or a LoRA
adapter written as a GGUF file, for ``export`` and the ``llamacpp`` engine).
"""
