"""The versions of the tools a benchmark compares, printed with its figures (the README quotes
them from this line, never from memory)."""

import subprocess


def version_of(cmd):
    """The first line a tool prints for its version, or why there is none."""
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"{cmd[0]}: not runnable ({err})"
    text = (out.stdout or out.stderr).strip().splitlines()
    return text[0] if text else f"{cmd[0]}: no version printed"


def print_versions(tools):
    """`tools`: (label, command) pairs. Prints one `versions:` block on stdout."""
    print("versions:")
    for label, cmd in tools:
        print(f"  {label}: {version_of(cmd)}")
    print()
