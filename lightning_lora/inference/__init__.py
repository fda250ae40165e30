"""Prompt in, text out, with no Lightning: ``prompting`` (the one prompt format shared by training and the
benchmark) and ``generation`` (options, streaming, batches, chat history).
"""
