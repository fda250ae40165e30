"""Exports other tools load: ``writer`` (a PEFT adapter folder or a merged model folder, with the prompt format),
``gguf`` (the merged model, or the LoRA adapter alone, as a GGUF file), ``model_card`` (the README an export
carries). No Lightning here.
"""
