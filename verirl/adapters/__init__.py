"""Thin adapters for RL trainers: TRL reward functions, verl compute_score, OpenRLHF HTTP."""
