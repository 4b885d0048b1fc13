"""Settings, read once from ``TRACKER_*`` environment variables, strictly.

A misspelt variable (``TRACKER_DATABSE_URL``) is an error at start, not a silent
default: the shop would otherwise write to the wrong database for weeks.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(ValueError):
    pass


def _int(name: str, raw: str) -> int:
    try:
        return int(raw.replace("_", ""))
    except ValueError:
        raise ConfigError(f"TRACKER_{name.upper()} must be an integer, got {raw!r}") from None


def _float(name: str, raw: str) -> float:
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"TRACKER_{name.upper()} must be a number, got {raw!r}") from None


def _bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ConfigError(f"TRACKER_{name.upper()} must be true or false, got {raw!r}")


@dataclass(frozen=True)
class Settings:
    instance_dir: Path = PROJECT_ROOT / "instance"
    database_url: str = ""  # default: sqlite file under instance_dir
    import_max_bytes: int = 2_000_000_000
    secret_key: str = ""  # default: a random key kept in instance_dir/secret_key
    cookie_secure: bool = False  # Secure cookies even on http (they are Secure over https anyway)
    provider: str = "sandbox"  # kuaidi100 | kdniao | sandbox
    provider_qps: float = 20.0
    kuaidi100_customer: str = ""
    kuaidi100_key: str = ""
    kuaidi100_salt: str = ""
    kuaidi100_base_url: str = "https://poll.kuaidi100.com"
    kdniao_ebusiness_id: str = ""
    kdniao_app_key: str = ""
    kdniao_base_url: str = "https://api.kdniao.com"
    sandbox_url: str = "http://127.0.0.1:8765"
    push_enabled: bool = False
    callback_base_url: str = ""
    policy_file: str = ""
    log_level: str = "INFO"

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.instance_dir / 'tracker.sqlite3'}"

    @property
    def is_embedded(self) -> bool:
        return self.effective_database_url.startswith("sqlite")

    @property
    def import_reports_dir(self) -> Path:
        return self.instance_dir / "import-reports"


# Field annotations are strings (postponed evaluation); each names its parser.
_PARSERS = {
    "int": _int,
    "float": _float,
    "bool": _bool,
    "str": lambda _name, raw: raw,
    "Path": lambda _name, raw: Path(raw).expanduser().resolve(),
}


def load(environ: dict[str, str] | None = None) -> Settings:
    """Build settings from the environment; unknown ``TRACKER_*`` names are errors."""
    env = os.environ if environ is None else environ
    known = {f.name: f for f in fields(Settings)}
    values: dict[str, object] = {}
    unknown = []
    for key, raw in env.items():
        if not key.startswith("TRACKER_"):
            continue
        name = key[len("TRACKER_"):].lower()
        spec = known.get(name)
        if spec is None:
            unknown.append(key)
            continue
        values[name] = _PARSERS[spec.type](name, raw)
    if unknown:
        names = ", ".join("TRACKER_" + n.upper() for n in sorted(known))
        raise ConfigError(f"unknown setting(s) {', '.join(sorted(unknown))}; known: {names}")
    settings = Settings(**values)
    if settings.provider not in ("kuaidi100", "kdniao", "sandbox"):
        raise ConfigError(f"TRACKER_PROVIDER must be kuaidi100, kdniao or sandbox, got {settings.provider!r}")
    return settings


_current: Settings | None = None


def get() -> Settings:
    """The process's settings, loaded on first use."""
    global _current
    if _current is None:
        _current = load()
    return _current


def override(settings: Settings | None) -> None:
    """Replace the process's settings (tests, and the CLI after parsing options)."""
    global _current
    _current = settings
