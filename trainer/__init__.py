"""Training: reward models on preference pairs (``reward_model``, ``verirl train-rm``) now;
the policy-gradient trainer (Kimi k1.5 online mirror descent) arrives with its issue."""
