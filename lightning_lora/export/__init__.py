"""Exports other tools load: ``writer`` (a PEFT adapter folder or a merged model folder, with the prompt format),
``model_card`` (the README an export carries). No Lightning here.
"""
