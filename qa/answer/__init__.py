"""Answering: retrieve, read the sentences, decide the outcome, compose the cited answer."""
