"""The code checker (kind ``code``): a program judged against its tests in the sandbox.

Modules, in pipeline order: :mod:`.extract` (find the program in a response),
:mod:`.judge` (run it against each test inside one borrowed sandbox box),
:mod:`.outputs` (compare what it printed or returned, outside the box), :mod:`.scorer`
(the engine's scorer: limits, retries, the reward). Execution itself — containers, the
pool, the in-container supervisor — is :mod:`sandbox`, which knows nothing of rewards.
"""

from rewards.code.extract import complete_with_prompt, extract_code
from rewards.code.scorer import CodeScorer, Maxima

__all__ = ["CodeScorer", "Maxima", "complete_with_prompt", "extract_code"]
