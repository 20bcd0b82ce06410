"""Policy-gradient trainer (Kimi k1.5 online mirror descent); arrives with its issue."""
