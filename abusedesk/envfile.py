"""``KEY=value`` files, as the simulator writes the ISP's settings (``isp.env``).

Shared by the demo, which links its mail under those settings, and the make-run
launcher, which hands them to the desk's processes so that mail processed later
is linked the same way. Pure: no Django.
"""

from pathlib import Path


def env_file_read(path: Path) -> dict[str, str]:
    """The variables of ``path`` (blank lines and ``#`` comments skipped); an
    absent file has none."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return {}
    found = {}
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        name, _, value = line.partition("=")
        found[name.strip()] = value.strip()
    return found
