"""Answering: from a question (and the conversation) to a cited `Answer`.

`question` checks and reads the question, `followup` resolves it against the conversation,
`retrieve` proposes candidate sentences (dense + BM25), the answerers in `answerers/` decide
(the default one with the trained reader), and `verify` vets generated wording sentence by
sentence before anyone sees it.
"""
