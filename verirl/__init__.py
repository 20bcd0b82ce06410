"""verirl: verifiable rewards for RL on language models (CLI, server, client)."""

__version__ = "0.1.0"
