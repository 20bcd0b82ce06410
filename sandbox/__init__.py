"""Container-isolated execution of untrusted code: nothing here knows about rewards.

:mod:`.image` builds the sandbox image, :mod:`.box` is one container and its channel to
the in-container supervisor (:mod:`.guest`), :mod:`.pool` keeps warm boxes to lend,
:mod:`.languages` says how to compile and run each language. Judging a program against
its tests is :mod:`rewards.code`.
"""
