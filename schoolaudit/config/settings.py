"""settings.toml as one typed tree: a section per table, every setting with its one default.

Each field of a section carries its schema (`setting(default, spec, doc)`); the file is checked
against the schema built from the sections, and only a file without problems is turned into
`Settings`. `defaults()` lists every setting with its default and meaning (`schoolaudit check
--settings`; README.md, "settings.toml", documents the same keys).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Iterator, get_type_hints
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from crawler.limits import MAX_IMAGES_PER_POST, ClientSettings
from records.model import CATEGORIES
from schoolaudit.config.files import ConfigFile
from schoolaudit.config.datadir import default_data_dir
from schoolaudit.config.schema import Table, Value, choice, control_characters, flag, number, strings, text, whole

INTERVAL = re.compile(r"^(?:every\s+)?(\d+)\s*(m|min|mins|minutes?|h|hours?|d|days?)$", re.IGNORECASE)
DIGEST_KINDS = ("nightly", "weekly", "alerts")
MAIL_SECURITY = ("starttls", "ssl", "none")
OFF = ("", "off")  # a schedule entry that is switched off (false too)


def setting(default, spec, doc: str, key: str | None = None):
    """A field of a section: its default, its schema and its meaning (`key`: the TOML name when it differs)."""
    metadata = {"spec": spec, "doc": doc, "key": key}
    if isinstance(default, (dict, list)):
        return field(default_factory=lambda: type(default)(default), metadata=metadata)
    return field(default=default, metadata=metadata)


def _timezone(name: str) -> str | None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return "an IANA timezone name such as \"America/Toronto\""
    return None


def _cron(expression) -> str | None:
    if expression is False or expression in OFF:
        return None
    if not isinstance(expression, str):
        return "a cron expression or \"off\""
    if _plainly_valid_cron(expression):
        return None
    from apscheduler.triggers.cron import CronTrigger  # only for an unusual schedule: it imports asyncio


    try:
        CronTrigger.from_crontab(expression)
    except ValueError as exc:
        return f"a cron expression (minute hour day month weekday): {exc}"
    return None


#: (lowest, highest) of each cron field as apscheduler's from_crontab takes them (weekday 0 is Monday there).
CRON_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 6))
WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
CRON_ITEM = re.compile(r"(?:\*|(\d+)(?:-(\d+))?)(?:/(\d+))?$")


def _plainly_valid_cron(expression: str) -> bool:
    """True for a schedule apscheduler certainly accepts (numbers in range, `*`, ranges, steps, lists,
    weekday names), read without importing it at every start-up; False sends the rest to apscheduler,
    whose verdict and message stand."""
    fields = expression.split()
    return len(fields) == 5 and all(
        _plain_cron_item(item, low, high, weekdays=index == 4)
        for index, (field, (low, high)) in enumerate(zip(fields, CRON_RANGES)) for item in field.split(","))


def _plain_cron_item(item: str, low: int, high: int, weekdays: bool) -> bool:
    names = item.lower().split("-")
    if weekdays and len(names) <= 2 and all(name in WEEKDAY_NAMES for name in names):
        return WEEKDAY_NAMES.index(names[0]) <= WEEKDAY_NAMES.index(names[-1])
    match = CRON_ITEM.match(item)
    if match is None:
        return False
    first, last, step = (None if group is None else int(group) for group in match.groups())
    if first is None:  # `*` or `*/step`
        return step is None or 0 < step <= high - low
    if last is None and step is not None:  # `first/step`: rare, apscheduler's own reading
        return False
    last = first if last is None else last
    return low <= first <= last <= high and (step is None or 0 < step <= (last or high) - first)


def _interval(value: str) -> str | None:
    return None if INTERVAL.match(value.strip()) else "an interval like \"6h\", \"90m\", \"1d\" or \"every 6 hours\""


def _url(value: str) -> str | None:
    return control_characters(value) or (None if re.match(r"^https?://[^\s/]+", value) else "an http(s) URL")


def _category(value: str) -> str | None:
    return None if value in CATEGORIES else f"a category ({', '.join(CATEGORIES)})"


def _address(value: str) -> str | None:
    return control_characters(value) or (None if "@" in value else "an e-mail address")


CRON = Value((str, bool), "a cron expression or \"off\"", _cron)
CLIENT = ClientSettings()  # the polite client's defaults are the crawl section's defaults


@dataclass(frozen=True)
class BoardSection:
    name: str = setting("School board", text(control_characters), "the board's name, shown on reports and digests")
    contact_url: str = setting("https://www.example.org/schoolaudit-contact", text(_url),
                               "a page where site owners can reach the board; sent in every request's User-Agent")
    timezone: str = setting("America/Toronto", text(_timezone), "the board's IANA timezone, for times shown and schedules")


@dataclass(frozen=True)
class StorageSection:
    # Defaults are in the platform's data folder (schoolaudit/config/datadir.py), given paths relative to settings.toml.
    database: Path = setting(Path("schoolaudit.db"), text(), "the SQLite file")
    media_dir: Path = setting(Path("media"), text(), "where downloaded images are kept, by sha256")
    reports_dir: Path = setting(Path("reports"), text(), "where reports are written")


@dataclass(frozen=True)
class CrawlSection:
    posts_per_account: int = setting(50, whole(minimum=1), "an account's most recent posts fetched each run")
    timeout_seconds: float = setting(CLIENT.timeout, number(above=0), "time limit for one request")
    max_body_bytes: int = setting(CLIENT.max_bytes, whole(minimum=1), "largest response body accepted")
    allow_private_addresses: bool = setting(CLIENT.allow_private_addresses, flag(),
                                            "let URLs the configuration did not name reach private addresses")
    max_images_per_post: int = setting(MAX_IMAGES_PER_POST, whole(minimum=0), "images kept and downloaded per post")
    concurrency: int = setting(8, whole(minimum=1), "accounts crawled at once")
    workers: int | None = setting(None, whole(minimum=0),
                                  "processes that audit posts while the crawl goes on, each on one thread per core it has "
                                  "(unset: 1; 0: in the crawling process)")
    per_host_concurrency: int = setting(CLIENT.per_host_concurrency, whole(minimum=1), "requests at once to one host")
    per_host_delay_seconds: float = setting(CLIENT.per_host_delay, number(minimum=0), "least time between two requests to one host")
    retries: int = setting(CLIENT.retries, whole(minimum=0), "retries after a connection error, a 5xx or a 429")
    retry_backoff_seconds: float = setting(CLIENT.backoff, number(minimum=0), "wait before the first retry, doubled after")
    max_retry_after_seconds: float = setting(CLIENT.max_retry_after, number(minimum=0), "longest Retry-After obeyed")
    obey_robots: bool = setting(CLIENT.obey_robots, flag(), "honour robots.txt for web pages, feeds and images")

    def client(self) -> ClientSettings:
        return ClientSettings(timeout=self.timeout_seconds, max_bytes=self.max_body_bytes, retries=self.retries,
                              backoff=self.retry_backoff_seconds, max_retry_after=self.max_retry_after_seconds,
                              per_host_concurrency=self.per_host_concurrency, per_host_delay=self.per_host_delay_seconds,
                              obey_robots=self.obey_robots, allow_private_addresses=self.allow_private_addresses)


@dataclass(frozen=True)
class PartnersSection:
    handles: tuple[str, ...] = setting((), strings(), "accounts outside the board whose posts may be shared")


@dataclass(frozen=True)
class SponsorsSection:
    accepted: tuple[str, ...] = setting((), strings(), "sponsor names a plain thank-you to is not an endorsement")


@dataclass(frozen=True)
class ScheduleSection:
    nightly: str = setting("30 2 * * *", CRON, "cron time of the nightly crawl-and-audit (\"off\": none)")
    weekly: str = setting("0 7 * * mon", CRON, "cron time of the weekly digest (\"off\": none)")
    grace_minutes: float = setting(360, number(minimum=0), "a job missed by at most this long runs on start")
    accounts: dict = setting({}, Table(any_key=text(_interval)), "accounts crawled on their own interval: ID = \"6h\"")


@dataclass(frozen=True)
class DigestSection:
    send_empty: bool = setting(True, flag(), "send a digest with nothing new (saying so)")
    alert_categories: tuple[str, ...] = setting(("explicit", "hostile"), strings(_category),
                                                "categories e-mailed right after the nightly run")
    max_posts: int = setting(30, whole(minimum=0), "posts shown in full in one digest")
    account_contacts: bool = setting(True, flag(), "each account's contacts (accounts.toml) receive its alerts and "
                                                   "digests (scope account:ID), unless recipients.toml names them")


@dataclass(frozen=True)
class MailSection:
    host: str = setting("localhost", text(control_characters), "the SMTP server")
    port: int | None = setting(None, whole(minimum=1, maximum=65535), "its port (unset: 465 with ssl, else 587)")
    security: str = setting("starttls", choice(*MAIL_SECURITY), "starttls, ssl or none")
    sender: str = setting("schoolaudit <schoolaudit@localhost>", text(_address), "the sender of every digest", key="from")
    attempts: int = setting(3, whole(minimum=1), "tries per message in one run")
    retry_seconds: float = setting(30, number(minimum=0), "wait before the second try, doubled after")
    timeout_seconds: float = setting(30, number(above=0), "network timeout talking to the SMTP server")

    @property
    def effective_port(self) -> int:
        return self.port or (465 if self.security == "ssl" else 587)


def _web_address(value: str) -> str | None:
    return None if value == "" else _url(value)


# Entra's tenant id is a GUID: a domain name or `common` gives a discovery document whose issuer is a
# template or another id, and the issuer check would then prove nothing about the board's tenant.
TENANT_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
OIDC = Table({
    "provider": choice("entra", "google", "generic"),
    "client_id": text(lambda v: None if v.strip() else "the application id the provider gave"),
    "tenant": text(lambda v: None if TENANT_ID.match(v) else
                   "the board's Entra tenant id (a GUID such as 00000000-0000-0000-0000-000000000000), never \"common\""),
    "domain": text(lambda v: None if re.fullmatch(r"[a-z0-9.-]+\.[a-z]{2,}", v) else
                   "the board's Google Workspace domain, such as \"example.org\""),
    # plain http only for a provider on this machine (tests)
    "issuer": text(lambda v: None if re.match(r"^(https://[^\s/]+|http://127\.0\.0\.1[:/])", v) else
                   "an https:// address"),
}, required=("provider", "client_id"))


@dataclass(frozen=True)
class WebSection:
    base_url: str = setting("", text(_web_address), "the address people open the review app at (\"\": no links)")
    host: str = setting("127.0.0.1", text(control_characters), "address the review app listens on")
    port: int = setting(8080, whole(minimum=1, maximum=65535), "port of the review app")
    serve: bool = setting(False, flag(), "serve also runs the review app")
    password_sign_in: bool = setting(True, flag(), "false: sign in only with the board's account ([web.oidc])")
    oidc: dict = setting({}, OIDC, "sign-in with the board's Microsoft Entra or Google Workspace (OpenID Connect)")

    def __post_init__(self):
        # kept without its trailing slash: links are base_url + "/path"
        object.__setattr__(self, "base_url", self.base_url.rstrip("/"))

    @property
    def secure_cookies(self) -> bool:
        return self.base_url.startswith("https://")


@dataclass(frozen=True)
class Settings:
    config_dir: Path
    board: BoardSection = field(default_factory=BoardSection)
    storage: StorageSection = field(default_factory=StorageSection)
    crawl: CrawlSection = field(default_factory=CrawlSection)
    partners: PartnersSection = field(default_factory=PartnersSection)
    sponsors: SponsorsSection = field(default_factory=SponsorsSection)
    schedule: ScheduleSection = field(default_factory=ScheduleSection)
    digest: DigestSection = field(default_factory=DigestSection)
    mail: MailSection = field(default_factory=MailSection)
    web: WebSection = field(default_factory=WebSection)

    # The few settings read all over the application, by their old names.
    @property
    def board_name(self) -> str:
        return self.board.name

    @property
    def contact_url(self) -> str:
        return self.board.contact_url

    @property
    def timezone(self) -> str:
        return self.board.timezone

    @property
    def database(self) -> Path:
        return self.storage.database

    @property
    def media_dir(self) -> Path:
        return self.storage.media_dir

    @property
    def reports_dir(self) -> Path:
        return self.storage.reports_dir

    def client_settings(self) -> ClientSettings:
        """The polite client's settings, as every command that fetches uses them."""
        return self.crawl.client()


def _sections() -> Iterator[tuple[str, type]]:
    hints = get_type_hints(Settings)
    for f in fields(Settings):
        if is_dataclass(hints[f.name]):
            yield f.name, hints[f.name]


def _key(f) -> str:
    return f.metadata.get("key") or f.name


def schema() -> Table:
    """The schema of settings.toml, built from the sections."""
    return Table({name: Table({_key(f): f.metadata["spec"] for f in fields(section)}) for name, section in _sections()})


def defaults() -> Iterator[tuple[str, object, str]]:
    """(section.key, default, meaning) for every setting, in file order."""
    for name, section in _sections():
        instance = section()
        for f in fields(section):
            yield f"{name}.{_key(f)}", getattr(instance, f.name), f.metadata["doc"]


def _convert(value, hint, directory: Path):
    if hint is Path:
        return (directory / value).resolve()
    if hint is float:
        return float(value)
    if isinstance(value, list):
        return tuple(value)
    if value is False and hint is str:
        return "off"  # a schedule entry switched off with `false`
    return value


def build(directory: Path, data: dict) -> Settings:
    """Settings from a settings.toml already checked against `schema()`."""
    built = {}
    for name, section in _sections():
        table, hints, values = data.get(name, {}), get_type_hints(section), {}
        for f in fields(section):
            given = _key(f) in table
            value = table[_key(f)] if given else getattr(section(), f.name)
            values[f.name] = _convert(value, hints[f.name], directory if given else default_data_dir())
        built[name] = section(**values)
    return Settings(config_dir=directory, **built)


def check_settings(directory: Path) -> tuple[Settings | None, ConfigFile]:
    """settings.toml of `directory`: the tree (None when the file has problems) and the file read."""
    file = ConfigFile.read(directory / "settings.toml")
    if file.problems or not file.check(schema()):
        return None, file
    return build(directory, file.data), file


def load_settings(directory: Path) -> Settings:
    settings, file = check_settings(directory)
    file.raise_problems()
    return settings
