"""Hostile and broken submissions for the sandboxed grader (tests/test_grader_robustness.py).

Each :class:`Case` builds one student's submission folder from the released
notebook of ``ex00_example`` or of ``ex99_corpus`` — a two-question copy of
ex00 made here (see :func:`corpus_source`) so that "answers before a crash keep
their points" can be checked — and says what the grade must be and which
plain-language note must explain it. Attack code is kept tiny so one batched
``autograde --jobs 2`` run grades all of them in about a minute.
"""
