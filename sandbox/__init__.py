"""Container-isolated execution of untrusted code (arrives with issue 4)."""
