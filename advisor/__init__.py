"""The advice: the questionnaire, the rules with their sources, the estimates, the recommendation.

Importing this package is cheap on purpose: it never imports torch, transformers, faiss or
textual at module level.
"""
