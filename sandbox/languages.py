"""The languages the sandbox runs, one declarative entry each.

``{memory_mb}`` in a command is replaced by the test's memory limit. Runtimes that
reserve large virtual address ranges (the JVM, V8) cannot live under an address-space
rlimit; for them the limit goes on the command line and the container's memory cgroup
is the backstop.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Language:
    name: str
    file: str  # the source file name inside the submission directory
    run: tuple[str, ...]
    compile: tuple[str, ...] | None = None
    address_space_limit: bool = True  # RLIMIT_AS = the memory limit
    processes: int = 64  # RLIMIT_NPROC: threads count too, so the JVM needs more
    warm_python: bool = False  # run in a fork of the supervisor's warm interpreter, not via exec

    def run_argv(self, memory_mb: int) -> list[str]:
        return [part.format(memory_mb=memory_mb) for part in self.run]


LANGUAGES: dict[str, Language] = {
    lang.name: lang
    for lang in (
        Language("python", "main.py", ("python3", "-B", "main.py"), warm_python=True),
        Language(
            "cpp",
            "main.cpp",
            ("./main",),
            ("g++", "-std=c++17", "-O2", "-pipe", "-o", "main", "main.cpp"),
        ),
        Language(
            "c",
            "main.c",
            ("./main",),
            ("gcc", "-std=c11", "-O2", "-pipe", "-o", "main", "main.c", "-lm"),
        ),
        Language(
            "java",
            "Main.java",
            (
                "java",
                "-Xmx{memory_mb}m",
                "-Xss64m",
                "-XX:+UseSerialGC",
                "-XX:TieredStopAtLevel=1",
                "Main",
            ),
            ("javac", "-J-Xmx512m", "-J-XX:+UseSerialGC", "-encoding", "UTF-8", "Main.java"),
            address_space_limit=False,
            processes=512,
        ),
        Language(
            "javascript",
            "main.js",
            ("node", "--max-old-space-size={memory_mb}", "main.js"),
            address_space_limit=False,
            processes=128,
        ),
        Language("bash", "main.sh", ("bash", "main.sh")),
    )
}

ALIASES = {
    "python3": "python", "py": "python", "c++": "cpp", "cpp17": "cpp", "c++17": "cpp",
    "js": "javascript", "node": "javascript", "nodejs": "javascript", "sh": "bash", "shell": "bash",
}  # fmt: skip


def find_language(name: str) -> Language | None:
    key = name.strip().lower()
    return LANGUAGES.get(ALIASES.get(key, key))


# Horizontal whitespace after `^`: `\s*` would span lines and backtrack quadratically.
_JAVA_PUBLIC_CLASS = re.compile(r"^[ \t]*public\s+(?:final\s+)?class\s+(\w+)", re.MULTILINE)


def source_files(language: Language, code: str) -> tuple[dict[str, str], list[str] | None]:
    """The files to write and, for Java, the class to run when it is not ``Main``."""
    if language.name == "java":
        match = _JAVA_PUBLIC_CLASS.search(code)
        if match and match.group(1) != "Main":
            name = match.group(1)
            run = [name if part == "Main" else part for part in language.run]
            return {f"{name}.java": code}, run
    return {language.file: code}, None
