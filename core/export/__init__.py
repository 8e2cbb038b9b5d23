"""Training-data export: SFT conversations and verifier (ORM) conversations from rollouts.

``swegym.export.sft`` and ``swegym.export.orm`` hold the logic; ``swegym export`` the CLI.
Submodules import nothing heavy (a tokenizer is loaded only when a length filter asks for one).
"""
